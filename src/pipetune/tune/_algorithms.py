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
    _check_grace_period(options, budget)
    return ASHAScheduler(time_attr="training_iteration", **options)


def _check_grace_period(options: dict[str, Any], budget: int) -> None:
    """Ray asserts ``grace_period <= max_t`` (a traceback); say which budget it exceeds."""
    grace, max_t = options["grace_period"], options["max_t"]
    for name, value in (("grace_period", grace), ("max_t", max_t)):
        if not isinstance(value, int | float) or isinstance(value, bool) or not value >= 1:
            raise ConfigError(
                f"{name} must be a number of iterations of at least 1, got {value!r}",
                key_path=f"tune.scheduler.{name}",
            )
    if grace > max_t:
        source = (
            "max_t"
            if max_t != budget
            else "the training budget: tune.stop.training_iteration, or the trainer's epochs"
        )
        raise ConfigError(
            f"grace_period={grace:g} is more than max_t={max_t:g} ({source}); "
            "no trial could ever be stopped early",
            key_path="tune.scheduler.grace_period",
            hint=f"lower grace_period to at most {max_t:g}, or train for more iterations",
        )


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
    except ConfigError:
        raise
    except (TypeError, ValueError, AssertionError) as exc:  # Ray asserts on some options
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
    except ConfigError:
        raise
    except (TypeError, ValueError, AssertionError) as exc:
        raise ConfigError(
            f"bad option for search algorithm '{kind}': {exc}", key_path="tune.search_alg"
        ) from None
    if concurrency and kind not in ("random", "grid"):
        from ray.tune.search import ConcurrencyLimiter

        searcher = ConcurrencyLimiter(searcher, max_concurrent=concurrency)
    return searcher


def search_alg_name(spec: Spec) -> str:
    return _split(spec, "random")[0]
