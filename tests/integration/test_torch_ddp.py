"""DDPStrategy(workers=2): a TorchTrainer fits through Ray Train on the shared local Ray."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

import pytest
import torch
from torch.utils.data import TensorDataset

import pipetune  # noqa: F401  (before ray: sets RAY_TRAIN_V2_ENABLED=0)
from pipetune.torch import Callback, DDPStrategy, TorchTrainer
from pipetune.torch._callbacks import Metrics
from pipetune.tune import TuneReporter

pytestmark = [pytest.mark.ray, pytest.mark.slow]

TRAIN_SIZE, VAL_SIZE = 64, 32  # even, so DistributedSampler pads nothing


class CountingTrainer(TorchTrainer):
    """Remembers how many samples the last training epoch counted (over all workers)."""

    epoch_samples = -1

    def train_epoch(self, epoch: int) -> tuple[float, int]:
        loss, samples = super().train_epoch(epoch)
        self.epoch_samples = samples
        return loss, samples


class WorkerProbe(Callback):
    """Runs in the workers; adds what it sees there to the metrics that rank 0 reports."""

    def on_fit_start(self, trainer: TorchTrainer) -> None:
        self.wrapped = type(trainer.model).__name__
        self.shard = len(trainer.train_dataloader.sampler)  # type: ignore[arg-type,union-attr]

    def on_epoch_end(self, trainer: TorchTrainer, epoch: int, metrics: Metrics) -> None:
        metrics["world_size"] = float(trainer.strategy.global_world_size())
        metrics["train_samples"] = float(getattr(trainer, "epoch_samples", -1))
        metrics["shard_samples"] = float(self.shard)
        metrics["ddp_wrapped"] = float(self.wrapped == "DistributedDataParallel")


def dataset(n: int, seed: int) -> TensorDataset:
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 4, generator=gen)
    return TensorDataset(x, (x[:, 0] + x[:, 2] > 0).long())


@pytest.fixture
def by_value() -> Iterator[None]:
    """Ship this module's classes to the Ray workers by value (they cannot import it)."""
    import ray.cloudpickle

    module = sys.modules[__name__]
    ray.cloudpickle.register_pickle_by_value(module)
    yield
    ray.cloudpickle.unregister_pickle_by_value(module)


@pytest.mark.timeout(180)
def test_ddp_two_workers_through_ray_train(ray_local: Any, by_value: None) -> None:
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 6), torch.nn.ReLU(), torch.nn.Linear(6, 2))
    initial = {k: v.detach().clone() for k, v in model.state_dict().items()}
    trainer = CountingTrainer(
        config={"batch_size": 8, "optim_lr": 0.05, "seed": 0},
        epochs=2,
        model=model,
        strategy=DDPStrategy(workers=2, use_gpu=False),
        callbacks=[WorkerProbe(), TuneReporter()],  # the probe writes before the report
    )
    train, val = dataset(TRAIN_SIZE, 1), dataset(VAL_SIZE, 2)

    out = trainer.execute(train, val)

    assert out[0] is train and out[1] is val and out[2] is None
    final_model = out[3]
    assert final_model is trainer.model
    assert isinstance(final_model, torch.nn.Sequential)  # unwrapped in this process
    final = final_model.state_dict()
    assert final.keys() == initial.keys()
    for key, value in initial.items():
        assert final[key].shape == value.shape, key
    assert any(not torch.equal(final[k], initial[k]) for k in initial)  # it trained

    metrics = trainer.final_metrics
    for key in ("train_loss", "val_loss", "val_accuracy", "epoch_time", "samples_per_s"):
        assert key in metrics, sorted(metrics)
    assert metrics["training_iteration"] == 2
    assert metrics["world_size"] == 2.0
    assert metrics["ddp_wrapped"] == 1.0
    assert metrics["shard_samples"] == TRAIN_SIZE / 2  # each worker sees half the data...
    assert metrics["train_samples"] == TRAIN_SIZE  # ...and the counts are summed over both
    assert 0.0 <= metrics["val_accuracy"] <= 1.0


class FinalWeights(Callback):
    """Rank 0 writes the weights it ends the fit with (the driver must end with the same)."""

    def __init__(self, path: str) -> None:
        self.path = path

    def on_fit_end(self, trainer: TorchTrainer) -> None:
        if trainer.strategy.is_main_worker() and trainer.model is not None:
            torch.save(trainer.strategy.unwrap(trainer.model).state_dict(), self.path)


@pytest.mark.timeout(180)
@pytest.mark.parametrize(
    "reporter",
    [TuneReporter(checkpoint_every=0), None],
    ids=["reporter-without-checkpoints", "no-reporter"],
)
def test_ddp_fit_hands_back_trained_weights_without_any_checkpoint(
    ray_local: Any, by_value: None, tmp_path: Any, reporter: TuneReporter | None
) -> None:
    """Issue 16: with ``checkpoint_every=0`` the driver got the untrained model back, since
    the weights came from the reporter's last checkpoint. Rank 0 now returns them itself."""
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 6), torch.nn.ReLU(), torch.nn.Linear(6, 2))
    initial = {k: v.detach().clone() for k, v in model.state_dict().items()}
    rank0 = tmp_path / "rank0.pt"
    callbacks: list[Callback] = [FinalWeights(str(rank0))]
    if reporter is not None:
        callbacks.append(reporter)
    trainer = TorchTrainer(
        config={"batch_size": 8, "optim_lr": 0.05, "seed": 0},
        epochs=2,
        model=model,
        strategy=DDPStrategy(workers=2, use_gpu=False),
        callbacks=callbacks,
    )

    *_, final_model = trainer.execute(dataset(TRAIN_SIZE, 1), dataset(VAL_SIZE, 2))

    assert isinstance(final_model, torch.nn.Sequential) and final_model is trainer.model
    final = final_model.state_dict()
    assert any(not torch.equal(final[k], initial[k]) for k in initial)  # it trained
    trained = torch.load(rank0, weights_only=True)
    assert final.keys() == trained.keys()
    for key, value in trained.items():
        assert torch.equal(final[key], value), key  # exactly rank 0's final weights
    assert [int(row["epoch"]) for row in trainer.history] == [0, 1]  # rank 0's history too
    for key in ("train_loss", "val_loss", "val_accuracy"):
        assert key in trainer.final_metrics, sorted(trainer.final_metrics)
    assert trainer.final_metrics["val_loss"] == trainer.history[-1]["val_loss"]
