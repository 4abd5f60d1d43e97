"""A persistent local Ray head (opt in): ``pipetune ray start`` starts one and records it,
``pipetune tune`` attaches to it while it runs, ``pipetune ray stop`` stops it.

An embedded Ray costs seconds to start and stop on every ``pipetune tune``; a head that
outlives the command takes that out of each iteration. The head is ``ray start --head
--block`` on 127.0.0.1 in a session of its own, with its own port, temp folder and
authentication token; the record (a small JSON file, see :func:`record_path`) names its
address, the PID and start time of that session's leader, and the owner. Stopping ends
exactly that session's processes (never a bare ``ray stop``, which stops every Ray of the
machine). A record whose head is gone, that cannot be read or that another user wrote is
ignored with one line: ``pipetune tune`` then starts its embedded Ray as usual.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from pipetune._io import atomic_write_text
from pipetune._reaper import end_processes
from pipetune.cluster.probe import free_ports
from pipetune.errors import PipetuneError

#: overrides where the record lives (tests; several heads side by side)
STATE_ENV = "PIPETUNE_RAY_STATE_DIR"
RECORD = "local-ray.json"
_VERSION = 1
_START_TIMEOUT_S = 120.0
#: what `ray start` prints once the head's raylet runs too (the GCS answers seconds earlier)
_READY = "Ray runtime started"


@dataclass(frozen=True)
class LocalHead:
    """What ``pipetune ray start`` recorded about the head it started."""

    address: str
    pid: int  # the `ray start --block` process: the leader of the head's session
    started: str  # its start time (/proc/PID/stat field 22): a reused PID is not ours
    uid: int
    root: str  # temp folder: Ray's temp dir, the token, the head's log
    cpus: int
    version: int = _VERSION

    @property
    def token_file(self) -> Path:
        return Path(self.root) / "auth_token"

    @property
    def log(self) -> Path:
        return Path(self.root) / "head.log"

    def token_env(self) -> dict[str, str]:
        """What a client of this head needs in its environment: token mode and the token."""
        return {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": self.token_file.read_text().strip()}


def record_path() -> Path:
    """``$PIPETUNE_RAY_STATE_DIR``, else ``$XDG_RUNTIME_DIR/pipetune``, else
    ``~/.cache/pipetune``; the file ``local-ray.json`` in it."""
    if chosen := os.environ.get(STATE_ENV):
        return Path(chosen) / RECORD
    if runtime := os.environ.get("XDG_RUNTIME_DIR"):
        return Path(runtime) / "pipetune" / RECORD
    return Path.home() / ".cache" / "pipetune" / RECORD


def _start_time(pid: int) -> str | None:
    """The start time of ``pid`` (/proc/PID/stat field 22), None when it ended (a zombie too)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return None if fields[0] == "Z" else fields[19]


def answers(address: str, timeout: float = 1.0) -> bool:
    host, _, port = address.rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=timeout):
            return True
    except (OSError, ValueError):
        return False


class RecordProblem(Exception):
    """The record exists but names no usable head: the message says why, in one line."""


class ForeignRecord(RecordProblem):
    """The record belongs to another user: never acted on."""


def read_record(path: Path | None = None) -> LocalHead | None:
    """The head the record names, None without a record; :class:`RecordProblem` when the
    record is unreadable, not this user's, or its head is gone."""
    path = path or record_path()
    try:
        text = path.read_text()
        owner = path.stat().st_uid
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise RecordProblem(f"cannot read the local Ray record {path}: {exc.strerror}") from exc
    try:
        fields = json.loads(text)
        head = LocalHead(**fields)
        if head.version != _VERSION or not isinstance(head.pid, int):
            raise TypeError("unknown version")
    except (ValueError, TypeError) as exc:
        raise RecordProblem(
            f"the local Ray record {path} is not one pipetune wrote ({type(exc).__name__}); "
            f"remove it, or run `pipetune ray stop`"
        ) from exc
    if owner != os.getuid() or head.uid != os.getuid():
        raise ForeignRecord(f"the local Ray record {path} belongs to another user (uid {owner})")
    if _start_time(head.pid) != head.started:
        raise RecordProblem(
            f"the local Ray recorded in {path} (PID {head.pid}) is gone; "
            "`pipetune ray start` starts a new one"
        )
    return head


def live_head(note: Callable[[str], None] | None = None) -> LocalHead | None:
    """The recorded head when it runs and answers, else None; ``note`` (a callable) gets the
    one line that says why a record was ignored."""
    try:
        head = read_record()
    except RecordProblem as problem:
        if note is not None:
            note(f"{problem}; starting an embedded Ray")
        return None
    if head is not None and not answers(head.address):
        if note is not None:
            note(f"the local Ray at {head.address} does not answer; starting an embedded Ray")
        return None
    return head


def start_head(cpus: int | None = None, timeout_s: float = _START_TIMEOUT_S) -> LocalHead:
    """Start a head on 127.0.0.1, wait until it answers, record it. A running one is refused;
    what is left of a dead one is stopped first (another user's record is refused there)."""
    path = record_path()
    try:
        running = read_record(path)
    except RecordProblem:
        stop_head()
        running = None
    if running is not None:
        raise PipetuneError(
            f"a local Ray already runs at {running.address} (PID {running.pid}); "
            "stop it with `pipetune ray stop`"
        )
    cpus = cpus or os.cpu_count() or 1
    root = Path(tempfile.mkdtemp(prefix="ptray-", dir="/tmp"))  # short: Ray's socket paths
    token = root / "auth_token"
    token.write_text(secrets.token_hex(32))
    token.chmod(0o600)
    port, client_port = free_ports(2)
    env = {k: v for k, v in os.environ.items() if k not in ("RAY_ADDRESS", "RAY_AUTH_TOKEN")}
    env.update(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN_PATH=str(token))
    ray = Path(sys.executable).parent / "ray"
    args = [str(ray if ray.exists() else "ray"), "start", "--head", "--block"]
    args += ["--node-ip-address=127.0.0.1", f"--port={port}", f"--num-cpus={cpus}"]
    args += [f"--ray-client-server-port={client_port}", f"--temp-dir={root}/ray"]
    args += ["--include-dashboard=false", "--dashboard-agent-listen-port=0"]
    args += ["--disable-usage-stats"]
    with (root / "head.log").open("w") as log:
        process = subprocess.Popen(
            args,
            env=env,
            cwd=root,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,  # its own session: stopped by it, immune to Ctrl+C here
        )
    head = LocalHead(
        f"127.0.0.1:{port}",
        process.pid,
        _start_time(process.pid) or "",
        os.getuid(),
        str(root),
        cpus,
    )
    try:
        _wait_ready(head, process, time.monotonic() + timeout_s)
    except BaseException:  # a head that did not start, or Ctrl+C meanwhile: none is left
        _end_session(head, process)
        shutil.rmtree(root, ignore_errors=True)
        raise
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    atomic_write_text(path, json.dumps(asdict(head)))
    return head


def _wait_ready(head: LocalHead, process: subprocess.Popen[bytes], deadline: float) -> None:
    while not (answers(head.address) and _READY in head.log.read_text()):
        if process.poll() is not None or time.monotonic() > deadline:
            tail = " | ".join(head.log.read_text().strip().splitlines()[-3:])
            raise PipetuneError(
                f"the local Ray head did not start (see {head.log}); its log ends: {tail}"
            )
        time.sleep(0.2)


def session_members(sid: int) -> dict[int, str]:
    """PID → start time of the live processes of session ``sid``."""
    found: dict[int, str] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[3]) == sid and fields[0] != "Z":
            found[int(entry)] = fields[19]
    return found


def _end_session(head: LocalHead, process: subprocess.Popen[bytes] | None = None) -> None:
    """SIGTERM the `ray start --block` leader (it drains and stops its node), then end what
    is left of its session. The session id stays reserved while any member lives, so the
    members found are the head's, not a later program's; a leader's PID that another process
    now holds means the session is gone (the kernel reuses no PID that names a session)."""
    now = _start_time(head.pid)
    if now not in (None, head.started):
        return
    if now == head.started:
        with contextlib.suppress(ProcessLookupError):
            os.kill(head.pid, signal.SIGTERM)
        deadline = time.monotonic() + 30
        while _start_time(head.pid) == head.started and time.monotonic() < deadline:
            if process is not None and process.poll() is not None:
                break
            time.sleep(0.2)
    end_processes(session_members(head.pid))
    if process is not None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=5)


def stop_head() -> str:
    """Stop the recorded head (or what is left of a dead one's session), remove its record
    and folder; return the line to print. A record of another user is refused, one that
    names no head (not JSON, not pipetune's) is removed."""
    path = record_path()
    try:
        head = read_record(path)
    except ForeignRecord as problem:
        raise PipetuneError(f"{problem}; it is left as it is") from None
    except RecordProblem as problem:
        head = _stale_record(path)
        if head is None:
            path.unlink(missing_ok=True)
            return f"removed {path}: {problem}"
    if head is None:
        return f"no local Ray is recorded ({path})"
    _end_session(head)
    shutil.rmtree(head.root, ignore_errors=True)
    path.unlink(missing_ok=True)
    return f"stopped the local Ray at {head.address} (PID {head.pid})"


def _stale_record(path: Path) -> LocalHead | None:
    """A record pipetune wrote whose leader is gone (its session may live on), or None."""
    try:
        head = LocalHead(**json.loads(path.read_text()))
    except (OSError, ValueError, TypeError):
        return None
    return head if isinstance(head.pid, int) and isinstance(head.started, str) else None
