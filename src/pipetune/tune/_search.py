"""The search an experiment runs: its algorithm, given the space, the points to evaluate first
and the earlier trials of a warm start, and the param space the Tuner gets beside it.

Everything here is checked before any file is written or Ray is started: a refused setting
is one line naming ``tune.points_to_evaluate`` or ``tune.warm_start`` and the fix.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pipetune.errors import ConfigError, did_you_mean
from pipetune.experiment import Status, read_results
from pipetune.tune._algorithms import (
    SearchAlgEntry,
    SearchInputs,
    make_search_alg,
    scheduler_entry,
    search_alg_entry,
)
from pipetune.tune._conditions import close_keys, holds, is_grid
from pipetune.tune._settings import Resources, TuneSettings
from pipetune.tune._space import SearchSpace

POINTS_KEY = "tune.points_to_evaluate"
WARM_KEY = "tune.warm_start"
CONFIG_PREFIX = "config/"


def make_search(settings: TuneSettings, space: SearchSpace) -> tuple[Any, dict[str, Any]]:
    """(the search algorithm, the Tuner's param space) for ``settings`` over ``space``."""
    entry = search_alg_entry(settings.search_alg)
    name = entry.name
    if space.conditions and not entry.conditional:
        key = next(iter(space.conditions))
        raise ConfigError(
            f"search algorithm '{name}' cannot search conditional keys ('when')",
            key_path=f"tune.search_space.{key}.when",
            hint="use search_alg: random, grid or optuna",
        )
    if settings.multi_objective and not entry.multi_objective:
        raise ConfigError(
            f"search algorithm '{name}' cannot search several metrics "
            f"({', '.join(settings.metrics)})",
            key_path="tune.search_alg",
            hint="use search_alg: optuna, random or grid, or give tune.metric one metric",
        )
    points = checked_points(settings, space, entry)
    evaluated = warm_start_points(settings, space, entry) if settings.warm_start else []
    inputs = SearchInputs(
        space=space,
        metric=settings.metrics if settings.multi_objective else settings.first_metric,
        mode=[m.value for m in settings.modes]
        if settings.multi_objective
        else settings.first_mode.value,
        points_to_evaluate=points,
        evaluated=evaluated,
        prefix=_prefix(settings),
        constraints=list(settings.constraints),
    )
    searcher = make_search_alg(
        settings.search_alg, settings.seed, settings.max_concurrent_trials, inputs
    )
    tuner_space = {} if entry.owns_space else dict(space.seeded(settings.seed))
    return searcher, tuner_space


def scheduler_spec(settings: TuneSettings) -> Any:
    """``tune.scheduler`` as it runs: with several metrics, fifo unless one was given; a
    given one that compares trials by one metric (asha, median_stopping, ...) is refused."""
    if not settings.multi_objective:
        return settings.scheduler
    if "scheduler" not in settings.model_fields_set:
        return "fifo"
    entry = scheduler_entry(settings.scheduler)
    if not entry.multi_objective:
        raise ConfigError(
            f"scheduler '{entry.name}' stops trials by one metric and cannot weigh several "
            f"({', '.join(settings.metrics)})",
            key_path="tune.scheduler",
            hint="use scheduler: fifo (or remove tune.scheduler) with several metrics",
        )
    return settings.scheduler


def _prefix(settings: TuneSettings) -> str:
    """DDP trials get their values in ``train_loop_config`` (see ``_trial.ddp_trainable``)."""
    resources = settings.resources_per_trial
    workers = resources.workers if isinstance(resources, Resources) else 1
    return "train_loop_config/" if workers > 1 else ""


def origin_count(settings: TuneSettings) -> int | None:
    """How many first trials came from points_to_evaluate; None: no origin column (the
    experiment neither had points to evaluate nor a warm start)."""
    if settings.points_to_evaluate or settings.warm_start:
        return len(settings.points_to_evaluate)
    return None


# -- points_to_evaluate --------------------------------------------------------------------


def checked_points(
    settings: TuneSettings, space: SearchSpace, entry: SearchAlgEntry
) -> list[dict[str, Any]]:
    points = [dict(p) for p in settings.points_to_evaluate]
    if not points:
        return []
    if not entry.points_to_evaluate:
        raise ConfigError(
            f"search algorithm '{entry.name}' cannot run points_to_evaluate",
            key_path=POINTS_KEY,
            hint="use search_alg: random or optuna, or remove points_to_evaluate",
        )
    grid = [k for k, v in space.domains.items() if is_grid(v)]
    if grid:
        raise ConfigError(
            f"points_to_evaluate with a grid_search key ('{grid[0]}'): a grid already runs "
            "every point",
            key_path=POINTS_KEY,
            hint="make the grid a choice, or remove points_to_evaluate",
        )
    if len(points) > settings.num_samples:
        raise ConfigError(
            f"{len(points)} points_to_evaluate, more than num_samples={settings.num_samples} "
            "(each point is one of the trials)",
            key_path=POINTS_KEY,
            hint=f"raise num_samples to at least {len(points)}",
        )
    for index, point in enumerate(points):
        _check_point(point, space, f"{POINTS_KEY}.{index}")
    return points


def _check_point(point: Mapping[str, Any], space: SearchSpace, where: str) -> None:
    for key, value in point.items():
        if key not in space.domains:
            raise ConfigError(
                f"'{key}' is not a key of tune.search_space",
                key_path=where,
                hint=did_you_mean(close_keys(key, space.domains)) or "name a searched key",
            )
        if not _valid(space.domains[key], value):
            raise ConfigError(
                f"{value!r} is not a value '{key}' can take ({_describe(space.domains[key])})",
                key_path=where,
                hint="give a value inside the search space",
            )
        when = space.conditions.get(key)
        if when and not holds(when, point):
            wanted = "; ".join(f"{p} in {list(v)}" for p, v in when.items())
            raise ConfigError(
                f"'{key}' is set, but its condition ({wanted}) is false in this point",
                key_path=where,
                hint=f"set {' and '.join(when)} to a value that makes '{key}' searched, "
                f"or drop '{key}'",
            )


def _valid(domain: Any, value: Any) -> bool:
    is_valid = getattr(domain, "is_valid", None)
    try:
        return bool(is_valid(value)) if is_valid is not None else True
    except TypeError:  # a string for a number
        return False


def _describe(domain: Any) -> str:
    if hasattr(domain, "categories"):
        return f"one of {list(domain.categories)}"
    if hasattr(domain, "lower"):
        return f"between {domain.lower} and {domain.upper}"
    return str(domain)


# -- warm_start ----------------------------------------------------------------------------


def warm_start_points(
    settings: TuneSettings, space: SearchSpace, entry: SearchAlgEntry
) -> list[tuple[dict[str, Any], float]]:
    """(searched values, metric) of every finished trial of the ``warm_start`` folder."""
    folder = Path(str(settings.warm_start)).expanduser()
    if not entry.warm_start:
        raise ConfigError(
            f"search algorithm '{entry.name}' cannot learn from earlier trials (warm_start)",
            key_path=WARM_KEY,
            hint="use search_alg: optuna, or remove warm_start",
        )
    if settings.multi_objective:
        raise ConfigError(
            "warm_start with several metrics is not supported yet",
            key_path=WARM_KEY,
            hint="remove warm_start, or warm-start a search of one metric",
        )
    rows = read_results(folder)
    if rows is None:
        raise ConfigError(
            f"'{folder}' holds no results.csv: not an experiment folder, or one whose run "
            "never ended",
            key_path=WARM_KEY,
            hint="give the folder `pipetune tune` printed as 'experiment:'",
        )
    columns = {k.removeprefix(CONFIG_PREFIX) for row in rows for k in row}
    earlier = {
        k.removeprefix(CONFIG_PREFIX) for row in rows for k in row if k.startswith(CONFIG_PREFIX)
    }
    _check_keys(folder, earlier, set(space.domains) - _never_active(rows, space, earlier))
    column = f"best_{settings.first_metric}"
    if column not in columns:
        raise ConfigError(
            f"'{folder}' has no column '{column}': it optimised another metric",
            key_path=WARM_KEY,
            hint=f"warm-start from an experiment that reported '{settings.first_metric}'",
        )
    evaluated = [
        (_active(row, space), float(row[column]))
        for row in rows
        if Status.of(row.get("status")) == Status.TERMINATED and _finite(row.get(column))
    ]
    if not evaluated:
        raise ConfigError(
            f"'{folder}' has no finished trial with a value of '{column}'",
            key_path=WARM_KEY,
            hint="warm-start from an experiment whose trials ran to their end",
        )
    return evaluated


def _never_active(rows: list[dict[str, Any]], space: SearchSpace, earlier: set[str]) -> set[str]:
    """Conditional keys without a column whose condition held in no earlier trial: Tune
    never sampled them, so results.csv has no column for them."""
    values = [{k: r.get(CONFIG_PREFIX + k) for k in earlier} for r in rows]
    return {
        key
        for key, when in space.conditions.items()
        if key not in earlier and not any(holds(when, v) for v in values)
    }


def _check_keys(folder: Path, earlier: set[str], current: set[str]) -> None:
    extra, missing = sorted(earlier - current), sorted(current - earlier)
    if extra or missing:
        parts = [f"searched {', '.join(extra)}, not in this search space"] if extra else []
        parts += [f"did not search {', '.join(missing)}"] if missing else []
        raise ConfigError(
            f"'{folder}' {' and '.join(parts)}",
            key_path=WARM_KEY,
            hint="warm-start from an experiment over the same search_space keys",
        )


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _active(row: Mapping[str, Any], space: SearchSpace) -> dict[str, Any]:
    """A row's values of the keys active under this space's conditions (empty cells out)."""
    values: dict[str, Any] = {}
    for key in space.order:
        value = row.get(CONFIG_PREFIX + key)
        when = space.conditions.get(key)
        if value is not None and (not when or holds(when, values)):
            values[key] = value
    return values
