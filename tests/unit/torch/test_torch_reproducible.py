"""Reproducible trainer steps (issue 14): a step is built, and trains, under its seed.

The model is an argument of the trainer step, so it is built when the step is built; the
seed must be applied then (and again before training), on every path that builds a step:
``ConfigParser.parse_pipeline`` (``pipetune run``), ``parse_step``, a Tune trial.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import yaml
from omegaconf import OmegaConf

from pipetune._seed import declared_seed, pin_seed, seed_key_path, trial_seed
from pipetune.config import ConfigSource
from pipetune.errors import ConfigError
from pipetune.parser import ConfigParser
from pipetune.tune._results import write_best_config
from pipetune.tune._trial import build_trial_trainer

MODULE = """
import random

import numpy as np
import torch
from torch.utils.data import Dataset

from pipetune.components import DataGetter


class Noisy(Dataset):
    '''Two blobs whose every read adds noise from numpy and from python's random.'''

    def __init__(self, n):
        generator = torch.Generator().manual_seed(0)
        self.x = torch.randn(n, 4, generator=generator)
        self.y = (self.x[:, 0] + 0.5 * self.x[:, 1] > 0).long()

    def __len__(self):
        return len(self.y)

    def __getitem__(self, i):
        noise = float(np.random.normal(0, 0.05)) + 0.05 * random.random()
        return self.x[i] + noise, self.y[i]


class Blobs(DataGetter):
    '''Draws from torch's global generator when it runs (as an unseeded getter would).'''

    def execute(self):
        torch.rand(7)
        return Noisy(48), Noisy(16)


class Net(torch.nn.Sequential):
    '''Random initial weights and dropout.'''

    def __init__(self, hidden: int = 16):
        super().__init__(
            torch.nn.Linear(4, hidden),
            torch.nn.ReLU(),
            torch.nn.Dropout(0.3),
            torch.nn.Linear(hidden, 2),
        )


class Marker(DataGetter):
    '''Writes `path` when it is built (to tell whether a step was built at all).'''

    def __init__(self, path: str):
        super().__init__()
        open(path, "w").close()

    def execute(self):
        return None
"""


def pipeline_config(module: str, seed: Any = 0, trainer_style: str = "class_path") -> dict:
    settings: dict[str, Any] = {"batch_size": 8, "optim_lr": 0.05}
    if seed is not None:
        settings["seed"] = seed
    args = {"config": settings, "epochs": 2, "model": {"class_path": f"{module}.Net"}}
    trainer: dict[str, Any] = (
        {"class_path": "pipetune.torch.TorchTrainer", "init_args": args}
        if trainer_style == "class_path"
        else {"_target_": "pipetune.torch.TorchTrainer", **args}
    )
    return {
        "training_pipeline": {
            "class_path": "pipetune.Pipeline",
            "init_args": {"steps": [{"class_path": f"{module}.Blobs"}, trainer]},
        }
    }


def weights(trainer: Any) -> list[torch.Tensor]:
    return [p.detach().clone() for p in trainer.model.parameters()]


def disturb(draws: int = 1) -> None:
    """Move every global generator on, as whatever ran before a build would."""
    for _ in range(draws):
        torch.rand(13)
        np.random.rand(5)
        random.random()


@pytest.fixture
def module(make_module: Callable[[str], str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    torch.set_num_threads(1)
    return make_module(MODULE)


@pytest.mark.parametrize("style", ["class_path", "_target_"])
def test_parsing_twice_with_a_seed_gives_the_same_initial_weights(module: str, style: str) -> None:
    built = []
    for _ in range(2):
        disturb()
        built.append(weights(ConfigParser(pipeline_config(module, 3, style)).parse_pipeline()[1]))
    assert all(torch.equal(a, b) for a, b in zip(*built, strict=True))
    other = ConfigParser(pipeline_config(module, 4, style)).parse_pipeline()[1]
    assert not torch.equal(built[0][0], weights(other)[0])  # the seed decides them


def test_a_step_built_alone_gets_the_weights_of_the_whole_pipeline(module: str) -> None:
    """parse_step (and a trial, which builds only the trainer) against parse_pipeline."""
    whole = ConfigParser(pipeline_config(module)).parse_pipeline()[1]
    disturb()
    alone = ConfigParser(pipeline_config(module)).parse_step(1)
    disturb()
    parser = ConfigParser(pipeline_config(module))
    in_trial = build_trial_trainer(parser.source, parser.step_path(1))
    for trainer in (alone, in_trial):
        assert all(torch.equal(a, b) for a, b in zip(weights(whole), weights(trainer), strict=True))


def test_running_twice_with_a_seed_gives_identical_metrics(module: str) -> None:
    """Weights, data order, dropout and numpy/random draws in the data are all seeded."""
    finals = []
    for draws in (1, 2):
        disturb(draws)
        pipeline = ConfigParser(pipeline_config(module)).parse_pipeline()
        disturb(draws)  # between the build and the fit: fit() seeds again
        pipeline.execute()
        finals.append(pipeline[1].final_metrics)
    assert finals[0]["val_loss"] == finals[1]["val_loss"]
    assert finals[0]["train_loss"] == finals[1]["train_loss"]


def test_a_trial_without_a_seed_draws_one_from_its_id(
    module: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    parser = ConfigParser(pipeline_config(module, seed=None))
    path = parser.step_path(1)
    monkeypatch.setenv("TUNE_TRIAL_ID", "abc_00001")
    first = build_trial_trainer(parser.source, path)
    disturb()
    again = build_trial_trainer(parser.source, path)  # a retry of the same trial
    assert first.config.seed == again.config.seed == trial_seed("abc_00001")
    assert all(torch.equal(a, b) for a, b in zip(weights(first), weights(again), strict=True))
    monkeypatch.setenv("TUNE_TRIAL_ID", "abc_00002")
    assert build_trial_trainer(parser.source, path).config.seed == trial_seed("abc_00002")
    assert trial_seed("abc_00001") != trial_seed("abc_00002")


def test_best_config_pins_the_drawn_seed_and_reproduces_the_trial(
    module: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = ConfigSource(OmegaConf.create(pipeline_config(module, seed=None)), None)
    path = ConfigParser(source.tree).step_path(1)
    monkeypatch.setenv("TUNE_TRIAL_ID", "abc_00003")
    trial = build_trial_trainer(source, path)
    trial.execute(*ConfigParser(source.tree).parse_step(0).execute())
    best = write_best_config(source, {}, tmp_path, seed=trial.config.seed, trainer_path=path)
    saved = yaml.safe_load(best.read_text())
    assert saved["training_pipeline"]["init_args"]["steps"][1]["init_args"]["config"] == {
        "batch_size": 8,
        "optim_lr": 0.05,
        "seed": trial_seed("abc_00003"),
    }
    disturb()
    pipeline = ConfigParser(best).parse_pipeline()
    pipeline.execute()
    assert pipeline[1].final_metrics["val_loss"] == trial.final_metrics["val_loss"]


def test_pin_seed_keeps_every_other_setting() -> None:
    step = "p.init_args.steps.0"
    tree = OmegaConf.create(
        {
            "s": {"batch_size": 4, "seed": None},
            "p": {"init_args": {"steps": [{"class_path": "T", "init_args": {"config": "${s}"}}]}},
        }
    )
    assert pin_seed(tree, step, 7)
    assert OmegaConf.to_container(tree.p.init_args.steps[0].init_args.config) == {
        "batch_size": 4,
        "seed": 7,
    }
    # a step without config: one is written; a declared equal seed is left as it is
    bare = OmegaConf.create({"s": 5, "t": {"_target_": "T", "config": {"seed": "${s}"}}})
    assert not pin_seed(bare, "t", 5)
    assert OmegaConf.to_container(bare)["t"]["config"] == {"seed": "${s}"}
    empty = OmegaConf.create({"t": {"class_path": "T"}})
    assert pin_seed(empty, "t", 9)
    assert declared_seed(OmegaConf.to_container(empty.t)) == 9
    typed = {"class_path": "T", "init_args": {"config": {"class_path": "C", "init_args": {}}}}
    assert seed_key_path(typed, "t") == "t.init_args.config.init_args.seed"


def test_every_step_is_checked_before_any_is_built(module: str, tmp_path: Path) -> None:
    marker = tmp_path / "built"
    config = pipeline_config(module)
    steps = config["training_pipeline"]["init_args"]["steps"]
    steps.insert(0, {"class_path": f"{module}.Marker", "init_args": {"path": str(marker)}})
    steps[2]["init_args"]["model"] = {"class_path": f"{module}.NoSuchNet"}
    with pytest.raises(ConfigError, match="NoSuchNet"):
        ConfigParser(config).parse_pipeline()
    assert not marker.exists()
