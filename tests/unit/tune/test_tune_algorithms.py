"""Schedulers and search algorithms by name: what each builds, and the errors."""

from __future__ import annotations

import importlib.util
from typing import Any

import pytest
from ray.tune.schedulers import (
    AsyncHyperBandScheduler,
    FIFOScheduler,
    HyperBandScheduler,
    MedianStoppingRule,
    PopulationBasedTraining,
)
from ray.tune.search import BasicVariantGenerator, ConcurrencyLimiter
from ray.tune.search.sample import Float

from pipetune.errors import ConfigError
from pipetune.tune._algorithms import (
    SCHEDULERS,
    SEARCH_ALGS,
    make_scheduler,
    make_search_alg,
    search_alg_name,
)

MUTATIONS = {"learning_rate": {"type": "loguniform", "lower": 1e-4, "upper": 1e-1}}


def scheduler(spec: Any, budget: int = 5) -> Any:
    return make_scheduler(spec, budget)


# -- schedulers ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "kind"),
    [
        ("fifo", FIFOScheduler),
        ("asha", AsyncHyperBandScheduler),
        ("hyperband", HyperBandScheduler),
        ("median_stopping", MedianStoppingRule),
        ({"type": "pbt", "hyperparam_mutations": MUTATIONS}, PopulationBasedTraining),
        ("ASHA", AsyncHyperBandScheduler),
    ],
)
def test_each_scheduler_constructs(spec: object, kind: type) -> None:
    assert isinstance(scheduler(spec), kind)


def test_no_scheduler_means_fifo() -> None:
    assert isinstance(scheduler(None), FIFOScheduler)


def test_asha_defaults_to_the_epoch_budget() -> None:
    built = scheduler("asha", budget=7)
    assert isinstance(built, AsyncHyperBandScheduler)
    assert built._max_t == 7
    assert built._time_attr == "training_iteration"
    assert built._brackets[0]._rungs[-1][0] == 1  # grace_period 1


def test_asha_options_are_passed() -> None:
    built = scheduler({"type": "asha", "grace_period": 2, "max_t": 9, "reduction_factor": 3})
    assert built._max_t == 9
    assert built._reduction_factor == 3
    assert built._brackets[0]._rungs[-1][0] == 2


def test_hyperband_defaults_to_the_epoch_budget() -> None:
    built = scheduler("hyperband", budget=6)
    assert built._max_t_attr == 6


def test_median_stopping_defaults() -> None:
    built = scheduler("median_stopping")
    assert built._grace_period == 1
    assert built._min_samples_required == 2


def test_pbt_builds_its_mutations_from_yaml() -> None:
    built = scheduler({"type": "pbt", "hyperparam_mutations": MUTATIONS})
    assert isinstance(built._hyperparam_mutations["learning_rate"], Float)
    assert built._perturbation_interval == 1


def test_pbt_needs_hyperparam_mutations() -> None:
    for spec in ("pbt", {"type": "pbt"}, {"type": "pbt", "hyperparam_mutations": {}}):
        with pytest.raises(ConfigError) as info:
            scheduler(spec)
        assert info.value.key_path == "tune.scheduler.hyperparam_mutations"
        assert "pbt needs 'hyperparam_mutations'" in str(info.value)


def test_scheduler_spec_is_not_mutated() -> None:
    spec = {"type": "pbt", "hyperparam_mutations": MUTATIONS, "quantile_fraction": 0.5}
    scheduler(spec)
    assert spec == {"type": "pbt", "hyperparam_mutations": MUTATIONS, "quantile_fraction": 0.5}


def test_unknown_scheduler_lists_the_valid_names() -> None:
    with pytest.raises(ConfigError) as info:
        scheduler("successive_halving")
    assert info.value.key_path == "tune.scheduler"
    assert "unknown scheduler 'successive_halving'" in str(info.value)
    for name in SCHEDULERS:
        assert name in str(info.value)


def test_bad_scheduler_option() -> None:
    with pytest.raises(ConfigError) as info:
        scheduler({"type": "asha", "grace": 2})
    assert info.value.key_path == "tune.scheduler"
    assert "bad option for scheduler 'asha'" in str(info.value)
    assert "grace" in str(info.value)


# -- search algorithms -------------------------------------------------------------------


@pytest.mark.parametrize("spec", ["random", "grid", None, {"type": "random"}])
def test_random_and_grid_use_the_variant_generator(spec: object) -> None:
    built = make_search_alg(spec, seed=0, concurrency=None)  # type: ignore[arg-type]
    assert isinstance(built, BasicVariantGenerator)


@pytest.mark.parametrize("name", ["random", "grid"])
def test_the_variant_generator_carries_the_concurrency_cap(name: str) -> None:
    # Tune drops TuneConfig(max_concurrent_trials) when search_alg is not a Searcher
    built = make_search_alg(name, None, 2)
    assert isinstance(built, BasicVariantGenerator)
    assert built.max_concurrent == 2
    assert make_search_alg(name, None, None).max_concurrent == 0


def test_optuna_builds_with_a_seeded_sampler() -> None:
    from ray.tune.search.optuna import OptunaSearch

    built = make_search_alg("optuna", seed=3, concurrency=None)
    assert isinstance(built, OptunaSearch)
    assert type(built._sampler).__name__ == "TPESampler"


def test_optuna_sampler_options_and_concurrency() -> None:
    built = make_search_alg({"type": "optuna", "n_startup_trials": 2}, seed=None, concurrency=2)
    assert isinstance(built, ConcurrencyLimiter)
    assert built.max_concurrent == 2


def test_bad_search_alg_option() -> None:
    with pytest.raises(ConfigError) as info:
        make_search_alg({"type": "optuna", "startup": 2}, None, None)
    assert info.value.key_path == "tune.search_alg"
    assert "bad option for search algorithm 'optuna'" in str(info.value)


@pytest.mark.parametrize(
    ("name", "packages", "extra"),
    [("hyperopt", ["hyperopt"], "hyperopt"), ("bohb", ["hpbandster", "ConfigSpace"], "bohb")],
)
def test_optional_search_algs_name_their_extra(name: str, packages: list[str], extra: str) -> None:
    missing = [p for p in packages if importlib.util.find_spec(p) is None]
    if not missing:
        assert make_search_alg(name, seed=0, concurrency=None) is not None
        return
    with pytest.raises(ConfigError) as info:
        make_search_alg(name, seed=0, concurrency=None)
    text = str(info.value)
    assert info.value.key_path == "tune.search_alg"
    assert f"search algorithm '{name}' needs the package '{missing[0]}'" in text
    assert f"pipetune[{extra}]" in text


def test_unknown_search_alg_lists_the_valid_names() -> None:
    with pytest.raises(ConfigError) as info:
        make_search_alg("nevergrad", None, None)
    assert info.value.key_path == "tune.search_alg"
    assert "unknown search algorithm 'nevergrad'" in str(info.value)
    for name in SEARCH_ALGS:
        assert name in str(info.value)


def test_search_alg_name() -> None:
    assert search_alg_name(None) == "random"
    assert search_alg_name("Optuna") == "optuna"
    assert search_alg_name({"type": "grid"}) == "grid"
