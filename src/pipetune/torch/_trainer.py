"""TorchTrainer: a generic training loop, extended by callbacks and overridable steps."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset, DistributedSampler

from pipetune._io import atomic_open
from pipetune._launch import launcher_for
from pipetune._seed import seed_everything
from pipetune.errors import ConfigError
from pipetune.loggers._base import is_requested_stop
from pipetune.pipeline import Trainer
from pipetune.torch._callbacks import (
    Callback,
    MetricHistory,
    Metrics,
    ModelCheckpoint,
    NaNGuard,
)
from pipetune.torch._config import TrainingConfiguration
from pipetune.torch._strategy import Strategy, make_strategy


class TorchTrainer(Trainer):
    """Train a PyTorch model on (train, validation[, test]) datasets.

    Override :meth:`create_model_loss_optimizer`, :meth:`train_step`,
    :meth:`validation_step` or the whole :meth:`train` loop; add behaviour with
    ``callbacks`` (history and NaN guard are always there) or :meth:`add_callback`; a Tune
    trial adds its reporter (``pipetune.tune.TuneReporter``) that way.
    Each epoch yields ``train_loss``, ``val_loss``, ``val_accuracy`` (classification),
    ``epoch_time`` and ``samples_per_s``.
    """

    config_class: type[TrainingConfiguration] = TrainingConfiguration

    def __init__(
        self,
        config: TrainingConfiguration | Mapping[str, Any] | None = None,
        epochs: int = 1,
        model: torch.nn.Module | None = None,
        strategy: str | Strategy | None = "ddp",
        logger: Any = None,
        callbacks: Sequence[Callback] | None = None,
        checkpoint_dir: str | Path | None = None,
        name: str | None = None,
    ) -> None:
        super().__init__(name)
        if epochs < 1:
            raise ConfigError(f"epochs must be at least 1, got {epochs}", key_path="epochs")
        self.config = self.config_class.from_any(config)
        self.epochs = epochs
        self.model = model
        self.strategy = make_strategy(strategy)
        self.logger = logger
        self.callbacks = self._with_default_callbacks(list(callbacks or []), checkpoint_dir)
        self.optimizer: torch.optim.Optimizer | None = None
        self.lr_scheduler: Any = None
        self.loss: Any = None
        self.start_epoch = 0
        self.current_epoch = -1
        self.should_stop = False
        self.train_dataloader: DataLoader[Any] | None = None
        self.validation_dataloader: DataLoader[Any] | None = None
        self.test_dataloader: DataLoader[Any] | None = None
        self.final_metrics: Metrics = {}

    @staticmethod
    def _with_default_callbacks(
        callbacks: list[Callback], checkpoint_dir: str | Path | None
    ) -> list[Callback]:
        defaults: list[Callback] = [MetricHistory(), NaNGuard()]
        if checkpoint_dir is not None:
            defaults.append(ModelCheckpoint(checkpoint_dir))
        present = {type(cb) for cb in callbacks}
        return [cb for cb in defaults if type(cb) not in present] + callbacks

    # -- public surface ------------------------------------------------------------------

    def add_callback(self, callback: Callback) -> Callback:
        """Append ``callback`` (called after the ones already there); returns it.

        This is how an integration extends a trainer it did not build: a Tune trial adds
        ``pipetune.tune.TuneReporter``, ``pipetune run`` a progress bar on a terminal.
        """
        self.callbacks.append(callback)
        return callback

    @property
    def history(self) -> list[Metrics]:
        """Metrics of every finished epoch, oldest first."""
        for callback in self.callbacks:
            if isinstance(callback, MetricHistory):
                return callback.history
        return []

    def execute(
        self,
        train_dataset: Dataset[Any],
        validation_dataset: Dataset[Any] | None = None,
        test_dataset: Dataset[Any] | None = None,
    ) -> tuple[Any, Any, Any, torch.nn.Module | None]:
        """Fit the model; return the datasets and the trained model (the seed's contract)."""
        if self.strategy.workers > 1 and not self.strategy.is_distributed():
            # Several processes: the launcher registered for the strategy starts them (Ray
            # Train for ``ddp``, registered by ``import pipetune``) and hands back the final
            # weights; this module never imports it.
            launch = launcher_for(self.strategy.name, self.strategy.workers)
            self.final_metrics = launch(self, train_dataset, validation_dataset, test_dataset)
        else:
            self.fit(train_dataset, validation_dataset, test_dataset)
        return train_dataset, validation_dataset, test_dataset, self.model

    def fit(
        self,
        train_dataset: Dataset[Any],
        validation_dataset: Dataset[Any] | None = None,
        test_dataset: Dataset[Any] | None = None,
    ) -> Metrics:
        """Run the whole fit in this process; return the last epoch's metrics.

        With ``config.seed`` set, torch, numpy and ``random`` are seeded again here, so the
        data order and dropout do not depend on what ran since the model was built (under
        the same seed: see ``pipetune.parser.build_step``).
        """
        if self.config.seed is not None:
            seed_everything(self.config.seed)
        self.train_dataset = train_dataset
        self.validation_dataset = validation_dataset
        self.test_dataset = test_dataset
        self.create_dataloaders(train_dataset, validation_dataset, test_dataset)
        self.create_model_loss_optimizer()
        if self.logger is not None:
            self.logger.create_logger_context(rank=self.strategy.global_rank())
            self.logger.save_hyperparameters(self.config.model_dump())
        try:
            for callback in self.callbacks:
                callback.on_restore(self)
            for callback in self.callbacks:
                callback.on_fit_start(self)
            self.train()
            for callback in self.callbacks:
                callback.on_fit_end(self)
        except BaseException as exc:
            if self.logger is not None:
                _mark_logger_ended_by(self.logger, exc)
            for callback in self.callbacks:
                callback.on_exception(self, exc)
            raise
        finally:
            if self.logger is not None:
                self.logger.destroy_logger_context()
        if self.history:
            self.final_metrics = {k: v for k, v in self.history[-1].items() if k != "epoch"}
        return self.final_metrics

    def log(
        self,
        item: Any,
        identifier: str,
        kind: str = "metric",
        step: int | None = None,
        batch_idx: int | None = None,
        **kwargs: Any,
    ) -> None:
        """Send ``item`` to the logger (main worker only); a no-op without a logger."""
        if self.logger is not None and self.strategy.is_main_worker():
            self.logger.log(item, identifier, kind=kind, step=step, batch_idx=batch_idx, **kwargs)

    def set_epoch(self, epoch: int) -> None:
        """Tell distributed samplers which epoch it is (so each epoch shuffles anew)."""
        for loader in (self.train_dataloader, self.validation_dataloader, self.test_dataloader):
            sampler = getattr(loader, "sampler", None)
            if isinstance(sampler, DistributedSampler):
                sampler.set_epoch(epoch)

    # -- overridable pieces ----------------------------------------------------------------

    def create_dataloaders(
        self,
        train_dataset: Dataset[Any],
        validation_dataset: Dataset[Any] | None = None,
        test_dataset: Dataset[Any] | None = None,
    ) -> None:
        cfg = self.config
        generator = torch.Generator()
        generator.manual_seed(cfg.seed if cfg.seed is not None else torch.initial_seed())
        common: dict[str, Any] = {
            "batch_size": cfg.batch_size,
            "num_workers": cfg.num_workers_dataloader,
            "pin_memory": cfg.pin_memory,
        }
        self.train_dataloader = self.strategy.create_dataloader(
            train_dataset, shuffle=cfg.shuffle_train, generator=generator, **common
        )
        if validation_dataset is not None:
            self.validation_dataloader = self.strategy.create_dataloader(
                validation_dataset, shuffle=False, **common
            )
        if test_dataset is not None:
            self.test_dataloader = self.strategy.create_dataloader(
                test_dataset, shuffle=False, **common
            )

    def create_model_loss_optimizer(self) -> None:
        """Build the optimizer and loss from the config and distribute the model."""
        if self.model is None:
            raise ConfigError(
                f"{type(self).__name__} has no model",
                key_path="model",
                hint="pass model: (e.g. class_path: mymodule.Net) "
                "or override create_model_loss_optimizer()",
            )
        optimizer = self.config.build_optimizer(self.model.parameters())
        self.loss = self.config.build_loss()
        self.model, self.optimizer, _ = self.strategy.distributed(self.model, optimizer)

    def train(self) -> None:
        """The epoch loop: train, validate, log, then hand the metrics to the callbacks."""
        for epoch in range(self.start_epoch, self.epochs):
            if self.should_stop:
                break
            if self.strategy.global_world_size() > 1:
                self.set_epoch(epoch)
            for callback in self.callbacks:
                callback.on_epoch_start(self, epoch)
            started = time.perf_counter()
            train_loss, samples = self.train_epoch(epoch)
            elapsed = time.perf_counter() - started
            metrics: Metrics = {"train_loss": train_loss}
            metrics.update(self.validation_epoch(epoch))
            metrics["epoch_time"] = time.perf_counter() - started
            metrics["samples_per_s"] = samples / elapsed if elapsed > 0 else 0.0
            self.end_epoch(epoch, metrics)

    def end_epoch(self, epoch: int, metrics: Metrics) -> None:
        """Log ``metrics`` and call every callback's ``on_epoch_end``."""
        self.current_epoch = epoch
        for key, value in metrics.items():
            self.log(value, key, kind="metric", step=epoch)
        for callback in self.callbacks:
            callback.on_epoch_end(self, epoch, metrics)

    def train_epoch(self, epoch: int) -> tuple[float, int]:
        """One pass over the training data; returns (mean loss over all workers, samples)."""
        assert self.model is not None and self.train_dataloader is not None
        self.model.train()
        device = self.strategy.device()
        totals = torch.zeros(2, dtype=torch.float64, device=device)
        # Only callbacks that override the batch hook are called per batch (hot loop).
        batch_hooks = [
            cb.on_train_batch_end
            for cb in self.callbacks
            if type(cb).on_train_batch_end is not Callback.on_train_batch_end
        ]
        for batch_idx, batch in enumerate(self.train_dataloader):
            loss = self.train_step(batch, batch_idx)
            for hook in batch_hooks:
                hook(self, batch_idx)
            count = _batch_len(batch)
            totals[0] += loss.detach().double() * count
            totals[1] += count
        totals = self.strategy.all_reduce_sum(totals)
        loss_sum, samples = totals.tolist()
        return loss_sum / max(samples, 1.0), int(samples)

    def train_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        """Forward, backward and optimizer step on one batch; returns the mean loss."""
        assert self.model is not None and self.optimizer is not None
        inputs, targets = self.to_device(batch)
        self.optimizer.zero_grad(set_to_none=True)
        loss = self.loss(self.model(inputs), targets)
        loss.backward()
        if self.config.gradient_clip is not None:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.config.gradient_clip)
        self.optimizer.step()
        return loss

    @torch.no_grad()
    def validation_epoch(self, epoch: int) -> Metrics:
        """Mean validation loss (and accuracy for classification) over all workers."""
        if self.validation_dataloader is None:
            return {}
        assert self.model is not None
        self.model.eval()
        device = self.strategy.device()
        totals = torch.zeros(3, dtype=torch.float64, device=device)
        for batch_idx, batch in enumerate(self.validation_dataloader):
            loss, correct, count = self.validation_step(batch, batch_idx)
            totals[0] += loss.double() * count
            totals[1] += correct
            totals[2] += count
        loss_sum, correct_sum, samples = self.strategy.all_reduce_sum(totals).tolist()
        metrics = {"val_loss": loss_sum / max(samples, 1.0)}
        if self.config.classification:
            metrics["val_accuracy"] = correct_sum / max(samples, 1.0)
        return metrics

    def validation_step(self, batch: Any, batch_idx: int) -> tuple[torch.Tensor, Any, int]:
        """Returns (mean loss, number of correct predictions, batch size)."""
        assert self.model is not None
        inputs, targets = self.to_device(batch)
        outputs = self.model(inputs)
        loss = self.loss(outputs, targets)
        correct: Any = 0
        if self.config.classification and outputs.dim() > 1:
            correct = (outputs.argmax(dim=1) == targets).sum()
        return loss, correct, _batch_len(batch)

    def to_device(self, batch: Any) -> Any:
        device = self.strategy.device()
        non_blocking = device.type == "cuda"
        if isinstance(batch, list | tuple):
            return type(batch)(t.to(device, non_blocking=non_blocking) for t in batch)
        return batch.to(device, non_blocking=non_blocking)

    # -- checkpoints -------------------------------------------------------------------

    def save_checkpoint(
        self,
        path: str | Path,
        epoch: int,
        metrics: Metrics | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> Path:
        """Write :meth:`checkpoint_state` to ``path`` atomically (temp file + rename)."""
        state = self.checkpoint_state(epoch, metrics, extra)
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_open(path, "wb") as handle:
            torch.save(state, handle)
        return path

    def load_checkpoint(self, path: str | Path) -> dict[str, Any]:
        """Restore a checkpoint of :meth:`save_checkpoint`; training resumes at the next epoch."""
        state: dict[str, Any] = torch.load(
            path, map_location=self.strategy.device(), weights_only=False
        )
        self.restore_state(state)
        return state

    def checkpoint_state(
        self, epoch: int, metrics: Metrics | None = None, extra: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """Model, optimizer, epoch, metrics, config and every callback's state."""
        assert self.model is not None
        return {
            "epoch": epoch,
            "model": self.strategy.unwrap(self.model).state_dict(),
            "optimizer": self.optimizer.state_dict() if self.optimizer is not None else None,
            "metrics": dict(metrics or {}),
            "config": self.config.model_dump(),
            "callbacks": self.callbacks_state(),
            **dict(extra or {}),
        }

    def restore_state(self, state: Mapping[str, Any]) -> None:
        """Take back a :meth:`checkpoint_state`: model, optimizer, callbacks, next epoch."""
        assert self.model is not None
        self.strategy.unwrap(self.model).load_state_dict(state["model"])
        if self.optimizer is not None and state.get("optimizer") is not None:
            self.optimizer.load_state_dict(state["optimizer"])
        self.load_callbacks_state(state.get("callbacks") or {})
        self.start_epoch = int(state["epoch"]) + 1

    def callbacks_state(self) -> dict[str, dict[str, Any]]:
        """Each callback's non-empty ``state_dict``, by :func:`_callback_keys`."""
        states = {key: cb.state_dict() for key, cb in _callback_keys(self.callbacks)}
        return {key: state for key, state in states.items() if state}

    def load_callbacks_state(self, states: Mapping[str, Mapping[str, Any]]) -> None:
        """Hand each callback its saved state; callbacks without one keep theirs."""
        for key, callback in _callback_keys(self.callbacks):
            if key in states:
                callback.load_state_dict(dict(states[key]))


def _callback_keys(callbacks: Sequence[Callback]) -> list[tuple[str, Callback]]:
    """A stable key per callback: its class name, with ``#n`` for the n-th repeat (n >= 1),
    so a state finds its callback whatever was added before or after it."""
    seen: dict[str, int] = {}
    keyed = []
    for callback in callbacks:
        name = type(callback).__qualname__
        count = seen.get(name, 0)
        seen[name] = count + 1
        keyed.append((name if count == 0 else f"{name}#{count}", callback))
    return keyed


def _batch_len(batch: Any) -> int:
    first = batch[0] if isinstance(batch, list | tuple) else batch
    return int(first.shape[0]) if hasattr(first, "shape") else len(first)


def _mark_logger_ended_by(logger: Any, exc: BaseException) -> None:
    """Tell the logger how its context ends: a Tune stop (a clean ``SystemExit``) is no
    failure. A logger that is no pipetune ``Logger`` gets ``mark_failed`` if it has one."""
    if hasattr(logger, "mark_ended_by"):
        logger.mark_ended_by(exc)
    elif hasattr(logger, "mark_failed") and not is_requested_stop(exc):
        logger.mark_failed()
