"""Conditional search spaces (``when:``): folding for random and grid, define-by-run for
Optuna, the effective-override check, and every refusal."""

from __future__ import annotations

import re
from typing import Any

import optuna
import pytest
from omegaconf import OmegaConf
from ray.tune.search.variant_generator import generate_variants

from pipetune.config import ConfigSource
from pipetune.errors import ConfigError
from pipetune.tune._checks import check_effective_overrides
from pipetune.tune._conditions import GRID_POINTS, INACTIVE, active_values, context
from pipetune.tune._optuna import DefineByRun
from pipetune.tune._space import build_search_space, grid_size

MOMENTUM_IF_SGD = {"type": "uniform", "lower": 0.5, "upper": 0.9, "when": {"optimizer": "sgd"}}


def space(**entries: Any) -> dict[str, Any]:
    return {"optimizer": {"type": "choice", "categories": ["sgd", "adam"]}, **entries}


def variants(param_space: dict[str, Any]) -> list[dict[str, Any]]:
    return [active_values(spec["config"]) for _, spec in generate_variants({"config": param_space})]


def refused(entries: dict[str, Any], key: str) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        build_search_space(entries)
    assert info.value.key_path == f"tune.search_space.{key}.when"
    assert len(str(info.value).splitlines()) == 1
    return info.value


# -- random search: a false condition leaves the key out ------------------------------------


def test_random_search_samples_a_conditional_key_only_when_its_condition_holds() -> None:
    built = build_search_space(space(momentum=MOMENTUM_IF_SGD)).seeded(0)
    drawn = [v for _ in range(40) for v in variants(dict(built))]
    assert {d["optimizer"] for d in drawn} == {"sgd", "adam"}
    for values in drawn:
        if values["optimizer"] == "sgd":
            assert 0.5 <= values["momentum"] <= 0.9
        else:
            assert "momentum" not in values  # the trial keeps the config's own value


def test_a_seeded_space_draws_new_values_trial_after_trial() -> None:
    built = dict(
        build_search_space(
            {
                "x": {"type": "choice", "categories": [1]},
                "y": {"type": "uniform", "lower": 0, "upper": 1, "when": {"x": 1}},
            }
        ).seeded(0)
    )
    drawn = {v["y"] for _ in range(5) for v in variants(built)}
    assert len(drawn) == 5  # Ray copies the spec per trial: the random state must advance


def test_a_chain_of_conditions_follows_an_inactive_parent() -> None:
    built = build_search_space(
        space(
            dampening={"type": "choice", "categories": [0, 0.1], "when": {"nesterov": True}},
            nesterov={"type": "choice", "categories": [True, False], "when": {"momentum": 0.7}},
            momentum={"type": "choice", "categories": [0.7, 0.8], "when": {"optimizer": "sgd"}},
        )
    ).seeded(1)
    assert built.order == ["optimizer", "momentum", "nesterov", "dampening"]
    for values in (v for _ in range(60) for v in variants(dict(built))):
        if values["optimizer"] == "adam":
            assert set(values) == {"optimizer"}
        if values.get("momentum") != 0.7:
            assert "nesterov" not in values and "dampening" not in values


# -- grid search: no duplicate points -------------------------------------------------------


def test_a_grid_over_a_conditional_key_has_no_duplicate_points() -> None:
    built = build_search_space(
        {
            "optimizer": {"type": "grid_search", "values": ["sgd", "adam"]},
            "momentum": {"type": "grid_search", "values": [0.5, 0.9], "when": {"optimizer": "sgd"}},
        }
    )
    assert grid_size(built) == 3  # not 2 × 2: adam has no momentum to vary
    points = variants(dict(built))
    assert points == [
        {"optimizer": "sgd", "momentum": 0.5},
        {"optimizer": "sgd", "momentum": 0.9},
        {"optimizer": "adam"},
    ]
    assert list(built) == [GRID_POINTS]


def test_a_sampled_key_may_depend_on_a_grid_key() -> None:
    built = build_search_space(
        {
            "optimizer": {"type": "grid_search", "values": ["sgd", "adam"]},
            "momentum": MOMENTUM_IF_SGD,
        }
    )
    assert grid_size(built) == 2  # no grid key is conditional: Ray's own grid
    points = variants(dict(built))
    assert [p["optimizer"] for p in points] == ["sgd", "adam"]
    assert 0.5 <= points[0]["momentum"] <= 0.9 and "momentum" not in points[1]


def test_active_values_spreads_grid_points_and_drops_inactive_keys() -> None:
    config = {GRID_POINTS: {"a": 1, "b": INACTIVE}, "c": INACTIVE, "d": 2}
    assert active_values(config) == {"a": 1, "d": 2}


# -- Optuna: define-by-run ------------------------------------------------------------------


def test_optuna_suggests_a_conditional_key_only_when_its_condition_holds() -> None:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    define = DefineByRun(build_search_space(space(momentum=MOMENTUM_IF_SGD)))
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    seen = set()
    for _ in range(20):
        trial = study.ask()
        define(trial)
        seen.add(trial.params["optimizer"])
        assert ("momentum" in trial.params) == (trial.params["optimizer"] == "sgd")
        study.tell(trial, 1.0)
    assert seen == {"sgd", "adam"}


def test_optuna_refuses_a_grid_key() -> None:
    built = build_search_space({"x": {"type": "grid_search", "values": [1, 2]}})
    with pytest.raises(ConfigError, match="optuna cannot search a grid_search key") as info:
        DefineByRun(built)
    assert info.value.key_path == "tune.search_space.x"


# -- the effective-override check ----------------------------------------------------------


def _source(pipeline_reads: dict[str, Any]) -> ConfigSource:
    tree = {"optimizer": "adam", "momentum": 0.0, "pipe": {"config": pipeline_reads}}
    return ConfigSource(OmegaConf.create(tree))


def test_the_override_check_sets_the_parents_so_that_the_condition_holds() -> None:
    built = build_search_space(space(momentum=MOMENTUM_IF_SGD))
    assert context(built.conditions, "momentum") == {"optimizer": "sgd"}
    check_effective_overrides(_source({"opt": "${optimizer}", "mom": "${momentum}"}), "pipe", built)


def test_the_override_check_refuses_a_conditional_key_the_pipeline_never_reads() -> None:
    built = build_search_space(space(momentum=MOMENTUM_IF_SGD))
    with pytest.raises(ConfigError, match="search key 'momentum' changes nothing") as info:
        check_effective_overrides(_source({"opt": "${optimizer}"}), "pipe", built)
    assert info.value.key_path == "tune.search_space.momentum"


# -- refusals: one line each, at tune.search_space.<key>.when ---------------------------------


def test_a_condition_on_an_unknown_key_is_refused_with_a_suggestion() -> None:
    error = refused(space(momentum={**MOMENTUM_IF_SGD, "when": {"optimiser": "sgd"}}), "momentum")
    assert "'when' names 'optimiser', which is not a key of tune.search_space" in str(error)
    assert "did you mean 'optimizer'" in str(error).lower()


def test_a_condition_on_a_value_the_key_never_takes_is_refused() -> None:
    error = refused(space(momentum={**MOMENTUM_IF_SGD, "when": {"optimizer": "sgdd"}}), "momentum")
    assert re.search(r"'optimizer' never takes 'sgdd'; its values: 'sgd', 'adam'", str(error))


def test_a_cycle_of_conditions_is_refused() -> None:
    error = refused(
        {
            "a": {"type": "choice", "categories": [1, 2], "when": {"b": 1}},
            "b": {"type": "choice", "categories": [1, 2], "when": {"a": 1}},
        },
        "a",
    )
    assert "the conditions form a cycle: a → b → a" in str(error)


def test_a_key_depending_on_itself_is_refused() -> None:
    error = refused({"a": {"type": "choice", "categories": [1, 2], "when": {"a": 1}}}, "a")
    assert "'a' cannot depend on itself" in str(error)


def test_a_condition_on_a_sampled_range_is_refused() -> None:
    entries = {
        "lr": {"type": "uniform", "lower": 0.0, "upper": 1.0},
        "momentum": {**MOMENTUM_IF_SGD, "when": {"lr": 0.5}},
    }
    error = refused(entries, "momentum")
    assert "'when' needs a choice or grid_search key; 'lr' is sampled from a range" in str(error)


def test_a_grid_key_depending_on_a_sampled_key_is_refused() -> None:
    entries = space(momentum={"type": "grid_search", "values": [0.5], "when": {"optimizer": "sgd"}})
    error = refused(entries, "momentum")
    assert "a grid_search key can only depend on grid_search keys" in str(error)


@pytest.mark.parametrize("when", [[], {}, "sgd", None])
def test_when_must_be_a_mapping(when: Any) -> None:
    error = refused(space(momentum={**MOMENTUM_IF_SGD, "when": when}), "momentum")
    assert "'when' must map another searched key to its value(s)" in str(error)


def test_pbt_mutations_refuse_when() -> None:
    with pytest.raises(ConfigError, match="'when' is not supported here; remove it"):
        build_search_space(space(momentum=MOMENTUM_IF_SGD), conditional=False)
