"""Where the training loop runs: one process, or one of N DDP workers started by Ray Train."""

from __future__ import annotations

import os
from typing import Any

import torch
import torch.distributed as dist
from torch.utils.data import DataLoader, Dataset, DistributedSampler

from pipetune.errors import ConfigError


class Strategy:
    """Single-process training on CUDA when available, else CPU.

    Subclasses change how models, data loaders and metrics are distributed.
    """

    name = "local"
    #: worker processes the strategy asks for (more than one means DDP through Ray Train)
    workers = 1

    def device(self) -> torch.device:
        if torch.cuda.is_available():
            return torch.device("cuda", torch.cuda.current_device())
        return torch.device("cpu")

    def is_distributed(self) -> bool:
        return False

    def global_world_size(self) -> int:
        return 1

    def global_rank(self) -> int:
        return 0

    def local_rank(self) -> int:
        return 0

    def is_main_worker(self) -> bool:
        return self.global_rank() == 0

    def distributed(
        self,
        model: torch.nn.Module,
        optimizer: torch.optim.Optimizer | None = None,
        lr_scheduler: Any = None,
        **kwargs: Any,
    ) -> tuple[torch.nn.Module, torch.optim.Optimizer | None, Any]:
        """Move ``model`` to the device (and wrap it for DDP in subclasses)."""
        return model.to(self.device()), optimizer, lr_scheduler

    def create_dataloader(
        self,
        dataset: Dataset[Any],
        batch_size: int,
        shuffle: bool = False,
        num_workers: int = 0,
        pin_memory: bool = False,
        generator: torch.Generator | None = None,
        **kwargs: Any,
    ) -> DataLoader[Any]:
        return DataLoader(
            dataset,
            batch_size=batch_size,
            shuffle=shuffle,
            num_workers=num_workers,
            pin_memory=pin_memory,
            generator=generator,
            persistent_workers=num_workers > 0,
            **kwargs,
        )

    def all_reduce_sum(self, values: torch.Tensor) -> torch.Tensor:
        """Sum ``values`` over every worker (identity in one process)."""
        return values

    def unwrap(self, model: torch.nn.Module) -> torch.nn.Module:
        return model


class DDPStrategy(Strategy):
    """Distributed data parallel: ``workers`` processes started by Ray Train.

    Inside a worker (``torch.distributed`` initialised) it wraps the model in DDP, shards
    data with a DistributedSampler and reduces metrics; with one worker it trains in the
    calling process exactly like :class:`Strategy`.
    """

    name = "ddp"

    def __init__(self, workers: int = 1, backend: str | None = None, use_gpu: bool | None = None):
        if workers < 1:
            raise ConfigError(f"DDP needs at least 1 worker, got {workers}", key_path="workers")
        self.workers = workers
        self.backend = backend
        self.use_gpu = torch.cuda.is_available() if use_gpu is None else use_gpu

    def is_distributed(self) -> bool:
        return dist.is_available() and dist.is_initialized()

    def global_world_size(self) -> int:
        return dist.get_world_size() if self.is_distributed() else 1

    def global_rank(self) -> int:
        return dist.get_rank() if self.is_distributed() else 0

    def local_rank(self) -> int:
        return int(os.environ.get("LOCAL_RANK", "0")) if self.is_distributed() else 0

    def device(self) -> torch.device:
        if torch.cuda.is_available() and self.use_gpu:
            return torch.device("cuda", self.local_rank() % torch.cuda.device_count())
        return torch.device("cpu")

    def distributed(
        self,
        model: torch.nn.Module,
        optimizer: torch.optim.Optimizer | None = None,
        lr_scheduler: Any = None,
        **kwargs: Any,
    ) -> tuple[torch.nn.Module, torch.optim.Optimizer | None, Any]:
        device = self.device()
        model = model.to(device)
        if self.is_distributed():
            device_ids = [device.index] if device.type == "cuda" else None
            model = torch.nn.parallel.DistributedDataParallel(
                model, device_ids=device_ids, **kwargs
            )
        return model, optimizer, lr_scheduler

    def create_dataloader(
        self,
        dataset: Dataset[Any],
        batch_size: int,
        shuffle: bool = False,
        num_workers: int = 0,
        pin_memory: bool = False,
        generator: torch.Generator | None = None,
        **kwargs: Any,
    ) -> DataLoader[Any]:
        if not self.is_distributed():
            return super().create_dataloader(
                dataset, batch_size, shuffle, num_workers, pin_memory, generator, **kwargs
            )
        seed = int(generator.initial_seed()) if generator is not None else 0
        sampler: DistributedSampler[Any] = DistributedSampler(dataset, shuffle=shuffle, seed=seed)
        return DataLoader(
            dataset,
            batch_size=batch_size,
            sampler=sampler,
            num_workers=num_workers,
            pin_memory=pin_memory,
            persistent_workers=num_workers > 0,
            **kwargs,
        )

    def all_reduce_sum(self, values: torch.Tensor) -> torch.Tensor:
        if self.is_distributed():
            values = values.clone()
            dist.all_reduce(values, op=dist.ReduceOp.SUM)
        return values

    def unwrap(self, model: torch.nn.Module) -> torch.nn.Module:
        return (
            model.module if isinstance(model, torch.nn.parallel.DistributedDataParallel) else model
        )


class _UnsupportedStrategy(Strategy):
    """A strategy of itwinai's that pipetune names (so ``isinstance`` checks in a seed-style
    trainer work) but does not run: building one is a one-line error naming what runs."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise ConfigError(
            f"strategy {self.name!r} is not supported by pipetune; "
            f"supported: {', '.join(repr(name) for name in SUPPORTED_STRATEGIES)}",
            key_path="strategy",
            hint="for several workers per trial use strategy: ddp with tune.resources_per_trial."
            "workers (DDP through Ray Train)",
        )


class DeepSpeedStrategy(_UnsupportedStrategy):
    """itwinai's DeepSpeed strategy: not supported; refused when built."""

    name = "deepspeed"


class HorovodStrategy(_UnsupportedStrategy):
    """itwinai's Horovod strategy: not supported; refused when built."""

    name = "horovod"


_STRATEGIES: dict[str, type[Strategy]] = {
    "local": Strategy,
    "ddp": DDPStrategy,
    "deepspeed": DeepSpeedStrategy,
    "horovod": HorovodStrategy,
}
SUPPORTED_STRATEGIES = tuple(
    sorted(name for name, cls in _STRATEGIES.items() if not issubclass(cls, _UnsupportedStrategy))
)


def make_strategy(strategy: str | Strategy | None) -> Strategy:
    """A Strategy from its name (``local``, ``ddp``) or an instance.

    ``deepspeed`` and ``horovod`` are known names that are refused with one line.
    """
    if isinstance(strategy, Strategy):
        return strategy
    name = (strategy or "local").lower()
    if name not in _STRATEGIES:
        raise ConfigError(
            f"unknown strategy {strategy!r}; valid: {', '.join(SUPPORTED_STRATEGIES)}",
            key_path="strategy",
            hint="or pass a Strategy object, e.g. class_path: pipetune.torch.DDPStrategy",
        )
    return _STRATEGIES[name]()
