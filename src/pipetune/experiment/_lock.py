"""The lock a running driver holds on its experiment folder.

Two drivers writing one folder mix their histories and lose each other's results, so the
second ``pipetune tune`` (or ``--resume``) is refused, naming the PID and host that hold the
folder. A lock left by a driver that died on this host (its PID is gone) is taken over with
a warning; one held on another host is never taken over, since this host cannot tell
whether that driver still runs.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
from pathlib import Path
from types import TracebackType

from pipetune.errors import ConfigError
from pipetune.experiment._files import LOCK_FILE


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's live process
    return True


class ExperimentLock:
    """``with ExperimentLock(folder, warn=print):`` holds ``folder`` for this process."""

    def __init__(self, folder: Path, warn: object = None) -> None:
        self.folder = folder
        self.path = folder / LOCK_FILE
        self._warn = warn if callable(warn) else None
        self.held = False
        self._created: list[Path] = []  # folders the lock made, deepest first

    def _create(self) -> bool:
        """Create the lock file atomically; False when another one exists."""
        record = {"pid": os.getpid(), "host": socket.gethostname(), "since": time.time()}
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            return False
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(record, handle)
        return True

    def holder(self) -> dict[str, object]:
        """What the lock file says (empty when unreadable: a holder still writing it)."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def stale(self, holder: dict[str, object] | None = None) -> bool:
        """Whether the lock was left by a driver of this host that no longer runs (one held
        on another host is never stale: this host cannot tell)."""
        holder = self.holder() if holder is None else holder
        pid = holder.get("pid")
        return (
            holder.get("host") == socket.gethostname() and isinstance(pid, int) and not _alive(pid)
        )

    def acquire(self) -> None:
        missing = [p for p in [self.folder, *self.folder.parents] if not p.exists()]
        self.folder.mkdir(parents=True, exist_ok=True)
        self._created = missing
        for _ in range(3):
            if self._create():
                self.held = True
                return
            holder = self.holder()
            pid, host = holder.get("pid"), holder.get("host")
            if not self.stale(holder):
                raise ConfigError(
                    f"'{self.folder}' is in use by pipetune (PID {pid or '?'} on host "
                    f"{host or '?'})",
                    hint="wait for that run to end, or stop it; two runs never share a folder",
                )
            # Move the stale lock aside under a name of our own: of two processes taking it
            # over at once, only one rename succeeds.
            aside = self.path.with_name(f"{LOCK_FILE}.stale-{os.getpid()}")
            with contextlib.suppress(FileNotFoundError):
                os.rename(self.path, aside)
                aside.unlink()
                if self._warn is not None:
                    self._warn(
                        f"took over the lock of '{self.folder}' from PID {pid} on {host}, "
                        "which no longer runs"
                    )
        raise ConfigError(f"could not take the lock of '{self.folder}'; try again")

    def release(self) -> None:
        """Remove the lock file, and the folders the lock made if nothing was written into
        them (a refused or interrupted run leaves no trace)."""
        if self.held and self.holder().get("pid") == os.getpid():
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()
            for folder in self._created:
                with contextlib.suppress(OSError):  # not empty: something was written
                    folder.rmdir()
        self.held = False

    def __enter__(self) -> ExperimentLock:
        self.acquire()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.release()
