"""The Tune side of ``--profile``: marks the first result and the first trial's end."""

from __future__ import annotations

from typing import Any

from ray.tune import Callback

from pipetune._timeline import Timeline


class TimelineMarks(Callback):
    """Marks, on the experiment's timeline, when the first result and the first end came."""

    def __init__(self, timeline: Timeline) -> None:
        self.timeline = timeline

    def on_trial_start(self, iteration: int, trials: list[Any], trial: Any, **info: Any) -> None:
        self.timeline.first("first trial started")

    def on_trial_result(
        self, iteration: int, trials: list[Any], trial: Any, result: dict, **info: Any
    ) -> None:
        self.timeline.first("first result")

    def on_trial_complete(self, iteration: int, trials: list[Any], trial: Any, **info: Any) -> None:
        self.timeline.first("first trial ended")
