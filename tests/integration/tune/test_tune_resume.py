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


COMMAND = [sys.executable, "-m", "pipetune.cli.main", "tune"]


def kill_once_a_trial_ended(
    config: Path, folder: Path, started: list[subprocess.Popen]
) -> set[str]:
    """Run ``pipetune tune`` on ``config``, SIGKILL its session as soon as a trial is
    TERMINATED, and return the terminated trials."""
    log_path = config.parent / "first.log"
    with log_path.open("w") as log:
        driver = subprocess.Popen(
            [*COMMAND, str(config)],
            cwd=config.parent,
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
            pytest.fail(f"tune ended before the kill:\n{log_path.read_text()}")
        if time.monotonic() > deadline:
            pytest.fail(f"no trial finished in time:\n{log_path.read_text()}")
        time.sleep(0.1)

    kill_session(driver.pid)
    assert driver.wait(timeout=30) == -signal.SIGKILL
    assert session_processes(driver.pid) == []
    assert not (folder / "results.csv").exists()
    return terminated(folder)


def resume(folder: Path, started: list[subprocess.Popen], timeout_s: float = 300) -> None:
    """``pipetune tune --resume folder``, which must finish within ``timeout_s``."""
    driver = subprocess.Popen(
        [*COMMAND, "--resume", str(folder)],
        cwd=folder.parent.parent,
        env=env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    started.append(driver)  # its session is killed after the test, even on a timeout
    try:
        output, _ = driver.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        kill_session(driver.pid)
        output, _ = driver.communicate()
        pytest.fail(f"the resume ran past {timeout_s} s:\n{output[-4000:]}")
    assert driver.returncode == 0, output[-4000:]
    assert f"results: {folder / 'results.csv'}" in output


def start_toy(
    make_module: Callable[..., str], folder: Path, scheduler: str, pause_s: float
) -> Path:
    """The toy experiment both tests kill and resume: TRIALS trials of EPOCHS, one at a time."""
    return write_toy(
        make_module,
        folder,
        epochs=EPOCHS,
        pause_s=pause_s,
        num_samples=TRIALS,
        max_concurrent_trials=1,
        scheduler=scheduler,
    )


def rows_per_trial(folder: Path) -> collections.Counter[str]:
    return collections.Counter(row["trial_id"] for row in read_history(folder).rows)


def test_resume_after_sigkill_reruns_nothing_that_finished(
    make_module: Callable[..., str],
    tmp_path: Path,
    started: list[subprocess.Popen],
) -> None:
    config = start_toy(make_module, tmp_path, "fifo", pause_s=0.7)
    folder = tmp_path / "runs" / "exp"
    done_before = kill_once_a_trial_ended(config, folder, started)
    before = read_history(folder).rows
    rows_before = rows_per_trial(folder)
    assert 1 <= len(done_before) < TRIALS
    assert done_before <= finished_trials(before)

    resume(folder, started)

    rows = read_results(folder)
    assert len(rows) == TRIALS, rows
    assert [r["status"] for r in rows] == ["TERMINATED"] * TRIALS, rows
    assert {r["trial_id"] for r in rows} >= done_before

    after = read_history(folder).rows
    rows_after = rows_per_trial(folder)
    for trial_id in done_before:
        assert rows_after[trial_id] == rows_before[trial_id], (
            f"finished trial {trial_id} ran again after the resume"
        )
    # every trial reached its last epoch, before or after the kill
    assert finished_trials(after) == {r["trial_id"] for r in rows}
    assert (folder / "best_config.yaml").exists()


def test_a_resumed_hyperband_experiment_runs_to_its_end(
    make_module: Callable[..., str],
    tmp_path: Path,
    started: list[subprocess.Popen],
) -> None:
    """HyperBand's brackets are rebuilt on a resume: trials that had ended (halved away)
    must not hold the resumed ones at a milestone for ever (Ray's own class does)."""
    config = start_toy(make_module, tmp_path, "hyperband", pause_s=0.3)
    folder = tmp_path / "runs" / "exp"
    done_before = kill_once_a_trial_ended(config, folder, started)
    before = rows_per_trial(folder)
    assert 1 <= len(done_before) < TRIALS

    resume(folder, started, timeout_s=180)

    rows = read_results(folder)
    assert [r["status"] for r in rows] == ["TERMINATED"] * TRIALS, rows
    after = rows_per_trial(folder)
    assert {trial_id: after[trial_id] for trial_id in done_before} == {
        trial_id: before[trial_id] for trial_id in done_before
    }, "a trial that had ended ran again after the resume"
    assert max(after.values()) == EPOCHS  # some trial ran to the end, after the halvings
