"""The experiment folder tells the truth across runs: a finished experiment resumed three
times changes nothing; an interrupted one resumed with its command-line settings gets no
phantom trials; two drivers never share a folder; a resume without Tune's state touches
nothing; SIGTERM stops like Ctrl+C; --restart moves the old folder aside.

Every run is a `pipetune tune` subprocess in a session of its own (emptied afterwards),
with its own embedded Ray (`RAY_ADDRESS=local`).
"""

from __future__ import annotations

import collections
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml
from processes import kill_session, live_processes, session_processes
from tune_toy import read_results, write_toy

from pipetune.experiment import read_history, read_state

pytestmark = [pytest.mark.ray, pytest.mark.slow]

COMMAND = [sys.executable, "-m", "pipetune.cli.main", "tune"]
# the file says 6 samples of ASHA named exp; the command line: 3 (or 4) of FIFO, a name
FROM_THE_COMMAND_LINE = ["--scheduler", "fifo", "--name", "cli-name"]


@pytest.fixture
def started() -> Iterator[list[subprocess.Popen[str]]]:
    """Drivers started by a test; their sessions never outlive it."""
    processes: list[subprocess.Popen[str]] = []
    yield processes
    for process in processes:
        kill_session(process.pid)
        process.wait()


def env() -> dict[str, str]:
    return {**os.environ, "RAY_ADDRESS": "local"}


def start(
    args: list[str], cwd: Path, started: list[subprocess.Popen[str]]
) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [*COMMAND, *args],
        cwd=cwd,
        env=env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    started.append(process)
    return process


def tune(
    args: list[str], cwd: Path, started: list[subprocess.Popen[str]]
) -> subprocess.CompletedProcess[str]:
    process = start(args, cwd, started)
    out, err = process.communicate(timeout=300)
    kill_session(process.pid)
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


def files(folder: Path) -> dict[str, bytes]:
    """Every file of the folder and its content (Ray's trial folders included)."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def assert_nothing_lives_10_s_later(driver: int) -> None:
    """Within 10 s, no process of the driver's session (its Ray) and no watcher of it."""
    watcher = f"watch({driver})".encode()

    def ours() -> list[int]:
        return session_processes(driver) + live_processes(
            lambda entry, _: watcher in (entry / "cmdline").read_bytes()
        )

    deadline = time.monotonic() + 10
    while ours() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert ours() == [], [Path(f"/proc/{p}/cmdline").read_bytes()[:80] for p in ours()]


def config(make_module: Callable[..., str], tmp_path: Path, **options: object) -> Path:
    settings = {"num_samples": 6, "scheduler": "asha", **options}  # its name: "exp"
    return write_toy(make_module, tmp_path, epochs=2, **settings)  # type: ignore[arg-type]


def test_three_resumes_of_a_finished_experiment_change_nothing(
    make_module: Callable[..., str], tmp_path: Path, started: list[subprocess.Popen[str]]
) -> None:
    path = config(make_module, tmp_path)
    first = tune([str(path), *FROM_THE_COMMAND_LINE, "-o", "tune.num_samples=3"], tmp_path, started)
    assert first.returncode == 0, first.stderr[-3000:]
    folder = tmp_path / "runs" / "cli-name"
    saved = yaml.safe_load((folder / "pipetune_config.yaml").read_text())["tune"]
    assert (saved["num_samples"], saved["scheduler"], saved["name"]) == (3, "fifo", "cli-name")
    before = files(folder)
    assert [r["status"] for r in read_results(folder)] == ["TERMINATED"] * 3

    for _ in range(3):
        again = tune(["--resume", str(folder)], tmp_path, started)
        assert again.returncode == 0, again.stderr[-3000:]
        assert "the experiment had finished; nothing was run" in again.stderr
        assert "did not finish" not in again.stderr
        assert files(folder) == before


def test_interrupt_of_the_process_group_then_resume_keeps_the_command_line_settings(
    make_module: Callable[..., str], tmp_path: Path, started: list[subprocess.Popen[str]]
) -> None:
    path = config(make_module, tmp_path, pause_s=0.8, max_concurrent_trials=1)
    args = [str(path), *FROM_THE_COMMAND_LINE, "-o", "tune.num_samples=4"]
    driver = start(args, tmp_path, started)
    folder = tmp_path / "runs" / "cli-name"
    deadline = time.monotonic() + 180
    while "TERMINATED" not in read_state(folder).statuses().values():
        assert driver.poll() is None, driver.communicate()[1][-3000:]
        assert time.monotonic() < deadline, "no trial finished in time"
        time.sleep(0.2)
    os.killpg(driver.pid, signal.SIGINT)  # Ctrl+C in the terminal: the whole process group
    _, err = driver.communicate(timeout=120)
    assert driver.returncode == 130, err[-3000:]
    assert f"continue with: pipetune tune --resume {folder}" in err
    assert "Tuner.restore" not in err  # one resume instruction: pipetune's, not Tune's

    resumed = tune(["--resume", str(folder)], tmp_path, started)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    # quiet: no Ray noise about files of trials that never wrote any
    assert "Failed to fetch metrics" not in resumed.stderr
    assert "FileNotFoundError" not in resumed.stderr
    rows = read_results(folder)
    assert [r["status"] for r in rows] == ["TERMINATED"] * 4, rows  # 4, not the file's 6
    assert all(r["iterations"] == "2" for r in rows)
    # a trial that ran again is a second attempt, never a silent repeat of its rows
    history = read_history(folder).rows
    seen = collections.Counter(
        (r["trial_id"], r["training_iteration"], r["attempt"]) for r in history
    )
    assert max(seen.values()) == 1, seen
    again = tune(["--resume", str(folder)], tmp_path, started)
    assert again.returncode == 0 and "nothing was run" in again.stderr


def test_two_runs_on_one_folder_at_once_one_is_refused(
    make_module: Callable[..., str], tmp_path: Path, started: list[subprocess.Popen[str]]
) -> None:
    path = config(make_module, tmp_path, num_samples=2, scheduler="fifo", pause_s=0.5)
    both = [start([str(path)], tmp_path, started) for _ in range(2)]
    outcomes = [(p.wait(timeout=300), p.communicate()) for p in both]
    codes = sorted(code for code, _ in outcomes)
    assert codes == [0, 2], [err[-2000:] for _, (_, err) in outcomes]
    refused = next(err for code, (_, err) in outcomes if code == 2).strip().splitlines()
    assert len(refused) == 1 and "is in use by pipetune (PID " in refused[0], refused
    folder = tmp_path / "runs" / "exp"
    trials = {r["trial_id"] for r in read_results(folder)}
    assert len(trials) == 2
    assert {r["trial_id"] for r in read_history(folder).rows} == trials  # nothing mixed in


def test_resume_without_tune_state_is_refused_and_touches_nothing(
    make_module: Callable[..., str], tmp_path: Path, started: list[subprocess.Popen[str]]
) -> None:
    path = config(make_module, tmp_path, num_samples=2, scheduler="fifo")
    assert tune([str(path)], tmp_path, started).returncode == 0
    folder = tmp_path / "runs" / "exp"
    for state in folder.glob("experiment_state-*.json"):
        state.unlink()
    before = files(folder)
    for _ in range(2):
        refused = tune(["--resume", str(folder)], tmp_path, started)
        assert refused.returncode == 2, refused.stderr[-3000:]
        lines = refused.stderr.strip().splitlines()
        assert len(lines) == 1 and "has no Ray Tune state" in lines[0], lines
        assert "--restart" in lines[0]
        assert files(folder) == before

    # the way out: start over in the same folder, the old one moved aside intact
    restarted = tune([str(path), "--restart"], tmp_path, started)
    assert restarted.returncode == 0, restarted.stderr[-3000:]
    aside = [p for p in folder.parent.iterdir() if p.name.startswith("exp.old-")]
    assert len(aside) == 1 and f"moved the old experiment aside: {aside[0]}" in restarted.stderr
    assert files(aside[0]) == before
    assert len(read_results(folder)) == 2


def test_sigterm_stops_like_ctrl_c_and_the_experiment_resumes(
    make_module: Callable[..., str], tmp_path: Path, started: list[subprocess.Popen[str]]
) -> None:
    path = config(
        make_module, tmp_path, num_samples=3, scheduler="fifo", pause_s=0.8, max_concurrent_trials=1
    )
    driver = start([str(path)], tmp_path, started)
    folder = tmp_path / "runs" / "exp"
    deadline = time.monotonic() + 180
    while "TERMINATED" not in read_state(folder).statuses().values():
        assert driver.poll() is None, driver.communicate()[1][-3000:]
        assert time.monotonic() < deadline, "no trial finished in time"
        time.sleep(0.2)
    driver.send_signal(signal.SIGTERM)  # what SLURM sends on preemption and scancel
    out, err = driver.communicate(timeout=120)
    assert driver.returncode == 143, err[-3000:]
    assert "Traceback" not in err
    assert f"continue with: pipetune tune --resume {folder}" in err
    assert f"results: {folder / 'results.csv'}" in out
    statuses = [r["status"] for r in read_results(folder)]
    assert "TERMINATED" in statuses and set(statuses) != {"TERMINATED"}, statuses

    resumed = tune(["--resume", str(folder)], tmp_path, started)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert [r["status"] for r in read_results(folder)] == ["TERMINATED"] * 3


def test_after_a_sigkill_of_the_driver_nothing_of_its_ray_lives_10_s_later(
    make_module: Callable[..., str], tmp_path: Path, started: list[subprocess.Popen[str]]
) -> None:
    path = config(make_module, tmp_path, num_samples=2, scheduler="fifo", pause_s=1.0)
    driver = start([str(path)], tmp_path, started)  # its own session: sid == its pid
    folder = tmp_path / "runs" / "exp"
    deadline = time.monotonic() + 180
    while not read_history(folder).rows:  # trials are running
        assert driver.poll() is None, driver.communicate()[1][-3000:]
        assert time.monotonic() < deadline, "no trial reported in time"
        time.sleep(0.2)
    assert len(session_processes(driver.pid)) > 3  # gcs, raylet, agents, workers
    driver.kill()  # SIGKILL: nothing of pipetune runs on its way out
    driver.wait(timeout=10)
    assert_nothing_lives_10_s_later(driver.pid)


def test_a_finished_run_hands_its_ray_to_the_watcher_and_nothing_lives_10_s_later(
    make_module: Callable[..., str], tmp_path: Path, started: list[subprocess.Popen[str]]
) -> None:
    """The command exits once the answer and the files are out; its embedded Ray is ended
    by the watcher as the process goes (all at once), not waited for one process at a time."""
    path = config(make_module, tmp_path, num_samples=2, scheduler="fifo")
    driver = start([str(path), "--profile"], tmp_path, started)
    seen: set[int] = set()
    deadline = time.monotonic() + 180
    while driver.poll() is None:  # the toy's output is a few kB: the pipes never fill
        assert time.monotonic() < deadline, "the run did not end in time"
        seen.update(session_processes(driver.pid))
        time.sleep(0.1)
    out, err = driver.communicate(timeout=10)
    assert "best val_loss" in out, out[-3000:]
    assert driver.returncode == 0, err[-3000:]
    assert "Ray left to end with the process" in err, err[-3000:]
    assert len(read_results(tmp_path / "runs" / "exp")) == 2
    assert len(seen) > 3, seen  # gcs, raylet, agents, workers were seen running
    assert_nothing_lives_10_s_later(driver.pid)
