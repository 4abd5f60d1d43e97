"""report.html while an experiment runs: a banner, a self-reload, rewritten off the hot path.

:class:`LiveReport` schedules renders from one background thread of the driver, so the
caller (Ray Tune's loop) only records counts and never waits for a render; there are never
two renders at once. Each page is rendered by :class:`PageProcess` in a short-lived, niced
child process: a render builds the whole page (tens of MB for a thousand trials) and, done
in the driver, the heap glibc kept after it made the driver's memory grow with every larger
page. :meth:`LiveReport.close` stops it for good (and kills a render under way): once it
returns, no live page can be written any more, so the final static report written after it
always wins.

The page needs no server: it reloads itself from its file every ``reload_s`` seconds, and
stops (saying so) when it has come back unchanged for a while (a killed driver, a SLURM job
past its time), so a page opened from a login node never spins forever.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import math
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pipetune
from pipetune._io import atomic_write_text
from pipetune.experiment import REPORT_FILE

#: a page not rewritten for this many reload periods (and at least STALE_MIN_S) says so
STALE_PERIODS = 12
STALE_MIN_S = 120.0
#: without new results the page is still rewritten this often, so it never looks stale
HEARTBEAT_S = 30.0
#: the least time between two renders, even for trials that end at once
MIN_GAP_S = 1.0
#: a render waits at least this many times the last render's duration after it, so the
#: renders take at most a fifth of one core (a big experiment's page takes seconds)
DUTY = 4.0
#: how long a due render waits for the counts of a change it was told of (note_change)
#: before it renders the counts it has
ASK_S = 1.0
#: a render that takes longer is killed (the next one may do better)
RENDER_TIMEOUT_S = 300.0

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LiveBanner:
    """What a running experiment's page says at its top."""

    done: int
    running: int
    total: int
    reload_s: float
    updated: float = field(default_factory=time.time)
    #: trial id → status as the driver knows it now (Tune's snapshot in the folder lags)
    statuses: Mapping[str, str] = field(default_factory=dict)

    @property
    def text(self) -> str:
        stamp = time.strftime("%H:%M:%S", time.localtime(self.updated))
        return (
            f"running: {self.done} of {self.total} trials done, {self.running} running, "
            f"updated {stamp}"
        )

    @property
    def stale_after_s(self) -> float:
        return max(STALE_PERIODS * self.reload_s, STALE_MIN_S, 3 * HEARTBEAT_S)


def banner_html(banner: LiveBanner) -> str:
    """The banner and the script that reloads the page, or marks it stale once it has come
    back unchanged for ``stale_after_s`` (counted in reloads, so the viewer's clock, maybe a
    laptop's, need not agree with the cluster's)."""
    settings = json.dumps(
        {
            "updated": int(banner.updated * 1000),
            "reload": int(banner.reload_s * 1000),
            "stale": math.ceil(banner.stale_after_s / banner.reload_s),
        }
    )
    return f"""<div id="live" class="live">{banner.text}</div>
<script id="live-reload">
(function () {{
  var live = {settings}, key = "pipetune-live:" + location.pathname, seen = {{}};
  try {{ seen = JSON.parse(sessionStorage.getItem(key) || "{{}}"); }} catch (e) {{}}
  var same = seen.updated === live.updated ? (seen.same || 0) + 1 : 0;
  try {{
    sessionStorage.setItem(key, JSON.stringify({{updated: live.updated, same: same}}));
  }} catch (e) {{}}
  if (same >= live.stale) {{
    var note = document.getElementById("live");
    note.className = "live stale";
    note.textContent += " (not updated since: the driver may have stopped; " +
      "see `pipetune status` for this folder)";
    return;
  }}
  setTimeout(function () {{ window.location.reload(); }}, live.reload);
}})();
</script>"""


class RenderCancelled(Exception):
    """The live report was closed while its page was being rendered."""


class PageProcess:
    """Renders a running experiment's page in a child process
    (``python -m pipetune.report._live_child FOLDER``, the banner as JSON on stdin, the page
    on stdout); :meth:`cancel` kills the render under way and refuses any later one."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self._lock = threading.Lock()
        self._child: subprocess.Popen[bytes] | None = None
        self._cancelled = False

    def __call__(self, banner: LiveBanner) -> str:
        with self._lock:
            if self._cancelled:
                raise RenderCancelled
            self._child = child = subprocess.Popen(
                [sys.executable, "-m", "pipetune.report._live_child", str(self.folder)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=_child_env(),
            )
        try:
            page, stderr = child.communicate(
                json.dumps(dataclasses.asdict(banner)).encode(), timeout=RENDER_TIMEOUT_S
            )
        except subprocess.TimeoutExpired:
            child.kill()
            child.communicate()
            raise
        finally:
            with self._lock:
                self._child = None
        if self._cancelled:
            raise RenderCancelled
        if child.returncode != 0:
            lines = stderr.decode(errors="replace").strip().splitlines()
            raise RuntimeError(lines[-1] if lines else f"exit status {child.returncode}")
        return page.decode()

    def cancel(self) -> None:
        with self._lock:
            self._cancelled = True
            if self._child is not None:
                self._child.kill()


def _child_env() -> dict[str, str]:
    """The driver's environment, with the driver's own pipetune first on the path (the
    child must render with the code that runs the experiment, even from a source tree)."""
    source = str(Path(pipetune.__file__).resolve().parents[1])
    path = os.environ.get("PYTHONPATH")
    return {**os.environ, "PYTHONPATH": source + (os.pathsep + path if path else "")}


Counts = tuple[int, int, int, Mapping[str, str]]  # done, running, total, statuses


class LiveReport:
    """``update(done, running, total)`` from the driver's loop; renders in a thread.

    ``render(banner)`` returns the page's text (it reads the folder itself); a render that
    fails (a file half-written by Tune) is logged and skipped: the next one will do. A
    ``render`` with a ``cancel()`` method (:class:`PageProcess`) is cancelled by
    :meth:`close`.
    """

    def __init__(
        self,
        folder: Path,
        every_s: float,
        render: Callable[[LiveBanner], str],
        heartbeat_s: float = HEARTBEAT_S,
    ) -> None:
        self.path = Path(folder) / REPORT_FILE
        self.every_s, self.heartbeat_s = every_s, heartbeat_s
        self._render = render
        self._state = threading.Condition()  # counts, flags; held only for a moment
        self._write = threading.Lock()  # a write and close() exclude each other
        self._counts: Counts | None = None
        self._dirty = self._urgent = self._closed = self._rendering = False
        self._changed = False  # told of a change whose counts have not come yet
        self._last = -float("inf")  # monotonic time of the last render's end
        self._took = 0.0  # how long it took
        self._thread: threading.Thread | None = None
        self.renders = 0

    def update(
        self,
        done: int,
        running: int,
        total: int,
        now: bool = False,
        statuses: Mapping[str, str] | None = None,
    ) -> None:
        """New counts (and each trial's status); ``now``: render as soon as the last render
        allows (a trial ended)."""
        with self._state:
            if self._closed:
                return
            self._counts = (done, running, total, statuses or {})
            self._dirty, self._changed = True, False
            self._urgent = self._urgent or now
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="pipetune-live-report", daemon=True
                )
                self._thread.start()
            self._state.notify()

    def note_change(self, urgent: bool = False) -> None:
        """Something changed; its counts follow with :meth:`update` once :meth:`ready`
        says so. Until they come (at most ``ASK_S`` after the render is due) the page is
        not rewritten with the old counts, so such a rewrite never holds the counts back."""
        with self._state:
            if self._closed or self._thread is None:
                return
            self._changed = True
            self._urgent = self._urgent or urgent
            self._state.notify()

    def ready(self, urgent: bool = False) -> bool:
        """Whether counts given now would be rendered without waiting: no render is under
        way and the gap since the last one has passed (``urgent``: the short gap after a
        trial's end). A caller whose counts cost time computes them only then, after
        :meth:`note_change`."""
        with self._state:
            if self._closed or self._rendering:
                return False
            gap = MIN_GAP_S if urgent else self.every_s
            return time.monotonic() >= self._last + max(gap, DUTY * self._took)

    def close(self, timeout: float = 5.0) -> None:
        """Stop rendering; after this returns, this object never writes the page again."""
        cancel = getattr(self._render, "cancel", None)
        if cancel is not None:
            cancel()
        with self._write:  # waits for a write in progress, never for a render
            self._closed = True
        with self._state:
            self._state.notify()
        if self._thread is not None:
            self._thread.join(timeout)

    def _due(self) -> float:
        new = self._dirty or self._changed
        gap = MIN_GAP_S if self._urgent else self.every_s if new else self.heartbeat_s
        return self._last + max(gap, DUTY * self._took)

    def _run(self) -> None:
        _lower_priority()
        while True:
            with self._state:
                while not self._closed and (wait := self._due() - time.monotonic()) > 0:
                    self._state.wait(wait)
                asked_until = time.monotonic() + ASK_S  # due: a noted change's counts come now
                while (
                    not self._closed
                    and self._changed
                    and (left := asked_until - time.monotonic()) > 0
                ):
                    self._state.wait(left)
                if self._closed or self._counts is None:
                    return
                done, running, total, statuses = self._counts
                self._dirty = self._urgent = self._changed = False
                self._rendering = True
            started = time.monotonic()
            try:
                self._render_once(LiveBanner(done, running, total, self.every_s, statuses=statuses))
            finally:
                with self._state:
                    self._rendering = False
                    self._last = time.monotonic()
                    self._took = self._last - started

    def _render_once(self, banner: LiveBanner) -> None:
        try:
            page = self._render(banner)
        except RenderCancelled:
            return
        except Exception as exc:  # a folder caught mid-write: the next render will do
            _log.debug("live report not rendered: %s", exc)
            return
        with self._write:
            if self._closed:
                return
            try:
                atomic_write_text(self.path, page)
                self.renders += 1
            except OSError as exc:  # a full disk must not stop the experiment
                _log.warning("live report not written: %s", exc)


def _lower_priority() -> None:
    """Nice this thread (Linux gives each thread its own nice value): trials come first."""
    if sys.platform == "linux":
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
