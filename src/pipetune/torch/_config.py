"""Typed training settings and the registries they name (optimizers, losses)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import torch
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from pipetune._validation import invalid
from pipetune.errors import ConfigError

OptimizerFactory = Callable[..., torch.optim.Optimizer]


def _sgd(params: Iterable[Any], cfg: TrainingConfiguration) -> torch.optim.Optimizer:
    return torch.optim.SGD(
        params,
        lr=cfg.optim_lr,
        momentum=cfg.optim_momentum,
        weight_decay=cfg.optim_weight_decay,
        nesterov=cfg.optim_nesterov and cfg.optim_momentum > 0,
    )


def _adam(params: Iterable[Any], cfg: TrainingConfiguration) -> torch.optim.Optimizer:
    return torch.optim.Adam(
        params, lr=cfg.optim_lr, betas=cfg.optim_betas, weight_decay=cfg.optim_weight_decay
    )


def _adamw(params: Iterable[Any], cfg: TrainingConfiguration) -> torch.optim.Optimizer:
    return torch.optim.AdamW(
        params, lr=cfg.optim_lr, betas=cfg.optim_betas, weight_decay=cfg.optim_weight_decay
    )


def _rmsprop(params: Iterable[Any], cfg: TrainingConfiguration) -> torch.optim.Optimizer:
    return torch.optim.RMSprop(
        params, lr=cfg.optim_lr, momentum=cfg.optim_momentum, weight_decay=cfg.optim_weight_decay
    )


def _adagrad(params: Iterable[Any], cfg: TrainingConfiguration) -> torch.optim.Optimizer:
    return torch.optim.Adagrad(params, lr=cfg.optim_lr, weight_decay=cfg.optim_weight_decay)


#: Optimizer name in the YAML → factory(params, config). Extend with ``register_optimizer``.
OPTIMIZERS: dict[str, Callable[[Iterable[Any], TrainingConfiguration], torch.optim.Optimizer]] = {
    "sgd": _sgd,
    "adam": _adam,
    "adamw": _adamw,
    "rmsprop": _rmsprop,
    "adagrad": _adagrad,
}

#: Loss name in the YAML → loss module class.
LOSSES: dict[str, Callable[[], torch.nn.Module]] = {
    "cross_entropy": torch.nn.CrossEntropyLoss,
    "nll": torch.nn.NLLLoss,
    "mse": torch.nn.MSELoss,
    "l1": torch.nn.L1Loss,
    "smooth_l1": torch.nn.SmoothL1Loss,
    "bce_with_logits": torch.nn.BCEWithLogitsLoss,
}


def register_optimizer(
    name: str, factory: Callable[[Iterable[Any], TrainingConfiguration], torch.optim.Optimizer]
) -> None:
    """Make ``optimizer: NAME`` available in configs."""
    OPTIMIZERS[name.lower()] = factory


class TrainingConfiguration(BaseModel):
    """Hyperparameters of a TorchTrainer. Subclass it to add fields of your own.

    Unknown keys are an error listing the valid ones (``extra="forbid"``).
    """

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    batch_size: int = Field(default=64, gt=0, description="samples per batch and worker")
    optimizer: str = Field(default="adam", description=f"one of {sorted(OPTIMIZERS)}")
    optim_lr: float = Field(default=1e-3, gt=0, description="learning rate")
    optim_momentum: float = Field(default=0.9, ge=0, description="momentum (sgd, rmsprop)")
    optim_nesterov: bool = Field(default=False, description="Nesterov momentum (sgd)")
    optim_betas: tuple[float, float] = Field(default=(0.9, 0.999), description="Adam betas")
    optim_weight_decay: float = Field(default=0.0, ge=0, description="weight decay")
    loss: str = Field(default="cross_entropy", description=f"one of {sorted(LOSSES)}")
    shuffle_train: bool = Field(default=True, description="shuffle the training set every epoch")
    num_workers_dataloader: int = Field(default=0, ge=0, description="DataLoader worker processes")
    pin_memory: bool = Field(default=False, description="pin host memory (GPU runs)")
    seed: int | None = Field(
        default=None,
        description="seeds torch, numpy and random before the model is built and again "
        "before training (initial weights, data order, dropout); in a search, a trial "
        "without one draws its own, recorded in results.csv and pinned in best_config.yaml",
    )
    classification: bool = Field(default=True, description="report val_accuracy")
    gradient_clip: float | None = Field(default=None, gt=0, description="max gradient norm")

    @field_validator("optimizer")
    @classmethod
    def _known_optimizer(cls, value: str) -> str:
        if value.lower() not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {value!r}; valid: {', '.join(sorted(OPTIMIZERS))}")
        return value.lower()

    @field_validator("loss")
    @classmethod
    def _known_loss(cls, value: str) -> str:
        if value.lower() not in LOSSES:
            raise ValueError(f"unknown loss {value!r}; valid: {', '.join(sorted(LOSSES))}")
        return value.lower()

    def build_optimizer(self, params: Iterable[Any]) -> torch.optim.Optimizer:
        return OPTIMIZERS[self.optimizer](params, self)

    def build_loss(self) -> torch.nn.Module:
        return LOSSES[self.loss]()

    @classmethod
    def from_any(
        cls, config: TrainingConfiguration | Mapping[str, Any] | None
    ) -> TrainingConfiguration:
        """Validate a dict (or pass an instance through), with one clear error line."""
        if isinstance(config, cls):
            return config
        if isinstance(config, TrainingConfiguration):
            config = config.model_dump()
        try:
            return cls(**dict(config or {}))
        except ValidationError as exc:
            problem = invalid(exc, cls)
            key = problem.key or "config"
            if problem.unknown:
                valid = ", ".join(problem.valid)
                raise ConfigError(
                    f"unknown training setting '{key}'",
                    key_path=f"config.{key}",
                    hint=f"valid settings: {valid}; subclass TrainingConfiguration for your own",
                ) from None
            raise ConfigError(
                f"invalid training setting '{key}': {problem.got}",
                key_path=f"config.{key}",
            ) from None
