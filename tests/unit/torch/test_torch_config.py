"""TrainingConfiguration: defaults, clear errors, the optimizer registry and subclassing."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pytest
import torch

from pipetune.errors import ConfigError
from pipetune.torch import (
    LOSSES,
    OPTIMIZERS,
    TorchTrainer,
    TrainingConfiguration,
    register_optimizer,
)


def test_defaults() -> None:
    cfg = TrainingConfiguration()
    assert cfg.batch_size == 64
    assert cfg.optimizer == "adam"
    assert cfg.optim_lr == pytest.approx(1e-3)
    assert cfg.optim_momentum == pytest.approx(0.9)
    assert cfg.optim_nesterov is False
    assert cfg.optim_betas == (0.9, 0.999)
    assert cfg.optim_weight_decay == 0.0
    assert cfg.loss == "cross_entropy"
    assert cfg.shuffle_train is True
    assert cfg.num_workers_dataloader == 0
    assert cfg.pin_memory is False
    assert cfg.seed is None
    assert cfg.classification is True
    assert cfg.gradient_clip is None
    # from_any(None) and from_any({}) give the same defaults
    assert TrainingConfiguration.from_any(None) == cfg
    assert TrainingConfiguration.from_any({}) == cfg


def test_from_any_passes_instances_through_and_validates_dicts() -> None:
    cfg = TrainingConfiguration(batch_size=8)
    assert TrainingConfiguration.from_any(cfg) is cfg
    built = TrainingConfiguration.from_any({"batch_size": 16, "optimizer": "SGD"})
    assert built.batch_size == 16
    assert built.optimizer == "sgd"  # names are case-insensitive, stored lower-case


def test_unknown_key_lists_valid_settings() -> None:
    with pytest.raises(ConfigError) as info:
        TrainingConfiguration.from_any({"batch_sise": 32})
    message = str(info.value)
    assert "unknown training setting 'batch_sise'" in message
    assert info.value.key_path == "config.batch_sise"
    for name in TrainingConfiguration.model_fields:
        assert name in message
    assert "subclass TrainingConfiguration" in message


def test_invalid_value_is_one_clear_line() -> None:
    with pytest.raises(ConfigError) as info:
        TrainingConfiguration.from_any({"batch_size": 0})
    message = str(info.value)
    assert "batch_size" in message
    assert "0" in message
    assert "\n" not in message


def test_invalid_optimizer_lists_valid_ones() -> None:
    with pytest.raises(ConfigError) as info:
        TrainingConfiguration.from_any({"optimizer": "adamx"})
    message = str(info.value)
    assert "adamx" in message
    assert info.value.key_path == "config.optimizer"
    for name in OPTIMIZERS:
        assert name in message


def test_invalid_loss_lists_valid_ones() -> None:
    with pytest.raises(ConfigError) as info:
        TrainingConfiguration.from_any({"loss": "hinge"})
    message = str(info.value)
    for name in LOSSES:
        assert name in message


def test_assignment_is_validated() -> None:
    cfg = TrainingConfiguration()
    with pytest.raises(ValueError):
        cfg.optimizer = "nope"


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_every_registered_optimizer_builds_and_steps(name: str) -> None:
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 2)
    cfg = TrainingConfiguration(optimizer=name, optim_lr=0.1, optim_nesterov=True)
    optimizer = cfg.build_optimizer(model.parameters())
    assert isinstance(optimizer, torch.optim.Optimizer)
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.1)
    before = model.weight.detach().clone()
    loss = model(torch.randn(4, 3)).pow(2).sum()
    loss.backward()
    optimizer.step()
    assert not torch.equal(before, model.weight.detach())


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_every_registered_loss_builds(name: str) -> None:
    assert isinstance(TrainingConfiguration(loss=name).build_loss(), torch.nn.Module)


def test_register_optimizer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("pipetune.torch._config.OPTIMIZERS", dict(OPTIMIZERS))
    from pipetune.torch import _config

    def plain_sgd(params: Iterable[Any], cfg: TrainingConfiguration) -> torch.optim.Optimizer:
        return torch.optim.SGD(params, lr=cfg.optim_lr)

    register_optimizer("PlainSGD", plain_sgd)
    assert "plainsgd" in _config.OPTIMIZERS
    cfg = TrainingConfiguration(optimizer="PlainSGD")
    assert isinstance(cfg.build_optimizer(torch.nn.Linear(2, 2).parameters()), torch.optim.SGD)


class WideConfig(TrainingConfiguration):
    hidden: int = 3
    activation: str = "relu"


class WideTrainer(TorchTrainer):
    config_class = WideConfig

    def create_model_loss_optimizer(self) -> None:
        assert isinstance(self.config, WideConfig)
        self.model = torch.nn.Sequential(
            torch.nn.Linear(2, self.config.hidden),
            torch.nn.ReLU(),
            torch.nn.Linear(self.config.hidden, 2),
        )
        super().create_model_loss_optimizer()


def test_user_config_subclass_through_config_class() -> None:
    trainer = WideTrainer(config={"hidden": 5, "batch_size": 4}, strategy="local")
    assert isinstance(trainer.config, WideConfig)
    assert trainer.config.hidden == 5
    assert trainer.config.activation == "relu"
    assert trainer.config.batch_size == 4

    data = torch.utils.data.TensorDataset(torch.randn(8, 2), torch.randint(0, 2, (8,)))
    trainer.fit(data, data)
    assert isinstance(trainer.model, torch.nn.Sequential)
    assert trainer.model[0].out_features == 5
    assert set(trainer.final_metrics) >= {"train_loss", "val_loss"}


def test_user_config_subclass_rejects_unknown_and_lists_user_fields() -> None:
    with pytest.raises(ConfigError) as info:
        WideTrainer(config={"hiden": 5})
    assert "hidden" in str(info.value)
    assert "activation" in str(info.value)
    # the base trainer does not know the user's field
    with pytest.raises(ConfigError, match="unknown training setting 'hidden'"):
        TorchTrainer(config={"hidden": 5}, model=torch.nn.Linear(2, 2))


def test_base_config_instance_is_upgraded_to_the_subclass() -> None:
    trainer = WideTrainer(config=TrainingConfiguration(batch_size=7), strategy="local")
    assert isinstance(trainer.config, WideConfig)
    assert trainer.config.batch_size == 7
    assert trainer.config.hidden == 3
