"""The experiment folder's owner: Tune's snapshot order, attempts in the history, the lock."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from pipetune.errors import ConfigError
from pipetune.experiment import (
    LOCK_FILE,
    ExperimentLock,
    HistoryWriter,
    Status,
    move_aside,
    read_history,
    read_state,
)


def snapshot(path: Path, statuses: dict[str, str]) -> None:
    trials = [
        [json.dumps({"trial_id": t, "status": s, "config": {}}), "{}"] for t, s in statuses.items()
    ]
    path.write_text(json.dumps({"trial_data": trials, "runner_data": {"_metric": "loss"}}))


def test_newest_snapshot_is_the_one_tune_reads_not_the_newest_mtime(tmp_path: Path) -> None:
    older = tmp_path / "experiment_state-2026-12-01_10-00-00.json"
    newer = tmp_path / "experiment_state-2026-12-01_10-00-05.json"
    snapshot(newer, {"a": "TERMINATED"})
    snapshot(older, {"a": "RUNNING"})  # written last: the newest mtime
    os.utime(newer, (1, 1))
    state = read_state(tmp_path)
    assert state.path == newer and state.readable
    assert state.statuses() == {"a": "TERMINATED"}


def test_unreadable_snapshot_is_reported_as_such(tmp_path: Path) -> None:
    (tmp_path / "experiment_state-2026-12-01_10-00-00.json").write_text('{"trial_da')
    state = read_state(tmp_path)
    assert state.path is not None and not state.readable and state.trials == {}
    assert read_state(tmp_path / "nothing").path is None


def test_history_numbers_attempts_across_runs(tmp_path: Path) -> None:
    first = HistoryWriter(tmp_path)
    first.start_attempt("t1")
    first.append("t1", {"training_iteration": 1, "loss": 3.0})
    first.append("t1", {"training_iteration": 2, "loss": 2.0})
    # a new driver (a resume) restores t1: its rows are a second attempt
    second = HistoryWriter(tmp_path)
    second.start_attempt("t1")
    second.append("t1", {"training_iteration": 2, "loss": 1.5})
    second.append("t2", {"training_iteration": 1, "loss": 9.0})
    history = read_history(tmp_path)
    assert [(r["trial_id"], r["training_iteration"], r["attempt"]) for r in history.rows] == [
        ("t1", 1, 1),
        ("t1", 2, 1),
        ("t1", 2, 2),
        ("t2", 1, 1),
    ]
    assert history.attempts() == {"t1": 2, "t2": 1}
    assert history.curves("loss") == {"t1": [3.0, 1.5], "t2": [9.0]}


def test_status_vocabulary() -> None:
    assert Status.of("terminated") is Status.TERMINATED
    assert Status.of("nonsense") is None
    assert Status.STOPPED == "STOPPED"


def test_lock_refuses_a_second_holder_naming_pid_and_host(tmp_path: Path) -> None:
    folder = tmp_path / "exp"
    with ExperimentLock(folder):
        holder = json.loads((folder / LOCK_FILE).read_text())
        assert holder["pid"] == os.getpid() and holder["host"] == socket.gethostname()
        with pytest.raises(ConfigError) as refused:
            ExperimentLock(folder).acquire()
        message = str(refused.value)
        assert (
            f"is in use by pipetune (PID {os.getpid()} on host {socket.gethostname()})" in message
        )
        assert "\n" not in message
    assert not (folder / LOCK_FILE).exists()  # released
    with ExperimentLock(folder):  # and free again
        pass


def test_lock_leaves_no_folder_it_made_when_nothing_was_written(tmp_path: Path) -> None:
    with ExperimentLock(tmp_path / "runs" / "exp"):
        pass
    assert list(tmp_path.iterdir()) == []
    with ExperimentLock(tmp_path / "runs" / "exp"):
        (tmp_path / "runs" / "exp" / "results.csv").write_text("x")
    assert (tmp_path / "runs" / "exp" / "results.csv").exists()


def test_lock_of_a_dead_driver_is_taken_over_with_a_warning(tmp_path: Path) -> None:
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    pid = int(dead.stdout)
    folder = tmp_path / "exp"
    folder.mkdir()
    (folder / LOCK_FILE).write_text(json.dumps({"pid": pid, "host": socket.gethostname()}))
    warnings: list[str] = []
    with ExperimentLock(folder, warn=warnings.append):
        assert json.loads((folder / LOCK_FILE).read_text())["pid"] == os.getpid()
    assert len(warnings) == 1 and f"from PID {pid}" in warnings[0]


def test_lock_held_on_another_host_is_never_taken_over(tmp_path: Path) -> None:
    folder = tmp_path / "exp"
    folder.mkdir()
    record = {"pid": 1, "host": "elsewhere.example"}
    (folder / LOCK_FILE).write_text(json.dumps(record))
    with pytest.raises(ConfigError, match=r"PID 1 on host elsewhere\.example"):
        ExperimentLock(folder).acquire()
    assert json.loads((folder / LOCK_FILE).read_text()) == record


def test_move_aside_never_overwrites(tmp_path: Path) -> None:
    folders = []
    for _ in range(2):
        folder = tmp_path / "exp"
        folder.mkdir()
        (folder / "results.csv").write_text("x")
        folders.append(move_aside(folder))
    assert len(set(folders)) == 2 and all((f / "results.csv").exists() for f in folders)
    assert not (tmp_path / "exp").exists()
