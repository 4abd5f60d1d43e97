"""Ray Tune's synchronous HyperBand, with no trial left paused that nothing will resume.

Ray's ``HyperBandScheduler`` pauses a trial that reaches its bracket's milestone before the
others, and processes the bracket (halves it, or stops it when it is finished) when the last
of them reports. Some orders never process it, and the run then waits for ever ("no trial is
running"), its paused trials neither resumed nor stopped:

- the pause is still saving (the trial is RUNNING, ``is_saving``) when the last trial
  reaches the milestone: the finished bracket stops only PAUSED trials, and this one pauses
  a moment later (CI, 2026-12-03: 2 trials of 2 epochs waited 600 s);
- the bracket's last running trial ends before the milestone (it failed, was stopped by
  ``tune.stop``, or its trainer stopped early): Ray processes the bracket after a removal
  only if it is not finished and was never halved before;
- a resumed experiment's ended trials join brackets with no result, so the resumed ones
  wait at the first milestone for trials that will never run.

``HyperBand`` keeps ended trials out of brackets, and before each choice of a trial to run
processes every bracket whose live trials have all paused at its milestone: what it halves,
keeps and stops is otherwise Ray's. It waits for a pause's save to end rather than stopping
the saving trial, so the milestone's checkpoint is kept.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ray.tune.experiment import Trial
from ray.tune.schedulers import HyperBandScheduler

if TYPE_CHECKING:
    from ray.tune.execution.tune_controller import TuneController


class HyperBand(HyperBandScheduler):
    """``HyperBandScheduler`` that processes the brackets Ray leaves waiting."""

    def on_trial_add(self, tune_controller: TuneController, trial: Trial) -> None:
        if trial.status in (Trial.TERMINATED, Trial.ERROR):
            return  # ended before a resume: it will report nothing, and its bracket would wait
        super().on_trial_add(tune_controller, trial)

    def on_trial_remove(self, tune_controller: TuneController, trial: Trial) -> None:
        if trial in self._trial_info:  # not the ended trials on_trial_add left out
            super().on_trial_remove(tune_controller, trial)

    def choose_trial_to_run(self, tune_controller: TuneController) -> Trial | None:
        # Tune asks at every step of its loop, where stopping and unpausing trials is allowed
        for bracket in [b for band in self._hyperbands for b in band if _waiting(b)]:
            self._process_bracket(tune_controller, bracket)
        return super().choose_trial_to_run(tune_controller)


def _waiting(bracket: Any) -> bool:
    """All of the bracket's live trials have paused at its milestone, and none is to be
    resumed: only processing the bracket can move it on."""
    live = bracket.current_trials() if bracket is not None else []
    return (
        bool(live)
        and bracket.cur_iter_done()
        and all(t.status == Trial.PAUSED and t not in bracket.trials_to_unpause for t in live)
    )
