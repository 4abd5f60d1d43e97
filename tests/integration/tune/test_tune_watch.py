"""Watching an experiment without a terminal: a `pipetune tune` whose output goes to a pipe
prints a line per reported result while its trials run, and `pipetune status DIR` tells a
running experiment from a finished one (and refuses a folder that holds none).

The toy's trials report their first epoch, then wait at a gate file the test creates, so
"while it runs" is a fact the test arranges, not a race it hopes to win.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from tune_toy import let_through, write_toy

pytestmark = [pytest.mark.ray, pytest.mark.slow]

PIPETUNE = [sys.executable, "-m", "pipetune.cli.main"]
RESULT_LINE = re.compile(
    r"^\[\d+:\d\d:\d\d\] trial (\S+) iter (\d+): val_loss (\S+) "
    r"\(trial best (\S+); best so far (\S+) by (\S+)\)$"
)
DONE_LINE = re.compile(
    r"^\[\d+:\d\d:\d\d\] \[(\d)/2\] trial (\S+) done: val_loss last (\S+), best (\S+) after"
)


class Lines:
    """The lines a process writes to a pipe, collected as they come, each with its time."""

    def __init__(self, stream: object) -> None:
        self.seen: list[tuple[float, str]] = []
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream: object) -> None:
        for line in stream:  # type: ignore[attr-defined]
            self.seen.append((time.monotonic(), line.rstrip("\n")))

    def wait_for(self, pattern: re.Pattern[str], timeout: float = 240.0) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for _, line in self.seen:
                if found := pattern.search(line):
                    return found
            time.sleep(0.2)
        raise AssertionError(f"no line like {pattern.pattern!r} in:\n" + self.text())

    def text(self) -> str:
        return "\n".join(line for _, line in self.seen)

    def join(self) -> None:
        self._thread.join(30)


def wait_for_file(path: Path, driver: subprocess.Popen[str], timeout: float = 240.0) -> None:
    deadline = time.monotonic() + timeout
    while not (path.is_file() and path.stat().st_size):
        assert driver.poll() is None, f"the driver ended (exit {driver.returncode})"
        assert time.monotonic() < deadline, f"{path} never came"
        time.sleep(0.2)


def status(folder: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*PIPETUNE, "status", str(folder)], cwd=cwd, capture_output=True, text=True, timeout=120
    )


def test_a_piped_run_prints_a_line_per_result_while_it_runs_and_status_follows_it(
    make_module: Callable[..., str], tmp_path: Path, drivers: list[subprocess.Popen[str]]
) -> None:
    gate = tmp_path / "gate"
    config = write_toy(make_module, tmp_path, epochs=2, gate=gate, max_concurrent_trials=1)
    folder = tmp_path / "runs" / "exp"
    driver = subprocess.Popen(
        [*PIPETUNE, "tune", str(config)],
        cwd=tmp_path,
        env={**os.environ, "RAY_ADDRESS": "local"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    drivers.append(driver)
    lines = Lines(driver.stdout)

    # The first trial's first result is on the pipe, seconds after the driver recorded it,
    # while that trial waits at the gate.
    wait_for_file(folder / "history.jsonl", driver)
    first = lines.wait_for(RESULT_LINE, timeout=15)
    trial, iteration, value, trial_best, leader, leader_id = first.groups()
    assert (iteration, trial_best, leader, leader_id) == ("1", value, value, trial)
    assert driver.poll() is None and not gate.exists()
    assert not DONE_LINE.search(lines.text())

    running = status(folder, tmp_path)
    assert running.returncode == 0, running.stderr
    assert re.search(rf"^state: running \(driver PID {driver.pid} on ", running.stdout, re.M)
    assert re.search(r"^trials: \d of 2 planned", running.stdout, re.M), running.stdout
    assert re.search(
        rf"^best so far: val_loss {value} \(min\) by trial {trial} ", running.stdout, re.M
    )

    let_through(gate, 2)
    assert driver.wait(timeout=300) == 0, lines.text()
    lines.join()
    results = [RESULT_LINE.search(line) for _, line in lines.seen]
    found = [m.groups()[:2] for m in results if m]
    assert len(found) == 4 and {i for _, i in found} == {"1", "2"}, lines.text()  # 2 × 2 epochs
    done = [m.groups() for m in (DONE_LINE.search(line) for _, line in lines.seen) if m]
    assert [d[0] for d in done] == ["1", "2"]
    # the line of the first result came before the first trial ended
    order = [line for _, line in lines.seen]
    assert order.index(first.string) < next(i for i, t in enumerate(order) if DONE_LINE.search(t))

    finished = status(folder, tmp_path)
    assert finished.returncode == 0, finished.stderr
    assert re.search(r"^state: finished$", finished.stdout, re.M), finished.stdout
    assert re.search(r"^trials: 2 of 2 planned \(2 TERMINATED\)$", finished.stdout, re.M)
    assert re.search(r"^best: val_loss \S+ \(min\) by trial \S+ ", finished.stdout, re.M)
    assert re.search(r"^  learning_rate: \S+$", finished.stdout, re.M)


def test_status_of_a_folder_without_an_experiment_is_one_line_and_touches_nothing(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "not-an-experiment"
    folder.mkdir()
    (folder / "notes.txt").write_text("hello\n")
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    done = status(folder, tmp_path)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith(f"pipetune: error: '{folder}' is not a pipetune experiment")
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
