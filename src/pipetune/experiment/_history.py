"""``history.jsonl``: every reported result, one JSON line each, tagged with its attempt.

A trial that runs again (a retry after a failure, a restore after the driver was killed)
starts a new attempt, so rows that repeat an iteration are told apart; readers keep the
newest attempt's value of each iteration.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipetune.experiment._files import HISTORY_FILE

ATTEMPT = "attempt"


@dataclass
class History:
    """The rows of ``history.jsonl`` and how many unreadable lines were skipped."""

    rows: list[dict[str, Any]]
    skipped: int = 0

    def attempts(self) -> dict[str, int]:
        """Trial id → its highest attempt so far (rows without one count as attempt 1)."""
        highest: dict[str, int] = {}
        for row in self.rows:
            trial_id = row["trial_id"]
            highest[trial_id] = max(highest.get(trial_id, 0), int(row.get(ATTEMPT) or 1))
        return highest

    def curves(self, metric: str) -> dict[str, list[float]]:
        """Trial id → ``metric`` per iteration, oldest first, each iteration's newest value."""
        latest: dict[tuple[str, Any], float] = {}
        for row in self.rows:  # file order: a later attempt's row replaces an earlier one
            value = row.get(metric)
            if isinstance(value, int | float) and not isinstance(value, bool):
                latest[(row["trial_id"], row.get("training_iteration"))] = float(value)
        curves: dict[str, list[float]] = {}
        for (trial_id, _), value in latest.items():
            curves.setdefault(trial_id, []).append(value)
        return curves


def read_history(folder: Path) -> History:
    """Every readable result line; a line cut by a killed driver is counted and skipped."""
    path = folder / HISTORY_FILE
    if not path.is_file():
        return History([])
    rows: list[dict[str, Any]] = []
    skipped = 0
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            skipped += 1
            continue
        if isinstance(row, dict) and row.get("trial_id") is not None:
            row["trial_id"] = str(row["trial_id"])
            rows.append(row)
        else:
            skipped += 1
    return History(rows, skipped)


class HistoryWriter:
    """Appends results to ``history.jsonl``, numbering each trial's attempts across runs."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / HISTORY_FILE
        self._attempts = read_history(folder).attempts()
        self._current: dict[str, int] = {}

    def start_attempt(self, trial_id: str) -> int:
        """A new attempt of ``trial_id`` begins (first start, retry or restore)."""
        attempt = max(self._attempts.get(trial_id, 0), self._current.get(trial_id, 0)) + 1
        self._current[trial_id] = attempt
        return attempt

    def append(self, trial_id: str, result: Mapping[str, Any]) -> None:
        if trial_id not in self._current:
            self.start_attempt(trial_id)
        row = {**result, "trial_id": trial_id, ATTEMPT: self._current[trial_id]}
        # One write call per line: a killed driver cuts at most the last line.
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(row) + "\n")
