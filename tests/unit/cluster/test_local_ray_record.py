"""The record of `pipetune ray start`'s head: missing, corrupt, another user's, stale (its
leader gone, or its PID now another process's), alive but not answering. Real processes,
real files; no Ray is started here."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from dataclasses import asdict
from pathlib import Path

import pytest

from pipetune.cluster import _local
from pipetune.cluster._local import (
    ForeignRecord,
    LocalHead,
    RecordProblem,
    live_head,
    read_record,
    record_path,
    session_members,
    start_head,
    stop_head,
)
from pipetune.cluster.probe import free_ports
from pipetune.errors import PipetuneError


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(_local.STATE_ENV, str(tmp_path / "state"))
    (tmp_path / "state").mkdir()
    return record_path()


def _write(path: Path, head: LocalHead) -> None:
    path.write_text(json.dumps(asdict(head)))


def _head(pid: int, started: str, root: Path, uid: int | None = None) -> LocalHead:
    root.mkdir(exist_ok=True)
    (root / "auth_token").write_text("t" * 64)
    port = free_ports(1)[0]  # nothing listens there
    return LocalHead(
        f"127.0.0.1:{port}", pid, started, os.getuid() if uid is None else uid, str(root), 2
    )


def test_no_record_means_no_head_and_no_line(state: Path) -> None:
    lines: list[str] = []
    assert read_record() is None
    assert live_head(note=lines.append) is None
    assert lines == []
    assert stop_head() == f"no local Ray is recorded ({state})"


@pytest.mark.parametrize("text", ["{not json", '{"address": "x"}', "[1, 2]", ""])
def test_a_corrupt_record_is_ignored_with_one_line_and_removed_by_stop(
    state: Path, text: str
) -> None:
    state.write_text(text)
    lines: list[str] = []
    assert live_head(note=lines.append) is None
    assert len(lines) == 1
    assert f"the local Ray record {state} is not one pipetune wrote" in lines[0]
    assert lines[0].endswith("; starting an embedded Ray")
    assert stop_head().startswith(f"removed {state}: ")
    assert not state.exists()


def test_another_users_record_is_ignored_and_left_alone(state: Path, tmp_path: Path) -> None:
    head = _head(os.getpid(), _local._start_time(os.getpid()) or "", tmp_path / "h", uid=12345)
    _write(state, head)
    with pytest.raises(ForeignRecord, match="belongs to another user"):
        read_record()
    lines: list[str] = []
    assert live_head(note=lines.append) is None and len(lines) == 1
    with pytest.raises(PipetuneError, match="it is left as it is"):
        stop_head()
    with pytest.raises(PipetuneError, match="it is left as it is"):
        start_head()  # nothing started: refused before any process or folder
    assert state.exists() and (tmp_path / "h").is_dir()
    assert json.loads(state.read_text()) == asdict(head)


def test_a_stale_record_is_noticed_at_once_and_stop_ends_its_leftover_processes(
    state: Path, tmp_path: Path
) -> None:
    # A session like the head's: the leader (`ray start --block`) dies, a child lives on.
    leader = subprocess.Popen(["sh", "-c", "sleep 120 & exec sleep 121"], start_new_session=True)
    deadline = time.monotonic() + 10
    while len(session_members(leader.pid)) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    started = _local._start_time(leader.pid) or ""
    (child,) = set(session_members(leader.pid)) - {leader.pid}
    leader.send_signal(signal.SIGKILL)
    leader.wait()
    head = _head(leader.pid, started, tmp_path / "h")
    _write(state, head)
    try:
        lines: list[str] = []
        begun = time.monotonic()
        assert live_head(note=lines.append) is None
        assert time.monotonic() - begun < 2  # never a hang
        assert lines == [
            f"the local Ray recorded in {state} (PID {leader.pid}) is gone; `pipetune ray "
            "start` starts a new one; starting an embedded Ray"
        ]
        assert stop_head() == f"stopped the local Ray at {head.address} (PID {leader.pid})"
        assert session_members(leader.pid) == {}
        assert not state.exists() and not (tmp_path / "h").exists()
    finally:
        with pytest.raises(ProcessLookupError):
            os.kill(child, signal.SIGKILL)  # stop_head ended it already


def test_a_recorded_pid_that_another_process_holds_now_is_stale_and_never_signalled(
    state: Path, tmp_path: Path
) -> None:
    # A live process of ours under the recorded PID, with another start time: a PID reused.
    other = subprocess.Popen(["sleep", "60"], start_new_session=True)
    try:
        _write(state, _head(other.pid, "1", tmp_path / "h"))
        with pytest.raises(RecordProblem, match="is gone"):
            read_record()
        assert stop_head().startswith("stopped the local Ray")
        assert not state.exists()
        assert other.poll() is None  # never signalled
    finally:
        other.kill()
        other.wait()


def test_a_live_leader_whose_head_does_not_answer_is_ignored(state: Path, tmp_path: Path) -> None:
    sleeper = subprocess.Popen(["sleep", "60"], start_new_session=True)
    try:
        head = _head(sleeper.pid, _local._start_time(sleeper.pid) or "", tmp_path / "h")
        _write(state, head)
        assert read_record() == head
        lines: list[str] = []
        assert live_head(note=lines.append) is None
        assert lines == [
            f"the local Ray at {head.address} does not answer; starting an embedded Ray"
        ]
        assert stop_head() == f"stopped the local Ray at {head.address} (PID {sleeper.pid})"
        assert sleeper.wait(timeout=10) == -signal.SIGTERM
    finally:
        if sleeper.poll() is None:
            sleeper.kill()
