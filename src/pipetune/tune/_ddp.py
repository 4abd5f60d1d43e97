"""DDP fits through Ray Train outside a Tune trial: one process per worker, gloo on CPU and
nccl on GPU.

``TorchTrainer.execute`` with a ``ddp`` strategy of several workers (``pipetune run``, a
script) runs :func:`fit_with_ray_train`, registered by ``import pipetune`` as the ``ddp``
launcher (``pipetune._launch``): the trainer never imports it. Rank 0 hands its final state
back itself (weights, optimizer, callbacks' state, last metrics), whatever a reporter
checkpointed or not.
"""

from __future__ import annotations

import io
import tempfile
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import torch

if TYPE_CHECKING:
    from torch.utils.data import Dataset

    from pipetune.torch import TorchTrainer

Metrics = dict[str, float]


class _FinalState:
    """The channel of rank 0's final state to the driver: a Ray actor holding its bytes
    (reachable from a worker on any node; no checkpoint storage involved)."""

    def __init__(self) -> None:
        self.payload: bytes | None = None

    def put(self, payload: bytes) -> None:
        self.payload = payload

    def get(self) -> bytes | None:
        return self.payload


def _worker_loop(config: dict[str, Any]) -> None:
    import ray

    trainer: TorchTrainer = config["trainer"]
    datasets = ray.get(config["datasets"])
    metrics = trainer.fit(*datasets)
    if trainer.strategy.is_main_worker() and trainer.model is not None:
        buffer = io.BytesIO()
        torch.save(trainer.checkpoint_state(trainer.current_epoch, metrics), buffer)
        ray.get(config["final_state"].put.remote(buffer.getvalue()))


def fit_with_ray_train(
    trainer: TorchTrainer,
    train_dataset: Dataset[Any],
    validation_dataset: Dataset[Any] | None,
    test_dataset: Dataset[Any] | None,
) -> Metrics:
    """Fit ``trainer`` on ``trainer.strategy.workers`` Ray Train workers.

    The datasets go to the object store once. When the fit ends, rank 0's final state is
    restored into ``trainer`` here: ``trainer.model`` is the trained, unwrapped model and
    the callbacks (``trainer.history``) hold rank 0's state. Returns rank 0's last metrics
    with whatever the workers reported to Ray Train (``training_iteration``, ...).
    """
    import ray
    from ray.train import RunConfig, ScalingConfig
    from ray.train.torch import TorchConfig
    from ray.train.torch import TorchTrainer as RayTorchTrainer

    strategy: Any = trainer.strategy
    started_here = not ray.is_initialized()
    if started_here:
        ray.init(include_dashboard=False, _node_ip_address="127.0.0.1", log_to_driver=False)
    final_state: Any = None
    try:
        final_state = ray.remote(num_cpus=0)(_FinalState).remote()
        backend = getattr(strategy, "backend", None) or ("nccl" if strategy.use_gpu else "gloo")
        with tempfile.TemporaryDirectory(prefix="pipetune-ddp-") as storage:
            ray_trainer = RayTorchTrainer(
                _worker_loop,
                train_loop_config={
                    "trainer": trainer,
                    "datasets": ray.put((train_dataset, validation_dataset, test_dataset)),
                    "final_state": final_state,
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
        payload = ray.get(final_state.get.remote())
    finally:
        if final_state is not None:
            ray.kill(final_state)
        if started_here:
            ray.shutdown()
    return _restore_final_state(trainer, payload, result.metrics or {})


def _restore_final_state(
    trainer: TorchTrainer, payload: bytes | None, reported: Mapping[str, Any]
) -> Metrics:
    """Put rank 0's final state (``payload``) into ``trainer``; return its last metrics with
    the numbers the workers reported to Ray Train."""
    metrics: Metrics = {}
    if payload is not None:
        state = torch.load(
            io.BytesIO(payload), map_location=trainer.strategy.device(), weights_only=False
        )
        trainer.create_model_loss_optimizer()
        trainer.restore_state(state)
        assert trainer.model is not None
        trainer.model = trainer.strategy.unwrap(trainer.model)
        metrics.update(state.get("metrics") or {})
    metrics.update(
        (k, float(v))
        for k, v in reported.items()
        if isinstance(v, int | float) and not isinstance(v, bool)
    )
    return metrics
