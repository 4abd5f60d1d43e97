"""DDP fits through Ray Train: one process per worker, gloo on CPU and nccl on GPU."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipetune.torch._callbacks import Metrics
from pipetune.torch._reporter import CHECKPOINT_FILE

if TYPE_CHECKING:
    from torch.utils.data import Dataset

    from pipetune.torch._trainer import TorchTrainer


def _worker_loop(config: dict[str, Any]) -> None:
    import ray

    trainer: TorchTrainer = config["trainer"]
    datasets = ray.get(config["datasets"])
    trainer.fit(*datasets)


def fit_with_ray_train(
    trainer: TorchTrainer,
    train_dataset: Dataset[Any],
    validation_dataset: Dataset[Any] | None,
    test_dataset: Dataset[Any] | None,
) -> Metrics:
    """Fit ``trainer`` on ``trainer.strategy.workers`` Ray Train workers.

    The datasets go to the object store once; rank 0 reports metrics and checkpoints, and
    the final weights are loaded back into ``trainer.model`` in this process.
    """
    import ray
    from ray.train import RunConfig, ScalingConfig
    from ray.train.torch import TorchConfig
    from ray.train.torch import TorchTrainer as RayTorchTrainer

    strategy: Any = trainer.strategy
    started_here = not ray.is_initialized()
    if started_here:
        ray.init(include_dashboard=False, _node_ip_address="127.0.0.1", log_to_driver=False)
    try:
        backend = getattr(strategy, "backend", None) or ("nccl" if strategy.use_gpu else "gloo")
        with tempfile.TemporaryDirectory(prefix="pipetune-ddp-") as storage:
            ray_trainer = RayTorchTrainer(
                _worker_loop,
                train_loop_config={
                    "trainer": trainer,
                    "datasets": ray.put((train_dataset, validation_dataset, test_dataset)),
                },
                # The coordinator only waits on the workers: giving it no CPU lets N workers
                # run on N CPUs (Ray's default reserves one more, so 2 workers hang on 2 CPUs).
                scaling_config=ScalingConfig(
                    num_workers=strategy.workers,
                    use_gpu=bool(strategy.use_gpu),
                    trainer_resources={"CPU": 0},
                ),
                torch_config=TorchConfig(backend=backend),
                run_config=RunConfig(storage_path=storage, name="ddp", verbose=0),
            )
            result = ray_trainer.fit()
            if result.error is not None:
                raise result.error
            if result.checkpoint is not None and trainer.model is not None:
                trainer.create_model_loss_optimizer()
                with result.checkpoint.as_directory() as folder:
                    trainer.load_checkpoint(Path(folder) / CHECKPOINT_FILE)
                trainer.model = trainer.strategy.unwrap(trainer.model)
            metrics = {
                k: float(v)
                for k, v in (result.metrics or {}).items()
                if isinstance(v, int | float) and not isinstance(v, bool)
            }
    finally:
        if started_here:
            ray.shutdown()
    return metrics
