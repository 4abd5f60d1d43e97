"""Hand memory that Python has freed back to the operating system, and stop the churn.

glibc's allocator keeps the pages of freed objects in its arenas for later allocations, and
a new thread gets a new arena. A Tune actor that is reused runs each trial in a new thread,
so the previous trial's freed model, gradients and optimizer state stayed resident beside
the next trial's: on the ResNet-18 benchmark a reused trial worker held 100-160 MiB more
than a fresh one. ``malloc_trim(0)`` returns those free pages.

Inside a trial the opposite happens: each step frees its activations, glibc hands the top
of the heap back to the system and the next step faults it in again, zeroed (3 million
page faults per worker on that benchmark). A fixed trim threshold of 64 MiB keeps one
step's working set; fixing it also fixes the mmap threshold, set to the 32 MiB that glibc's
dynamic threshold reaches by itself (a small fixed one made every tensor a fresh mapping:
ResNet-18's steps ran 1.4-2.2x slower). On a C library without these calls (macOS, musl)
only garbage is collected.

Collecting garbage is itself costly in a trial worker: torch, Ray Tune and pipetune leave some
285,000-380,000 tracked objects, and a full collection of them took 0.2-0.4 s, once per
trial (on 16 trials of an MLP, 44 % of the trial workers' busy time, py-spy). A trial
process therefore freezes what is alive at its first trial, uncollected: there is no trial's
garbage yet, and the collection would find some 25 objects of the imports' cycles. Later
collections, this module's and Python's own, look only at what came since. What a trial
imports comes since too: torch imports ``torch._dynamo`` on the first optimizer a process
creates (some 117,000 objects, 70-85 ms a collection, every later trial). So a collection
that takes longer than :data:`REFREEZE_AFTER_S` freezes what survived it. A frozen object
is still freed when its last reference goes; only a cycle among frozen objects is never
collected, and what is frozen again is what survived a full collection.

This module imports neither torch nor Ray.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import gc
import time
from typing import Any

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
#: Free memory at the top of a heap that a trial's allocator keeps for its next steps.
TRIAL_TRIM_THRESHOLD = 64 * 2**20
#: Allocations from this size on get their own mapping (glibc's dynamic maximum on 64 bit).
TRIAL_MMAP_THRESHOLD = 32 * 2**20


#: A trial's collection that takes longer freezes what survived it (see the module's doc).
REFREEZE_AFTER_S = 0.02

#: whether this process's start-up objects are frozen (see prepare_trial_memory)
_frozen = False


@functools.cache
def _libc() -> Any | None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"))
        libc.malloc_trim.argtypes, libc.malloc_trim.restype = [ctypes.c_size_t], ctypes.c_int
        libc.mallopt.argtypes, libc.mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    except (OSError, AttributeError, TypeError):
        return None
    return libc


def release_freed_memory() -> bool:
    """Collect garbage, then return the allocator's free pages to the system.

    Returns whether the allocator could be trimmed (glibc). A collection visits every
    object not frozen (in a process that imported torch, 0.1-0.4 s): call it between
    phases, never per step.
    """
    _collect()
    return _trim() is not None


def _collect() -> float:
    """A full collection; the seconds it took."""
    started = time.perf_counter()
    gc.collect()
    return time.perf_counter() - started


def _trim() -> Any | None:
    """glibc's free pages returned to the system; the C library, or None without glibc."""
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)
    return libc


def prepare_trial_memory() -> bool:
    """Before a trial: release what the process freed, then let the allocator keep one
    step's working set instead of returning and re-faulting it every step.

    The first call in a process freezes what is alive (``gc.freeze``: imports, Ray's worker
    state) instead of collecting it; a later call collects, trims, and freezes the survivors
    when its collection was slow (see the module's doc). Returns whether glibc's allocator
    was set (a no-op elsewhere). For trial processes, which pipetune owns, not for a user's
    own Python process.
    """
    global _frozen
    if _frozen:  # (a flag: gc.get_freeze_count() walks the frozen objects, 20-50 ms)
        if _collect() > REFREEZE_AFTER_S:
            gc.freeze()
        libc = _trim()
    else:
        gc.freeze()
        _frozen = True
        libc = _libc()
    if libc is None:
        return False
    libc.mallopt(_M_MMAP_THRESHOLD, TRIAL_MMAP_THRESHOLD)
    libc.mallopt(_M_TRIM_THRESHOLD, TRIAL_TRIM_THRESHOLD)
    return True
