"""A seed-style TorchTrainer subclass (own __init__, model, loop and ray.train.report) runs
unchanged outside Ray Tune."""

from __future__ import annotations

import warnings
from typing import Any

import torch
from torch.utils.data import TensorDataset

import pipetune  # noqa: F401  (before ray: sets RAY_TRAIN_V2_ENABLED=0)
from pipetune.torch import TorchTrainer


class MyTrainer(TorchTrainer):
    def __init__(
        self,
        epochs: int,
        config: dict[str, Any],
        strategy: str = "ddp",
        name: str | None = None,
        logger: Any = None,
    ) -> None:
        super().__init__(config=config, epochs=epochs, strategy=strategy, name=name, logger=logger)
        self.val_losses: list[float] = []

    def create_model_loss_optimizer(self) -> None:
        model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
        optimizer = torch.optim.Adam(model.parameters(), lr=self.config.optim_lr)
        self.model, self.optimizer, _ = self.strategy.distributed(model, optimizer)
        self.loss = torch.nn.CrossEntropyLoss()

    def train(self) -> None:
        from ray import train

        assert self.model is not None and self.optimizer is not None
        assert self.train_dataloader is not None and self.validation_dataloader is not None
        device = self.strategy.device()
        for epoch in range(self.epochs):
            if self.strategy.global_world_size() > 1:
                self.set_epoch(epoch)
            self.model.train()
            for inputs, targets in self.train_dataloader:
                inputs, targets = inputs.to(device), targets.to(device)
                self.optimizer.zero_grad()
                loss = self.loss(self.model(inputs), targets)
                loss.backward()
                self.optimizer.step()
            self.model.eval()
            total, count = 0.0, 0
            with torch.no_grad():
                for inputs, targets in self.validation_dataloader:
                    inputs, targets = inputs.to(device), targets.to(device)
                    total += self.loss(self.model(inputs), targets).item() * len(targets)
                    count += len(targets)
            epoch_val_loss = total / count
            self.val_losses.append(epoch_val_loss)
            self.log(epoch_val_loss, "val_loss", kind="metric", step=epoch)
            train.report({"loss": epoch_val_loss})


def separable(n: int, seed: int) -> TensorDataset:
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 4, generator=gen)
    return TensorDataset(x, (x[:, 0] - x[:, 1] > 0).long())


class RecordingLogger:
    def __init__(self) -> None:
        self.logged: list[tuple[Any, str, str, int | None]] = []
        self.opened = self.closed = 0
        self.hyperparameters: dict[str, Any] = {}

    def create_logger_context(self, rank: int = 0) -> None:
        self.opened += 1

    def destroy_logger_context(self) -> None:
        self.closed += 1

    def save_hyperparameters(self, params: dict[str, Any]) -> None:
        self.hyperparameters = dict(params)

    def log(
        self,
        item: Any,
        identifier: str,
        kind: str = "metric",
        step: int | None = None,
        batch_idx: int | None = None,
        **kwargs: Any,
    ) -> None:
        self.logged.append((item, identifier, kind, step))


def test_seed_style_trainer_runs_outside_ray_tune() -> None:
    logger = RecordingLogger()
    trainer = MyTrainer(
        epochs=3, config={"batch_size": 16, "optim_lr": 0.01, "seed": 0}, logger=logger
    )
    assert trainer.config.batch_size == 16
    assert trainer.config.optim_lr == 0.01
    train_ds, val_ds = separable(64, 1), separable(32, 2)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ray.train.report outside a session only warns
        out = trainer.execute(train_ds, val_ds)

    train_out, val_out, test_out, model = out
    assert train_out is train_ds and val_out is val_ds and test_out is None
    assert isinstance(model, torch.nn.Sequential)
    assert model is trainer.model
    assert trainer.train_dataloader is not None
    assert trainer.train_dataloader.batch_size == 16
    assert len(trainer.val_losses) == 3
    assert logger.opened == logger.closed == 1
    assert logger.hyperparameters["optim_lr"] == 0.01
    assert [(name, kind, step) for _, name, kind, step in logger.logged] == [
        ("val_loss", "metric", 0),
        ("val_loss", "metric", 1),
        ("val_loss", "metric", 2),
    ]
    assert [item for item, *_ in logger.logged] == trainer.val_losses
    # the default loop was replaced, so the epoch callbacks never ran
    assert trainer.history == []


def test_seed_style_trainer_with_local_strategy_and_name() -> None:
    trainer = MyTrainer(epochs=1, config={"optim_lr": 0.01}, strategy="local", name="mine")
    assert trainer.name == "mine"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        *_, model = trainer.execute(separable(16, 1), separable(16, 2))
    assert model is not None
