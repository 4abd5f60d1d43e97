"""``results.csv``: one row per trial, its schema, its writer and its typed reader.

A row holds ``trial_id``, ``status`` (a :class:`Status` word), the metric's final and best
values (``<metric>``, ``best_<metric>``), ``iterations``, ``time_total_s``, one
``config/<key>`` column per searched key (empty where a conditional key was inactive),
``error`` (the last line of why it stopped), and with points_to_evaluate or a warm start
``origin`` (``points_to_evaluate`` or ``sampled``). With several metrics, each has its two
columns and ``pareto`` (True/False) marks the trials no other trial beats in every
``best_<metric>``; with ``tune.constraints``, each constrained metric has its final value's
column and ``feasible`` (True/False) says whether that value kept every bound.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any

from pipetune._io import atomic_write_text
from pipetune.experiment._files import RESULTS_FILE

TEXT_COLUMNS = ("trial_id", "status", "error")

_INT = re.compile(r"[+-]?\d+")
_FLOAT = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?|[+-]?(nan|inf|infinity)", re.I)


def write_results(rows: list[dict[str, Any]], folder: Path) -> Path:
    """Replace ``results.csv`` atomically (columns in first-seen order; a ``config/`` column
    only some rows have goes beside the other ``config/`` columns; its other cells stay
    empty)."""
    columns: list[str] = []
    for row in rows:
        for key in row:
            if key not in columns:
                columns.insert(_place(columns, key), key)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns)
    writer.writeheader()
    writer.writerows(rows)
    return atomic_write_text(folder / RESULTS_FILE, buffer.getvalue())


def _place(columns: list[str], key: str) -> int:
    """Where a new column goes: after the last one of its ``prefix/`` family, else last."""
    prefix = key.partition("/")[0] + "/" if "/" in key else None
    family = [i for i, c in enumerate(columns) if prefix and c.startswith(prefix)]
    return family[-1] + 1 if family else len(columns)


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
    """The rows of ``results.csv`` with typed values, or None when the file is absent or
    unreadable."""
    path = folder / RESULTS_FILE
    if not path.is_file():
        return None
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            rows = [
                {
                    key: (value or "") if key in TEXT_COLUMNS else parse_cell(value or "")
                    for key, value in row.items()
                    if key is not None
                }
                for row in csv.DictReader(handle)
            ]
    except (OSError, csv.Error, UnicodeDecodeError):
        return None
    return [row for row in rows if row.get("trial_id")]
