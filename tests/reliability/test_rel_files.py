"""Issue 7, point 6: results.csv, best_config.yaml and checkpoints are written atomically.

A write that fails half-way (the data write raises, or the final rename does) leaves the
previous version intact and no temporary file behind.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch

from pipetune import _io
from pipetune.config import load_config
from pipetune.torch import TorchTrainer
from pipetune.tune._results import write_best_config, write_results


class Crash(OSError):
    """The simulated failure (a full disk, a killed process)."""


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def half_then_crash(write: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """A file's write() that writes half of the data, then fails."""

    def broken(data: Any) -> Any:
        write(data[: max(1, len(data) // 2)])
        raise Crash("disk full")

    return broken


@pytest.fixture
def crash_in_write(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every file _io opens for writing fails half-way through its first write."""
    real_fdopen = os.fdopen

    def fdopen(fd: int, *args: Any, **kwargs: Any) -> Any:
        handle = real_fdopen(fd, *args, **kwargs)
        handle.write = half_then_crash(handle.write)
        return handle

    monkeypatch.setattr(_io.os, "fdopen", fdopen)


@pytest.fixture
def crash_in_replace(monkeypatch: pytest.MonkeyPatch) -> None:
    def replace(src: Any, dst: Any) -> None:
        raise Crash(f"killed before renaming {src} to {dst}")

    monkeypatch.setattr(os, "replace", replace)


ROWS = [
    {"trial_id": "a_00000", "status": "TERMINATED", "val_loss": 0.5, "error": ""},
    {"trial_id": "a_00001", "status": "ERROR", "val_loss": 0.7, "error": "boom"},
]


@pytest.mark.parametrize("failure", ["crash_in_write", "crash_in_replace"])
def test_results_csv_keeps_its_previous_version(
    tmp_path: Path, request: pytest.FixtureRequest, failure: str
) -> None:
    write_results(ROWS[:1], tmp_path)
    before = (tmp_path / "results.csv").read_bytes()
    assert b"a_00000" in before and b"a_00001" not in before

    request.getfixturevalue(failure)
    with pytest.raises(Crash):
        write_results(ROWS, tmp_path)

    assert (tmp_path / "results.csv").read_bytes() == before
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("failure", ["crash_in_write", "crash_in_replace"])
def test_best_config_keeps_its_previous_version(
    tmp_path: Path, request: pytest.FixtureRequest, failure: str
) -> None:
    source = load_config({"learning_rate": 0.1, "model": {"hidden": 8}})
    write_best_config(source, {"learning_rate": 0.01}, tmp_path)
    before = (tmp_path / "best_config.yaml").read_text()
    assert "learning_rate: 0.01" in before

    request.getfixturevalue(failure)
    with pytest.raises(Crash):
        write_best_config(source, {"learning_rate": 0.5}, tmp_path)

    assert (tmp_path / "best_config.yaml").read_text() == before
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("failure", ["crash_in_write", "crash_in_replace"])
def test_atomic_write_text_of_a_new_file_leaves_nothing(
    tmp_path: Path, request: pytest.FixtureRequest, failure: str
) -> None:
    request.getfixturevalue(failure)
    with pytest.raises(Crash):
        _io.atomic_write_text(tmp_path / "results.csv", "x" * 10_000)
    assert list(tmp_path.iterdir()) == []


# -- checkpoints -----------------------------------------------------------------------------


def trainer_with_model(seed: int) -> TorchTrainer:
    torch.manual_seed(seed)
    trainer = TorchTrainer(model=torch.nn.Linear(4, 2), strategy="local")
    trainer.optimizer = torch.optim.SGD(trainer.model.parameters(), lr=0.1)  # type: ignore[union-attr]
    return trainer


@pytest.fixture
def crash_in_torch_save(monkeypatch: pytest.MonkeyPatch) -> None:
    """torch.save writes part of the checkpoint, then fails."""
    real_save = torch.save

    def save(state: Any, handle: Any, *args: Any, **kwargs: Any) -> None:
        buffer = io.BytesIO()
        real_save(state, buffer, *args, **kwargs)
        data = buffer.getvalue()
        handle.write(data[: len(data) // 2])
        raise Crash("disk full")

    monkeypatch.setattr(torch, "save", save)


@pytest.mark.parametrize("failure", ["crash_in_torch_save", "crash_in_replace"])
def test_checkpoint_keeps_its_previous_version(
    tmp_path: Path, request: pytest.FixtureRequest, failure: str
) -> None:
    path = tmp_path / "last.pt"
    first = trainer_with_model(seed=0)
    first.save_checkpoint(path, epoch=4, metrics={"val_loss": 0.25})
    before = path.read_bytes()

    second = trainer_with_model(seed=1)
    request.getfixturevalue(failure)
    with pytest.raises(Crash):
        second.save_checkpoint(path, epoch=5, metrics={"val_loss": 0.125})

    assert path.read_bytes() == before
    assert leftovers(tmp_path) == []
    # and it still loads: the model and the epoch are the first checkpoint's
    restored = trainer_with_model(seed=2)
    state = restored.load_checkpoint(path)
    assert state["epoch"] == 4 and state["metrics"] == {"val_loss": 0.25}
    assert restored.start_epoch == 5
    for mine, theirs in zip(
        restored.model.parameters(),  # type: ignore[union-attr]
        first.model.parameters(),  # type: ignore[union-attr]
        strict=True,
    ):
        assert torch.equal(mine, theirs)
