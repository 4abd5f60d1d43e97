"""The Tune reporter lives on the tune side: a trial adds it to its trainer (the trainer's
defaults have none), and outside Ray it does nothing and imports no Ray."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import TensorDataset

from pipetune._session import ray_session
from pipetune.pipeline import Trainer
from pipetune.torch import TorchTrainer
from pipetune.tune import TuneReporter
from pipetune.tune._trial import add_reporter

CONFIG = {"batch_size": 16, "optim_lr": 0.05, "seed": 0}


def dataset(n: int = 32, seed: int = 0) -> TensorDataset:
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 3, generator=gen)
    return TensorDataset(x, (x.sum(dim=1) > 0).long())


def model(seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    return torch.nn.Linear(3, 2)


def test_tune_reporter_outside_ray_is_a_noop() -> None:
    assert ray_session() is None
    reporter = TuneReporter()

    class NoSave(TorchTrainer):
        def save_checkpoint(self, *args: Any, **kwargs: Any) -> Path:
            raise AssertionError("no checkpoint outside Tune")

    trainer = NoSave(config=CONFIG, epochs=2, model=model(), strategy="local")
    reporter.on_restore(trainer)
    reporter.on_fit_start(trainer)
    reporter.on_epoch_end(trainer, 0, {"val_loss": 1.0})
    trainer.add_callback(TuneReporter())
    trainer.fit(dataset(), dataset(seed=1))  # the added TuneReporter runs in there too
    assert any(isinstance(cb, TuneReporter) for cb in trainer.callbacks)


def test_a_fit_outside_ray_never_imports_ray() -> None:
    code = textwrap.dedent(
        """
        import sys
        import torch
        from torch.utils.data import TensorDataset
        from pipetune._session import ray_session
        from pipetune.torch import TorchTrainer
        from pipetune.tune import TuneReporter

        torch.manual_seed(0)
        x = torch.randn(16, 3)
        data = TensorDataset(x, (x.sum(dim=1) > 0).long())
        trainer = TorchTrainer(model=torch.nn.Linear(3, 2), epochs=2, config={"batch_size": 8})
        trainer.add_callback(TuneReporter())
        assert any(isinstance(cb, TuneReporter) for cb in trainer.callbacks)
        trainer.execute(data, data)
        assert len(trainer.history) == 2
        assert ray_session() is None
        leaked = sorted(m for m in sys.modules if m == "ray" or m.startswith("ray."))
        assert not leaked, leaked
        print("no-ray-ok")
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "no-ray-ok" in done.stdout


def test_a_trial_adds_one_reporter_with_its_checkpoint_setting() -> None:
    trainer = TorchTrainer(model=model(), strategy="local")
    assert not any(isinstance(cb, TuneReporter) for cb in trainer.callbacks)
    add_reporter(trainer, checkpoint_every=0)
    reporters = [cb for cb in trainer.callbacks if isinstance(cb, TuneReporter)]
    assert len(reporters) == 1 and reporters[0].checkpoint_every == 0
    assert trainer.callbacks[-1] is reporters[0]  # after the trainer's own callbacks


def test_a_reporter_of_the_config_is_kept_and_takes_the_trial_setting() -> None:
    own = TuneReporter(checkpoint_every=5)
    trainer = TorchTrainer(model=model(), strategy="local", callbacks=[own])
    add_reporter(trainer, checkpoint_every=2)
    assert [cb for cb in trainer.callbacks if isinstance(cb, TuneReporter)] == [own]
    assert own.checkpoint_every == 2


def test_a_trainer_that_is_no_torch_trainer_gets_no_reporter() -> None:
    class Plain(Trainer):
        def execute(self, *args: Any) -> Any:
            return args

    plain = Plain()
    add_reporter(plain, checkpoint_every=1)
    assert not hasattr(plain, "callbacks")
