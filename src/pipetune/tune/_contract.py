"""The metric contract: every trial reports ``tune.metric`` (each objective, and each metric of
``tune.constraints``); a trainer that reports other names stops the whole experiment at its
first result, naming what it did report."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ray.tune.result import AUTO_RESULT_KEYS, TRAINING_ITERATION
from ray.tune.stopper import Stopper

from pipetune.errors import PipetuneError

#: keys of a result that say nothing about the model (neither metrics nor curves)
NON_METRIC_KEYS = {
    "config",
    "date",
    "hostname",
    "node_ip",
    "pid",
    "timestamp",
    "trial_id",
    "done",
    "seed",
}


class MetricContractStopper(Stopper):
    """Stops a trial at ``stop`` criteria; stops everything if a metric of ``metric`` (one
    name or the list of objectives) or of ``constrained`` (``tune.constraints``' metrics) is
    never reported."""

    def __init__(
        self,
        metric: str | list[str],
        criteria: Mapping[str, float],
        constrained: list[str] | None = None,
    ) -> None:
        objectives = [metric] if isinstance(metric, str) else list(metric)
        self.constrained = [m for m in constrained or [] if m not in objectives]
        self.metrics = objectives + self.constrained
        self.criteria = dict(criteria)
        self.checked = False
        self.missing: list[str] | None = None
        self.absent: list[str] = []  # the required metrics the first result lacked

    def __call__(self, trial_id: str, result: dict[str, Any]) -> bool:
        if not self.checked and TRAINING_ITERATION in result:
            # Only a real report counts: a trial that ends before reporting anything (one
            # that diverged in its first epoch) hands Tune an empty result.
            self.checked = True
            self.absent = [m for m in self.metrics if m not in result]
            if self.absent:
                internal = set(AUTO_RESULT_KEYS) | {"should_checkpoint", "experiment_tag"}
                self.missing = sorted(k for k in result if k not in NON_METRIC_KEYS | internal)
                return True
        return any(k in result and result[k] >= v for k, v in self.criteria.items())

    def stop_all(self) -> bool:
        return self.missing is not None

    def enforce(
        self, ended: set[str], diverged: set[str], errored: set[str], resumed: bool
    ) -> None:
        """After the fit: raise when the contract broke. A trial that ended without a single
        report breaks it too (unless it diverged or failed before its first report); a
        resumed run may legitimately report nothing new."""
        never_reported = not (resumed or self.checked) and ended - diverged - errored
        if self.missing is None and never_reported:
            self.missing = []
        if self.missing is not None:
            absent = self.absent or self.metrics
            names = ", ".join(f"'{m}'" for m in absent)
            key = "tune.constraints" if set(absent) <= set(self.constrained) else "tune.metric"
            raise PipetuneError(
                f"the trainer never reported metric {names}; it reported: "
                f"{', '.join(self.missing) or 'nothing'} (set {key} to one of "
                "them or report it from the trainer)"
            )
