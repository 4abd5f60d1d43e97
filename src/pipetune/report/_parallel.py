"""Axes of the parallel-coordinates view: one per varying hyperparameter, then the metric."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from pipetune.report._model import ExperimentData, format_value
from pipetune.report._params import ParamSpec, describe


@dataclass
class Axis:
    label: str
    values: list[float]
    tickvals: list[float]
    ticktext: list[str]


@dataclass
class Parallel:
    axes: list[Axis] = field(default_factory=list)
    trial_ids: list[str] = field(default_factory=list)
    metric: list[float] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _linear_ticks(low: float, high: float, count: int = 5) -> list[float]:
    if high <= low:
        return [low]
    return [low + (high - low) * i / (count - 1) for i in range(count)]


def _ticks(spec: ParamSpec) -> tuple[list[float], list[str]]:
    if spec.kind == "categorical":
        return [float(i) for i in range(len(spec.choices))], [str(c) for c in spec.choices]
    if spec.log:
        low, high = math.log10(spec.low), math.log10(spec.high)
        decades = [float(k) for k in range(math.ceil(low), math.floor(high) + 1)]
        positions = decades if len(decades) >= 2 else [low, high]
        return positions, [format_value(10**p) for p in positions]
    positions = _linear_ticks(spec.low, spec.high)
    if spec.kind == "int":
        positions = sorted({float(round(p)) for p in positions})
    return positions, [format_value(int(p) if spec.kind == "int" else p) for p in positions]


def parallel(experiment: ExperimentData) -> Parallel:
    scored = [t for t in experiment.trials if t.best is not None]
    specs = [
        describe(n, [t.config.get(n) for t in scored], experiment.categories.get(n))
        for n in experiment.param_names
    ]
    varying = [s for s in specs if s is not None and s.varies]
    out = Parallel()
    if not scored:
        out.notes.append(f"no trial reported '{experiment.metric}' yet")
        return out
    if not varying:
        out.notes.append("no hyperparameter took more than one value")
        return out
    rows = []
    for trial in scored:
        positions = [s.position(trial.config.get(s.name)) for s in varying]
        if all(p is not None for p in positions):
            rows.append((trial.trial_id, [float(p or 0.0) for p in positions], trial.best or 0.0))
    if len(rows) < len(scored):
        out.notes.append(f"{len(scored) - len(rows)} trial(s) without every value left out")
    names = experiment.names
    for index, spec in enumerate(varying):
        tickvals, ticktext = _ticks(spec)
        name = f"{names[spec.name]} (log)" if spec.log else names[spec.name]
        out.axes.append(Axis(name, [r[1][index] for r in rows], tickvals, ticktext))
    out.trial_ids = [r[0] for r in rows]
    out.metric = [r[2] for r in rows]
    low, high = (min(out.metric), max(out.metric)) if out.metric else (0.0, 0.0)
    ticks = _linear_ticks(low, high)
    out.axes.append(Axis(experiment.metric, out.metric, ticks, [format_value(t) for t in ticks]))
    return out
