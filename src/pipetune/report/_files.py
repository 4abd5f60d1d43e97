"""Tolerant readers of an experiment folder's own files (it may still run, or have been cut).

The file names repeat those of :mod:`pipetune.tune` so that reading a report never imports
Ray; a unit test keeps the two in step.
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HISTORY_FILE = "history.jsonl"
RESULTS_FILE = "results.csv"
BEST_CONFIG_FILE = "best_config.yaml"
CONFIG_COPY = "pipetune_config.yaml"
META_FILE = "pipetune_meta.json"
STATE_GLOB = "experiment_state-*.json"
_TEXT_COLUMNS = ("trial_id", "status", "error")

_INT = re.compile(r"[+-]?\d+")
_FLOAT = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?|[+-]?(nan|inf|infinity)", re.I)


@dataclass
class History:
    """The rows of ``history.jsonl`` and how many unreadable lines were skipped."""

    rows: list[dict[str, Any]]
    skipped: int = 0


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


def parse_cell(text: str) -> Any:
    """A CSV cell back to the value it was written from: None, int, float, bool or str."""
    if text == "":
        return None
    if _INT.fullmatch(text):
        return int(text)
    if _FLOAT.fullmatch(text):
        return float(text)
    if text in ("True", "False"):
        return text == "True"
    return text


def read_results(folder: Path) -> list[dict[str, Any]] | None:
    """The rows of ``results.csv`` with typed values, or None when the file is absent."""
    path = folder / RESULTS_FILE
    if not path.is_file():
        return None
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            rows = [
                {
                    key: (value or "") if key in _TEXT_COLUMNS else parse_cell(value or "")
                    for key, value in row.items()
                    if key is not None
                }
                for row in csv.DictReader(handle)
            ]
    except (csv.Error, UnicodeDecodeError):
        return None  # unreadable: rebuilt from the history like a missing one
    return [row for row in rows if row.get("trial_id")]


def read_json(path: Path) -> dict[str, Any]:
    """A JSON object from ``path``; an absent or unreadable file gives an empty dict."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def read_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
