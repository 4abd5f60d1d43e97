"""Callbacks keep their state in checkpoints: a resumed or restored fit continues with the
early-stopping counters, the best value and the history it had (``state_dict`` and
``load_state_dict`` on every callback; ``save_checkpoint``/``load_checkpoint`` carry them)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch.utils.data import TensorDataset

from pipetune.torch import (
    Callback,
    EarlyStopping,
    MetricHistory,
    ModelCheckpoint,
    NaNGuard,
    TorchTrainer,
)
from pipetune.torch._callbacks import Metrics

CONFIG = {"batch_size": 16, "optim_lr": 0.05, "seed": 0}
# 1.0 is the best; every later epoch is worse, so the counter only grows
LOSSES = [1.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0]


def dataset(n: int = 32, seed: int = 0) -> TensorDataset:
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 3, generator=gen)
    return TensorDataset(x, (x.sum(dim=1) > 0).long())


def model(seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    return torch.nn.Linear(3, 2)


class ScriptedValidation(TorchTrainer):
    """Reports a fixed val_loss sequence (the last value repeats)."""

    def __init__(self, losses: list[float], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.losses = losses

    def validation_epoch(self, epoch: int) -> Metrics:
        return {"val_loss": self.losses[min(epoch, len(self.losses) - 1)]}


def scripted(epochs: int, *callbacks: Callback) -> ScriptedValidation:
    return ScriptedValidation(
        LOSSES, config=CONFIG, epochs=epochs, model=model(), strategy="local", callbacks=callbacks
    )


def test_the_base_callback_has_an_empty_state() -> None:
    callback = Callback()
    assert callback.state_dict() == {}
    callback.load_state_dict({})  # a no-op
    assert NaNGuard().state_dict() == {}


def test_early_stopping_keeps_its_counters_through_save_and_load_checkpoint(
    tmp_path: Path,
) -> None:
    first = EarlyStopping(patience=3)
    trainer = scripted(2, first)
    trainer.fit(dataset(), dataset(seed=1))
    assert (first.best, first.bad_epochs) == (1.0, 1)
    path = trainer.save_checkpoint(tmp_path / "ckpt.pt", trainer.current_epoch)

    second = EarlyStopping(patience=3)
    restored = scripted(8, second)
    restored.create_model_loss_optimizer()
    restored.load_checkpoint(path)
    assert (second.best, second.bad_epochs, second.stopped_epoch) == (1.0, 1, None)
    assert [row["epoch"] for row in restored.history] == [0.0, 1.0]
    assert restored.history == trainer.history
    assert restored.start_epoch == 2


def test_a_resumed_fit_stops_where_the_uninterrupted_one_stops(tmp_path: Path) -> None:
    # uninterrupted: best 1.0 at epoch 0, bad epochs 1, 2, 3 -> stops after epoch 3
    whole = EarlyStopping(patience=3)
    scripted(8, whole).fit(dataset(), dataset(seed=1))
    assert whole.stopped_epoch == 3

    # interrupted after epoch 1, resumed from last.pt: the counter goes on from 1
    scripted(2, EarlyStopping(patience=3), ModelCheckpoint(tmp_path)).fit(
        dataset(), dataset(seed=1)
    )
    resumed_stopper = EarlyStopping(patience=3)
    resumed = scripted(8, resumed_stopper, ModelCheckpoint(tmp_path))
    resumed.fit(dataset(), dataset(seed=1))
    assert resumed_stopper.stopped_epoch == whole.stopped_epoch == 3
    assert resumed_stopper.best == 1.0
    assert resumed.should_stop
    # the history goes on too: every epoch since the first fit, none twice
    assert [int(row["epoch"]) for row in resumed.history] == [0, 1, 2, 3]


def test_model_checkpoint_keeps_its_best_value(tmp_path: Path) -> None:
    checkpoint = ModelCheckpoint(tmp_path / "ckpts", resume=False)
    trainer = scripted(3, checkpoint)
    trainer.fit(dataset(), dataset(seed=1))
    path = trainer.save_checkpoint(tmp_path / "ckpt.pt", trainer.current_epoch)
    again = ModelCheckpoint(tmp_path / "other", resume=False)
    restored = scripted(3, again)
    restored.create_model_loss_optimizer()
    restored.load_checkpoint(path)
    assert again.best == checkpoint.best == 1.0


class Counter(Callback):
    """A user callback with state of its own."""

    def __init__(self) -> None:
        self.epochs_seen = 0

    def on_epoch_end(self, trainer: TorchTrainer, epoch: int, metrics: Metrics) -> None:
        self.epochs_seen += 1

    def state_dict(self) -> dict[str, Any]:
        return {"epochs_seen": self.epochs_seen}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.epochs_seen = state["epochs_seen"]


def test_each_callback_gets_its_own_state_back_whatever_was_added_around_it(
    tmp_path: Path,
) -> None:
    a, b = Counter(), Counter()
    trainer = scripted(2, a, b)
    trainer.fit(dataset(), dataset(seed=1))
    b.epochs_seen = 7  # two callbacks of one class: each state finds its own
    path = trainer.save_checkpoint(tmp_path / "ckpt.pt", trainer.current_epoch)
    saved = torch.load(path, weights_only=False)["callbacks"]
    assert saved["Counter"] == {"epochs_seen": 2} and saved["Counter#1"] == {"epochs_seen": 7}
    assert "NaNGuard" not in saved  # no state, nothing written

    a2, b2 = Counter(), Counter()
    restored = scripted(2, a2, b2)
    restored.add_callback(EarlyStopping(patience=5))  # added after: changes no key
    restored.create_model_loss_optimizer()
    restored.load_checkpoint(path)
    assert (a2.epochs_seen, b2.epochs_seen) == (2, 7)


def test_a_checkpoint_without_callback_state_still_loads(tmp_path: Path) -> None:
    trainer = scripted(1)
    trainer.fit(dataset(), dataset(seed=1))
    state = trainer.checkpoint_state(0, {})
    del state["callbacks"]  # as written before callbacks had state
    torch.save(state, tmp_path / "old.pt")
    history = MetricHistory()
    restored = scripted(2, history)
    restored.create_model_loss_optimizer()
    restored.load_checkpoint(tmp_path / "old.pt")
    assert restored.start_epoch == 1
    assert history.history == []


def test_add_callback_appends_after_the_others() -> None:
    trainer = TorchTrainer(model=model(), strategy="local")
    stopper = EarlyStopping()
    assert trainer.add_callback(stopper) is stopper
    assert [type(cb) for cb in trainer.callbacks] == [MetricHistory, NaNGuard, EarlyStopping]


def test_on_restore_runs_for_every_callback_before_any_on_fit_start(tmp_path: Path) -> None:
    source = scripted(2, EarlyStopping(patience=3))
    source.fit(dataset(), dataset(seed=1))
    path = source.save_checkpoint(tmp_path / "ckpt.pt", source.current_epoch)

    class SeesStart(Callback):
        def on_fit_start(self, trainer: TorchTrainer) -> None:
            self.start = trainer.start_epoch

    class RestoresLate(Callback):  # added last, like the Tune reporter
        def on_restore(self, trainer: TorchTrainer) -> None:
            trainer.load_checkpoint(path)

    sees, stopper = SeesStart(), EarlyStopping(patience=3)
    trainer = scripted(8, sees, stopper)
    trainer.add_callback(RestoresLate())
    trainer.fit(dataset(), dataset(seed=1))
    assert sees.start == 2  # the restore came before the first on_fit_start
    assert stopper.stopped_epoch == 3
