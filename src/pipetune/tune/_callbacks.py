"""Driver-side Tune callbacks and stopper: progress lines, result history, metric contract."""

from __future__ import annotations

import json
import math
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ray.tune import Callback
from ray.tune.stopper import Stopper

HISTORY_FILE = "history.jsonl"
_SKIP = {"config", "date", "hostname", "node_ip", "pid", "timestamp", "trial_id", "done"}


class MetricContractStopper(Stopper):
    """Stops a trial at ``stop`` criteria; stops everything if ``metric`` is never reported."""

    def __init__(self, metric: str, criteria: Mapping[str, float]) -> None:
        self.metric = metric
        self.criteria = dict(criteria)
        self.checked = False
        self.missing: list[str] | None = None

    def __call__(self, trial_id: str, result: dict[str, Any]) -> bool:
        if not self.checked:
            self.checked = True
            if self.metric not in result:
                self.missing = sorted(k for k in result if k not in _SKIP)
                return True
        return any(k in result and result[k] >= v for k, v in self.criteria.items())

    def stop_all(self) -> bool:
        return self.missing is not None


class HistoryRecorder(Callback):
    """Appends every result to ``history.jsonl`` in the experiment folder (survives resume)."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / HISTORY_FILE

    def on_trial_result(
        self, iteration: int, trials: list[Any], trial: Any, result: dict, **info: Any
    ) -> None:
        row = {
            "trial_id": trial.trial_id,
            "node_ip": result.get("node_ip"),
            "timestamp": result.get("timestamp", time.time()),
            **{
                k: v
                for k, v in result.items()
                if k not in _SKIP and isinstance(v, int | float) and not isinstance(v, bool)
            },
        }
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(row) + "\n")


class ProgressPrinter(Callback):
    """One compact line per finished trial, instead of Ray's log flood."""

    def __init__(self, metric: str, total: int) -> None:
        self.metric, self.total, self.finished = metric, total, 0

    def _line(self, trial: Any, status: str) -> None:
        self.finished += 1
        result = trial.last_result or {}
        value = result.get(self.metric)
        shown = f"{value:.4g}" if isinstance(value, float) and math.isfinite(value) else value
        print(
            f"[{self.finished}/{self.total}] trial {trial.trial_id} {status}: "
            f"{self.metric}={shown} after {result.get('training_iteration', 0)} iteration(s)",
            file=sys.stderr,
            flush=True,
        )

    def on_trial_complete(self, iteration: int, trials: list[Any], trial: Any, **info: Any) -> None:
        self._line(trial, "done")

    def on_trial_error(self, iteration: int, trials: list[Any], trial: Any, **info: Any) -> None:
        self._line(trial, "ERROR")


def read_history(folder: Path) -> list[dict[str, Any]]:
    path = folder / HISTORY_FILE
    if not path.exists():
        return []
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            continue  # a line cut by a killed driver
    return rows
