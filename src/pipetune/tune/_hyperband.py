"""Ray Tune's synchronous HyperBand, with every trial of a finished bracket stopped.

Ray's ``HyperBandScheduler`` pauses a trial that reaches its bracket's milestone before the
others do, and stops the paused trials once the last bracket round is done. Two ways leave a
paused trial behind, and with it a run that waits forever ("no trial is running"):

- the pause is still saving (the trial is RUNNING, ``is_saving``) when the last trial reaches
  the milestone: Ray's ``cleanup_full`` stops only PAUSED trials, so this one pauses after
  the bracket has finished, and nothing resumes it (CI, 2026-12-03: hyperband with 2 trials
  of 2 epochs waited 600 s);
- the last trial of a bracket ends without a result at the milestone (it failed, was
  stopped by ``tune.stop``, or its trainer stopped early): Ray's ``on_trial_remove``
  processes only a bracket that is not finished, so the paused ones stay paused.

``HyperBand`` stops them in both cases; what it keeps and stops is otherwise Ray's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ray.tune.experiment import Trial
from ray.tune.schedulers import HyperBandScheduler

if TYPE_CHECKING:
    from ray.tune.execution.tune_controller import TuneController


class HyperBand(HyperBandScheduler):
    """``HyperBandScheduler`` that leaves no trial paused in a finished bracket."""

    def _process_bracket(self, tune_controller: TuneController, bracket: Any) -> str:
        if bracket.finished():
            _stop_waiting_trials(tune_controller, bracket)
        return str(super()._process_bracket(tune_controller, bracket))

    def on_trial_remove(self, tune_controller: TuneController, trial: Trial) -> None:
        super().on_trial_remove(tune_controller, trial)
        bracket, _ = self._trial_info[trial]
        if bracket.finished():
            _stop_waiting_trials(tune_controller, bracket)


def _stop_waiting_trials(tune_controller: TuneController, bracket: Any) -> None:
    """Stop the bracket's paused trials and those whose pause is still saving.

    Stopping one removes it from the bracket, which comes back here: the status is read
    again for each trial, so none is stopped twice."""
    for trial in bracket.current_trials():
        if trial.status == Trial.PAUSED or trial.is_saving:
            tune_controller.stop_trial(trial)
