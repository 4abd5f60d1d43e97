"""Reproducible trials (issue 14) on the shared local Ray: ``pipetune run best_config.yaml``
gives the best trial's metrics, with the seed set in the config and without one."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml
from tune_toy import read_results, toy_config

from pipetune.cli.main import main
from pipetune.tune import Experiment

pytestmark = [pytest.mark.ray, pytest.mark.slow]

# Random initial weights, dropout, a shuffled training set, and numpy/random noise in every
# training step: each of them breaks reproducibility when its seed is missing. (The data are
# torch's own TensorDatasets: Ray's workers unpickle them before the user module imports.)
MODULE = """
import json
import random

import numpy as np
import torch
from torch.utils.data import TensorDataset

from pipetune.components import DataGetter
from pipetune.torch import Callback


class Blobs(DataGetter):
    def __init__(self, n: int = 64, counter=None, name=None):
        super().__init__(name)
        self.n = n

    def execute(self):
        generator = torch.Generator().manual_seed(0)
        x = torch.randn(self.n, 4, generator=generator)
        y = (x[:, 0] + 0.5 * x[:, 1] > 0).long()
        cut = self.n * 3 // 4
        return TensorDataset(x[:cut], y[:cut]), TensorDataset(x[cut:], y[cut:])


class Net(torch.nn.Sequential):
    def __init__(self, hidden: int = 16):
        super().__init__(
            torch.nn.Linear(4, hidden),
            torch.nn.ReLU(),
            torch.nn.Dropout(0.3),
            torch.nn.Linear(hidden, 2),
        )

    def forward(self, x):
        if self.training:  # noise drawn from numpy and python's random
            x = x + float(np.random.normal(0, 0.05)) + 0.05 * random.random()
        return super().forward(x)


class Record(Callback):
    '''Appends the final metrics and the seed of a fit to `path` (when `path` is set).'''

    def __init__(self, path=None):
        self.path = path

    def on_fit_end(self, trainer):
        if self.path:
            line = {**trainer.history[-1], "seed": trainer.config.seed}
            with open(self.path, "a") as handle:
                handle.write(json.dumps(line) + "\\n")
"""


def write_config(make_module: Callable[..., str], folder: Path, seed: int | None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    module = make_module(MODULE, folder)
    tree = toy_config(module, folder, epochs=3, num_samples=2, top_level={"record_to": None})
    trainer = tree["training_pipeline"]["init_args"]["steps"][1]["init_args"]
    trainer["config"].pop("seed")
    if seed is not None:
        trainer["config"]["seed"] = seed
    trainer["callbacks"] = [
        {"class_path": f"{module}.Record", "init_args": {"path": "${record_to}"}}
    ]
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(tree, sort_keys=False))
    return path


@pytest.fixture
def one_thread() -> Iterator[None]:
    """A trial runs on one CPU thread (OMP_NUM_THREADS=1 from Ray): so does the rerun."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def run_best_config(best_config: Path, record: Path) -> dict[str, Any]:
    """``pipetune run best_config.yaml``; the final metrics of its fit."""
    assert main(["run", str(best_config), "-o", f"record_to={record}"]) == 0
    return json.loads(record.read_text().splitlines()[-1])


def best_of(rows: list[dict[str, str]]) -> dict[str, str]:
    return min(rows, key=lambda r: float(r["best_val_loss"]))


def assert_same(run: dict[str, Any], trial: dict[str, str]) -> None:
    assert math.isclose(run["val_loss"], float(trial["val_loss"]), rel_tol=1e-6, abs_tol=0), (
        run,
        trial,
    )


def test_run_best_config_reproduces_the_best_trial_with_a_seed(
    ray_local: object, make_module: Callable[..., str], tmp_path: Path, one_thread: None
) -> None:
    outcome = Experiment(write_config(make_module, tmp_path, seed=7)).run()
    rows = read_results(outcome.path)
    assert [r["seed"] for r in rows] == ["7", "7"]
    best = best_of(rows)
    first = run_best_config(outcome.path / "best_config.yaml", tmp_path / "first.jsonl")
    second = run_best_config(outcome.path / "best_config.yaml", tmp_path / "second.jsonl")
    learned = ("train_loss", "val_loss", "val_accuracy", "seed")  # not the timings
    assert {k: first[k] for k in learned} == {k: second[k] for k in learned}  # bit for bit
    assert_same(first, best)
    # the seed is the config's own: best_config.yaml keeps it as it was
    saved = yaml.safe_load((outcome.path / "best_config.yaml").read_text())
    assert saved["training_pipeline"]["init_args"]["steps"][1]["init_args"]["config"]["seed"] == 7


def test_a_trial_without_a_seed_records_it_and_best_config_pins_it(
    ray_local: object, make_module: Callable[..., str], tmp_path: Path, one_thread: None
) -> None:
    outcome = Experiment(write_config(make_module, tmp_path, seed=None)).run()
    rows = read_results(outcome.path)
    seeds = [int(r["seed"]) for r in rows]
    assert len(set(seeds)) == 2, rows  # each trial drew its own
    best = best_of(rows)
    saved = yaml.safe_load((outcome.path / "best_config.yaml").read_text())
    config = saved["training_pipeline"]["init_args"]["steps"][1]["init_args"]["config"]
    assert config["seed"] == int(best["seed"])
    assert config["batch_size"] == "${batch_size}"  # the rest of the config as it was
    run = run_best_config(outcome.path / "best_config.yaml", tmp_path / "run.jsonl")
    assert run["seed"] == int(best["seed"])
    assert_same(run, best)
