"""The experiment as the report sees it: trials with their config, metric and history."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipetune._mode import Mode
from pipetune.experiment import Status, display_names

TERMINATED = Status.TERMINATED
ERROR = Status.ERROR
INCOMPLETE = Status.INCOMPLETE


def finite(value: Any) -> float | None:
    """``value`` as a float when it is a finite number, else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


@dataclass
class Trial:
    trial_id: str
    status: str
    config: dict[str, Any] = field(default_factory=dict)
    final: float | None = None
    best: float | None = None
    iterations: int = 0
    time_total_s: float | None = None
    error: str = ""
    history: list[dict[str, Any]] = field(default_factory=list)
    #: with several objectives: each one's best value (results.csv's ``best_<metric>``)
    objectives: dict[str, float | None] = field(default_factory=dict)
    #: results.csv's ``pareto`` and ``feasible`` marks (None: the column is absent)
    pareto: bool | None = None
    feasible: bool | None = None


@dataclass
class ExperimentData:
    """Everything a report shows; ``notes`` say what was missing or had to be rebuilt."""

    folder: Path
    metric: str
    mode: Mode
    trials: list[Trial]
    notes: list[str] = field(default_factory=list)
    #: searched key → its ``label:`` in the saved search space
    labels: dict[str, str] = field(default_factory=dict)
    #: searched key → its categories, for the choice and grid-search keys
    categories: dict[str, list[Any]] = field(default_factory=dict)
    #: with several objectives: each (metric, mode), ``metric`` first; else empty
    objectives: list[tuple[str, Mode]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.mode = Mode.of(self.mode)  # a caller may pass the YAML's word

    @property
    def names(self) -> dict[str, str]:
        """Searched key → the short name tables and plots show it under."""
        return display_names(self.param_names, self.labels)

    def named(self, config: dict[str, Any]) -> dict[str, Any]:
        """A trial's config keyed by display names."""
        names = self.names
        return {names.get(k, k): v for k, v in config.items()}

    @property
    def name(self) -> str:
        return self.folder.name

    @property
    def param_names(self) -> list[str]:
        names: list[str] = []
        for trial in self.trials:
            names += [k for k in trial.config if k not in names]
        return names

    def better(self, a: float, b: float) -> bool:
        return self.mode.better(a, b)

    def ranked(self) -> list[Trial]:
        """Trials with a metric, best first, then the others in their order."""
        scored = [t for t in self.trials if t.best is not None]
        unscored = [t for t in self.trials if t.best is None]
        return self.mode.ranked(scored, key=lambda t: t.best or 0.0) + unscored

    @property
    def best_trial(self) -> Trial | None:
        """The best in ``metric``, never an infeasible trial or one off the Pareto front
        (as best_config.yaml)."""
        allowed = [
            t
            for t in self.ranked()
            if t.best is not None and t.feasible is not False and t.pareto is not False
        ]
        return allowed[0] if allowed else None

    def status_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for trial in self.trials:
            counts[trial.status] = counts.get(trial.status, 0) + 1
        return counts

    def status_summary(self) -> str:
        """'2 error, 1 terminated': the trials per status."""
        return ", ".join(f"{n} {s.lower()}" for s, n in sorted(self.status_counts().items()))


@dataclass
class TrialTable:
    """The "All trials" table, best first: its headers and each trial's row of values."""

    headers: list[str]
    rows: list[tuple[Trial, list[Any]]]
    #: header → the searched key it shortens
    keys: dict[str, str] = field(default_factory=dict)


def trial_table(experiment: ExperimentData) -> TrialTable:
    """Rank (None without a metric), id, status, metric, best, iterations, time, the
    hyperparameters, error (None when there is none)."""
    metric, params, names = experiment.metric, experiment.param_names, experiment.names
    headers = ["#", "trial", "status", metric, f"best {metric}", "iterations", "time (s)"]
    # several objectives, constraints: the other objectives' best and the marks
    others = [name for name, _ in experiment.objectives[1:]]
    marks = [
        m
        for m in ("pareto", "feasible")
        if any(getattr(t, m) is not None for t in experiment.trials)
    ]
    headers += [f"best {name}" for name in others] + marks
    rows = [
        (
            trial,
            [
                rank if trial.best is not None else None,
                trial.trial_id,
                trial.status,
                trial.final,
                trial.best,
                trial.iterations,
                trial.time_total_s,
                *(trial.objectives.get(name) for name in others),
                *(getattr(trial, m) for m in marks),
                *(trial.config.get(p) for p in params),
                trial.error or None,
            ],
        )
        for rank, trial in enumerate(experiment.ranked(), start=1)
    ]
    shown = [names[p] for p in params]
    return TrialTable([*headers, *shown, "error"], rows, dict(zip(shown, params, strict=True)))


def format_value(value: Any) -> str:
    """A compact, human string for a metric or config value (None → '—')."""
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)
