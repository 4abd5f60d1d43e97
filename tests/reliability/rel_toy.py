"""Shared pieces of the reliability tests (issue 7): a toy user module, its config, and
helpers to run ``pipetune tune`` as a subprocess and to clean up after it.

``TOY_MODULE`` is source text: tests write it next to their config (``make_module``), so
trial processes import it from the config's folder like a user's own module.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml
from processes import kill_session

TOY_MODULE = """
import math
import os
import time
from pathlib import Path

import torch
from torch.utils.data import TensorDataset

from pipetune.components import DataGetter
from pipetune.pipeline import Trainer
from pipetune.torch import Callback


def _trial_id():
    from ray import tune

    return tune.get_context().get_trial_id() or "no-trial"


class Blobs(DataGetter):
    '''Two Gaussian blobs (train, validation).'''

    def __init__(self, n: int = 64, name: str | None = None):
        super().__init__(name)
        self.n = n

    def execute(self):
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


class Faults(Callback):
    '''Records the epoch each attempt of a trial starts at (`<trial_id>.starts`, one line per
    attempt) and raises at the start of epoch `fail_epoch`: once per trial (a marker file
    remembers it), or on every attempt when the learning rate equals `always_lr`.'''

    def __init__(self, folder: str, fail_epoch: int = 1, always_lr: float | None = None):
        self.folder = Path(folder)
        self.fail_epoch = fail_epoch
        self.always_lr = always_lr

    def on_fit_start(self, trainer):
        self.folder.mkdir(parents=True, exist_ok=True)
        with open(self.folder / f"{_trial_id()}.starts", "a") as handle:
            handle.write(f"{trainer.start_epoch}\\n")

    def on_epoch_start(self, trainer, epoch):
        if epoch != self.fail_epoch:
            return
        lr = trainer.config.optim_lr
        if self.always_lr is not None and math.isclose(lr, self.always_lr):
            raise RuntimeError(
                f"first line of a long message\\nsecond line\\nbad learning rate {lr} (always)"
            )
        marker = self.folder / f"{_trial_id()}.failed"
        if not marker.exists():
            marker.write_text("failed once")
            raise RuntimeError("transient failure (the retry should succeed)")


class Whereabouts(Callback):
    '''Appends "<epoch> <node>" to `<trial_id>.nodes` at the start of every epoch: the node is
    the PIPETUNE_TEST_NODE of the process (set on a test cluster's worker nodes), or "head".'''

    def __init__(self, folder: str):
        self.folder = Path(folder)

    def on_epoch_start(self, trainer, epoch):
        self.folder.mkdir(parents=True, exist_ok=True)
        node = os.environ.get("PIPETUNE_TEST_NODE", "head")
        with open(self.folder / f"{_trial_id()}.nodes", "a") as handle:
            handle.write(f"{epoch} {node}\\n")


class Blowup(Callback):
    '''Makes the model (so the loss) NaN from epoch `epoch` on when the learning rate is
    `lr`.'''

    def __init__(self, lr: float, epoch: int = 1):
        self.lr = lr
        self.epoch = epoch

    def on_epoch_start(self, trainer, epoch):
        if epoch >= self.epoch and math.isclose(trainer.config.optim_lr, self.lr):
            with torch.no_grad():
                for parameter in trainer.model.parameters():
                    parameter.fill_(float("nan"))


class ReportOnce(Trainer):
    '''A no-op trainer: one report, no checkpoint.'''

    def __init__(self, value: float = 0.0, name: str | None = None):
        super().__init__(name)
        self.value = value

    def execute(self, *inputs):
        from ray import tune

        tune.report({"val_loss": float(self.value)})
"""


def toy_config(
    module: str,
    folder: Path,
    *,
    epochs: int = 3,
    callbacks: list[dict[str, Any]] | None = None,
    optimizer: str = "adam",
    **tune: Any,
) -> dict[str, Any]:
    """module.Blobs → TorchTrainer reading ${learning_rate}; ``tune`` updates the settings."""
    trainer: dict[str, Any] = {
        "config": {
            "batch_size": 16,
            "optim_lr": "${learning_rate}",
            "optimizer": optimizer,
            "seed": 0,
        },
        "epochs": epochs,
        "model": {"class_path": f"{module}.Net"},
        "callbacks": [
            {"class_path": f"{module}.{c['name']}", "init_args": c.get("args", {})}
            for c in callbacks or []
        ],
    }
    settings: dict[str, Any] = {
        "metric": "val_loss",
        "mode": "min",
        "num_samples": 2,
        "scheduler": "fifo",
        "search_alg": "random",
        "search_space": {"learning_rate": {"type": "loguniform", "lower": 1e-3, "upper": 1e-1}},
        "storage_path": str(folder / "runs"),
        "name": "exp",
        "seed": 0,
    }
    settings.update(tune)
    return {
        "learning_rate": 0.01,
        "training_pipeline": {
            "class_path": "pipetune.Pipeline",
            "init_args": {
                "steps": [
                    {"class_path": f"{module}.Blobs"},
                    {"class_path": "pipetune.torch.TorchTrainer", "init_args": trainer},
                ]
            },
        },
        "tune": settings,
    }


def noop_config(module: str, folder: Path, **tune: Any) -> dict[str, Any]:
    """A one-step pipeline whose trainer reports once (load tests)."""
    settings: dict[str, Any] = {
        "metric": "val_loss",
        "mode": "min",
        "num_samples": 10,
        "scheduler": "fifo",
        "search_alg": "random",
        "search_space": {"value": {"type": "uniform", "lower": 0.0, "upper": 1.0}},
        "storage_path": str(folder / "runs"),
        "name": "exp",
        "seed": 0,
        "checkpoint_every": 0,
    }
    settings.update(tune)
    return {
        "value": 0.5,
        "training_pipeline": {
            "class_path": "pipetune.Pipeline",
            "init_args": {
                "steps": [
                    {"class_path": f"{module}.ReportOnce", "init_args": {"value": "${value}"}}
                ]
            },
        },
        "tune": settings,
    }


def write_config(
    make_module: Callable[..., str],
    folder: Path,
    build: Callable[..., dict[str, Any]] = toy_config,
    **options: Any,
) -> Path:
    """Write the toy module and a config built by ``build`` into ``folder``; return the config."""
    folder.mkdir(parents=True, exist_ok=True)
    module = make_module(TOY_MODULE, folder)
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(build(module, folder, **options), sort_keys=False))
    return path


def read_results(folder: Path) -> list[dict[str, str]]:
    with (folder / "results.csv").open(newline="") as handle:
        return list(csv.DictReader(handle))


def read_history(folder: Path) -> list[dict[str, Any]]:
    """Every row of the experiment's history.jsonl (a line cut by a kill is skipped)."""
    try:
        lines = (folder / "history.jsonl").read_text().splitlines()
    except FileNotFoundError:
        return []
    rows = []
    for line in lines:
        with contextlib.suppress(json.JSONDecodeError):
            rows.append(json.loads(line))
    return rows


def history_lines(folder: Path) -> int:
    try:
        with (folder / "history.jsonl").open("rb") as handle:
            return sum(1 for _ in handle)
    except FileNotFoundError:
        return 0


# -- pipetune tune as a subprocess --------------------------------------------------------------


def cli_env(**extra: str) -> dict[str, str]:
    return {**os.environ, "RAY_ADDRESS": "local", **extra}  # never attach to another Ray


def start_tune(
    args: list[str], cwd: Path, log: Path, env: Mapping[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """``pipetune tune ARGS`` in its own session; stdout and stderr go to ``log``."""
    with log.open("w") as handle:
        return subprocess.Popen(
            [sys.executable, "-m", "pipetune.cli.main", "tune", *args],
            cwd=cwd,
            env=dict(env or cli_env()),
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def wait_for(
    condition: Callable[[], bool],
    process: subprocess.Popen[bytes],
    log: Path,
    timeout: float,
    what: str,
) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if process.poll() is not None:
            raise AssertionError(f"tune ended before {what}:\n{log.read_text()[-4000:]}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}:\n{log.read_text()[-4000:]}")
        time.sleep(0.05)


@contextlib.contextmanager
def tracked() -> Iterator[list[subprocess.Popen[bytes]]]:
    """Drivers started inside the block; their sessions never outlive it."""
    processes: list[subprocess.Popen[bytes]] = []
    try:
        yield processes
    finally:
        for process in processes:
            kill_session(process.pid)
            process.wait()


# -- Tune's experiment snapshot -----------------------------------------------------------------


def snapshot(folder: Path) -> dict[str, dict[str, Any]]:
    """Trial id → {status, checkpoint_iteration} in Tune's newest experiment snapshot (what a
    resume starts from); checkpoint_iteration is None when the snapshot holds no checkpoint.

    The checkpoint manager is cloudpickled in the snapshot: decoded with Ray's own decoder,
    on a file this test's own experiment wrote.
    """
    from ray.tune.utils.serialization import TuneFunctionDecoder

    snapshots = sorted(folder.glob("experiment_state-*.json"))
    if not snapshots:
        return {}
    try:
        state = json.loads(snapshots[-1].read_text())
    except (OSError, json.JSONDecodeError):
        return {}  # being written
    trials: dict[str, dict[str, Any]] = {}
    for static, runtime in state.get("trial_data", []):
        trial = json.loads(static)
        meta = json.loads(runtime, cls=TuneFunctionDecoder, allow_cloudpickle=True)
        latest = meta["checkpoint_manager"].latest_checkpoint_result
        trials[trial["trial_id"]] = {
            "status": trial["status"],
            "checkpoint_iteration": None
            if latest is None
            else int(latest.metrics["training_iteration"]),
        }
    return trials
