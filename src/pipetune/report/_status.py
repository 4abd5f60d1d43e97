"""``pipetune status DIR``: where an experiment stands, read from its folder alone.

For a SLURM user on a login node: no Ray, no torch, nothing written. Whether it still runs
comes from the driver's lock file; the trials, their statuses and the best so far from the
same reader as the report (results.csv, history.jsonl and Tune's snapshot).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipetune.experiment import CONFIG_COPY, FINISHED, ExperimentLock, Status
from pipetune.report._load import _tune_section, load_experiment
from pipetune.report._model import ExperimentData, finite, format_value

RUNNING, FINISHED_STATE, STOPPED = "running", "finished", "stopped"


@dataclass
class ExperimentStatus:
    experiment: ExperimentData
    #: running (a live driver holds the lock), finished, or stopped before its end
    state: str
    #: the lock's holder ({} when none holds it)
    holder: dict[str, Any]
    #: the trials the experiment plans (num_samples × grid points), None when unknown
    planned: int | None
    #: when the first trial started and the last result came (None before any result)
    first: float | None
    last: float | None

    def lines(self, now: float | None = None) -> list[str]:
        """The status as a few lines of text."""
        now = time.time() if now is None else now
        ex = self.experiment
        out = [f"experiment: {ex.folder}", f"state: {self._state_line(now)}"]
        counts = ", ".join(f"{n} {s}" for s, n in sorted(ex.status_counts().items()))
        known = len(ex.trials)
        of = f" of {self.planned} planned" if self.planned else ""
        waiting = (
            f", {self.planned - known} not started" if self.planned and self.planned > known else ""
        )
        out.append(f"trials: {known}{of} ({counts or 'none yet'}{waiting})")
        best = ex.best_trial
        if best is None:
            out.append(f"best: no trial has reported {ex.metric} yet")
        else:
            label = "best so far" if self.state == RUNNING else "best"
            out.append(
                f"{label}: {ex.metric} {format_value(best.best)} ({ex.mode}) by trial "
                f"{best.trial_id} ({best.status.lower()}, {best.iterations} iteration(s))"
            )
            out += [f"  {key}: {format_value(value)}" for key, value in best.config.items()]
        if self.first is not None and self.last is not None:
            end = now if self.state == RUNNING else self.last
            out.append(
                f"elapsed: {_duration(end - self.first)} since the first trial started; "
                f"last result {time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(self.last))}"
            )
        out += [f"note: {note}" for note in ex.notes]
        return out

    def _state_line(self, now: float) -> str:
        pid, host = self.holder.get("pid", "?"), self.holder.get("host", "?")
        if self.state == RUNNING:
            since = finite(self.holder.get("since"))
            started = f", for {_duration(now - since)}" if since is not None else ""
            return f"running (driver PID {pid} on {host} holds the lock{started})"
        if self.state == FINISHED_STATE:
            return "finished"
        left = (
            f"; a lock was left by PID {pid} on {host}, which no longer runs" if self.holder else ""
        )
        return (
            f"stopped before its end (no driver runs it{left}); continue it with "
            f"`pipetune tune --resume {self.experiment.folder}`"
        )


def _duration(seconds: float) -> str:
    total = max(0, int(seconds))
    return f"{total // 3600}:{total // 60 % 60:02d}:{total % 60:02d}"


def planned_trials(tune: dict[str, Any]) -> int | None:
    """num_samples × the grid's points of a saved ``tune:`` section (None: not saved)."""
    samples = tune.get("num_samples")
    if not isinstance(samples, int) or isinstance(samples, bool):
        return None
    space = tune.get("search_space")
    entries = space.values() if isinstance(space, dict) else []
    grid = [
        e.get("values") for e in entries if isinstance(e, dict) and e.get("type") == "grid_search"
    ]
    return samples * math.prod(len(v) if isinstance(v, list) else 1 for v in grid)


def _state(experiment: ExperimentData, lock: ExperimentLock, planned: int | None) -> str:
    holder = lock.holder()
    if holder and not lock.stale(holder):
        return RUNNING
    statuses = [Status.of(t.status) for t in experiment.trials]
    enough = planned is None or len(statuses) >= planned
    if statuses and enough and all(s in FINISHED for s in statuses):
        return FINISHED_STATE
    return STOPPED


def experiment_status(folder: str | Path) -> ExperimentStatus:
    """The state of the experiment in ``folder`` (ConfigError: no experiment there)."""
    experiment = load_experiment(folder)
    planned = planned_trials(_tune_section(experiment.folder / CONFIG_COPY))
    lock = ExperimentLock(experiment.folder)
    rows = [row for trial in experiment.trials for row in trial.history]
    ends = [stamp for row in rows if (stamp := finite(row.get("timestamp"))) is not None]
    # a trial started time_total_s before its result's timestamp
    starts = [
        end - (finite(row.get("time_total_s")) or 0.0)
        for row in rows
        if (end := finite(row.get("timestamp"))) is not None
    ]
    return ExperimentStatus(
        experiment,
        _state(experiment, lock, planned),
        lock.holder(),
        planned,
        min(starts, default=None),
        max(ends, default=None),
    )
