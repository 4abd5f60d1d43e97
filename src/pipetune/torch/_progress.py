"""A progress bar per epoch on the terminal (rich)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pipetune.torch._callbacks import Callback, Metrics

if TYPE_CHECKING:
    from pipetune.torch._trainer import TorchTrainer


class EpochProgressBar(Callback):
    """One bar per epoch over the training batches, then the epoch's metrics beside it."""

    def __init__(self, metrics: tuple[str, ...] = ("train_loss", "val_loss", "val_accuracy")):
        self.metrics = metrics
        self._progress: Any = None
        self._task: Any = None

    def on_fit_start(self, trainer: TorchTrainer) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

        if not trainer.strategy.is_main_worker():
            return
        self._progress = Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            "{task.fields[metrics]}",
        )
        self._progress.start()

    def on_epoch_start(self, trainer: TorchTrainer, epoch: int) -> None:
        if self._progress is None:
            return
        loader = trainer.train_dataloader
        total = len(loader) if loader is not None else None
        self._task = self._progress.add_task(
            f"epoch {epoch + 1}/{trainer.epochs}", total=total, metrics=""
        )

    def on_train_batch_end(self, trainer: TorchTrainer, batch_idx: int) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.advance(self._task)

    def on_epoch_end(self, trainer: TorchTrainer, epoch: int, metrics: Metrics) -> None:
        if self._progress is None or self._task is None:
            return
        shown = "  ".join(f"{k} {metrics[k]:.4f}" for k in self.metrics if k in metrics)
        self._progress.update(self._task, metrics=shown)

    def on_fit_end(self, trainer: TorchTrainer) -> None:
        self._stop()

    def on_exception(self, trainer: TorchTrainer, exception: BaseException) -> None:
        self._stop()

    def _stop(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
