"""The Tune reporter: the callback a trial adds to its trainer (``trainer.add_callback``).

The trainer knows nothing of Ray; this callback is where its epochs reach Tune. Outside a
Ray Tune trial (or a Ray Train worker) it does nothing and never imports Ray.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipetune._seed import SEED_RESULT
from pipetune._session import ray_session
from pipetune.torch import Callback

if TYPE_CHECKING:
    from pipetune.torch import TorchTrainer

Metrics = dict[str, float]

CHECKPOINT_FILE = "checkpoint.pt"


class TuneReporter(Callback):
    """Reports each epoch's metrics to Ray Tune, with a checkpoint every ``checkpoint_every``
    epochs (0: none).

    A pipetune trial adds one to its trainer; add it yourself (``trainer.add_callback(
    TuneReporter())``) to a TorchTrainer that you run in a Tune trainable of your own. A trial
    restored by Tune (resume, retry after failure, PBT exploit) starts from the checkpoint
    Tune hands back: weights, optimizer, epoch and every callback's state (early-stopping
    counters, history).
    """

    def __init__(self, checkpoint_every: int = 1) -> None:
        self.checkpoint_every = checkpoint_every

    def on_restore(self, trainer: TorchTrainer) -> None:
        # before every callback's on_fit_start, so they all see the restored state; the
        # reporter itself is added last, so it reports and checkpoints after all of them
        if ray_session() is None:
            return
        from ray import tune

        checkpoint = tune.get_checkpoint()
        if checkpoint is not None:
            with checkpoint.as_directory() as folder:
                path = Path(folder) / CHECKPOINT_FILE
                if path.exists():
                    trainer.load_checkpoint(path)

    def on_epoch_end(self, trainer: TorchTrainer, epoch: int, metrics: Metrics) -> None:
        session = ray_session()
        if session is None:
            return
        from ray import tune

        in_train_worker = getattr(session, "world_rank", None) is not None
        report: Any
        if in_train_worker:
            from ray import train

            report = train.report
        else:
            report = tune.report
        result = dict(metrics)
        seed = getattr(trainer.config, "seed", None)
        if seed is not None:
            result[SEED_RESULT] = seed  # the seed this trial trained with (results.csv)
        want_checkpoint = self.checkpoint_every > 0 and (epoch + 1) % self.checkpoint_every == 0
        if not (want_checkpoint and trainer.strategy.is_main_worker()):
            report(result)
            return
        with tempfile.TemporaryDirectory(prefix="pipetune-ckpt-") as folder:
            trainer.save_checkpoint(Path(folder) / CHECKPOINT_FILE, epoch, metrics)
            report(result, checkpoint=tune.Checkpoint.from_directory(folder))
