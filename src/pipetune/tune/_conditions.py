"""Conditional search-space entries: ``when: {other_key: value or [values, ...]}``.

A key whose condition is false is *inactive* in a trial: the trial leaves it at the config's
own value, and its results.csv cell stays empty. Random search samples it through
``tune.sample_from`` (a :class:`Conditional` that gives ``INACTIVE`` when the condition is
false); a grid with a conditional grid key is expanded here into its distinct points, one
``grid_search`` over dicts under ``GRID_POINTS``, so a false condition never multiplies the
points. Optuna gets the same conditions as a define-by-run function (``_optuna.py``).
Trials read their values through :func:`active_values`.
"""

from __future__ import annotations

import copy
import itertools
import zlib
from collections.abc import Mapping
from typing import Any

from pipetune.errors import ConfigError, did_you_mean

#: the value of an inactive key in a trial's Tune config (a string: it survives Tune's JSON)
INACTIVE = "__pipetune_inactive__"
#: the Tune config key of an expanded grid: one dict of grid values per point
GRID_POINTS = "__pipetune_grid__"
_TRAIN_LOOP_CONFIG = "train_loop_config"  # DDP trials nest their values there

#: parent key → the values of it that make the condition true (all parents must hold)
When = dict[str, tuple[Any, ...]]


def is_grid(domain: Any) -> bool:
    return isinstance(domain, dict) and "grid_search" in domain


def _values(domain: Any) -> list[Any] | None:
    """The values a key can take, when it has a finite list of them (choice, grid)."""
    if is_grid(domain):
        return list(domain["grid_search"])
    categories = getattr(domain, "categories", None)
    return list(categories) if categories is not None else None


def _error(key: str, message: str, hint: str | None = None) -> ConfigError:
    return ConfigError(message, key_path=f"tune.search_space.{key}.when", hint=hint)


def parse_when(key: str, raw: Any, domains: Mapping[str, Any]) -> When:
    """``when:`` of ``key`` checked against the other searched keys (built domains)."""
    if not isinstance(raw, Mapping) or not raw:
        raise _error(key, f"'when' must map another searched key to its value(s), got {raw!r}")
    when: When = {}
    for parent, wanted in raw.items():
        parent = str(parent)
        if parent == key:
            raise _error(key, f"'{key}' cannot depend on itself")
        if parent not in domains:
            close = [k for k in domains if k != key]
            raise _error(
                key,
                f"'when' names '{parent}', which is not a key of tune.search_space",
                hint=did_you_mean(close_keys(parent, close)) or "name another searched key",
            )
        possible = _values(domains[parent])
        if possible is None:
            raise _error(
                key,
                f"'when' needs a choice or grid_search key; '{parent}' is sampled from a range",
                hint=f"make '{parent}' a choice, or drop the condition",
            )
        values = tuple(wanted) if isinstance(wanted, list | tuple) else (wanted,)
        never = [v for v in values if v not in possible]
        if not values or never:
            raise _error(
                key,
                f"'{parent}' never takes {', '.join(map(repr, never)) or 'an empty list'}; "
                f"its values: {', '.join(map(repr, possible))}",
                hint=did_you_mean(close_keys(str(never[0]), map(str, possible))) if never else None,
            )
        if is_grid(domains[key]) and not is_grid(domains[parent]):
            raise _error(
                key,
                f"a grid_search key can only depend on grid_search keys; '{parent}' is sampled, "
                "so the grid would repeat points",
                hint=f"make '{parent}' a grid_search too, or '{key}' a choice",
            )
        when[parent] = values
    return when


def close_keys(word: str, options: Any) -> list[str]:
    import difflib

    return difflib.get_close_matches(word, list(options), n=3, cutoff=0.6)


def ordered(conditions: Mapping[str, When], keys: list[str]) -> list[str]:
    """``keys`` with every key after the keys its condition reads; a cycle is an error."""
    order: list[str] = []
    visiting: list[str] = []

    def visit(key: str) -> None:
        if key in order:
            return
        if key in visiting:
            cycle = " → ".join([*visiting[visiting.index(key) :], key])
            raise _error(key, f"the conditions form a cycle: {cycle}", hint="remove one 'when'")
        visiting.append(key)
        for parent in conditions.get(key, {}):
            visit(parent)
        visiting.pop()
        order.append(key)

    for key in keys:
        visit(key)
    return order


def holds(when: When, values: Mapping[str, Any]) -> bool:
    """Whether every parent has one of its wanted values (an inactive parent has none)."""
    return all(values.get(parent, INACTIVE) in wanted for parent, wanted in when.items())


def context(conditions: Mapping[str, When], key: str) -> dict[str, Any]:
    """Values of the keys ``key`` depends on (recursively) under which its condition holds."""
    values: dict[str, Any] = {}

    def need(child: str) -> None:
        for parent, wanted in conditions.get(child, {}).items():
            if parent not in values:
                need(parent)
                values[parent] = wanted[0]

    need(key)
    return values


class Conditional:
    """The ``tune.sample_from`` function of a conditional key for Ray's variant generator:
    a sample of its domain when its condition holds in the trial's config, else INACTIVE."""

    def __init__(self, key: str, domain: Any, when: When, seed: int | None) -> None:
        self.key, self.domain, self.when = key, domain, when
        # Ray never hands sample_from its random state: a seeded search gets its own one
        self._rng = None if seed is None else _rng(seed, key)

    def __deepcopy__(self, memo: dict[int, Any]) -> Conditional:
        return self  # Ray copies the spec per trial; the random state must advance

    def __call__(self, config: Any) -> Any:
        node = config
        if not self._holds_keys(node) and "config" in node:
            node = node["config"]  # a whole experiment spec (Ray's variant generator alone)
        if _TRAIN_LOOP_CONFIG in node:
            node = node[_TRAIN_LOOP_CONFIG]
        # item access, not .get(): Ray's guard defers this key until its parents are resolved
        values = {p: node[p] if p in node else _grid_value(node, p) for p in self.when}
        if not holds(self.when, values):
            return INACTIVE
        return self.domain.sample(random_state=self._rng)

    def _holds_keys(self, node: Any) -> bool:
        return (
            _TRAIN_LOOP_CONFIG in node or GRID_POINTS in node or any(p in node for p in self.when)
        )


def _grid_value(node: Any, key: str) -> Any:
    # Ray resolves grid values before sample_from functions: .get() sees plain values here
    return node.get(GRID_POINTS, {}).get(key, INACTIVE)


def _rng(seed: int, key: str) -> Any:
    import numpy as np

    return np.random.default_rng([seed, zlib.crc32(key.encode())])


def grid_points(
    grid: Mapping[str, list[Any]], conditions: Mapping[str, When], order: list[str]
) -> list[dict[str, Any]]:
    """Every distinct point of a grid with conditional keys (inactive ones INACTIVE)."""
    keys = list(grid)
    grid_order = [k for k in order if k in grid]
    points: list[dict[str, Any]] = []
    seen: set[str] = set()
    for combination in itertools.product(*grid.values()):
        point = dict(zip(keys, combination, strict=True))
        for key in grid_order:
            if key in conditions and not holds(conditions[key], point):
                point[key] = INACTIVE
        identity = repr([point[k] for k in keys])
        if identity not in seen:
            seen.add(identity)
            points.append(point)
    return points


def fold(
    domains: Mapping[str, Any], conditions: Mapping[str, When], order: list[str], seed: int | None
) -> dict[str, Any]:
    """The Ray param space of random and grid search for a space with conditions."""
    grid = {k: list(v["grid_search"]) for k, v in domains.items() if is_grid(v)}
    expand = any(key in conditions for key in grid)
    space: dict[str, Any] = {}
    if expand:
        space[GRID_POINTS] = {"grid_search": grid_points(grid, conditions, order)}
    for key, domain in domains.items():
        if expand and key in grid:
            continue
        if key in conditions:
            from ray.tune.search.sample import Function

            space[key] = Function(Conditional(key, domain, conditions[key], seed))
        else:
            space[key] = copy.copy(domain)
    return space


def active_values(config: Mapping[str, Any]) -> dict[str, Any]:
    """A trial's searched values as config paths: grid points spread out, inactive keys
    dropped (so they keep the config's own value)."""
    values = dict(config)
    points = values.pop(GRID_POINTS, None)
    if isinstance(points, Mapping):
        values.update(points)
    return {k: v for k, v in values.items() if not (isinstance(v, str) and v == INACTIVE)}
