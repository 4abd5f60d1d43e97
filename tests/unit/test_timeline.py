"""The timeline behind ``pipetune tune --profile``."""

from __future__ import annotations

import subprocess
import sys
import time

from pipetune._timeline import Timeline, process_age


def test_moments_in_order_with_the_phase_before_each() -> None:
    timeline = Timeline()
    timeline.mark("loaded")
    time.sleep(0.05)
    timeline.first("first result")
    timeline.first("first result")  # only the first one counts
    time.sleep(0.05)
    timeline.mark("done")
    names = [name for name, _ in timeline.marks]
    assert names == ["loaded", "first result", "done"]
    at = [at for _, at in timeline.marks]
    assert at[0] > 0 and at[1] - at[0] >= 0.05 and at[2] - at[1] >= 0.05
    lines = timeline.format().splitlines()
    assert len(lines) == 4 and lines[2].endswith("first result")
    phase = float(lines[3].split()[1])
    assert abs(phase - (at[2] - at[1])) < 0.01


def test_the_age_counts_from_the_process_start() -> None:
    """A process that sleeps before it asks is at least that old."""
    code = (
        "import time; time.sleep(0.5); "
        "from pipetune._timeline import process_age; print(process_age())"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert 0.5 <= float(done.stdout) < 30
    assert process_age() > 0
