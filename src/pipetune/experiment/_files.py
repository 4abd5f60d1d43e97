"""The names of the files an experiment folder holds, defined once."""

from __future__ import annotations

import os
import time
from pathlib import Path

#: the config as it ran: the user's file, every override, and the effective ``tune:`` section
CONFIG_COPY = "pipetune_config.yaml"
#: where the config came from and which folders its modules import from
META_FILE = "pipetune_meta.json"
#: every reported result of every trial, one JSON line each, with its attempt
HISTORY_FILE = "history.jsonl"
#: one row per trial, written when an experiment run ends
RESULTS_FILE = "results.csv"
#: the whole config with the best trial's values: ``pipetune run`` reproduces it
BEST_CONFIG_FILE = "best_config.yaml"
#: with several metrics: one runnable config like best_config.yaml per Pareto-optimal trial
#: (``<trial id>.yaml``)
PARETO_DIR = "pareto"
REPORT_FILE = "report.html"
#: held by the running driver: its PID and host
LOCK_FILE = ".pipetune.lock"
#: why each diverged trial stopped (one ``<trial id>.txt`` each)
DIVERGED_DIR = "diverged"
#: Ray Tune's snapshots of the experiment, one per driver session
STATE_GLOB = "experiment_state-*.json"


def holds_experiment(folder: Path) -> bool:
    """Whether ``folder`` holds (part of) an experiment that a new one must not mix with."""
    markers = (META_FILE, HISTORY_FILE, RESULTS_FILE)
    return any((folder / name).exists() for name in markers) or any(folder.glob(STATE_GLOB))


def move_aside(folder: Path) -> Path:
    """Rename ``folder`` to ``<name>.old-<time>`` beside it (never overwriting); return where."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target = folder.with_name(f"{folder.name}.old-{stamp}")
    number = 1
    while target.exists():
        target = folder.with_name(f"{folder.name}.old-{stamp}-{number}")
        number += 1
    os.rename(folder, target)
    return target
