"""Nothing of an embedded Ray outlives its driver: a watcher process ends it.

Ray's own reaper stops the raylet and the GCS of a driver killed with SIGKILL, but the
agents (dashboard and runtime-env agents) wait for a GCS that is gone and linger for minutes.
So a driver that starts an embedded Ray also starts this module as a separate process, which
reads a pipe only the driver holds. While Ray runs (the driver wrote ``+``) the watcher
notes, every second, the processes descended from the driver; when Ray is shut down
(``-``) it forgets them; when the pipe ends with Ray still up (the driver died, or the
``pipetune`` executable exited and left its Ray to the watcher: ``Watcher.ends_with_process``),
it sends SIGTERM, then SIGKILL, to each noted process that still runs (and to what started
below them since its last look), and exits. It starts nothing:
a cleanup guard, not a scheduler. (Process titles set by Ray hide their environments, and
the driver's process group may hold other programs, so neither can name them.)

    python -c "from pipetune._reaper import watch; watch(DRIVER_PID)"   (stdin: the pipe)
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

_ENTRY = "from pipetune._reaper import watch; watch"
_GRACE_S = 2.0
_POLL_S = 1.0


def _stat(pid: str) -> tuple[int, str] | None:
    """(parent PID, start time) of ``pid``, or None when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return int(fields[1]), fields[19]


def descendants(*roots: int) -> dict[int, str]:
    """PID → start time of every live process below any of ``roots`` (one look at /proc)."""
    parents: dict[int, list[int]] = {}
    starts: dict[int, str] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (stat := _stat(entry)) is not None:
            parents.setdefault(stat[0], []).append(int(entry))
            starts[int(entry)] = stat[1]
    found: dict[int, str] = {}
    todo = [pid for root in roots for pid in parents.get(root, [])]
    while todo:
        pid = todo.pop()
        if pid not in found and pid in starts:
            found[pid] = starts[pid]
            todo += parents.get(pid, [])
    return found


def end_processes(noted: dict[int, str], grace_s: float = _GRACE_S) -> None:
    """SIGTERM each noted process that still runs (same start time: not a reused PID), then
    SIGKILL what is left after ``grace_s``."""

    def alive() -> list[int]:
        return [pid for pid, start in noted.items() if (_stat(str(pid)) or (0, ""))[1] == start]

    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in alive():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, sig)
        deadline = time.monotonic() + grace_s
        while sig == signal.SIGTERM and alive() and time.monotonic() < deadline:
            time.sleep(0.1)


class Watcher:
    """The driver's side: start the watcher once, then say when Ray is up and down."""

    def __init__(self) -> None:
        self._fd: int | None = None
        self._process: subprocess.Popen[bytes] | None = None
        #: set by the `pipetune` executable, whose process ends the moment a command that
        #: exits promptly returns: its embedded Ray is then left for the watcher to end (all
        #: processes at once) rather than waited for through ray.shutdown(), which stops
        #: them one after another (about 1.5 s) after the user has the answer
        self.ends_with_process = False

    def takes_over(self) -> bool:
        """Whether an embedded Ray that is still up when the process ends is the watcher's
        to end (the watcher runs, and the process exits when the command returns)."""
        return (
            self.ends_with_process
            and self._process is not None
            and self._process.poll() is None  # a watcher that died ends nothing
        )

    def _start(self) -> int | None:
        if self._fd is None and Path("/proc/self/stat").exists():
            read_end, write_end = os.pipe()  # the write end is not inherited: only we hold it
            self._process = subprocess.Popen(
                [sys.executable, "-c", f"{_ENTRY}({os.getpid()})"],
                stdin=read_end,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,  # a Ctrl+C of the driver's group must not stop it
            )
            os.close(read_end)
            self._fd = write_end
        return self._fd

    def _say(self, what: bytes) -> None:
        fd = self._start() if what == b"+" else self._fd
        if fd is not None:
            with contextlib.suppress(OSError):
                os.write(fd, what)

    def ray_started(self) -> None:
        self._say(b"+")

    def ray_stopped(self) -> None:
        self._say(b"-")


WATCHER = Watcher()


def watch(driver: int) -> None:
    """The watcher's loop (its own process; stdin is the driver's pipe)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    noted: dict[int, str] = {}
    tracking = False
    while True:
        ready, _, _ = select.select([0], [], [], _POLL_S)
        if ready:
            data = os.read(0, 64)
            if not data:  # the driver is gone
                break
            for byte in data:
                tracking = byte == ord("+")
                if not tracking:
                    noted.clear()
        if tracking:
            noted.update(descendants(driver))
            noted.pop(os.getpid(), None)  # the watcher is the driver's child too
    if tracking:
        # what started since the last look, below a noted process (a raylet's new worker)
        alive = [pid for pid, start in noted.items() if (_stat(str(pid)) or (0, ""))[1] == start]
        noted.update(descendants(*alive))
        end_processes(noted)
