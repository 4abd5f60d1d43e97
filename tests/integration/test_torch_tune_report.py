"""Trainers inside a Ray Tune trial: a seed-style subclass reporting with ray.train.report,
and the default loop reporting (with checkpoints) through the TuneReporter added to it."""

from __future__ import annotations

import copyreg
import importlib
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
from torch.utils.data import TensorDataset

import pipetune  # noqa: F401  (before ray: sets RAY_TRAIN_V2_ENABLED=0)
from pipetune.loggers import MLFlowLogger
from pipetune.torch import Callback, EarlyStopping, TorchTrainer
from pipetune.tune import TuneReporter
from pipetune.tune._reporter import CHECKPOINT_FILE

pytestmark = pytest.mark.ray

EPOCHS = 3


class MyTrainer(TorchTrainer):
    def __init__(
        self,
        epochs: int,
        config: dict[str, Any],
        strategy: str = "ddp",
        name: str | None = None,
        logger: Any = None,
    ) -> None:
        super().__init__(config=config, epochs=epochs, strategy=strategy, name=name, logger=logger)

    def create_model_loss_optimizer(self) -> None:
        model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
        optimizer = torch.optim.Adam(model.parameters(), lr=self.config.optim_lr)
        self.model, self.optimizer, _ = self.strategy.distributed(model, optimizer)
        self.loss = torch.nn.CrossEntropyLoss()

    def train(self) -> None:
        from ray import train

        assert self.model is not None and self.optimizer is not None
        assert self.train_dataloader is not None and self.validation_dataloader is not None
        device = self.strategy.device()
        for epoch in range(self.epochs):
            if self.strategy.global_world_size() > 1:
                self.set_epoch(epoch)
            self.model.train()
            for inputs, targets in self.train_dataloader:
                inputs, targets = inputs.to(device), targets.to(device)
                self.optimizer.zero_grad()
                loss = self.loss(self.model(inputs), targets)
                loss.backward()
                self.optimizer.step()
            self.model.eval()
            total, count = 0.0, 0
            with torch.no_grad():
                for inputs, targets in self.validation_dataloader:
                    inputs, targets = inputs.to(device), targets.to(device)
                    total += self.loss(self.model(inputs), targets).item() * len(targets)
                    count += len(targets)
            epoch_val_loss = total / count
            self.log(epoch_val_loss, "val_loss", kind="metric", step=epoch)
            train.report({"loss": epoch_val_loss})


def separable(n: int, seed: int) -> TensorDataset:
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 4, generator=gen)
    return TensorDataset(x, (x[:, 0] - x[:, 1] > 0).long())


def seed_trainable(config: dict[str, Any]) -> None:
    trainer = MyTrainer(epochs=EPOCHS, config=config)
    *_, model = trainer.execute(separable(64, 1), separable(32, 2))
    assert model is not None


def default_loop_trainable(config: dict[str, Any]) -> None:
    torch.manual_seed(0)
    trainer = TorchTrainer(config=config, epochs=EPOCHS, model=torch.nn.Linear(4, 2))
    trainer.add_callback(TuneReporter())  # the trainer's defaults know nothing of Tune
    trainer.execute(separable(64, 1), separable(32, 2))


@pytest.fixture
def by_value() -> Iterator[None]:
    """Ship this module's classes to the trial processes by value (they cannot import it).

    A function pickled by value takes along the ``torch`` submodules whose dotted names its
    code mentions; ``self.strategy.distributed`` and ``self.config`` make that include
    ``torch.distributed.config``, a ``ModuleType`` subclass that cloudpickle cannot pickle.
    Pickle such config modules by name while the test runs (the trial only unpickles).
    """
    import ray.cloudpickle

    config_module_type = type(importlib.import_module("torch.distributed.config"))
    module = sys.modules[__name__]
    ray.cloudpickle.register_pickle_by_value(module)
    copyreg.pickle(config_module_type, _module_by_name)
    yield
    copyreg.dispatch_table.pop(config_module_type, None)
    ray.cloudpickle.unregister_pickle_by_value(module)


def _module_by_name(module: Any) -> tuple[Any, tuple[str]]:
    return importlib.import_module, (module.__name__,)


def _fit(trainable: Any, tmp_path: Path, name: str, metric: str) -> Any:
    from ray import tune

    tuner = tune.Tuner(
        trainable,
        param_space={"batch_size": 16, "optim_lr": tune.choice([0.01])},
        tune_config=tune.TuneConfig(num_samples=1, metric=metric, mode="min"),
        run_config=tune.RunConfig(storage_path=str(tmp_path), name=name, verbose=0),
    )
    results = tuner.fit()
    assert len(results) == 1
    assert not results.errors, results.errors
    return results.get_best_result()


def test_seed_style_trainer_inside_a_tune_trial(
    ray_local: Any, by_value: None, tmp_path: Path
) -> None:
    result = _fit(seed_trainable, tmp_path, "seed", "loss")
    assert result.error is None
    assert "loss" in result.metrics
    assert result.metrics["loss"] > 0
    assert result.metrics["training_iteration"] == EPOCHS
    assert result.config["optim_lr"] == 0.01


def test_default_loop_reports_and_checkpoints_through_tune_reporter(
    ray_local: Any, by_value: None, tmp_path: Path
) -> None:
    result = _fit(default_loop_trainable, tmp_path, "default", "val_loss")
    assert result.error is None
    assert result.metrics["training_iteration"] == EPOCHS
    for key in ("train_loss", "val_loss", "val_accuracy", "epoch_time", "samples_per_s"):
        assert key in result.metrics
    assert result.checkpoint is not None
    with result.checkpoint.as_directory() as folder:
        state = torch.load(Path(folder) / CHECKPOINT_FILE, weights_only=False)
    assert state["epoch"] == EPOCHS - 1
    assert state["metrics"]["val_loss"] == pytest.approx(result.metrics["val_loss"])


SCRIPTED = [1.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0]  # best at epoch 0, worse ever after


class ScriptedTrainer(TorchTrainer):
    """Reports a fixed val_loss sequence, so when EarlyStopping stops is known."""

    def validation_epoch(self, epoch: int) -> dict[str, float]:
        return {"val_loss": SCRIPTED[min(epoch, len(SCRIPTED) - 1)]}


class FailOnce(Callback):
    """Raises at the start of epoch 2 on the first attempt only (a marker file remembers)."""

    def __init__(self, marker: str) -> None:
        self.marker = Path(marker)

    def on_epoch_start(self, trainer: TorchTrainer, epoch: int) -> None:
        if epoch == 2 and not self.marker.exists():
            self.marker.write_text("failed once")
            raise RuntimeError("injected failure at epoch 2")


class StopperRecord(Callback):
    def __init__(self, stopper: EarlyStopping, out: str) -> None:
        self.stopper, self.out = stopper, Path(out)

    def on_fit_end(self, trainer: TorchTrainer) -> None:
        s = self.stopper
        self.out.write_text(f"{s.stopped_epoch} {s.best} {s.bad_epochs} {len(trainer.history)}")


def restored_trainable(config: dict[str, Any]) -> None:
    torch.manual_seed(0)
    stopper = EarlyStopping(patience=3)
    trainer = ScriptedTrainer(
        config={"batch_size": 16, "optim_lr": 0.01},
        epochs=len(SCRIPTED),
        model=torch.nn.Linear(4, 2),
        callbacks=[stopper, FailOnce(config["marker"]), StopperRecord(stopper, config["out"])],
    )
    trainer.add_callback(TuneReporter(checkpoint_every=1))
    trainer.execute(separable(64, 1), separable(32, 2))


def test_a_trial_restored_by_tune_keeps_its_early_stopping_counters(
    ray_local: Any, by_value: None, tmp_path: Path
) -> None:
    """Issue 16: the retried trial restarts from its epoch-1 checkpoint with best 1.0 and one
    bad epoch, so it stops after epoch 3 as an uninterrupted fit would (with the counters
    lost, it took epoch 2's 2.0 as a new best and ran on to epoch 5)."""
    from ray import tune

    out = tmp_path / "stopper.txt"
    tuner = tune.Tuner(
        restored_trainable,
        param_space={"marker": str(tmp_path / "failed"), "out": str(out)},
        tune_config=tune.TuneConfig(num_samples=1, metric="val_loss", mode="min"),
        run_config=tune.RunConfig(
            storage_path=str(tmp_path),
            name="restored",
            verbose=0,
            failure_config=tune.FailureConfig(max_failures=1),
        ),
    )
    results = tuner.fit()
    assert not results.errors, results.errors
    assert (tmp_path / "failed").exists()  # it did fail once and was restored
    result = results.get_best_result()
    assert result.metrics["training_iteration"] == 4  # epochs 0-3, none twice
    stopped_epoch, best, bad_epochs, history = out.read_text().split()
    assert (int(stopped_epoch), float(best), int(bad_epochs)) == (3, 1.0, 3)
    assert int(history) == 4  # the history came back with the checkpoint too


class SlowlyEndingMLflow(MLFlowLogger):
    """An MLflow logger whose run takes 50 ms to end, as on a slow shared disk: longer than
    the ~20 ms between Tune's stop and the actor's exit handlers, shorter than the ~200 ms
    Ray's raylet then grants the worker before its SIGKILL."""

    def _close(self) -> None:
        time.sleep(0.05)
        super()._close()


def stopped_trainable(config: dict[str, Any]) -> None:
    logger = SlowlyEndingMLflow(savedir=config["store"], experiment_name="stopped")
    settings = {key: value for key, value in config.items() if key != "store"}
    trainer = MyTrainer(epochs=EPOCHS, config=settings, logger=logger)
    trainer.execute(separable(64, 1), separable(32, 2))


def test_a_trial_tune_stops_ends_its_mlflow_run_killed_before_its_actor_exits(
    ray_local: Any, by_value: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tune stops each trial after its first report (SystemExit in the training thread) and
    ends its actor at once; the run must still be ended, readable and KILLED, not FAILED.
    (With the actor's exit not waiting, the run stayed RUNNING, or its meta.yaml was left
    empty: the seed cluster test's intermittent failure.)"""
    from mlflow import MlflowClient
    from ray import tune

    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    store = tmp_path / "mlruns"
    tuner = tune.Tuner(
        stopped_trainable,
        param_space={
            "batch_size": 16,
            "optim_lr": tune.grid_search([0.01, 0.02]),
            "store": str(store),
        },
        tune_config=tune.TuneConfig(metric="loss", mode="min", reuse_actors=False),
        run_config=tune.RunConfig(
            storage_path=str(tmp_path), name="stopped", verbose=0, stop={"training_iteration": 1}
        ),
    )
    results = tuner.fit()
    assert not results.errors, results.errors
    assert [r.metrics["training_iteration"] for r in results] == [1, 1]
    client = MlflowClient(tracking_uri=store.resolve().as_uri())
    experiment = client.get_experiment_by_name("stopped")
    assert experiment is not None
    # Tune counts an actor as stopped once it leaves Ray, before its exit handlers run:
    # the runs end a moment after fit() returns.
    deadline = time.monotonic() + 10
    while True:
        runs = client.search_runs([experiment.experiment_id])
        if all(run.info.status != "RUNNING" for run in runs) or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert len(runs) == 2
    assert [run.info.status for run in runs] == ["KILLED", "KILLED"]
    for run in runs:
        assert len(client.get_metric_history(run.info.run_id, "val_loss")) == 1
