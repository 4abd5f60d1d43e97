"""Experiment.run: the upstream steps run while Ray starts, and their failure still ends
the run with Ray's block left the way it is on any error."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from pipetune.tune import Experiment, _runner

REPO = Path(__file__).resolve().parents[3]


class _Stop(Exception):
    """Ends the run once the upstream outputs reach the trainable: no Tuner is needed."""


@pytest.fixture
def experiment(tmp_path: Path) -> Experiment:
    valid = yaml.safe_load((REPO / "tests" / "corpus" / "valid.yaml").read_text())
    valid["tune"]["storage_path"] = str(tmp_path / "runs")
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(valid, sort_keys=False))
    return Experiment(config)


@pytest.fixture
def ray_start(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """attached_ray replaced: its start waits (up to 10 s) for the upstream steps to begin,
    as a real start takes seconds; what it saw is recorded."""
    seen: dict[str, Any] = {"upstream began": threading.Event()}

    @contextlib.contextmanager
    def attached_ray(*args: Any, **kwargs: Any) -> Iterator[None]:
        seen["began during start"] = seen["upstream began"].wait(10)
        try:
            yield
        finally:
            seen["ended"] = True

    monkeypatch.setattr(_runner, "attached_ray", attached_ray)
    return seen


def test_the_upstream_steps_run_while_ray_starts(
    experiment: Experiment, ray_start: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    def prepare(pipeline: Any, index: int) -> tuple[Any, str]:
        ray_start["upstream began"].set()
        ray_start["upstream thread"] = threading.current_thread().name
        return ("outputs",), "training_pipeline.init_args.steps.2"

    def trainable(upstream: Any, trainer_path: str) -> Any:
        ray_start["handed"] = upstream, trainer_path
        raise _Stop

    monkeypatch.setattr(experiment, "_prepare_trials", prepare)
    monkeypatch.setattr(experiment, "_trainable", trainable)
    with pytest.raises(_Stop):
        experiment.run()
    assert ray_start["began during start"], "the upstream steps waited for Ray's start"
    assert ray_start["upstream thread"] != threading.main_thread().name
    assert ray_start["handed"] == (("outputs",), "training_pipeline.init_args.steps.2")
    assert ray_start["ended"]


def test_a_failed_upstream_step_fails_the_run_and_ends_rays_block(
    experiment: Experiment, ray_start: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    def prepare(pipeline: Any, index: int) -> tuple[Any, str]:
        ray_start["upstream began"].set()
        raise FileNotFoundError("no such data")

    def trainable(upstream: Any, trainer_path: str) -> Any:
        raise AssertionError("the trainable was built after a failed upstream step")

    monkeypatch.setattr(experiment, "_prepare_trials", prepare)
    monkeypatch.setattr(experiment, "_trainable", trainable)
    with pytest.raises(FileNotFoundError, match="no such data"):
        experiment.run()
    assert ray_start["ended"]
