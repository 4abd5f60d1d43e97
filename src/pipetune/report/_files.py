"""Tolerant readers of an experiment folder's own files (it may still run, or have been cut).

The file names, the history and the results rows come from :mod:`pipetune.experiment`,
their one owner; this module adds the plain JSON and text readers the report needs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pipetune.experiment import (
    BEST_CONFIG_FILE,
    CONFIG_COPY,
    HISTORY_FILE,
    META_FILE,
    RESULTS_FILE,
    STATE_GLOB,
    History,
    parse_cell,
    read_history,
    read_results,
)

__all__ = [
    "BEST_CONFIG_FILE",
    "CONFIG_COPY",
    "HISTORY_FILE",
    "META_FILE",
    "RESULTS_FILE",
    "STATE_GLOB",
    "History",
    "parse_cell",
    "read_history",
    "read_json",
    "read_results",
    "read_text",
]


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
