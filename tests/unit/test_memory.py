"""release_freed_memory: the pages a finished thread freed go back to the system."""

from __future__ import annotations

import platform
import subprocess
import sys
import textwrap

import pytest

# A thread fills its malloc arena with 2 KiB objects and frees all but one in 64: the
# survivors pin the heap, so the allocator keeps ~190 MiB of free pages resident until
# something trims it (what a reused Tune actor held after its previous trial).
_SCRIPT = textwrap.dedent(
    """
    import sys, threading
    from pipetune._memory import release_freed_memory

    def anonymous_mib():
        for line in open("/proc/self/smaps_rollup"):
            if line.startswith("Anonymous:"):
                return int(line.split()[1]) / 1024

    kept = []
    def trial():
        objects = [bytearray(2048) for _ in range(100_000)]
        kept.extend(objects[::64])
    thread = threading.Thread(target=trial)
    thread.start()
    thread.join()
    before = anonymous_mib()
    trimmed = release_freed_memory()
    print(trimmed, before, anonymous_mib(), len(kept))
    """
)


@pytest.mark.skipif(
    platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="glibc only"
)
def test_a_finished_threads_freed_pages_are_returned() -> None:
    out = subprocess.run(
        [sys.executable, "-c", _SCRIPT], capture_output=True, text=True, check=True
    ).stdout.split()
    trimmed, before, after = out[0], float(out[1]), float(out[2])
    assert trimmed == "True"
    assert before - after > 120, f"{before:.0f} -> {after:.0f} MiB anonymous"


def test_release_collects_garbage_on_any_c_library() -> None:
    import gc
    import weakref

    from pipetune._memory import release_freed_memory

    class Node:
        pass

    a, b = Node(), Node()
    a.other, b.other = b, a  # type: ignore[attr-defined]
    ref = weakref.ref(a)
    gc.disable()
    try:
        del a, b
        assert ref() is not None
        release_freed_memory()
        assert ref() is None
    finally:
        gc.enable()


# Each round allocates 40 MiB in 4 KiB objects at the top of the heap and frees it, as a
# training step does with its activations; the page faults of the rounds are counted.
_CHURN = textwrap.dedent(
    """
    import resource, sys
    from pipetune._memory import prepare_trial_memory

    if sys.argv[1] == "prepared":
        assert prepare_trial_memory()
    def faults():
        return resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    step = [bytearray(4096) for _ in range(10_240)]
    del step
    before = faults()
    for _ in range(10):
        step = [bytearray(4096) for _ in range(10_240)]
        del step
    print(faults() - before)
    """
)


@pytest.mark.skipif(
    platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="glibc only"
)
def test_a_prepared_trial_keeps_a_steps_memory_instead_of_refaulting_it() -> None:
    def faults(mode: str) -> int:
        command = [sys.executable, "-c", _CHURN, mode]
        return int(subprocess.run(command, capture_output=True, text=True, check=True).stdout)

    plain, prepared = faults("plain"), faults("prepared")
    assert plain > 50_000, plain  # glibc's default: ~10,000 pages returned and faulted per round
    assert prepared < plain / 10, (plain, prepared)


# A worker's start-up leaves hundreds of thousands of live objects (torch, Ray Tune), and its
# first optimizer imports torch._dynamo (117,000 more); each trial's collection must not walk
# them again, and must still free what a trial left.
_FREEZE = textwrap.dedent(
    """
    import gc, weakref
    from pipetune import _memory
    from pipetune._memory import prepare_trial_memory

    # 300,000 live objects take some 35 ms to collect here; the few left unfrozen, microseconds
    _memory.REFREEZE_AFTER_S = 0.005

    class Node:
        pass

    def cycle():
        a, b = Node(), Node()
        a.other, b.other = b, a
        return weakref.ref(a)

    def live(count):
        return [[Node()] for _ in range(count)]

    start_up = live(200_000)  # what imports leave
    gc.disable()  # only prepare_trial_memory collects
    tracked = [len(gc.get_objects())]
    frozen = []
    garbage = []
    def prepare():
        prepare_trial_memory()
        tracked.append(len(gc.get_objects()))
        frozen.append(gc.get_freeze_count())

    prepare()  # the first trial
    garbage.append(cycle())
    imported = live(150_000)  # what the first trial imported
    prepare()  # the second: a slow collection
    garbage.append(cycle())
    made = live(10)
    prepare()  # the third: a quick one
    print(*tracked, *frozen, *(ref() is None for ref in garbage))
    """
)


def test_a_trial_process_collects_only_what_its_trials_made() -> None:
    out = subprocess.run(
        [sys.executable, "-c", _FREEZE], capture_output=True, text=True, check=True
    ).stdout.split()
    tracked, frozen, collected = [int(n) for n in out[:4]], [int(n) for n in out[4:7]], out[7:]
    assert tracked[0] > 400_000, tracked
    # the start-up objects are frozen by the first trial: later collections skip them
    assert tracked[1] < 1_000 and frozen[0] > 400_000, (tracked, frozen)
    # what the first trial imported made the second trial's collection slow: frozen too
    assert tracked[2] < 1_000 and frozen[1] - frozen[0] > 300_000, (tracked, frozen)
    # a quick collection freezes nothing: what the third trial made stays collectable
    assert tracked[3] > 10 and frozen[2] == frozen[1], (tracked, frozen)
    # garbage made after a freeze is still collected
    assert collected == ["True", "True"], out
