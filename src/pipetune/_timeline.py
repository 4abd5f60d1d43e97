"""Named moments of one command, in seconds since its process started: the phase breakdown
``pipetune tune --profile`` prints, so that a regression shows where it lands."""

from __future__ import annotations

import os
import time


def process_age() -> float:
    """Seconds since this process started (Linux: from /proc; elsewhere 0)."""
    try:
        with open("/proc/self/stat", encoding="ascii") as handle:
            started_ticks = int(handle.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/uptime", encoding="ascii") as handle:
            uptime = float(handle.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 0.0
    return max(uptime - started_ticks / os.sysconf("SC_CLK_TCK"), 0.0)


class Timeline:
    """Moments marked in order; :meth:`format` gives each one's time and the phase before it."""

    def __init__(self) -> None:
        self._start = time.monotonic() - process_age()
        self.marks: list[tuple[str, float]] = []

    def mark(self, moment: str) -> None:
        self.marks.append((moment, time.monotonic() - self._start))

    def first(self, moment: str) -> None:
        """Mark ``moment`` unless it was marked already (a first result, say)."""
        if all(name != moment for name, _ in self.marks):
            self.mark(moment)

    def format(self) -> str:
        lines = [f"{'at s':>8}  {'phase s':>8}  moment (since the process started)"]
        previous = 0.0
        for moment, at in sorted(self.marks, key=lambda mark: mark[1]):
            lines.append(f"{at:>8.2f}  {at - previous:>8.2f}  {moment}")
            previous = at
        return "\n".join(lines)
