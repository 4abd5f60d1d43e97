"""Processes a test started, found and stopped by session id (never by name)."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path


def live_processes(match: Callable[[Path, list[str]], bool]) -> list[int]:
    """PIDs of live (not zombie) processes for which ``match(/proc/<pid>, stat fields after
    the command name)`` holds; a process that ends meanwhile is skipped."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            if fields[0] != "Z" and match(entry, fields):
                found.append(int(entry.name))
        except (OSError, IndexError):
            continue  # gone meanwhile
    return found


def session_processes(sid: int) -> list[int]:
    """PIDs of live processes in session ``sid`` (Ray's workers leave the driver's process
    group but stay in its session)."""
    return live_processes(lambda _, fields: int(fields[3]) == sid)


def kill_session(sid: int, timeout: float = 20.0) -> None:
    """SIGKILL the process group ``sid`` (driver, gcs_server, raylet), then every process
    left in that session (the workers), until none is alive."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(sid, signal.SIGKILL)
    deadline = time.monotonic() + timeout
    while True:
        left = session_processes(sid)
        if not left:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"processes of session {sid} survived SIGKILL: {left}")
        for pid in left:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.2)
