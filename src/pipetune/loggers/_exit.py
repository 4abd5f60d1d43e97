"""Logger contexts that another thread is still closing hold the interpreter's exit.

Ray Tune runs a function trainable in a daemon thread. When it stops a trial (a scheduler's
decision, a ``stop`` criterion, the end of the experiment), that thread gets a ``SystemExit``
out of ``report`` and unwinds through the trainer, whose logger then ends its run, while the
actor's main thread returns and the process exits. Python stops daemon threads where they
stand once the exit handlers have run, so the close was cut short: a file-store MLflow run
whose ``meta.yaml`` was being rewritten stayed empty, and ``search_runs`` then failed for the
whole experiment. An exit handler here waits (bounded) for the contexts that other, still
living threads hold open, so every run is ended before the process is.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
from typing import Any

logger = logging.getLogger(__name__)

EXIT_WAIT_S = 10.0
"""The longest the exit waits for other threads' contexts; Ray Tune kills a trial's actor
that has not ended 5 s after the experiment's end, so this is only a bound for other hosts."""

_changed = threading.Condition()
_open: dict[int, tuple[Any, threading.Thread]] = {}  # id(logger) -> (logger, owner thread)
_registered = False


def track(context: Any) -> None:
    """Note ``context`` as opened by the calling thread."""
    global _registered
    with _changed:
        _open[id(context)] = (context, threading.current_thread())
        if not _registered:
            atexit.register(wait_for_open_contexts)
            _registered = True


def untrack(context: Any) -> None:
    """Note ``context`` as closed (or never to be closed by its thread)."""
    with _changed:
        if _open.pop(id(context), None) is not None:
            _changed.notify_all()


def _held_elsewhere() -> list[Any]:
    me = threading.current_thread()
    return [ctx for ctx, owner in _open.values() if owner is not me and owner.is_alive()]


def wait_for_open_contexts(timeout: float = EXIT_WAIT_S) -> list[Any]:
    """Wait until no living thread but this one holds a context open, at most ``timeout``
    seconds; return the contexts still open then (empty when all were closed)."""
    deadline = time.monotonic() + timeout
    with _changed:
        while (held := _held_elsewhere()) and (left := deadline - time.monotonic()) > 0:
            # Woken by untrack(); the short timeout notices an owner thread that died.
            _changed.wait(min(left, 0.1))
    for context in held:
        logger.warning(
            "%s was still open %.0f s after the process began to exit; its run may show as running",
            type(context).__name__,
            timeout,
        )
    return held
