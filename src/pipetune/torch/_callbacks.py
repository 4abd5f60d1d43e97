"""Callbacks: typed hooks that the trainer calls from one fixed list.

Every hook is a documented no-op; override the ones you need. A callback may stop the fit
by setting ``trainer.should_stop = True``. A callback with state (counters, a best value,
a history) returns it from ``state_dict`` and takes it back in ``load_state_dict``: the
trainer's checkpoints carry it, so a resumed, restored or exploited fit continues with it.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipetune._mode import Mode
from pipetune.errors import PipetuneError

if TYPE_CHECKING:
    from pipetune.torch._trainer import TorchTrainer

Metrics = dict[str, float]


class DivergedError(PipetuneError, ArithmeticError):
    """A metric became NaN or infinite: training diverged."""


class Callback:
    """Base class of trainer callbacks."""

    def on_restore(self, trainer: TorchTrainer) -> None:
        """After model, optimizer and data loaders exist, before any callback's
        ``on_fit_start``: where an integration loads a checkpoint (the Tune reporter does),
        so that every ``on_fit_start`` sees the restored epoch and state."""

    def on_fit_start(self, trainer: TorchTrainer) -> None:
        """After model, optimizer and data loaders exist, before the first epoch."""

    def on_epoch_start(self, trainer: TorchTrainer, epoch: int) -> None:
        """Before epoch ``epoch`` (0-based)."""

    def on_train_batch_end(self, trainer: TorchTrainer, batch_idx: int) -> None:
        """After each training step (called only for callbacks that override it)."""

    def on_epoch_end(self, trainer: TorchTrainer, epoch: int, metrics: Metrics) -> None:
        """After validation of epoch ``epoch``, with that epoch's reduced metrics."""

    def on_fit_end(self, trainer: TorchTrainer) -> None:
        """After the last epoch (or an early stop)."""

    def on_exception(self, trainer: TorchTrainer, exception: BaseException) -> None:
        """When the fit raises; the exception propagates after every callback ran."""

    def state_dict(self) -> dict[str, Any]:
        """What this callback must keep across a checkpoint (empty: nothing)."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Take back what :meth:`state_dict` returned (from a checkpoint)."""


class MetricHistory(Callback):
    """Keeps every epoch's metrics in ``history`` (also ``trainer.history``)."""

    def __init__(self) -> None:
        self.history: list[Metrics] = []

    def on_epoch_end(self, trainer: TorchTrainer, epoch: int, metrics: Metrics) -> None:
        self.history.append({"epoch": float(epoch), **metrics})

    def state_dict(self) -> dict[str, Any]:
        return {"history": [dict(row) for row in self.history]}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        # in place: ``trainer.history`` and other holders of the list see the restored rows
        self.history[:] = [dict(row) for row in state.get("history", [])]


class NaNGuard(Callback):
    """Stops the fit with :class:`DivergedError` as soon as a watched metric is NaN/inf."""

    def __init__(self, monitor: list[str] | None = None) -> None:
        self.monitor = monitor

    def on_epoch_end(self, trainer: TorchTrainer, epoch: int, metrics: Metrics) -> None:
        names = self.monitor or list(metrics)
        bad = {k: metrics[k] for k in names if k in metrics and not math.isfinite(metrics[k])}
        if bad:
            values = ", ".join(f"{k}={v}" for k, v in bad.items())
            raise DivergedError(
                f"training diverged at epoch {epoch}: {values} "
                "(lower the learning rate, clip gradients or check the data)"
            )


class EarlyStopping(Callback):
    """Stops when ``monitor`` has not improved by ``min_delta`` for ``patience`` epochs."""

    def __init__(
        self, monitor: str = "val_loss", mode: str = "min", patience: int = 3, min_delta: float = 0
    ) -> None:
        self.monitor, self.mode, self.patience = monitor, Mode.of(mode), patience
        self.min_delta = min_delta
        self.best: float | None = None
        self.bad_epochs = 0
        self.stopped_epoch: int | None = None

    def state_dict(self) -> dict[str, Any]:
        return {
            "best": self.best,
            "bad_epochs": self.bad_epochs,
            "stopped_epoch": self.stopped_epoch,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.best = state.get("best")
        self.bad_epochs = int(state.get("bad_epochs", 0))
        self.stopped_epoch = state.get("stopped_epoch")

    def _improved(self, value: float) -> bool:
        return self.mode.better(value, self.best, margin=self.min_delta)

    def on_epoch_end(self, trainer: TorchTrainer, epoch: int, metrics: Metrics) -> None:
        if self.monitor not in metrics:
            raise PipetuneError(
                f"EarlyStopping monitors '{self.monitor}', which was not reported; "
                f"reported: {', '.join(sorted(metrics))}"
            )
        value = metrics[self.monitor]
        if self._improved(value):
            self.best, self.bad_epochs = value, 0
            return
        self.bad_epochs += 1
        if self.bad_epochs >= self.patience:
            self.stopped_epoch = epoch
            trainer.should_stop = True


class ModelCheckpoint(Callback):
    """Saves ``last.pt`` every ``every_n_epochs`` (atomically) and keeps ``best.pt``.

    With ``resume=True`` a fit starts from ``last.pt`` when it exists: the model, the
    optimizer state and the epoch counter continue where they stopped.
    """

    def __init__(
        self,
        dirpath: str | Path,
        every_n_epochs: int = 1,
        monitor: str | None = "val_loss",
        mode: str = "min",
        resume: bool = True,
    ) -> None:
        if every_n_epochs < 1:
            raise ValueError(f"every_n_epochs must be >= 1, got {every_n_epochs}")
        self.dirpath = Path(dirpath)
        self.every_n_epochs, self.monitor, self.mode, self.resume = (
            every_n_epochs,
            monitor,
            Mode.of(mode),
            resume,
        )
        self.best: float | None = None

    def state_dict(self) -> dict[str, Any]:
        return {"best": self.best}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.best = state.get("best")

    @property
    def last_path(self) -> Path:
        return self.dirpath / "last.pt"

    @property
    def best_path(self) -> Path:
        return self.dirpath / "best.pt"

    def on_fit_start(self, trainer: TorchTrainer) -> None:
        if self.resume and self.last_path.exists():
            state = trainer.load_checkpoint(self.last_path)
            self.best = state.get("best_metric")

    def on_epoch_end(self, trainer: TorchTrainer, epoch: int, metrics: Metrics) -> None:
        if not trainer.strategy.is_main_worker():
            return
        is_best = False
        if self.monitor is not None and self.monitor in metrics:
            value = metrics[self.monitor]
            if self.mode.better(value, self.best) and math.isfinite(value):
                self.best, is_best = value, True
        if (epoch + 1) % self.every_n_epochs == 0 or is_best:
            extra = {"best_metric": self.best}
            trainer.save_checkpoint(self.last_path, epoch, metrics, extra)
            if is_best:
                trainer.save_checkpoint(self.best_path, epoch, metrics, extra)
