"""The driver's live report: Ray Tune's hooks feed counts to a report.html rewritten off the
hot path (``pipetune.report.LiveReport`` renders in a thread of its own)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ray.tune import Callback

from pipetune.experiment import Status

_DONE = {Status.TERMINATED.value, Status.ERROR.value}


class _StartedTrials(Callback):
    """The experiment's trial count (Tune's, once it is set up) and the trials started in
    this run; neither travels with Tune's pickle of the callbacks."""

    def __init__(self, total: int) -> None:
        self.total = total
        # Tune sets a trial's status after the hook that announces it
        self._started: set[str] = set()

    def __getstate__(self) -> dict[str, Any]:  # Tune pickles callbacks with the experiment
        return {**self.__dict__, "_started": set()}

    def setup(
        self,
        stop: Any = None,
        num_samples: int | None = None,
        total_num_samples: int | None = None,
        **info: Any,
    ) -> None:
        self.total = total_num_samples or self.total

    def on_trial_start(self, iteration: int, trials: list[Any], trial: Any, **info: Any) -> None:
        self._started.add(trial.trial_id)


class LiveReportCallback(_StartedTrials):
    """Hands the trials' counts and statuses to the live report, which renders every
    ``every_s`` seconds and soon after a trial ends; stopped at the experiment's end, before
    ``pipetune tune`` writes the final, static report.

    Counting reads every trial, so a hook only notes that something changed; the counts are
    taken when the report would render them (at that hook, or at a later step of Tune's
    loop): once per render, not once per hook, which made the driver's work per trial grow
    with the number of trials (3 hooks per trial, each over every trial)."""

    def __init__(self, folder: Path, total: int, every_s: float) -> None:
        super().__init__(total)
        self.folder, self.every_s = folder, every_s
        self._live: Any = None
        self._ended: dict[str, str] = {}  # trial id → how it ended
        self._changed = self._urgent = False  # since the counts last handed over

    def __getstate__(self) -> dict[str, Any]:
        return {**super().__getstate__(), "_live": None, "_ended": {}}

    def _update(self, trials: list[Any], now: bool = False) -> None:
        self._changed, self._urgent = True, self._urgent or now
        if self._live is not None:
            self._live.note_change(now)
        self._hand_over(trials)

    def on_step_end(self, iteration: int, trials: list[Any], **info: Any) -> None:
        if self._changed:
            self._hand_over(trials)

    def _hand_over(self, trials: list[Any]) -> None:
        if self._live is None:
            from pipetune.report import live_report

            self._live = live_report(self.folder, self.every_s)
        elif not self._live.ready(self._urgent):
            return  # the hook or step after the report is ready hands them over
        now, self._changed, self._urgent = self._urgent, False, False
        statuses = {trial.trial_id: self._status(trial) for trial in trials}
        done = sum(1 for status in statuses.values() if status in _DONE)
        running = sum(1 for status in statuses.values() if status == Status.RUNNING.value)
        self._live.update(done, running, max(self.total, len(trials)), now=now, statuses=statuses)

    def _status(self, trial: Any) -> str:
        if trial.status in _DONE:
            return str(trial.status)
        if trial.trial_id in self._ended:
            return self._ended[trial.trial_id]
        if trial.trial_id in self._started and trial.status == Status.PENDING.value:
            return Status.RUNNING.value
        return str(trial.status)

    def on_trial_start(self, iteration: int, trials: list[Any], trial: Any, **info: Any) -> None:
        super().on_trial_start(iteration, trials, trial, **info)
        self._ended.pop(trial.trial_id, None)  # a restored trial runs again
        self._update(trials)

    def on_trial_result(
        self, iteration: int, trials: list[Any], trial: Any, result: dict, **info: Any
    ) -> None:
        self._update(trials)

    def on_trial_complete(self, iteration: int, trials: list[Any], trial: Any, **info: Any) -> None:
        self._ended[trial.trial_id] = Status.TERMINATED.value
        self._update(trials, now=True)

    def on_trial_error(self, iteration: int, trials: list[Any], trial: Any, **info: Any) -> None:
        self._ended[trial.trial_id] = Status.ERROR.value
        self._update(trials, now=True)

    def on_experiment_end(self, trials: list[Any], **info: Any) -> None:
        if self._live is not None:
            self._live.close()  # no live page can follow the final one
            self._live = None


class ReportImportWarmup(_StartedTrials):
    """Once every trial has started and one has ended, a core stays idle until the end:
    the final report's slowest imports (fANOVA's) are done there, in the background."""

    def on_trial_complete(self, iteration: int, trials: list[Any], trial: Any, **info: Any) -> None:
        if len(self._started) >= self.total:
            from pipetune.report import import_in_background

            import_in_background()

    on_trial_error = on_trial_complete


def live_report_callbacks(folder: Path, total: int, every_s: float) -> list[Callback]:
    """The live report's callback (none when ``tune.report_every_s`` is 0)."""
    return [LiveReportCallback(folder, total, every_s)] if every_s > 0 else []
