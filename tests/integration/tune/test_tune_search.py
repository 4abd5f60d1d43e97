"""Conditional spaces, points_to_evaluate and warm starts on the shared local Ray (issue 18).

Each trial's trainer gets a callback whose init_args read ``${optimizer}``, ``${momentum}``
and ``${learning_rate}``: it writes what the trial's *built* config gave it, so the tests
check what a trial received, not only what results.csv says.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from tune_toy import TOY_MODULE, read_results, toy_config

from pipetune.cli.main import main
from pipetune.errors import ConfigError
from pipetune.experiment import write_results
from pipetune.tune import Experiment

RECORD = '''
import json

from ray import tune

from pipetune.torch import Callback


class Record(Callback):
    """In a trial, appends the values its built config gave it to `path`, one JSON line
    (the driver builds the pipeline once too, to check it: that build writes nothing)."""

    def __init__(self, path: str, values: dict):
        trial_id = tune.get_context().get_trial_id()
        if trial_id is not None:
            with open(path, "a") as handle:
                handle.write(json.dumps({"trial_id": trial_id, **values}) + "\\n")
'''

OWN_MOMENTUM = 0.25  # the config's own value: what a trial without momentum keeps
OPTIMIZER = {"type": "choice", "categories": ["sgd", "adam"]}
MOMENTUM = {"type": "uniform", "lower": 0.5, "upper": 0.9, "when": {"optimizer": "sgd"}}


def write_config(make_module: Callable[..., str], folder: Path, **tune: Any) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    module = make_module(TOY_MODULE + RECORD, folder)
    tree = toy_config(
        module,
        folder,
        epochs=1,
        top_level={"optimizer": "adam", "momentum": OWN_MOMENTUM},
        **tune,
    )
    trainer = tree["training_pipeline"]["init_args"]["steps"][1]["init_args"]
    values = {"optimizer": "${optimizer}", "momentum": "${momentum}", "lr": "${learning_rate}"}
    trainer["callbacks"] = [
        {
            "class_path": f"{module}.Record",
            "init_args": {"path": str(folder / "received.jsonl"), "values": values},
        }
    ]
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(tree, sort_keys=False))
    return path


def received(folder: Path) -> list[dict[str, Any]]:
    """What each trial's trainer was built with, in the order the trials started."""
    lines = (folder / "received.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]


def assert_condition_respected(folder: Path, rows: list[dict[str, str]]) -> None:
    """A trial with adam was built with the config's own momentum, and its cell is empty;
    one with sgd was built with the momentum results.csv records."""
    got = {r["trial_id"]: r for r in received(folder)}
    assert sorted(got) == sorted(r["trial_id"] for r in rows)
    for row in rows:
        built = got[row["trial_id"]]
        assert built["optimizer"] == row["config/optimizer"]
        if row["config/optimizer"] == "adam":
            assert built["momentum"] == OWN_MOMENTUM
            assert row["config/momentum"] == ""
        else:
            assert 0.5 <= built["momentum"] <= 0.9
            assert built["momentum"] == float(row["config/momentum"])


# -- conditional spaces ---------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.ray
def test_random_search_never_sets_a_key_whose_condition_is_false(
    ray_local: object, make_module: Callable[..., str], tmp_path: Path
) -> None:
    config = write_config(
        make_module,
        tmp_path,
        num_samples=6,
        search_space={"optimizer": OPTIMIZER, "momentum": MOMENTUM},
    )
    outcome = Experiment(config).run()
    rows = read_results(outcome.path)
    assert len(rows) == 6 and {r["status"] for r in rows} == {"TERMINATED"}
    assert {r["config/optimizer"] for r in rows} == {"sgd", "adam"}  # both branches ran
    assert_condition_respected(tmp_path, rows)


@pytest.mark.slow
@pytest.mark.ray
def test_a_grid_over_a_conditional_key_runs_each_distinct_point_once(
    ray_local: object, make_module: Callable[..., str], tmp_path: Path
) -> None:
    config = write_config(
        make_module,
        tmp_path,
        num_samples=1,
        search_alg="grid",
        search_space={
            "optimizer": {"type": "grid_search", "values": ["sgd", "adam"]},
            "momentum": {"type": "grid_search", "values": [0.5, 0.9], "when": {"optimizer": "sgd"}},
        },
    )
    outcome = Experiment(config).run()
    rows = read_results(outcome.path)
    points = sorted((r["config/optimizer"], r["config/momentum"]) for r in rows)
    assert points == [("adam", ""), ("sgd", "0.5"), ("sgd", "0.9")]  # 3, not 2 × 2
    assert outcome.unfinished == 0
    assert_condition_respected(tmp_path, rows)
    best = yaml.safe_load((outcome.path / "best_config.yaml").read_text())
    best_row = outcome.best
    assert best_row is not None
    # best_config.yaml keeps the config's own momentum when the best trial had none
    expected = (
        OWN_MOMENTUM if best_row["config/optimizer"] == "adam" else best_row["config/momentum"]
    )
    assert best["momentum"] == expected


@pytest.mark.slow
@pytest.mark.ray
def test_optuna_searches_a_conditional_space_and_runs_the_points_first_in_order(
    ray_local: object, make_module: Callable[..., str], tmp_path: Path
) -> None:
    points = [
        {"optimizer": "sgd", "momentum": 0.55, "learning_rate": 0.05},
        {"optimizer": "adam", "learning_rate": 0.002},
    ]
    config = write_config(
        make_module,
        tmp_path,
        num_samples=5,
        max_concurrent_trials=1,  # one at a time: the start order is the order of creation
        search_alg={"type": "optuna", "n_startup_trials": 2},
        points_to_evaluate=points,
        search_space={
            "optimizer": OPTIMIZER,
            "momentum": MOMENTUM,
            "learning_rate": {"type": "loguniform", "lower": 1e-3, "upper": 1e-1},
        },
    )
    outcome = Experiment(config).run()
    rows = read_results(outcome.path)
    assert len(rows) == 5
    assert_condition_respected(tmp_path, rows)
    started = received(tmp_path)
    assert [(b["optimizer"], b["lr"]) for b in started[:2]] == [("sgd", 0.05), ("adam", 0.002)]
    assert started[0]["momentum"] == 0.55
    origin = {r["trial_id"]: r["origin"] for r in rows}
    assert [origin[b["trial_id"]] for b in started] == ["points_to_evaluate"] * 2 + ["sampled"] * 3


@pytest.mark.slow
@pytest.mark.ray
def test_random_search_runs_the_points_first_in_order(
    ray_local: object, make_module: Callable[..., str], tmp_path: Path
) -> None:
    points = [{"learning_rate": 0.07}, {"learning_rate": 0.0015}]
    config = write_config(
        make_module, tmp_path, num_samples=3, max_concurrent_trials=1, points_to_evaluate=points
    )
    outcome = Experiment(config).run()
    started = received(tmp_path)
    assert [b["lr"] for b in started[:2]] == [0.07, 0.0015]
    rows = {r["trial_id"]: r for r in read_results(outcome.path)}
    assert [rows[b["trial_id"]]["origin"] for b in started] == [
        "points_to_evaluate",
        "points_to_evaluate",
        "sampled",
    ]


# -- warm start -----------------------------------------------------------------------------

LRS = [0.001, 0.003, 0.01, 0.03, 0.1]
GOOD = 0.01


@pytest.mark.slow
@pytest.mark.ray
def test_a_warm_started_optuna_search_samples_from_the_earlier_trials(
    ray_local: object, make_module: Callable[..., str], tmp_path: Path
) -> None:
    """Ten earlier trials say learning_rate 0.01 is far better than the four others: TPE
    (past its 2 startup trials thanks to them) proposes it from the first sampled trial on;
    random proposals would all be 0.01 with chance (1/5)^3."""
    old = tmp_path / "old"
    old.mkdir()
    write_results(
        [
            {
                "trial_id": f"old{n}",
                "status": "TERMINATED",
                "val_loss": loss,
                "best_val_loss": loss,
                "config/learning_rate": lr,
            }
            for n, (lr, loss) in enumerate((lr, 0.1 if lr == GOOD else 5.0) for lr in LRS * 2)
        ],
        old,
    )
    config = write_config(
        make_module,
        tmp_path / "new",
        num_samples=3,
        max_concurrent_trials=1,
        search_alg={"type": "optuna", "n_startup_trials": 2},
        search_space={"learning_rate": {"type": "choice", "categories": LRS}},
    )
    assert main(["tune", str(config), "--warm-start", str(old)]) == 0
    started = received(tmp_path / "new")
    assert [b["lr"] for b in started] == [GOOD] * 3
    rows = read_results(tmp_path / "new" / "runs" / "exp")
    assert {r["origin"] for r in rows} == {"sampled"}  # the earlier trials are not run again


# -- refusals of a whole config: one line with file and line, nothing written ---------------


def refused_run(config: Path) -> ConfigError:
    experiment = None
    with pytest.raises(ConfigError) as info:
        experiment = Experiment(config)
        experiment.run()
    assert info.value.file == str(config)
    assert info.value.line is not None
    assert len(str(info.value).splitlines()) == 1
    assert not (config.parent / "runs").exists()  # no experiment folder, no lock
    assert not (config.parent / "received.jsonl").exists()  # no trial ran
    return info.value


def test_a_cycle_of_conditions_is_refused_before_anything_is_written(
    make_module: Callable[..., str], tmp_path: Path
) -> None:
    config = write_config(
        make_module,
        tmp_path,
        search_space={
            "optimizer": {**OPTIMIZER, "when": {"momentum": 0.5}},
            "momentum": {"type": "choice", "categories": [0.5, 0.9], "when": {"optimizer": "sgd"}},
        },
    )
    error = refused_run(config)
    assert error.key_path == "tune.search_space.optimizer.when"
    assert "the conditions form a cycle: optimizer → momentum → optimizer" in str(error)


def test_a_bad_point_is_refused_before_anything_is_written(
    make_module: Callable[..., str], tmp_path: Path
) -> None:
    config = write_config(make_module, tmp_path, points_to_evaluate=[{"learning_rat": 0.01}])
    error = refused_run(config)
    assert error.key_path == "tune.points_to_evaluate.0"
    assert "'learning_rat' is not a key of tune.search_space" in str(error)


def test_a_warm_start_with_other_keys_is_refused_before_anything_is_written(
    make_module: Callable[..., str], tmp_path: Path
) -> None:
    old = tmp_path / "old"
    old.mkdir()
    row = {"trial_id": "a", "status": "TERMINATED", "best_val_loss": 1.0, "config/lr": 0.1}
    write_results([row], old)
    config = write_config(make_module, tmp_path, search_alg="optuna", warm_start=str(old))
    error = refused_run(config)
    assert error.key_path == "tune.warm_start"
    assert "searched lr, not in this search space and did not search learning_rate" in str(error)
