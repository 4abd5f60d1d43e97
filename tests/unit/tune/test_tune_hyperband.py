"""HyperBand's brackets end with every trial stopped: none is left paused for ever.

A stand-in controller plays Ray's TuneController's part (a PAUSE decision saves before the
trial is PAUSED; ``stop_trial`` tells the scheduler, then terminates), so the orders that
hang a real run are played exactly, every time."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from ray.tune.experiment import Trial
from ray.tune.schedulers import HyperBandScheduler, TrialScheduler

from pipetune.tune._algorithms import make_scheduler


@dataclass(eq=False)
class FakeTrial:
    trial_id: str
    status: str = Trial.RUNNING
    is_saving: bool = False
    last_result: dict[str, Any] = field(default_factory=dict)


class Controller:
    """What HyperBand sees of the TuneController, in the order Ray does it."""

    def __init__(self, scheduler: Any, trials: int, ended: int = 0) -> None:
        """``ended``: the first trials are TERMINATED when added (a resumed experiment's)."""
        self.scheduler = scheduler
        self.trials = [FakeTrial(f"t{i}") for i in range(trials)]
        for trial in self.trials[:ended]:
            trial.status = Trial.TERMINATED
        for trial in self.trials:
            scheduler.on_trial_add(self, trial)

    def run_chosen(self) -> FakeTrial | None:
        """One step of Tune's loop: the trial the scheduler chooses starts (or resumes)."""
        chosen = self.scheduler.choose_trial_to_run(self)
        if chosen is not None:
            chosen.status = Trial.RUNNING
        return chosen

    def report(self, trial: FakeTrial, iteration: int, loss: float) -> str:
        result = {"training_iteration": iteration, "val_loss": loss}
        trial.last_result = result
        decision = str(self.scheduler.on_trial_result(self, trial, result))
        if decision == TrialScheduler.PAUSE:
            trial.is_saving = True  # Ray saves first; the trial is PAUSED once that resolves
        elif decision == TrialScheduler.STOP:
            self.stop_trial(trial)
        return decision

    def save_resolves(self, trial: FakeTrial) -> None:
        trial.is_saving = False
        if trial.status == Trial.RUNNING:
            trial.status = Trial.PAUSED

    def fail(self, trial: FakeTrial) -> None:
        self.scheduler.on_trial_error(self, trial)
        trial.status = Trial.ERROR

    def stop_trial(self, trial: FakeTrial) -> None:
        if trial.status in (Trial.ERROR, Trial.TERMINATED):
            return
        if trial.status in (Trial.PENDING, Trial.PAUSED):
            self.scheduler.on_trial_remove(self, trial)
        else:
            self.scheduler.on_trial_complete(self, trial, trial.last_result)
        trial.status, trial.is_saving = Trial.TERMINATED, False

    def waiting(self) -> list[str]:
        """After a step of Tune's loop, the trials no one will run or stop: what makes Tune
        wait for ever."""
        chosen = self.scheduler.choose_trial_to_run(self)
        return [t.trial_id for t in self.trials if t.status == Trial.PAUSED and t is not chosen]


def last_peer_reaches_the_milestone_while_the_pause_saves(controller: Controller) -> None:
    first, second = controller.trials
    assert controller.report(first, 1, 0.9) == TrialScheduler.CONTINUE
    assert controller.report(second, 1, 0.8) == TrialScheduler.CONTINUE
    assert controller.report(first, 2, 0.7) == TrialScheduler.PAUSE  # its peer is behind
    assert controller.report(second, 2, 0.6) == TrialScheduler.STOP  # the bracket is done
    controller.save_resolves(first)


def last_peer_fails_before_the_milestone(controller: Controller) -> None:
    first, second = controller.trials
    controller.report(first, 1, 0.9)
    controller.report(second, 1, 0.8)
    assert controller.report(first, 2, 0.7) == TrialScheduler.PAUSE
    controller.save_resolves(first)
    controller.fail(second)


def a_later_round_loses_its_last_peer(controller: Controller) -> None:
    """The bracket of t6-t9 (eta 2, max_t 4) halves at 1 and 2 iterations; after its first
    halving Ray never processes it again on a removal."""
    t6, t7, t8, t9 = controller.trials[6:]
    for trial, loss in ((t6, 0.1), (t7, 0.2), (t8, 0.8)):
        assert controller.report(trial, 1, loss) == TrialScheduler.PAUSE
        controller.save_resolves(trial)
    assert controller.report(t9, 1, 0.9) == TrialScheduler.STOP  # t6, t7 go on to 2
    assert controller.run_chosen() is t6
    assert controller.report(t6, 2, 0.1) == TrialScheduler.PAUSE  # t7 is behind
    controller.save_resolves(t6)
    assert controller.run_chosen() is t7
    controller.fail(t7)


def a_resumed_trial_beside_an_ended_one(controller: Controller) -> None:
    resumed = controller.trials[1]  # t0 ended before the resume
    assert controller.report(resumed, 1, 0.5) == TrialScheduler.CONTINUE
    controller.report(resumed, 2, 0.4)  # Ray's: PAUSE, waiting for the ended trial
    if resumed.is_saving:
        controller.save_resolves(resumed)


ORDERS = {
    "pause-still-saving": (last_peer_reaches_the_milestone_while_the_pause_saves, {}),
    "peer-failed": (last_peer_fails_before_the_milestone, {}),
    "later-round": (a_later_round_loses_its_last_peer, {"trials": 10, "budget": 4}),
    "resumed": (a_resumed_trial_beside_an_ended_one, {"ended": 1}),
}
STUCK = {"pause-still-saving": "t0", "peer-failed": "t0", "later-round": "t6", "resumed": "t1"}


def controller_for(name: str, scheduler: Any) -> tuple[Controller, Any]:
    order, options = ORDERS[name]
    if options.get("budget"):  # several rounds: eta 2
        scheduler = scheduler(options["budget"], reduction_factor=2)
    else:
        scheduler = scheduler(2)
    scheduler.set_search_properties("val_loss", "min")
    trials = options.get("trials", 2)
    return Controller(scheduler, trials=trials, ended=options.get("ended", 0)), order


def pipetune_hyperband(budget: int, **options: Any) -> Any:
    return make_scheduler({"type": "hyperband", **options}, budget)


def rays_hyperband(budget: int, **options: Any) -> Any:
    return HyperBandScheduler(time_attr="training_iteration", max_t=budget, **options)


@pytest.mark.parametrize("name", list(ORDERS))
def test_no_trial_is_left_paused(name: str) -> None:
    controller, order = controller_for(name, pipetune_hyperband)
    order(controller)
    assert controller.waiting() == []
    stuck = next(t for t in controller.trials if t.trial_id == STUCK[name])
    if name == "later-round":  # its bracket halves once more: t6 goes on to 4 iterations
        assert controller.run_chosen() is stuck
        assert controller.report(stuck, 4, 0.05) == TrialScheduler.STOP  # the last round
    bracket, _ = controller.scheduler._trial_info[stuck]
    assert {t.status for t in bracket._all_trials} <= {Trial.TERMINATED, Trial.ERROR}
    assert stuck.status == Trial.TERMINATED


@pytest.mark.parametrize("name", list(ORDERS))
def test_rays_own_hyperband_still_leaves_it_paused(name: str) -> None:
    """The reason pipetune's HyperBand exists: when this fails, Ray has fixed that order and
    pipetune.tune._hyperband may no longer need to handle it."""
    controller, order = controller_for(name, rays_hyperband)
    order(controller)
    assert controller.waiting() == [STUCK[name]]


def test_a_pause_that_is_saving_is_not_stopped_before_its_save_ends() -> None:
    """Stopping it would drop the milestone's checkpoint: it is stopped once PAUSED."""
    controller, _ = controller_for("pause-still-saving", pipetune_hyperband)
    first, second = controller.trials
    controller.report(first, 1, 0.9)
    controller.report(second, 1, 0.8)
    controller.report(first, 2, 0.7)
    controller.report(second, 2, 0.6)
    assert controller.run_chosen() is None
    assert first.status == Trial.RUNNING and first.is_saving
    controller.save_resolves(first)
    assert controller.waiting() == [] and first.status == Trial.TERMINATED


def test_a_bracket_still_halving_keeps_its_good_paused_trial() -> None:
    """Only finished brackets stop trials: a round that is not the last unpauses the best."""
    scheduler = make_scheduler({"type": "hyperband", "reduction_factor": 2}, 2)
    scheduler.set_search_properties("val_loss", "min")
    controller = Controller(scheduler, trials=4)  # t0, t1 run to r=2; t2, t3 halve at r=1
    best, worst = controller.trials[2:]
    bracket, _ = scheduler._trial_info[best]
    assert (bracket._n, bracket._r, bracket._halves) == (2, 1, 1)
    assert controller.report(best, 1, 0.1) == TrialScheduler.PAUSE
    controller.save_resolves(best)
    assert controller.report(worst, 1, 0.9) == TrialScheduler.STOP  # 1 of 2 goes on to r=2
    assert worst.status == Trial.TERMINATED and best.status == Trial.PAUSED
    assert scheduler.choose_trial_to_run(controller) is best
