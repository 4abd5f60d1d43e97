"""The experiment's result history: ``history.jsonl``, one JSON line per reported result."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

HISTORY_FILE = "history.jsonl"


def read_history(folder: Path) -> list[dict[str, Any]]:
    """Every result recorded in ``folder``; a line cut by a killed driver is skipped."""
    path = folder / HISTORY_FILE
    if not path.exists():
        return []
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return rows
