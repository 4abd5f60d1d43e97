"""Optuna through Ray Tune, its space handed over as a define-by-run function.

Define-by-run is how Optuna searches a conditional space: a trial suggests a key only when
its condition holds in what the trial suggested before. pipetune uses it for every space
(a flat one is the same function without conditions), so one path serves conditions,
``points_to_evaluate`` (enqueued trials) and ``warm_start`` (finished trials of an earlier
experiment, added to the study before the first suggestion). The Tuner then gets no
searched key in its param space: Optuna owns them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pipetune.errors import ConfigError
from pipetune.tune._conditions import holds

if TYPE_CHECKING:
    from pipetune.tune._algorithms import SearchInputs
    from pipetune.tune._space import SearchSpace

STUDY_NAME = "pipetune"


def distributions(space: SearchSpace) -> dict[str, Any]:
    """Searched key → its Optuna distribution (Ray's own conversion, one key at a time)."""
    from ray.tune.search.optuna import OptunaSearch

    converted: dict[str, Any] = {}
    for key, domain in space.domains.items():
        where = f"tune.search_space.{key}"
        if isinstance(domain, dict) and "grid_search" in domain:
            raise ConfigError(
                "optuna cannot search a grid_search key",
                key_path=where,
                hint="make it a choice, or use search_alg: grid",
            )
        try:
            converted.update(OptunaSearch.convert_search_space({key: domain}))
        except ValueError as exc:
            raise ConfigError(f"optuna cannot search this key: {exc}", key_path=where) from None
    return converted


class DefineByRun:
    """Suggests each searched key in dependency order, skipping one whose condition is false.

    ``prefix``: "train_loop_config/" for DDP trials (Ray unflattens "/" into nesting).
    """

    def __init__(self, space: SearchSpace, prefix: str = "") -> None:
        self.distributions = distributions(space)
        self.conditions = dict(space.conditions)
        self.order = list(space.order)
        self.prefix = prefix

    def __call__(self, trial: Any) -> None:
        chosen: dict[str, Any] = {}
        for key in self.order:
            if key in self.conditions and not holds(self.conditions[key], chosen):
                continue
            chosen[key] = _suggest(trial, self.prefix + key, self.distributions[key])


def _suggest(trial: Any, name: str, distribution: Any) -> Any:
    import optuna.distributions as d

    if isinstance(distribution, d.CategoricalDistribution):
        return trial.suggest_categorical(name, distribution.choices)
    if isinstance(distribution, d.IntDistribution):
        return trial.suggest_int(
            name, distribution.low, distribution.high, step=distribution.step, log=distribution.log
        )
    return trial.suggest_float(
        name, distribution.low, distribution.high, step=distribution.step, log=distribution.log
    )


def warm_study(inputs: SearchInputs, space: DefineByRun) -> tuple[Any, str]:
    """An in-memory study holding the earlier trials as finished ones; OptunaSearch loads it
    by name (``load_if_exists``), so its sampler sees them before its first suggestion."""
    import optuna

    storage = optuna.storages.InMemoryStorage()
    study = optuna.create_study(
        storage=storage,
        study_name=STUDY_NAME,
        direction="minimize" if inputs.mode == "min" else "maximize",
    )
    for number, (params, value) in enumerate(inputs.evaluated):
        study.add_trial(_finished_trial(space, params, value, number))
    return storage, STUDY_NAME


def _finished_trial(space: DefineByRun, params: Mapping[str, Any], value: float, n: int) -> Any:
    import optuna

    names = {space.prefix + k: v for k, v in params.items()}
    dists = {space.prefix + k: space.distributions[k] for k in params}
    try:
        return optuna.trial.create_trial(params=names, distributions=dists, value=value)
    except ValueError as exc:
        raise ConfigError(
            f"earlier trial {n + 1} does not fit the current search space: {exc}",
            key_path="tune.warm_start",
            hint="warm-start from an experiment searched over the same ranges",
        ) from None


#: the user attribute of an Optuna trial holding its constraint violations (see _Constrained)
CONSTRAINTS_ATTR = "pipetune_constraints"


def _new_constraints_api() -> bool:
    """Optuna 5's ``Trial.set_constraint`` (its samplers read what it sets; their
    ``constraints_func`` is deprecated); older ones only have ``constraints_func``."""
    import optuna

    return hasattr(optuna.trial.Trial, "set_constraint")


SAMPLERS = {"tpe": "TPESampler", "nsga2": "NSGAIISampler"}


def _sampler(options: dict[str, Any], seed: int | None, constraints: list[Any]) -> Any:
    """Optuna's sampler named by ``sampler:`` (tpe by default), with the other options and,
    with ``tune.constraints``, a ``constraints_func`` reading what _Constrained stored."""
    import optuna

    name = str(options.pop("sampler", "tpe")).lower()
    if name not in SAMPLERS:
        raise ConfigError(
            f"unknown optuna sampler {name!r}; valid: {', '.join(SAMPLERS)}",
            key_path="tune.search_alg.sampler",
        )
    if constraints and not _new_constraints_api():
        count = len(constraints)

        def constraints_func(trial: Any) -> list[float]:
            # A trial told without a result (pruned, failed) counts as infeasible.
            stored = trial.user_attrs.get(CONSTRAINTS_ATTR)
            return list(stored) if stored is not None else [1.0] * count

        options["constraints_func"] = constraints_func
    return getattr(optuna.samplers, SAMPLERS[name])(seed=seed, **options)


def _constrained_search(constraints: list[Any]) -> Any:
    """OptunaSearch whose trials carry their constraint violations (Optuna's sign: > 0 is
    infeasible; a trial without a result breaks them all) before Ray tells the study: set
    with ``Trial.set_constraint`` where Optuna has it, else as a user attribute that the
    sampler's ``constraints_func`` reads. Ray's OptunaSearch has no hook of its own."""
    from ray.tune.search.optuna import OptunaSearch

    new_api = _new_constraints_api()

    class _Constrained(OptunaSearch):
        def on_trial_complete(
            self, trial_id: str, result: dict[str, Any] | None = None, error: bool = False
        ) -> None:
            trial = self._ot_trials.get(trial_id)
            if trial is not None and trial_id not in self._completed_trials:
                values = violations(constraints, result or {})
                trial.set_user_attr(CONSTRAINTS_ATTR, values)
                if new_api:
                    for index, (constraint, value) in enumerate(
                        zip(constraints, values, strict=True)
                    ):
                        trial.set_constraint(f"{index}:{constraint.metric}", value)
            super().on_trial_complete(trial_id, result, error)

    return _Constrained


def violations(constraints: list[Any], result: Mapping[str, Any]) -> list[float]:
    """Each constraint's violation in ``result``; a missing or non-finite value: 1.0."""
    out = []
    for constraint in constraints:
        value = result.get(constraint.metric)
        if isinstance(value, int | float) and math.isfinite(value):
            out.append(float(constraint.violation(float(value))))
        else:
            out.append(1.0)
    return out


def make_optuna(
    options: dict[str, Any], seed: int | None, concurrency: int | None, inputs: SearchInputs
) -> Any:
    """OptunaSearch with a TPE sampler (``options`` go to Optuna's TPESampler, or with
    ``sampler: nsga2`` to its NSGAIISampler); lists of metrics and modes for several
    objectives, and ``tune.constraints`` as the sampler's ``constraints_func``."""
    import optuna
    from ray.tune.search.optuna import OptunaSearch

    # OptunaSearch creates its study inside fit; "A new study created in memory" is noise.
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler = _sampler(options, seed, inputs.constraints)
    search_class = _constrained_search(inputs.constraints) if inputs.constraints else OptunaSearch
    if inputs.space is None:  # no space yet: Tune hands Optuna the Tuner's param space
        return search_class(sampler=sampler)
    space = DefineByRun(inputs.space, inputs.prefix)
    storage, name = warm_study(inputs, space) if inputs.evaluated else (None, None)
    points = [{space.prefix + k: v for k, v in p.items()} for p in inputs.points_to_evaluate]
    return search_class(
        space,
        metric=inputs.metric,
        mode=inputs.mode,
        sampler=sampler,
        points_to_evaluate=points or None,
        storage=storage,
        study_name=name,
    )
