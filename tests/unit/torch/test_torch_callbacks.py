"""Callbacks: hook order, history, early stopping, NaN guard, checkpoints/resume, callback
state in checkpoints (the Tune reporter's tests are in tests/unit/tune/test_tune_reporter.py)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
import torch
from torch.utils.data import TensorDataset

from pipetune.errors import PipetuneError
from pipetune.torch import (
    Callback,
    DivergedError,
    EarlyStopping,
    MetricHistory,
    ModelCheckpoint,
    NaNGuard,
    TorchTrainer,
)
from pipetune.torch._callbacks import Metrics

CONFIG = {"batch_size": 16, "optim_lr": 0.05, "seed": 0}


def dataset(n: int = 32, seed: int = 0) -> TensorDataset:
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 3, generator=gen)
    return TensorDataset(x, (x.sum(dim=1) > 0).long())


def model(seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    return torch.nn.Linear(3, 2)


class Recorder(Callback):
    def __init__(self) -> None:
        self.events: list[tuple[Any, ...]] = []

    def on_fit_start(self, trainer: TorchTrainer) -> None:
        # everything exists before the first epoch
        assert trainer.model is not None and trainer.optimizer is not None
        assert trainer.train_dataloader is not None and trainer.loss is not None
        self.events.append(("fit_start",))

    def on_epoch_start(self, trainer: TorchTrainer, epoch: int) -> None:
        self.events.append(("epoch_start", epoch))

    def on_epoch_end(self, trainer: TorchTrainer, epoch: int, metrics: Metrics) -> None:
        assert trainer.current_epoch == epoch
        self.events.append(("epoch_end", epoch, tuple(sorted(metrics))))

    def on_fit_end(self, trainer: TorchTrainer) -> None:
        self.events.append(("fit_end",))

    def on_exception(self, trainer: TorchTrainer, exception: BaseException) -> None:
        self.events.append(("exception", type(exception).__name__, str(exception)))


class ScriptedValidation(TorchTrainer):
    """Reports a fixed val_loss sequence (the last value repeats)."""

    def __init__(self, losses: list[float], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.losses = losses

    def validation_epoch(self, epoch: int) -> Metrics:
        return {"val_loss": self.losses[min(epoch, len(self.losses) - 1)]}


# -- hook order ------------------------------------------------------------------------


def test_hook_order() -> None:
    recorder = Recorder()
    trainer = TorchTrainer(
        config=CONFIG, epochs=2, model=model(), strategy="local", callbacks=[recorder]
    )
    trainer.fit(dataset(), dataset(seed=1))
    keys = ("epoch_time", "samples_per_s", "train_loss", "val_accuracy", "val_loss")
    assert recorder.events == [
        ("fit_start",),
        ("epoch_start", 0),
        ("epoch_end", 0, keys),
        ("epoch_start", 1),
        ("epoch_end", 1, keys),
        ("fit_end",),
    ]


def test_default_callbacks_come_first_and_are_not_duplicated(tmp_path: Path) -> None:
    history = MetricHistory()
    trainer = TorchTrainer(
        model=model(), callbacks=[history], checkpoint_dir=tmp_path, strategy="local"
    )
    types = [type(cb) for cb in trainer.callbacks]
    assert types == [NaNGuard, ModelCheckpoint, MetricHistory]  # no Tune reporter: no Ray
    assert trainer.callbacks[-1] is history
    trainer.fit(dataset())
    assert trainer.history is history.history
    assert len(history.history) == 1


def test_on_exception_runs_and_the_exception_propagates() -> None:
    class Broken(TorchTrainer):
        def train_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
            raise RuntimeError("bad batch")

    recorder = Recorder()
    trainer = Broken(config=CONFIG, epochs=3, model=model(), strategy="local", callbacks=[recorder])
    with pytest.raises(RuntimeError, match="bad batch"):
        trainer.fit(dataset())
    assert recorder.events == [
        ("fit_start",),
        ("epoch_start", 0),
        ("exception", "RuntimeError", "bad batch"),
    ]


def test_a_callback_can_stop_the_fit() -> None:
    class StopAfterFirst(Callback):
        def on_epoch_end(self, trainer: TorchTrainer, epoch: int, metrics: Metrics) -> None:
            trainer.should_stop = True

    recorder = Recorder()
    trainer = TorchTrainer(
        config=CONFIG,
        epochs=5,
        model=model(),
        strategy="local",
        callbacks=[StopAfterFirst(), recorder],
    )
    trainer.fit(dataset())
    assert [int(m["epoch"]) for m in trainer.history] == [0]
    assert recorder.events[-1] == ("fit_end",)


# -- MetricHistory ---------------------------------------------------------------------


def test_metric_history_records_every_epoch() -> None:
    history = MetricHistory()
    trainer = TorchTrainer(model=model(), strategy="local")
    history.on_epoch_end(trainer, 0, {"val_loss": 2.0})
    history.on_epoch_end(trainer, 1, {"val_loss": 1.0, "train_loss": 1.5})
    assert history.history == [
        {"epoch": 0.0, "val_loss": 2.0},
        {"epoch": 1.0, "val_loss": 1.0, "train_loss": 1.5},
    ]


def test_trainer_history_from_the_default_metric_history() -> None:
    trainer = TorchTrainer(config=CONFIG, epochs=3, model=model(), strategy="local")
    assert trainer.history == []
    trainer.fit(dataset(), dataset(seed=1))
    assert [m["epoch"] for m in trainer.history] == [0.0, 1.0, 2.0]
    assert trainer.final_metrics == {k: v for k, v in trainer.history[-1].items() if k != "epoch"}


# -- EarlyStopping ---------------------------------------------------------------------


def test_early_stopping_on_a_plateau() -> None:
    stopper = EarlyStopping(monitor="val_loss", patience=2)
    recorder = Recorder()
    trainer = ScriptedValidation(
        [1.0, 1.0],
        config=CONFIG,
        epochs=10,
        model=model(),
        strategy="local",
        callbacks=[stopper, recorder],
    )
    trainer.fit(dataset(), dataset(seed=1))
    assert [int(m["epoch"]) for m in trainer.history] == [0, 1, 2]
    assert stopper.stopped_epoch == 2
    assert stopper.best == 1.0
    assert trainer.should_stop
    assert recorder.events[-1] == ("fit_end",)


def test_early_stopping_resets_on_improvement_and_honours_min_delta() -> None:
    # 1.0 -> 0.5 improves; 0.45 is within min_delta so it does not count
    stopper = EarlyStopping(patience=2, min_delta=0.1)
    trainer = ScriptedValidation(
        [1.0, 0.5, 0.45, 0.44],
        config=CONFIG,
        epochs=10,
        model=model(),
        strategy="local",
        callbacks=[stopper],
    )
    trainer.fit(dataset(), dataset(seed=1))
    assert len(trainer.history) == 4
    assert stopper.best == 0.5
    assert stopper.stopped_epoch == 3


def test_early_stopping_mode_max_does_not_stop_while_improving() -> None:
    stopper = EarlyStopping(monitor="val_accuracy", mode="max", patience=1)
    for epoch, value in enumerate([0.1, 0.2, 0.3]):
        trainer = TorchTrainer(model=model(), strategy="local")
        stopper.on_epoch_end(trainer, epoch, {"val_accuracy": value})
        assert not trainer.should_stop
    trainer = TorchTrainer(model=model(), strategy="local")
    stopper.on_epoch_end(trainer, 3, {"val_accuracy": 0.25})
    assert trainer.should_stop
    assert stopper.stopped_epoch == 3


def test_early_stopping_mode_is_validated() -> None:
    with pytest.raises(ValueError, match="mode must be 'min' or 'max'"):
        EarlyStopping(mode="lowest")


def test_early_stopping_unknown_monitor_names_what_was_reported() -> None:
    trainer = TorchTrainer(
        config=CONFIG,
        model=model(),
        strategy="local",
        callbacks=[EarlyStopping(monitor="val_f1")],
    )
    with pytest.raises(PipetuneError, match="val_f1") as info:
        trainer.fit(dataset(), dataset(seed=1))
    assert "val_loss" in str(info.value) and "train_loss" in str(info.value)


# -- NaNGuard --------------------------------------------------------------------------


class NaNAtEpoch(TorchTrainer):
    """The training loss becomes NaN from epoch ``nan_epoch`` on."""

    nan_epoch = 1

    def train_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        loss = super().train_step(batch, batch_idx)
        if self.current_epoch + 1 >= self.nan_epoch:
            return loss * float("nan")
        return loss


def test_nan_guard_raises_diverged_error_naming_metric_and_epoch() -> None:
    recorder = Recorder()
    trainer = NaNAtEpoch(
        config=CONFIG, epochs=4, model=model(), strategy="local", callbacks=[recorder]
    )
    with pytest.raises(DivergedError) as info:
        trainer.fit(dataset(), dataset(seed=1))
    message = str(info.value)
    assert "diverged at epoch 1" in message
    assert "train_loss=nan" in message
    assert "learning rate" in message
    assert isinstance(info.value, ArithmeticError) and isinstance(info.value, PipetuneError)
    assert recorder.events[-1][:2] == ("exception", "DivergedError")
    assert len(trainer.history) == 2  # the history saw epoch 1 before the guard


def test_nan_guard_with_a_huge_learning_rate() -> None:
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(32, 3, generator=gen)
    data = TensorDataset(x, x.sum(dim=1, keepdim=True))
    torch.manual_seed(0)
    trainer = TorchTrainer(
        config={
            "optimizer": "sgd",
            "optim_lr": 1e30,
            "loss": "mse",
            "classification": False,
            "batch_size": 8,
        },
        epochs=5,
        model=torch.nn.Linear(3, 1),
        strategy="local",
    )
    with pytest.raises(DivergedError, match=r"training diverged at epoch \d+: .*loss="):
        trainer.fit(data, data)


def test_nan_guard_watches_only_its_monitor() -> None:
    guard = NaNGuard(monitor=["val_loss"])
    trainer = TorchTrainer(model=model(), strategy="local")
    guard.on_epoch_end(trainer, 0, {"train_loss": math.nan, "val_loss": 1.0})  # no error
    with pytest.raises(DivergedError, match=r"epoch 3: val_loss=inf"):
        guard.on_epoch_end(trainer, 3, {"train_loss": 1.0, "val_loss": math.inf})


# -- ModelCheckpoint -------------------------------------------------------------------


def test_model_checkpoint_writes_last_and_best_atomically(tmp_path: Path) -> None:
    ckpt = ModelCheckpoint(tmp_path / "ckpt")
    trainer = ScriptedValidation(
        [1.0, 0.5, 0.7],
        config=CONFIG,
        epochs=3,
        model=model(),
        strategy="local",
        callbacks=[ckpt],
    )
    trainer.fit(dataset(), dataset(seed=1))
    folder = tmp_path / "ckpt"
    assert sorted(p.name for p in folder.iterdir()) == ["best.pt", "last.pt"]
    assert not list(folder.glob("*.tmp")) and not list(folder.glob(".*"))
    last = torch.load(folder / "last.pt", weights_only=False)
    best = torch.load(folder / "best.pt", weights_only=False)
    assert last["epoch"] == 2 and last["metrics"]["val_loss"] == 0.7
    assert best["epoch"] == 1 and best["metrics"]["val_loss"] == 0.5
    assert last["best_metric"] == best["best_metric"] == 0.5
    assert ckpt.best == 0.5
    assert last["config"] == trainer.config.model_dump()
    assert trainer.model is not None
    for key, value in trainer.model.state_dict().items():
        assert torch.equal(last["model"][key], value)
    assert last["optimizer"]["state"]  # Adam moments were saved


def test_model_checkpoint_every_n_epochs(tmp_path: Path) -> None:
    # monitor=None: only the schedule writes
    ckpt = ModelCheckpoint(tmp_path, every_n_epochs=2, monitor=None)
    saved: list[int] = []

    class Spy(Callback):
        def on_epoch_end(self, trainer: TorchTrainer, epoch: int, metrics: Metrics) -> None:
            if ckpt.last_path.exists():
                saved.append(torch.load(ckpt.last_path, weights_only=False)["epoch"])

    trainer = TorchTrainer(
        config=CONFIG, epochs=3, model=model(), strategy="local", callbacks=[ckpt, Spy()]
    )
    trainer.fit(dataset())
    assert saved == [1, 1]
    assert not ckpt.best_path.exists()


def test_model_checkpoint_validates_every_n_epochs(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="every_n_epochs"):
        ModelCheckpoint(tmp_path, every_n_epochs=0)


class StateProbe(Callback):
    """Copies the model and optimizer state at fit start (after any resume)."""

    def on_fit_start(self, trainer: TorchTrainer) -> None:
        assert trainer.model is not None and trainer.optimizer is not None
        self.start_epoch = trainer.start_epoch
        self.model_state = {k: v.clone() for k, v in trainer.model.state_dict().items()}
        self.optimizer_state = {
            index: {k: v.clone() if torch.is_tensor(v) else v for k, v in state.items()}
            for index, state in trainer.optimizer.state_dict()["state"].items()
        }


def test_resume_continues_epochs_with_saved_model_and_optimizer(tmp_path: Path) -> None:
    folder = tmp_path / "run"
    first = TorchTrainer(
        config=CONFIG,
        epochs=2,
        model=model(0),
        strategy="local",
        callbacks=[ModelCheckpoint(folder)],
    )
    first.fit(dataset(), dataset(seed=1))
    assert [int(m["epoch"]) for m in first.history] == [0, 1]
    saved = torch.load(folder / "last.pt", weights_only=False)
    assert saved["epoch"] == 1

    probe = StateProbe()
    second = TorchTrainer(
        config=CONFIG,
        epochs=4,
        model=model(123),  # other initial weights: the checkpoint must replace them
        strategy="local",
        checkpoint_dir=folder,
        callbacks=[probe],
    )
    second.fit(dataset(), dataset(seed=1))

    assert probe.start_epoch == 2
    # the history is callback state too: the checkpoint brings epochs 0 and 1 back (issue 16)
    assert [int(m["epoch"]) for m in second.history] == [0, 1, 2, 3]
    assert second.history[:2] == first.history
    assert saved["model"].keys() == probe.model_state.keys()
    for key, value in saved["model"].items():
        assert torch.equal(probe.model_state[key], value), key
    saved_optim = saved["optimizer"]["state"]
    assert saved_optim and saved_optim.keys() == probe.optimizer_state.keys()
    for index, state in saved_optim.items():
        loaded = probe.optimizer_state[index]
        assert set(state) == set(loaded)
        assert torch.equal(loaded["exp_avg"], state["exp_avg"])
        assert torch.equal(loaded["exp_avg_sq"], state["exp_avg_sq"])
        assert float(loaded["step"]) == float(state["step"]) > 0
    assert torch.load(folder / "last.pt", weights_only=False)["epoch"] == 3


def test_resume_false_starts_from_scratch(tmp_path: Path) -> None:
    TorchTrainer(
        config=CONFIG, epochs=1, model=model(), strategy="local", checkpoint_dir=tmp_path
    ).fit(dataset())
    again = TorchTrainer(
        config=CONFIG,
        epochs=2,
        model=model(),
        strategy="local",
        callbacks=[ModelCheckpoint(tmp_path, resume=False)],
    )
    again.fit(dataset())
    assert [int(m["epoch"]) for m in again.history] == [0, 1]


def test_crash_while_saving_keeps_the_previous_checkpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    TorchTrainer(
        config=CONFIG, epochs=1, model=model(), strategy="local", checkpoint_dir=tmp_path
    ).fit(dataset(), dataset(seed=1))
    last = tmp_path / "last.pt"
    before = last.read_bytes()

    def crashing_save(obj: Any, f: Any, *args: Any, **kwargs: Any) -> None:
        f.write(b"PK\x03\x04partial")  # some bytes reach the file, then the "disk" fails
        f.flush()
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", crashing_save)
    crasher = TorchTrainer(
        config=CONFIG,
        epochs=1,
        model=model(5),
        strategy="local",
        callbacks=[ModelCheckpoint(tmp_path, resume=False)],
    )
    with pytest.raises(OSError, match="disk full"):
        crasher.fit(dataset(), dataset(seed=1))
    monkeypatch.undo()

    assert last.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best.pt", "last.pt"]
    state = torch.load(last, weights_only=False)
    assert state["epoch"] == 0
    restored = TorchTrainer(config=CONFIG, model=model(9), strategy="local")
    restored.create_model_loss_optimizer()
    restored.load_checkpoint(last)
    assert restored.start_epoch == 1
