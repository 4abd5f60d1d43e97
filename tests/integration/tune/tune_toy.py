"""A toy user module and config for the tune integration tests.

``TOY_MODULE`` is source text: the tests write it next to their config (make_module), so
trial processes import it from the config's folder like a user's own module.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import yaml

TOY_MODULE = """
import time

import torch
from torch.utils.data import TensorDataset

from pipetune.components import DataGetter
from pipetune.torch import Callback


class Blobs(DataGetter):
    '''Two Gaussian blobs (train, validation); appends a line to `counter` per execute().'''

    def __init__(self, n: int = 64, counter: str | None = None, name: str | None = None):
        super().__init__(name)
        self.n = n
        self.counter = counter

    def execute(self):
        if self.counter:
            with open(self.counter, "a") as handle:
                handle.write("executed\\n")
        generator = torch.Generator().manual_seed(0)
        x = torch.randn(self.n, 4, generator=generator)
        y = (x[:, 0] + 0.5 * x[:, 1] > 0).long()
        cut = self.n * 3 // 4
        return TensorDataset(x[:cut], y[:cut]), TensorDataset(x[cut:], y[cut:])


class Net(torch.nn.Sequential):
    def __init__(self, hidden: int = 8):
        super().__init__(torch.nn.Linear(4, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, 2))


class Pause(Callback):
    '''Sleeps after every epoch, so a test can act while an experiment runs.'''

    def __init__(self, seconds: float):
        self.seconds = seconds

    def on_epoch_end(self, trainer, epoch, metrics):
        time.sleep(self.seconds)


class Gate(Callback):
    '''Holds a trial after its first (reported) epoch until it is let through: the n-th
    trial to arrive waits until the file `path` has n lines (see tune_toy.let_through).'''

    def __init__(self, path: str):
        self.path = path

    def on_epoch_start(self, trainer, epoch):
        if epoch != 1:
            return
        with open(self.path + ".arrived", "a") as handle:
            handle.write("arrived\\n")
        arrived = _lines(self.path + ".arrived")
        while _lines(self.path) < arrived:
            time.sleep(0.1)


def _lines(path):
    try:
        with open(path) as handle:
            return len(handle.readlines())
    except FileNotFoundError:
        return 0
"""

SEARCH_SPACE: dict[str, Any] = {
    "learning_rate": {"type": "loguniform", "lower": 1e-3, "upper": 1e-1},
}


def toy_config(
    module: str,
    folder: Path,
    *,
    epochs: int = 2,
    counter: Path | None = None,
    pause_s: float | None = None,
    gate: Path | None = None,
    top_level: Mapping[str, Any] | None = None,
    **tune: Any,
) -> dict[str, Any]:
    """The config tree: module.Blobs → TorchTrainer reading ${batch_size}, ${learning_rate}."""
    trainer: dict[str, Any] = {
        "config": {
            "batch_size": "${batch_size}",
            "optim_lr": "${learning_rate}",
            "seed": 0,
        },
        "epochs": "${epochs}",
        "model": {"class_path": f"{module}.Net"},
    }
    callbacks = []
    if pause_s:
        callbacks.append({"class_path": f"{module}.Pause", "init_args": {"seconds": pause_s}})
    if gate is not None:  # the trial's first result is reported before the gate holds it
        callbacks.append({"class_path": f"{module}.Gate", "init_args": {"path": str(gate)}})
    if callbacks:
        trainer["callbacks"] = callbacks
    settings: dict[str, Any] = {
        "metric": "val_loss",
        "mode": "min",
        "num_samples": 2,
        "scheduler": "fifo",
        "search_alg": "random",
        "search_space": SEARCH_SPACE,
        "storage_path": str(folder / "runs"),
        "name": "exp",
        "seed": 0,
    }
    settings.update(tune)
    return {
        "batch_size": 16,
        "learning_rate": 0.01,
        "epochs": epochs,
        **dict(top_level or {}),
        "training_pipeline": {
            "class_path": "pipetune.Pipeline",
            "init_args": {
                "steps": [
                    {
                        "class_path": f"{module}.Blobs",
                        "init_args": {"counter": str(counter) if counter else None},
                    },
                    {"class_path": "pipetune.torch.TorchTrainer", "init_args": trainer},
                ]
            },
        },
        "tune": settings,
    }


def write_toy(
    make_module: Callable[..., str],
    folder: Path,
    name: str = "config.yaml",
    **options: Any,
) -> Path:
    """Write the toy module and its config side by side into ``folder``; return the config."""
    folder.mkdir(parents=True, exist_ok=True)
    module = make_module(TOY_MODULE, folder)
    path = folder / name
    path.write_text(yaml.safe_dump(toy_config(module, folder, **options), sort_keys=False))
    return path


def let_through(gate: Path, trials: int = 1) -> None:
    """Let ``trials`` more trials past the toy's Gate."""
    with gate.open("a") as handle:
        handle.write("go\n" * trials)


def read_results(folder: Path) -> list[dict[str, str]]:
    with (folder / "results.csv").open(newline="") as handle:
        return list(csv.DictReader(handle))
