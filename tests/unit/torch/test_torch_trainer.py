"""TorchTrainer's default loop: it learns, reports per-epoch metrics, logs, reproduces."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from torch.utils.data import TensorDataset

from pipetune.errors import ConfigError
from pipetune.torch import DDPStrategy, Strategy, TorchTrainer

EPOCH_METRICS = {"train_loss", "val_loss", "val_accuracy", "epoch_time", "samples_per_s"}


def separable(n: int, seed: int) -> TensorDataset:
    """Two classes split by a fixed hyperplane through the origin (4 features)."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 4, generator=gen)
    w = torch.tensor([1.5, -2.0, 1.0, 0.5])
    return TensorDataset(x, (x @ w > 0).long())


def tiny_model(seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    return torch.nn.Linear(4, 2)


class RecordingLogger:
    """Implements the logger protocol the trainer uses, recording every call."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.logged: list[dict[str, Any]] = []

    def create_logger_context(self, rank: int = 0) -> None:
        self.calls.append(("create_logger_context", rank))

    def destroy_logger_context(self) -> None:
        self.calls.append(("destroy_logger_context", None))

    def save_hyperparameters(self, params: dict[str, Any]) -> None:
        self.calls.append(("save_hyperparameters", params))

    def log(
        self,
        item: Any,
        identifier: str,
        kind: str = "metric",
        step: int | None = None,
        batch_idx: int | None = None,
        **kwargs: Any,
    ) -> None:
        self.calls.append(("log", identifier))
        self.logged.append(
            {
                "item": item,
                "identifier": identifier,
                "kind": kind,
                "step": step,
                "batch_idx": batch_idx,
            }
        )


CONFIG = {"batch_size": 32, "optim_lr": 0.05, "seed": 0}


def test_default_loop_learns_and_reports_exact_metrics() -> None:
    train, val = separable(256, seed=1), separable(128, seed=2)
    trainer = TorchTrainer(config=CONFIG, epochs=4, model=tiny_model(), strategy="local")
    final = trainer.fit(train, val)

    assert [int(m["epoch"]) for m in trainer.history] == [0, 1, 2, 3]
    for metrics in trainer.history:
        assert set(metrics) - {"epoch"} == EPOCH_METRICS
        assert all(isinstance(v, float) for v in metrics.values())
        assert metrics["epoch_time"] > 0
        assert metrics["samples_per_s"] > 0
    assert trainer.history[-1]["val_accuracy"] > 0.9
    assert trainer.history[-1]["val_loss"] < trainer.history[0]["val_loss"]
    assert set(final) == EPOCH_METRICS
    assert final == trainer.final_metrics
    assert final["val_accuracy"] == trainer.history[-1]["val_accuracy"]


def test_without_validation_only_train_metrics() -> None:
    trainer = TorchTrainer(config=CONFIG, epochs=1, model=tiny_model(), strategy="local")
    final = trainer.fit(separable(64, seed=1))
    assert set(final) == {"train_loss", "epoch_time", "samples_per_s"}


def test_regression_has_no_accuracy() -> None:
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(32, 3, generator=gen)
    data = TensorDataset(x, x.sum(dim=1, keepdim=True))
    torch.manual_seed(0)
    trainer = TorchTrainer(
        config={"loss": "mse", "classification": False, "batch_size": 8},
        model=torch.nn.Linear(3, 1),
        strategy="local",
    )
    final = trainer.fit(data, data)
    assert set(final) == {"train_loss", "val_loss", "epoch_time", "samples_per_s"}


def test_execute_returns_datasets_and_trained_model() -> None:
    train, val, test = separable(64, 1), separable(32, 2), separable(32, 3)
    model = tiny_model()
    trainer = TorchTrainer(config=CONFIG, epochs=1, model=model)  # default strategy: ddp
    assert isinstance(trainer.strategy, DDPStrategy)
    assert trainer.strategy.workers == 1
    out = trainer.execute(train, val, test)
    assert len(out) == 4
    assert out[0] is train and out[1] is val and out[2] is test
    assert out[3] is trainer.model
    assert isinstance(out[3], torch.nn.Linear)  # not wrapped in DDP outside a worker
    assert trainer.test_dataloader is not None
    assert set(trainer.final_metrics) == EPOCH_METRICS


def _final_weights(seed: int) -> dict[str, torch.Tensor]:
    # same initial weights, so only the data order (config seed) can differ
    trainer = TorchTrainer(
        config={"batch_size": 16, "optim_lr": 0.05, "seed": seed},
        epochs=2,
        model=tiny_model(0),
        strategy="local",
    )
    trainer.fit(separable(96, 1), separable(32, 2))
    assert trainer.model is not None
    return {k: v.detach().clone() for k, v in trainer.model.state_dict().items()}


def test_seeded_runs_are_reproducible() -> None:
    first, second = _final_weights(7), _final_weights(7)
    assert first.keys() == second.keys()
    for key in first:
        assert torch.equal(first[key], second[key]), key
    other = _final_weights(8)  # another seed shuffles differently
    assert any(not torch.equal(first[k], other[k]) for k in first)


def test_log_forwards_to_the_logger() -> None:
    logger = RecordingLogger()
    trainer = TorchTrainer(
        config=CONFIG, epochs=2, model=tiny_model(), strategy="local", logger=logger
    )
    trainer.fit(separable(64, 1), separable(32, 2))

    names = [name for name, _ in logger.calls]
    assert names[0] == "create_logger_context"
    assert logger.calls[0][1] == 0
    assert names[1] == "save_hyperparameters"
    assert logger.calls[1][1] == trainer.config.model_dump()
    assert names[-1] == "destroy_logger_context"
    for epoch in (0, 1):
        at_step = [e for e in logger.logged if e["step"] == epoch]
        assert {e["identifier"] for e in at_step} == EPOCH_METRICS
        assert all(e["kind"] == "metric" for e in at_step)
        assert all(isinstance(e["item"], float) for e in at_step)

    # a direct call passes every argument through
    trainer.log(1.5, "custom", kind="text", step=3, batch_idx=4)
    assert logger.logged[-1] == {
        "item": 1.5,
        "identifier": "custom",
        "kind": "text",
        "step": 3,
        "batch_idx": 4,
    }


def test_logger_context_is_closed_when_the_fit_fails() -> None:
    class Failing(TorchTrainer):
        def train_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
            raise RuntimeError("boom")

    logger = RecordingLogger()
    trainer = Failing(model=tiny_model(), strategy="local", logger=logger)
    with pytest.raises(RuntimeError, match="boom"):
        trainer.fit(separable(16, 1))
    assert logger.calls[-1][0] == "destroy_logger_context"


def test_log_without_logger_is_a_noop() -> None:
    trainer = TorchTrainer(model=tiny_model(), strategy="local")
    trainer.log(1.0, "x")  # no error


def test_no_model_is_a_config_error() -> None:
    trainer = TorchTrainer(config=CONFIG, strategy="local")
    with pytest.raises(ConfigError, match="create_model_loss_optimizer") as info:
        trainer.fit(separable(16, 1))
    assert "TorchTrainer has no model" in str(info.value)


def test_epochs_must_be_positive() -> None:
    with pytest.raises(ConfigError, match="epochs"):
        TorchTrainer(model=tiny_model(), epochs=0)


def test_unknown_strategy_lists_valid_ones() -> None:
    # (horovod, the example here before, is now a known name: tests/unit/seed refuses it)
    with pytest.raises(ConfigError, match="ddp, local"):
        TorchTrainer(model=tiny_model(), strategy="fsdp")


def test_strategy_instance_is_used_as_is() -> None:
    strategy = Strategy()
    trainer = TorchTrainer(model=tiny_model(), strategy=strategy)
    assert trainer.strategy is strategy
    assert strategy.device() == torch.device("cpu") or torch.cuda.is_available()
    assert not strategy.is_distributed()
    assert strategy.global_world_size() == 1 and strategy.is_main_worker()


def test_ddp_strategy_needs_a_worker() -> None:
    with pytest.raises(ConfigError, match="at least 1 worker"):
        DDPStrategy(workers=0)


def test_gradient_clip_and_sgd() -> None:
    trainer = TorchTrainer(
        config={**CONFIG, "optimizer": "sgd", "gradient_clip": 0.5},
        epochs=2,
        model=tiny_model(),
        strategy="local",
    )
    final = trainer.fit(separable(64, 1), separable(32, 2))
    assert isinstance(trainer.optimizer, torch.optim.SGD)
    assert final["val_accuracy"] > 0.5
