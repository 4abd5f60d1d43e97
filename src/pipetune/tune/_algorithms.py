"""Schedulers and search algorithms by name, through explicit registries."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Mapping
from typing import Any

from pipetune.errors import ConfigError

Spec = str | Mapping[str, Any] | None


def _split(spec: Spec, default: str) -> tuple[str, dict[str, Any]]:
    if spec is None:
        return default, {}
    if isinstance(spec, str):
        return spec.lower(), {}
    options = dict(spec)
    kind = str(options.pop("type", default)).lower()
    return kind, options


def _fifo(options: dict[str, Any], metric: str, mode: str, budget: int) -> Any:
    from ray.tune.schedulers import FIFOScheduler

    return FIFOScheduler()


def _asha(options: dict[str, Any], metric: str, mode: str, budget: int) -> Any:
    from ray.tune.schedulers import ASHAScheduler

    options.setdefault("max_t", budget)
    options.setdefault("grace_period", 1)
    return ASHAScheduler(time_attr="training_iteration", **options)


def _hyperband(options: dict[str, Any], metric: str, mode: str, budget: int) -> Any:
    from ray.tune.schedulers import HyperBandScheduler

    options.setdefault("max_t", budget)
    return HyperBandScheduler(time_attr="training_iteration", **options)


def _median(options: dict[str, Any], metric: str, mode: str, budget: int) -> Any:
    from ray.tune.schedulers import MedianStoppingRule

    options.setdefault("grace_period", 1)
    options.setdefault("min_samples_required", 2)
    return MedianStoppingRule(time_attr="training_iteration", **options)


def _pbt(options: dict[str, Any], metric: str, mode: str, budget: int) -> Any:
    from ray.tune.schedulers import PopulationBasedTraining

    from pipetune.tune._space import build_search_space

    mutations = options.pop("hyperparam_mutations", None)
    if not mutations:
        raise ConfigError(
            "pbt needs 'hyperparam_mutations' (a search space of the keys it may perturb)",
            key_path="tune.scheduler.hyperparam_mutations",
        )
    options.setdefault("perturbation_interval", 1)
    return PopulationBasedTraining(
        time_attr="training_iteration",
        hyperparam_mutations=build_search_space(mutations),
        **options,
    )


SCHEDULERS: dict[str, Callable[[dict[str, Any], str, str, int], Any]] = {
    "fifo": _fifo,
    "asha": _asha,
    "hyperband": _hyperband,
    "median_stopping": _median,
    "pbt": _pbt,
}


def _needs(package: str, extra: str, name: str) -> None:
    if importlib.util.find_spec(package) is None:
        raise ConfigError(
            f"search algorithm '{name}' needs the package '{package}'",
            key_path="tune.search_alg",
            hint=f"pip install 'pipetune[{extra}]'",
        )


def _random(options: dict[str, Any], seed: int | None, concurrency: int | None) -> Any:
    from ray.tune.search import BasicVariantGenerator

    # Tune ignores TuneConfig.max_concurrent_trials for a search_alg that is not a Searcher.
    return BasicVariantGenerator(random_state=seed, max_concurrent=concurrency or 0, **options)


def _optuna(options: dict[str, Any], seed: int | None, concurrency: int | None) -> Any:
    import optuna
    from ray.tune.search.optuna import OptunaSearch

    sampler = optuna.samplers.TPESampler(seed=seed, **options)
    return OptunaSearch(sampler=sampler)


def _hyperopt(options: dict[str, Any], seed: int | None, concurrency: int | None) -> Any:
    _needs("hyperopt", "hyperopt", "hyperopt")
    from ray.tune.search.hyperopt import HyperOptSearch

    return HyperOptSearch(random_state_seed=seed, **options)


def _bohb(options: dict[str, Any], seed: int | None, concurrency: int | None) -> Any:
    _needs("hpbandster", "bohb", "bohb")
    _needs("ConfigSpace", "bohb", "bohb")
    from ray.tune.search.bohb import TuneBOHB

    return TuneBOHB(seed=seed, **options)


SEARCH_ALGS: dict[str, Callable[[dict[str, Any], int | None, int | None], Any]] = {
    "random": _random,
    "grid": _random,  # Ray's variant generator expands grid_search values exhaustively
    "optuna": _optuna,
    "hyperopt": _hyperopt,
    "bohb": _bohb,
}


def make_scheduler(spec: Spec, metric: str, mode: str, budget: int) -> Any:
    kind, options = _split(spec, "fifo")
    if kind not in SCHEDULERS:
        raise ConfigError(
            f"unknown scheduler {kind!r}; valid: {', '.join(SCHEDULERS)}",
            key_path="tune.scheduler",
        )
    try:
        return SCHEDULERS[kind](options, metric, mode, budget)
    except TypeError as exc:
        raise ConfigError(
            f"bad option for scheduler '{kind}': {exc}", key_path="tune.scheduler"
        ) from None


def make_search_alg(spec: Spec, seed: int | None, concurrency: int | None) -> Any:
    kind, options = _split(spec, "random")
    if kind not in SEARCH_ALGS:
        raise ConfigError(
            f"unknown search algorithm {kind!r}; valid: {', '.join(SEARCH_ALGS)}",
            key_path="tune.search_alg",
        )
    try:
        searcher = SEARCH_ALGS[kind](options, seed, concurrency)
    except TypeError as exc:
        raise ConfigError(
            f"bad option for search algorithm '{kind}': {exc}", key_path="tune.search_alg"
        ) from None
    if concurrency and kind not in ("random", "grid"):
        from ray.tune.search import ConcurrencyLimiter

        searcher = ConcurrencyLimiter(searcher, max_concurrent=concurrency)
    return searcher


def search_alg_name(spec: Spec) -> str:
    return _split(spec, "random")[0]
