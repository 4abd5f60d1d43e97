"""Series the figures draw: learning curves, best-so-far over time, trial spans per node."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pipetune.report._model import ExperimentData, Trial, finite

#: Spans closer than this (seconds) share a lane: Ray's timestamps are whole seconds.
_LANE_SLACK_S = 0.5


@dataclass
class Curve:
    trial_id: str
    status: str
    iterations: list[float]
    values: list[float]


def curves(experiment: ExperimentData) -> list[Curve]:
    """The tuned metric against training_iteration, one curve per trial that reported it."""
    result = []
    for trial in experiment.trials:
        points = [
            (finite(row.get("training_iteration")), finite(row.get(experiment.metric)))
            for row in trial.history
        ]
        kept = [(x, y) for x, y in points if x is not None and y is not None]
        if kept:
            xs, ys = zip(*kept, strict=True)
            result.append(Curve(trial.trial_id, trial.status, list(xs), list(ys)))
    return result


@dataclass
class Span:
    trial_id: str
    status: str
    node: str
    start: float
    end: float
    lane: int = 0

    @property
    def row(self) -> str:
        return f"{self.node} #{self.lane + 1}"


def _node(row: dict[str, Any]) -> str:
    """The node's IP, with the start of its Ray node id when the trial reported one (several
    nodes can share an IP)."""
    ip, node_id = row.get("node_ip"), row.get("node_id")
    if node_id:
        return f"{ip or 'node'} ({str(node_id)[:8]})"
    return str(ip)


def _span(trial: Trial) -> Span | None:
    stamps = [(row, finite(row.get("timestamp"))) for row in trial.history]
    timed = [(row, t) for row, t in stamps if t is not None]
    if not timed:
        return None
    first, first_time = timed[0]
    start = first_time - (finite(first.get("time_this_iter_s")) or 0.0)
    end = max(t for _, t in timed)
    node = next((_node(r) for r, _ in timed if r.get("node_ip") or r.get("node_id")), "unknown")
    return Span(trial.trial_id, trial.status, node, start, max(end, start))


def spans(experiment: ExperimentData) -> list[Span]:
    """Each trial's first-to-last result time on its node; overlapping trials get own lanes."""
    found = [s for s in (_span(t) for t in experiment.trials) if s is not None]
    found.sort(key=lambda s: (s.node, s.start, s.trial_id))
    lanes: dict[str, list[float]] = {}
    for span in found:
        ends = lanes.setdefault(span.node, [])
        free = [i for i, end in enumerate(ends) if end <= span.start + _LANE_SLACK_S]
        span.lane = free[0] if free else len(ends)
        if free:
            ends[span.lane] = span.end
        else:
            ends.append(span.end)
    return found


def lane_rows(found: list[Span]) -> list[str]:
    """The timeline's row labels, by node then lane."""
    return [row for _, row in sorted({((s.node, s.lane), s.row) for s in found})]


@dataclass
class Timeline:
    """The spans measured from the first start: the whole length, the narrowest bar worth
    drawing, and the rows (node, lane) in order."""

    spans: list[Span] = field(default_factory=list)
    start: float = 0.0
    total: float = 0.0
    minimum: float = 0.0
    rows: list[str] = field(default_factory=list)


def timeline(experiment: ExperimentData) -> Timeline:
    found = spans(experiment)
    if not found:
        return Timeline()
    start = min(s.start for s in found)
    total = max(s.end for s in found) - start
    return Timeline(found, start, total, max(total * 0.005, 0.2), lane_rows(found))


def start_time(experiment: ExperimentData) -> float | None:
    """When the first trial started (epoch seconds), from the history."""
    starts = [s.start for s in spans(experiment)]
    return min(starts) if starts else None


@dataclass
class Progress:
    """Every result's metric by wall time since the start, and the best value so far."""

    start: float | None
    seconds: list[float] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    best: list[float] = field(default_factory=list)
    trial_ids: list[str] = field(default_factory=list)


def progress(experiment: ExperimentData) -> Progress:
    start = start_time(experiment)
    out = Progress(start)
    if start is None:
        return out
    points = []
    for trial in experiment.trials:
        for row in trial.history:
            stamp, value = finite(row.get("timestamp")), finite(row.get(experiment.metric))
            if stamp is not None and value is not None:
                points.append((stamp - start, value, trial.trial_id))
    points.sort(key=lambda p: p[0])
    best: float | None = None
    for seconds, value, trial_id in points:
        if best is None or experiment.better(value, best):
            best = value
        out.seconds.append(seconds)
        out.values.append(value)
        out.best.append(best)
        out.trial_ids.append(trial_id)
    return out
