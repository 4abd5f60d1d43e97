"""The Pareto front of a multi-objective experiment, as results.csv marks it."""

from __future__ import annotations

from dataclasses import dataclass, field

from pipetune.report._model import ExperimentData


@dataclass
class Point:
    trial_id: str
    values: list[float]
    on_front: bool
    feasible: bool


@dataclass
class Front:
    """Every trial with a value of each objective; ``names``: the objectives."""

    names: list[str] = field(default_factory=list)
    points: list[Point] = field(default_factory=list)

    @property
    def front(self) -> list[Point]:
        """The Pareto-optimal points, in the order of the first objective."""
        return sorted((p for p in self.points if p.on_front), key=lambda p: p.values)


def pareto_front(experiment: ExperimentData) -> Front:
    names = [name for name, _ in experiment.objectives]
    out = Front(names)
    for trial in experiment.trials:
        values = [trial.objectives.get(name) for name in names]
        if names and all(v is not None for v in values):
            out.points.append(
                Point(
                    trial.trial_id,
                    [float(v) for v in values if v is not None],
                    trial.pareto is True,
                    trial.feasible is not False,
                )
            )
    return out
