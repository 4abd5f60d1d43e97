"""`pipetune tune --resume` after the driver was killed with SIGKILL mid-experiment."""

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
from processes import kill_session, session_processes
from tune_toy import read_results, write_toy

from pipetune.experiment import read_history
from pipetune.tune._results import persisted_statuses

pytestmark = [pytest.mark.ray, pytest.mark.slow]

EPOCHS = 3
TRIALS = 4


@pytest.fixture
def started() -> Iterator[list[subprocess.Popen]]:
    """Popen objects of tune drivers started by a test; their sessions never outlive it."""
    processes: list[subprocess.Popen] = []
    yield processes
    for process in processes:
        kill_session(process.pid)
        process.wait()


def env() -> dict[str, str]:
    return {**os.environ, "RAY_ADDRESS": "local"}  # never attach to another Ray here


def finished_trials(history: list[dict]) -> set[str]:
    return {row["trial_id"] for row in history if row["training_iteration"] == EPOCHS}


def terminated(folder: Path) -> set[str]:
    return {k for k, v in persisted_statuses(folder).items() if v == "TERMINATED"}


def test_resume_after_sigkill_reruns_nothing_that_finished(
    make_module: Callable[..., str],
    tmp_path: Path,
    started: list[subprocess.Popen],
) -> None:
    config = write_toy(
        make_module,
        tmp_path,
        epochs=EPOCHS,
        pause_s=0.7,
        num_samples=TRIALS,
        max_concurrent_trials=1,
        scheduler="fifo",
    )
    folder = tmp_path / "runs" / "exp"
    command = [sys.executable, "-m", "pipetune.cli.main", "tune"]
    with (tmp_path / "first.log").open("w") as log:
        driver = subprocess.Popen(
            [*command, str(config)],
            cwd=tmp_path,
            env=env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    started.append(driver)
    assert os.getpgid(driver.pid) == driver.pid

    deadline = time.monotonic() + 180
    while not terminated(folder):
        if driver.poll() is not None:
            pytest.fail(f"tune ended before the kill:\n{(tmp_path / 'first.log').read_text()}")
        if time.monotonic() > deadline:
            pytest.fail(f"no trial finished in time:\n{(tmp_path / 'first.log').read_text()}")
        time.sleep(0.1)

    kill_session(driver.pid)
    assert driver.wait(timeout=30) == -signal.SIGKILL
    assert session_processes(driver.pid) == []

    before = read_history(folder).rows
    done_before = terminated(folder)
    rows_before = collections.Counter(row["trial_id"] for row in before)
    assert 1 <= len(done_before) < TRIALS
    assert done_before <= finished_trials(before)
    assert not (folder / "results.csv").exists()

    resumed = subprocess.run(
        [*command, "--resume", str(folder)],
        cwd=tmp_path,
        env=env(),
        capture_output=True,
        text=True,
        timeout=300,
        start_new_session=True,
    )
    output = resumed.stdout + resumed.stderr
    assert resumed.returncode == 0, output[-4000:]
    assert f"results: {folder / 'results.csv'}" in resumed.stdout

    rows = read_results(folder)
    assert len(rows) == TRIALS, rows
    assert [r["status"] for r in rows] == ["TERMINATED"] * TRIALS, rows
    assert {r["trial_id"] for r in rows} >= done_before

    after = read_history(folder).rows
    rows_after = collections.Counter(row["trial_id"] for row in after)
    for trial_id in done_before:
        assert rows_after[trial_id] == rows_before[trial_id], (
            f"finished trial {trial_id} ran again after the resume"
        )
    # every trial reached its last epoch, before or after the kill
    assert finished_trials(after) == {r["trial_id"] for r in rows}
    assert (folder / "best_config.yaml").exists()
