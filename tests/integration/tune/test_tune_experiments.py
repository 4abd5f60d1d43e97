"""Whole experiments on the shared local Ray: schedulers, search algorithms, checks, results."""

from __future__ import annotations

import gc
import itertools
import math
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from tune_toy import read_results, write_toy

from pipetune.cli.main import main
from pipetune.errors import ConfigError, PipetuneError
from pipetune.experiment import read_history
from pipetune.parser import ConfigParser
from pipetune.tune import SCHEDULERS, Experiment, ExperimentOutcome, register_scheduler

pytestmark = pytest.mark.ray

GRID = [0.003, 0.01, 0.03]
_names = itertools.count()


def run_toy(make_module: Callable[..., str], folder: Path, **options: Any) -> ExperimentOutcome:
    return Experiment(write_toy(make_module, folder, **options)).run()


def assert_completed(outcome: ExperimentOutcome, trials: int) -> list[dict[str, str]]:
    rows = read_results(outcome.path)
    assert len(rows) == trials
    assert [r["status"] for r in rows] == ["TERMINATED"] * trials, rows
    assert len({r["trial_id"] for r in rows}) == trials
    assert outcome.failed == 0
    assert all(math.isfinite(float(r["best_val_loss"])) for r in rows)
    return rows


# -- every scheduler and search algorithm ----------------------------------------------------

PBT = {
    "type": "pbt",
    "hyperparam_mutations": {"learning_rate": {"type": "loguniform", "lower": 1e-3, "upper": 1e-1}},
}


@pytest.mark.slow
@pytest.mark.parametrize(
    ("scheduler", "search_alg"),
    # fifo (with grid search) runs to the end in the grid_run fixture below
    [
        ("asha", "optuna"),
        ("hyperband", "random"),
        ("median_stopping", "optuna"),
        (PBT, "random"),
    ],
    ids=["asha-optuna", "hyperband-random", "median_stopping-optuna", "pbt-random"],
)
def test_scheduler_and_search_alg_run_to_the_end(
    ray_local: object,
    make_module: Callable[..., str],
    tmp_path: Path,
    scheduler: Any,
    search_alg: str,
) -> None:
    outcome = run_toy(
        make_module, tmp_path, scheduler=scheduler, search_alg=search_alg, num_samples=2
    )
    rows = assert_completed(outcome, 2)
    for row in rows:
        assert 1e-3 <= float(row["config/learning_rate"]) <= 1e-1
        assert 1 <= int(row["iterations"]) <= 2
    assert (outcome.path / "best_config.yaml").exists()


# -- a scheduler of the user's: registered, or by class_path (issue 16, point 3) ----------------


def _checkpoints(outcome_path: Path) -> list[Path]:
    return sorted(outcome_path.glob("*/checkpoint_*"))


@pytest.mark.slow
def test_a_scheduler_registered_from_outside_runs(
    ray_local: object, make_module: Callable[..., str], tmp_path: Path
) -> None:
    from ray.tune.schedulers import FIFOScheduler

    built: list[tuple[dict[str, Any], int]] = []

    def factory(options: dict[str, Any], budget: int) -> Any:
        built.append((options, budget))
        return FIFOScheduler()

    register_scheduler("test_every_epoch_kept", factory, keeps_all_checkpoints=True)
    try:
        outcome = run_toy(
            make_module,
            tmp_path,
            epochs=3,
            scheduler={"type": "test_every_epoch_kept", "note": "from a test"},
        )
    finally:
        SCHEDULERS.pop("test_every_epoch_kept")
    assert_completed(outcome, 2)
    assert built == [({"note": "from a test"}, 3)]  # its options and the epoch budget
    # keeps_all_checkpoints: every epoch's checkpoint of each trial stays (2 otherwise)
    assert len(_checkpoints(outcome.path)) == 2 * 3


USER_SCHEDULER = '''
from ray.tune.schedulers import FIFOScheduler


class EveryTrialToTheEnd(FIFOScheduler):
    """A user's scheduler, in a module next to the config."""

    keeps_all_checkpoints = True

    def __init__(self, label: str = ""):
        super().__init__()
        self.label = label
'''


@pytest.mark.slow
def test_a_scheduler_given_by_class_path_runs(
    ray_local: object, make_module: Callable[..., str], tmp_path: Path
) -> None:
    module = make_module(USER_SCHEDULER, tmp_path)  # the config's folder, not sys.path
    scheduler = {"class_path": f"{module}.EveryTrialToTheEnd", "init_args": {"label": "mine"}}
    config = write_toy(make_module, tmp_path, epochs=3, scheduler=scheduler)
    assert main(["tune", str(config)]) == 0
    folder = tmp_path / "runs" / "exp"
    rows = read_results(folder)
    assert [r["status"] for r in rows] == ["TERMINATED"] * 2
    assert [int(r["iterations"]) for r in rows] == [3, 3]
    assert len(_checkpoints(folder)) == 2 * 3  # the class says keeps_all_checkpoints


# -- one grid experiment, several checks ---------------------------------------------------------


@pytest.fixture(scope="module")
def grid_run(ray_local: object, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """fifo + grid: a 3-point grid on learning_rate (+ a batch_size choice), num_samples 1,
    with a getter that counts its executions."""
    folder = tmp_path_factory.mktemp("grid")
    names: list[str] = []

    def make_module(code: str, where: Path) -> str:
        name = f"tune_toy_grid_{os.getpid()}_{next(_names)}"
        (where / f"{name}.py").write_text(textwrap.dedent(code))
        names.append(name)
        return name

    counter = folder / "counter.txt"
    config = write_toy(
        make_module,
        folder,
        counter=counter,
        num_samples=1,
        scheduler="fifo",
        search_alg="grid",
        search_space={
            "learning_rate": {"type": "grid_search", "values": GRID},
            "batch_size": {"type": "choice", "categories": [8, 16]},
        },
    )
    module = yaml.safe_load(config.read_text())["training_pipeline"]["init_args"]["steps"][0]
    module = module["class_path"].rsplit(".", 1)[0]
    seen: dict[str, int] = {}

    def count_models(outcome: Any) -> None:  # called after the trials, before Ray stops
        gc.collect()
        models = [o for o in gc.get_objects() if isinstance(o, sys.modules[module].Net)]
        seen["models"] = len(models)

    outcome = Experiment(config).run(deliver=count_models)
    yield {
        "outcome": outcome,
        "counter": counter,
        "config": config,
        "folder": folder,
        "driver_models": seen["models"],
    }
    for name in names:
        sys.modules.pop(name, None)


@pytest.mark.slow
def test_grid_search_gives_exactly_the_grid(grid_run: dict) -> None:
    rows = assert_completed(grid_run["outcome"], len(GRID))
    assert sorted(float(r["config/learning_rate"]) for r in rows) == GRID
    assert {int(r["config/batch_size"]) for r in rows} <= {8, 16}


@pytest.mark.slow
def test_upstream_steps_run_once_for_all_trials(grid_run: dict) -> None:
    assert grid_run["counter"].read_text().splitlines() == ["executed"]


@pytest.mark.slow
def test_the_driver_holds_no_model_while_trials_run(grid_run: dict) -> None:
    """The driver builds the pipeline to check it, then lets the trainer (and its model) go:
    only the trials' processes hold models (issue 17, point 5)."""
    assert grid_run["driver_models"] == 0


@pytest.mark.slow
def test_best_config_reproduces_the_best_trial(
    grid_run: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    outcome: ExperimentOutcome = grid_run["outcome"]
    rows = read_results(outcome.path)
    best = min(rows, key=lambda r: float(r["best_val_loss"]))
    assert outcome.best is not None and outcome.best["trial_id"] == best["trial_id"]

    best_file = outcome.path / "best_config.yaml"
    config = ConfigParser(best_file).config
    assert config["learning_rate"] == float(best["config/learning_rate"])
    assert config["batch_size"] == int(best["config/batch_size"])
    # everything else is the input config, interpolations kept
    assert "${learning_rate}" in best_file.read_text()
    assert config["tune"]["search_space"]["learning_rate"]["values"] == GRID

    monkeypatch.chdir(grid_run["folder"])
    assert main(["run", str(best_file)]) == 0
    # `pipetune run` executes the getter once more, in this process
    assert len(grid_run["counter"].read_text().splitlines()) == 2


@pytest.mark.slow
def test_history_holds_every_epoch_of_every_trial(grid_run: dict) -> None:
    outcome: ExperimentOutcome = grid_run["outcome"]
    history = read_history(outcome.path).rows
    per_trial: dict[str, list[int]] = {}
    for row in history:
        per_trial.setdefault(row["trial_id"], []).append(row["training_iteration"])
    assert sorted(per_trial) == sorted(r["trial_id"] for r in read_results(outcome.path))
    assert all(iterations == [1, 2] for iterations in per_trial.values())


# -- checks that stop an experiment early ----------------------------------------------------


@pytest.mark.slow
def test_metric_never_reported_fails_fast(
    ray_local: object, make_module: Callable[..., str], tmp_path: Path
) -> None:
    experiment = Experiment(
        write_toy(
            make_module,
            tmp_path,
            epochs=4,
            metric="val_f1",
            num_samples=4,
            max_concurrent_trials=1,
        )
    )
    with pytest.raises(PipetuneError) as info:
        experiment.run()
    text = str(info.value)
    assert "never reported metric 'val_f1'" in text
    for reported in ("val_loss", "train_loss", "val_accuracy"):
        assert reported in text
    history = read_history(experiment.path).rows
    assert history, "the first result should have been recorded"
    # stopped at the first result: not every trial ran, none ran all its epochs
    assert len({row["trial_id"] for row in history}) < 4
    assert max(row["training_iteration"] for row in history) < 4
    assert not (experiment.path / "results.csv").exists()


def test_search_key_the_trainer_never_reads_is_refused_before_any_trial(
    ray_local: object, make_module: Callable[..., str], tmp_path: Path
) -> None:
    counter = tmp_path / "counter.txt"
    config = write_toy(
        make_module,
        tmp_path,
        counter=counter,
        top_level={"optim_lr": 0.05},
        search_space={"optim_lr": {"type": "loguniform", "lower": 1e-4, "upper": 1e-1}},
    )
    experiment = Experiment(config)
    with pytest.raises(ConfigError) as info:
        experiment.run()
    assert info.value.key_path == "tune.search_space.optim_lr"
    assert "search key 'optim_lr' changes nothing the pipeline receives" in str(info.value)
    assert "${optim_lr}" in str(info.value)
    assert not experiment.path.exists()
    assert not counter.exists()


def test_unsatisfiable_resources_are_refused_before_any_trial(
    ray_local: Any, make_module: Callable[..., str], tmp_path: Path
) -> None:
    config = write_toy(make_module, tmp_path, resources_per_trial={"cpu": 64})
    experiment = Experiment(config)
    with pytest.raises(ConfigError) as info:
        experiment.run()
    text = str(info.value)
    assert info.value.key_path == "tune.resources_per_trial"
    assert "PENDING" in text
    assert "needing cpu=64, gpu=0" in text
    # checked against this machine before Ray is used, or against the Ray nodes
    import torch

    nodes = [n["Resources"] for n in ray_local.nodes() if n["Alive"]]
    largest = max(nodes, key=lambda n: (n.get("GPU", 0), n.get("CPU", 0)))
    candidates = {
        f"the largest node has cpu={largest['CPU']:g}, gpu={largest.get('GPU', 0):g}",
        f"the largest node has cpu={os.cpu_count():g}, gpu={torch.cuda.device_count():g}",
    }
    assert any(c in text for c in candidates), text
    assert not experiment.path.exists()


# -- the command line ----------------------------------------------------------------------


def cli(args: list[str], cwd: Path, timeout: float = 240) -> subprocess.CompletedProcess:
    env = {**os.environ, "RAY_ADDRESS": "local"}  # never attach to another Ray on this machine
    return subprocess.run(
        [sys.executable, "-m", "pipetune.cli.main", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.mark.slow
def test_cli_tune_prints_the_results_path(make_module: Callable[..., str], tmp_path: Path) -> None:
    config = write_toy(make_module, tmp_path, num_samples=2, scheduler="asha")
    done = cli(["tune", str(config)], cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    folder = tmp_path / "runs" / "exp"
    assert f"results: {folder / 'results.csv'}" in done.stdout
    assert f"best config: {folder / 'best_config.yaml'}" in done.stdout
    assert f"experiment: {folder}" in done.stderr
    assert len(read_results(folder)) == 2
    assert "Failed to fetch metrics" not in done.stderr
    assert "RayDeprecationWarning" not in done.stderr


def test_cli_tune_bad_config_exits_2_with_one_line(
    make_module: Callable[..., str], tmp_path: Path
) -> None:
    config = write_toy(make_module, tmp_path, num_sample=3)
    done = cli(["tune", str(config)], cwd=tmp_path, timeout=120)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("pipetune: error: ")
    assert "tune.num_sample" in lines[0] and "num_samples" in lines[0]
    assert not (tmp_path / "runs").exists()


def test_cli_tune_override_of_a_tune_setting_is_applied(
    make_module: Callable[..., str], tmp_path: Path
) -> None:
    """`-o tune.X=...` reaches the settings even though the CLI's own flags are unset."""
    config = write_toy(make_module, tmp_path)
    done = cli(["tune", str(config), "-o", "tune.num_samples=0"], cwd=tmp_path, timeout=120)
    assert done.returncode == 2
    assert "tune.num_samples" in done.stderr
