"""build_search_space: YAML search-space entries → Ray Tune domains, and its errors."""

from __future__ import annotations

import copy
import math
import warnings
from typing import Any

import pytest
from ray import tune
from ray.tune.search.sample import Categorical, Float, Integer, Quantized

from pipetune.errors import ConfigError
from pipetune.tune import SpaceType, build_search_space
from pipetune.tune._space import grid_values

DRAWS = 200


def build_one(spec: dict[str, Any]) -> Any:
    return build_search_space({"x": spec})["x"]


def draws(domain: Any) -> list[Any]:
    return [domain.sample() for _ in range(DRAWS)]


def config_error(spec: Any, key: str = "x") -> ConfigError:
    with pytest.raises(ConfigError) as info:
        build_search_space({key: spec})
    assert info.value.key_path == f"tune.search_space.{key}"
    return info.value


# -- every type builds the right domain --------------------------------------------------


def test_uniform() -> None:
    domain = build_one({"type": "uniform", "lower": 0.5, "upper": 2.0})
    assert isinstance(domain, Float)
    assert type(domain.get_sampler()).__name__ == "_Uniform"
    assert (domain.lower, domain.upper) == (0.5, 2.0)
    assert all(0.5 <= v <= 2.0 for v in draws(domain))


def test_quniform_rounds_to_q() -> None:
    domain = build_one({"type": "quniform", "lower": 0.0, "upper": 1.0, "q": 0.25})
    assert isinstance(domain, Float)
    sampler = domain.get_sampler()
    assert isinstance(sampler, Quantized) and sampler.q == 0.25
    for value in draws(domain):
        assert 0.0 <= value <= 1.0
        assert math.isclose(value / 0.25, round(value / 0.25), abs_tol=1e-9)


def test_loguniform() -> None:
    domain = build_one({"type": "loguniform", "lower": 1e-4, "upper": 1e-1})
    assert isinstance(domain, Float)
    assert type(domain.get_sampler()).__name__ == "_LogUniform"
    assert (domain.lower, domain.upper) == (1e-4, 1e-1)
    values = draws(domain)
    assert all(1e-4 <= v <= 1e-1 for v in values)
    # log-scale: a good share of the draws lies in the lowest decade
    assert sum(v < 1e-3 for v in values) > DRAWS // 10


def test_loguniform_without_base_gives_no_deprecation_warning() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        build_one({"type": "loguniform", "lower": 1e-4, "upper": 1e-1})
        build_one({"type": "lograndint", "lower": 1, "upper": 100})


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_base_field_is_accepted_for_log_types() -> None:
    for spec in (
        {"type": "loguniform", "lower": 1.0, "upper": 8.0, "base": 2},
        {"type": "qloguniform", "lower": 1.0, "upper": 8.0, "q": 1.0, "base": 2},
        {"type": "lograndint", "lower": 1, "upper": 8, "base": 2},
    ):
        domain = build_one(spec)
        assert all(1 <= v <= 8 for v in draws(domain))


def test_qloguniform() -> None:
    domain = build_one({"type": "qloguniform", "lower": 1e-3, "upper": 1.0, "q": 1e-3})
    assert isinstance(domain, Float)
    sampler = domain.get_sampler()
    assert isinstance(sampler, Quantized) and sampler.q == 1e-3
    assert type(sampler.get_sampler()).__name__ == "_LogUniform"
    for value in draws(domain):
        assert 1e-3 - 1e-12 <= value <= 1.0 + 1e-12
        assert math.isclose(value / 1e-3, round(value / 1e-3), abs_tol=1e-6)


def test_randint_excludes_upper() -> None:
    domain = build_one({"type": "randint", "lower": 2, "upper": 5})
    assert isinstance(domain, Integer)
    assert (domain.lower, domain.upper) == (2, 5)
    values = draws(domain)
    assert all(isinstance(v, int) and 2 <= v < 5 for v in values)


def test_qrandint() -> None:
    domain = build_one({"type": "qrandint", "lower": 0, "upper": 20, "q": 5})
    assert isinstance(domain, Integer)
    sampler = domain.get_sampler()
    assert isinstance(sampler, Quantized) and sampler.q == 5
    assert all(v % 5 == 0 and 0 <= v <= 20 for v in draws(domain))


def test_lograndint() -> None:
    domain = build_one({"type": "lograndint", "lower": 1, "upper": 1000})
    assert isinstance(domain, Integer)
    assert type(domain.get_sampler()).__name__ == "_LogUniform"
    assert all(isinstance(v, int) and 1 <= v < 1000 for v in draws(domain))


def test_randn_mean_and_sd() -> None:
    domain = build_one({"type": "randn", "mean": 10.0, "sd": 0.5})
    assert isinstance(domain, Float)
    sampler = domain.get_sampler()
    assert (sampler.mean, sampler.sd) == (10.0, 0.5)
    values = draws(domain)
    assert 9.5 < sum(values) / len(values) < 10.5


def test_randn_defaults_to_standard_normal() -> None:
    sampler = build_one({"type": "randn"}).get_sampler()
    assert (sampler.mean, sampler.sd) == (0.0, 1.0)


def test_choice() -> None:
    domain = build_one({"type": "choice", "categories": [16, 32, "sgd"]})
    assert isinstance(domain, Categorical)
    assert list(domain.categories) == [16, 32, "sgd"]
    assert set(draws(domain)) <= {16, 32, "sgd"}


def test_grid_search() -> None:
    space = build_search_space({"x": {"type": "grid_search", "values": [1, 2, 3]}})
    assert space == {"x": {"grid_search": [1, 2, 3]}}
    assert grid_values(space) == {"x": [1, 2, 3]}


def test_type_names_are_case_insensitive() -> None:
    assert isinstance(build_one({"type": "Uniform", "lower": 0, "upper": 1}), Float)


def test_every_type_is_covered() -> None:
    assert {t.value for t in SpaceType} == {
        "choice",
        "uniform",
        "quniform",
        "loguniform",
        "qloguniform",
        "randint",
        "qrandint",
        "lograndint",
        "randn",
        "grid_search",
    }


def test_dotted_keys_are_kept() -> None:
    space = build_search_space(
        {
            "training_pipeline.init_args.steps.1.init_args.epochs": {
                "type": "choice",
                "categories": [1],
            }
        }
    )
    assert list(space) == ["training_pipeline.init_args.steps.1.init_args.epochs"]


# -- Ray Tune objects and the caller's mapping ----------------------------------------------


def test_ray_tune_objects_pass_through_unchanged() -> None:
    domain = tune.uniform(0, 1)
    grid = tune.grid_search([1, 2])
    space = build_search_space({"a": domain, "b": grid})
    assert space["a"] is domain
    assert space["b"] is grid


def test_the_callers_mapping_is_not_mutated() -> None:
    original = {
        "lr": {"type": "loguniform", "lower": 1e-4, "upper": 1e-1},
        "bs": {"type": "choice", "categories": [8, 16]},
        "g": {"type": "grid_search", "values": [1, 2]},
    }
    snapshot = copy.deepcopy(original)
    build_search_space(original)
    assert original == snapshot


# -- errors ------------------------------------------------------------------------------


def test_unknown_type_lists_the_valid_ones() -> None:
    error = config_error({"type": "gaussian", "lower": 0, "upper": 1}, key="lr")
    text = str(error)
    assert "unknown search-space type 'gaussian'" in text
    for kind in SpaceType:
        assert kind.value in text
    assert "tune.search_space.lr" in text


def test_lower_must_be_below_upper() -> None:
    for spec in (
        {"type": "uniform", "lower": 1.0, "upper": 1.0},
        {"type": "randint", "lower": 5, "upper": 2},
    ):
        error = config_error(spec)
        assert "`lower < upper` must hold" in str(error)
        assert f"lower={spec['lower']}, upper={spec['upper']}" in str(error)


def test_log_types_need_positive_bounds() -> None:
    for kind in ("loguniform", "lograndint"):
        error = config_error({"type": kind, "lower": 0, "upper": 10})
        assert "log-scale bounds must be positive" in str(error)
        assert "lower=0" in str(error)
    error = config_error({"type": "qloguniform", "lower": -1.0, "upper": 1.0, "q": 0.1})
    assert "log-scale bounds must be positive" in str(error)


def test_bounds_must_be_numbers() -> None:
    error = config_error({"type": "uniform", "lower": "small", "upper": 1})
    assert "'lower' must be a number, got 'small'" in str(error)
    error = config_error({"type": "uniform", "lower": 0, "upper": True})
    assert "'upper' must be a number" in str(error)


def test_empty_choice() -> None:
    error = config_error({"type": "choice", "categories": []}, key="batch_size")
    assert "'categories' must be a non-empty list" in str(error)
    assert "tune.search_space.batch_size" in str(error)


def test_empty_grid() -> None:
    error = config_error({"type": "grid_search", "values": []})
    assert "'values' must be a non-empty list" in str(error)


def test_q_and_sd_must_be_positive() -> None:
    error = config_error({"type": "quniform", "lower": 0, "upper": 1, "q": 0})
    assert "'q' must be a positive number, got 0" in str(error)
    error = config_error({"type": "randn", "sd": -1})
    assert "'sd' must be a positive number, got -1" in str(error)


def test_missing_field() -> None:
    error = config_error({"type": "uniform", "lower": 0}, key="dropout")
    assert "missing field 'upper' for type 'uniform'" in str(error)
    assert error.key_path == "tune.search_space.dropout"
    error = config_error({"type": "qrandint", "lower": 0, "upper": 4})
    assert "missing field 'q'" in str(error)


def test_unexpected_field_lists_the_allowed_ones() -> None:
    error = config_error({"type": "uniform", "lower": 0, "upper": 1, "step": 2})
    text = str(error)
    assert "unexpected field(s) ['step'] for type 'uniform'" in text
    assert "allowed: lower, upper" in text
    error = config_error({"type": "choice", "values": [1, 2]})
    assert "unexpected field(s) ['values'] for type 'choice'" in str(error)


def test_entry_without_a_type() -> None:
    assert "expected a mapping with a 'type'" in str(config_error(0.1))
    assert "expected a mapping with a 'type'" in str(config_error({"lower": 0, "upper": 1}))


def test_empty_search_space() -> None:
    with pytest.raises(ConfigError) as info:
        build_search_space({})
    assert info.value.key_path == "tune.search_space"
    assert "the search space is empty" in str(info.value)


# -- label: a display name, checked here, never handed to Ray -----------------------------


def test_a_label_is_accepted_and_does_not_reach_ray() -> None:
    spec = {"type": "choice", "categories": [32, 64], "label": "width"}
    domain = build_one(spec)
    assert isinstance(domain, Categorical) and domain.categories == [32, 64]
    assert spec["label"] == "width"  # the caller's mapping is left as it was


@pytest.mark.parametrize(
    ("space", "key", "message"),
    [
        ({"x": {"type": "uniform", "lower": 0, "upper": 1, "label": 3}}, "x", "non-empty string"),
        ({"x": {"type": "uniform", "lower": 0, "upper": 1, "label": " "}}, "x", "non-empty"),
        (
            {
                "a": {"type": "uniform", "lower": 0, "upper": 1, "label": "z"},
                "b": {"type": "uniform", "lower": 0, "upper": 1, "label": "z"},
            },
            "b",
            "label 'z' names 'a' too",
        ),
        (
            {
                "a": {"type": "uniform", "lower": 0, "upper": 1, "label": "b"},
                "b": {"type": "uniform", "lower": 0, "upper": 1},
            },
            "a",
            "label 'b' is another searched key",
        ),
    ],
)
def test_a_bad_label_names_its_key(space: dict[str, Any], key: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        build_search_space(space)
    assert info.value.key_path == f"tune.search_space.{key}.label"
