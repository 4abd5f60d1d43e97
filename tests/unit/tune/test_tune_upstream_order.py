"""Experiment.run runs the upstream steps once Ray has started, not beside its start: Ray's
start draws from Python's global `random`, and a data step drawing from it too must get the
same values on every run."""

from __future__ import annotations

import contextlib
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from pipetune.tune import Experiment, _runner

REPO = Path(__file__).resolve().parents[3]


class _Stop(Exception):
    """Ends the run once the upstream outputs reach the trainable: no Tuner is needed."""


def _run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str) -> dict[str, Any]:
    valid = yaml.safe_load((REPO / "tests" / "corpus" / "valid.yaml").read_text())
    valid["tune"]["storage_path"] = str(tmp_path / "runs")
    valid["tune"]["name"] = name
    valid["training_pipeline"]["init_args"]["steps"][2]["init_args"]["config"]["seed"] = 7
    config = tmp_path / f"{name}.yaml"
    config.write_text(yaml.safe_dump(valid, sort_keys=False))
    experiment = Experiment(config)
    seen: dict[str, Any] = {"ray": "not started"}

    @contextlib.contextmanager
    def attached_ray(*args: Any, **kwargs: Any) -> Iterator[None]:
        for _ in range(50):  # a start drawing from Python's random, as Ray's does for ports
            random.randint(1024, 65535)
            seen["ray"] = "starting"
        seen["ray"] = "started"
        try:
            yield
        finally:
            seen["ray"] = "ended"

    def prepare(pipeline: Any, index: int) -> tuple[Any, str]:
        seen["ray when the upstream steps began"] = seen["ray"]
        seen["drawn"] = [random.random() for _ in range(3)]
        return ("outputs",), "training_pipeline.init_args.steps.2"

    def trainable(upstream: Any, trainer_path: str) -> Any:
        seen["handed"] = upstream
        raise _Stop

    monkeypatch.setattr(_runner, "attached_ray", attached_ray)
    monkeypatch.setattr(experiment, "_prepare_trials", prepare)
    monkeypatch.setattr(experiment, "_trainable", trainable)
    with pytest.raises(_Stop):
        experiment.run()
    return seen


def test_the_upstream_steps_run_after_rays_start_and_draw_the_same_on_each_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = _run(tmp_path, monkeypatch, "a"), _run(tmp_path, monkeypatch, "b")
    assert first["ray when the upstream steps began"] == "started"
    assert first["handed"] == ("outputs",)
    assert first["ray"] == "ended"
    # each run's steps are built under the config's seed, then Ray starts: the same draws
    assert first["drawn"] == second["drawn"]
