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

    def __init__(self, scheduler: Any, trials: int) -> None:
        self.scheduler = scheduler
        self.trials = [FakeTrial(f"t{i}") for i in range(trials)]
        for trial in self.trials:
            scheduler.on_trial_add(self, trial)

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
        """Trials no one will run or stop: what makes Tune wait for ever."""
        chosen = self.scheduler.choose_trial_to_run(self)
        return [
            t.trial_id
            for t in self.trials
            if t.status == Trial.PAUSED and t is not chosen and not t.is_saving
        ]


def hyperband(budget: int = 2) -> Any:
    built = make_scheduler("hyperband", budget)
    built.set_search_properties("val_loss", "min")
    return built


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


ORDERS = [
    last_peer_reaches_the_milestone_while_the_pause_saves,
    last_peer_fails_before_the_milestone,
]


@pytest.mark.parametrize("order", ORDERS, ids=["pause-still-saving", "peer-failed"])
def test_a_finished_bracket_leaves_no_trial_paused(order: Any) -> None:
    controller = Controller(hyperband(), trials=2)
    order(controller)
    assert controller.waiting() == []
    assert controller.trials[0].status == Trial.TERMINATED


@pytest.mark.parametrize("order", ORDERS, ids=["pause-still-saving", "peer-failed"])
def test_rays_own_hyperband_still_leaves_it_paused(order: Any) -> None:
    """The reason pipetune's HyperBand exists: when this fails, Ray has fixed it and
    pipetune.tune._hyperband can go."""
    ray_own = HyperBandScheduler(time_attr="training_iteration", max_t=2)
    ray_own.set_search_properties("val_loss", "min")
    controller = Controller(ray_own, trials=2)
    order(controller)
    assert controller.waiting() == ["t0"]


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
