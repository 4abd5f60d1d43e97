"""make_search: points_to_evaluate and warm_start handed to the search algorithm, and every
refusal (one line naming tune.points_to_evaluate or tune.warm_start)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import optuna
import pytest
from ray.tune.search import BasicVariantGenerator
from ray.tune.search.optuna import OptunaSearch

from pipetune.errors import ConfigError
from pipetune.experiment import write_results
from pipetune.tune import TuneSettings
from pipetune.tune._optuna import DefineByRun, warm_study
from pipetune.tune._search import make_search, warm_start_points
from pipetune.tune._space import build_search_space

SPACE = {
    "optimizer": {"type": "choice", "categories": ["sgd", "adam"]},
    "momentum": {"type": "uniform", "lower": 0.5, "upper": 0.9, "when": {"optimizer": "sgd"}},
    "lr": {"type": "loguniform", "lower": 1e-4, "upper": 1e-1},
}


def settings(**tune: Any) -> TuneSettings:
    return TuneSettings.parse({"search_space": SPACE, "num_samples": 4, **tune})


def search(**tune: Any) -> tuple[Any, dict[str, Any]]:
    s = settings(**tune)
    return make_search(s, build_search_space(s.search_space))


def refused(key: str, **tune: Any) -> str:
    with pytest.raises(ConfigError) as info:
        search(**tune)
    assert info.value.key_path is not None and info.value.key_path.startswith(key)
    text = str(info.value)
    assert len(text.splitlines()) == 1
    return text


def earlier(folder: Path, rows: list[dict[str, Any]]) -> Path:
    """An earlier experiment's results.csv, written by pipetune's own writer."""
    folder.mkdir(parents=True, exist_ok=True)
    write_results(rows, folder)
    return folder


def row(n: int, loss: float | None, status: str = "TERMINATED", **config: Any) -> dict[str, Any]:
    return {
        "trial_id": f"t{n}",
        "status": status,
        "val_loss": loss,
        "best_val_loss": loss,
        **{f"config/{k}": v for k, v in config.items()},
    }


FINISHED = [
    row(0, 0.5, optimizer="sgd", momentum=0.7, lr=0.01),
    row(1, 0.9, optimizer="adam", lr=0.001),  # momentum inactive: an empty cell
    row(2, None, status="ERROR", optimizer="adam", lr=0.002),
    row(3, 0.4, status="STOPPED", optimizer="adam", lr=0.003),
]


# -- what the search algorithm gets ---------------------------------------------------------


def test_random_search_gets_the_points_and_the_folded_space() -> None:
    points = [{"optimizer": "sgd", "momentum": 0.6}, {"optimizer": "adam"}]
    searcher, tuner_space = search(search_alg="random", points_to_evaluate=points)
    assert isinstance(searcher, BasicVariantGenerator)
    assert searcher._points_to_evaluate == points
    assert set(tuner_space) == set(SPACE)


def test_optuna_owns_the_space_and_enqueues_the_points() -> None:
    searcher, tuner_space = search(search_alg="optuna", points_to_evaluate=[{"lr": 0.05}])
    assert isinstance(searcher, OptunaSearch)
    assert tuner_space == {}  # Optuna suggests every searched key itself
    assert searcher.suggest("a")["lr"] == 0.05  # the point comes first


def test_ddp_trials_name_their_keys_inside_train_loop_config() -> None:
    searcher, _ = search(
        search_alg="optuna",
        points_to_evaluate=[{"lr": 0.05, "optimizer": "adam"}],
        resources_per_trial={"cpu": 1, "workers": 2},
    )
    assert searcher.suggest("a") == {"train_loop_config": {"lr": 0.05, "optimizer": "adam"}}


def test_the_warm_start_trials_are_in_the_optuna_study(tmp_path: Path) -> None:
    s = settings(search_alg="optuna", warm_start=str(earlier(tmp_path / "old", FINISHED)))
    space = build_search_space(s.search_space)
    from pipetune.tune._algorithms import SearchInputs

    evaluated = warm_start_points(s, space, _entry("optuna"))
    # finished trials only (not the ERROR one, not the STOPPED one), empty cells left out
    assert evaluated == [
        ({"optimizer": "sgd", "momentum": 0.7, "lr": 0.01}, 0.5),
        ({"optimizer": "adam", "lr": 0.001}, 0.9),
    ]
    inputs = SearchInputs(space=space, metric="val_loss", mode="min", evaluated=evaluated)
    storage, name = warm_study(inputs, DefineByRun(space))
    study = optuna.load_study(study_name=name, storage=storage)
    assert [t.params for t in study.trials] == [e[0] for e in evaluated]
    assert [t.value for t in study.trials] == [0.5, 0.9]
    # and the searcher make_search builds loads that study
    searcher, _ = make_search(s, space)
    assert len(searcher._ot_study.trials) == 2


def _entry(name: str) -> Any:
    from pipetune.tune._algorithms import search_alg_entry

    return search_alg_entry(name)


# -- points_to_evaluate refusals ------------------------------------------------------------


def test_a_point_naming_an_unknown_key_is_refused() -> None:
    text = refused("tune.points_to_evaluate.0", points_to_evaluate=[{"lrr": 0.01}])
    assert "'lrr' is not a key of tune.search_space" in text and "did you mean 'lr'" in text


def test_a_point_outside_the_space_is_refused() -> None:
    text = refused("tune.points_to_evaluate.1", points_to_evaluate=[{}, {"lr": 0.5}])
    assert "0.5 is not a value 'lr' can take (between 0.0001 and 0.1)" in text


def test_a_point_setting_an_inactive_key_is_refused() -> None:
    point = {"optimizer": "adam", "momentum": 0.6}
    text = refused("tune.points_to_evaluate.0", points_to_evaluate=[point])
    assert "'momentum' is set, but its condition (optimizer in ['sgd']) is false" in text


def test_more_points_than_samples_are_refused() -> None:
    text = refused("tune.points_to_evaluate", points_to_evaluate=[{}] * 5)
    assert "5 points_to_evaluate, more than num_samples=4" in text


def test_points_with_a_grid_are_refused() -> None:
    grid = {"lr": {"type": "grid_search", "values": [0.01, 0.1]}}
    with pytest.raises(ConfigError, match="a grid already runs every point") as info:
        s = TuneSettings.parse({"search_space": grid, "points_to_evaluate": [{"lr": 0.01}]})
        make_search(s, build_search_space(grid))
    assert info.value.key_path == "tune.points_to_evaluate"


def test_points_for_an_algorithm_that_cannot_take_them_are_refused() -> None:
    flat = {"lr": SPACE["lr"]}
    text = refused(
        "tune.points_to_evaluate", search_alg="hyperopt", search_space=flat, points_to_evaluate=[{}]
    )
    assert "search algorithm 'hyperopt' cannot run points_to_evaluate" in text


def test_conditions_for_an_algorithm_that_cannot_search_them_are_refused() -> None:
    text = refused("tune.search_space.momentum.when", search_alg="bohb")
    assert "search algorithm 'bohb' cannot search conditional keys ('when')" in text


# -- warm_start refusals --------------------------------------------------------------------


def test_warm_start_with_random_search_is_refused(tmp_path: Path) -> None:
    folder = earlier(tmp_path / "old", FINISHED)
    text = refused("tune.warm_start", search_alg="random", warm_start=str(folder))
    assert "search algorithm 'random' cannot learn from earlier trials" in text


def test_warm_start_from_a_folder_without_results_is_refused(tmp_path: Path) -> None:
    text = refused("tune.warm_start", search_alg="optuna", warm_start=str(tmp_path / "none"))
    assert "holds no results.csv" in text


def test_warm_start_with_other_keys_names_the_extra_and_the_missing(tmp_path: Path) -> None:
    folder = earlier(tmp_path / "old", [row(0, 0.5, optimizer="sgd", batch=32)])
    text = refused("tune.warm_start", search_alg="optuna", warm_start=str(folder))
    assert "searched batch, not in this search space" in text
    assert "did not search lr, momentum" in text


def test_warm_start_from_another_metric_is_refused(tmp_path: Path) -> None:
    folder = earlier(tmp_path / "old", FINISHED)
    text = refused("tune.warm_start", search_alg="optuna", metric="val_f1", warm_start=str(folder))
    assert "has no column 'best_val_f1'" in text


def test_warm_start_without_a_finished_trial_is_refused(tmp_path: Path) -> None:
    folder = earlier(tmp_path / "old", FINISHED[2:])
    text = refused("tune.warm_start", search_alg="optuna", warm_start=str(folder))
    assert "has no finished trial with a value of 'best_val_loss'" in text


def test_warm_start_without_a_column_for_a_key_never_active_there(tmp_path: Path) -> None:
    folder = earlier(tmp_path / "old", [row(0, 0.5, optimizer="adam", lr=0.01)])
    s = settings(search_alg="optuna", warm_start=str(folder))
    evaluated = warm_start_points(s, build_search_space(s.search_space), _entry("optuna"))
    assert evaluated == [({"optimizer": "adam", "lr": 0.01}, 0.5)]


def test_warm_start_missing_a_key_that_was_active_there_is_refused(tmp_path: Path) -> None:
    folder = earlier(tmp_path / "old", [row(0, 0.5, optimizer="sgd", lr=0.01)])
    text = refused("tune.warm_start", search_alg="optuna", warm_start=str(folder))
    assert "did not search momentum" in text


def test_warm_start_from_other_ranges_is_refused(tmp_path: Path) -> None:
    folder = earlier(tmp_path / "old", [row(0, 0.5, optimizer="adam", lr=0.5)])
    text = refused("tune.warm_start", search_alg="optuna", warm_start=str(folder))
    assert "earlier trial 1 does not fit the current search space" in text
