"""Search spaces written in YAML, turned into Ray Tune domains through an explicit registry."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from pipetune.errors import ConfigError
from pipetune.experiment import LABEL
from pipetune.tune._conditions import When, fold, ordered, parse_when

if TYPE_CHECKING:
    from ray.tune.search.sample import Domain


def _tune() -> Any:
    """``ray.tune``, imported on first use: validating a config never waits for Ray."""
    import ray.tune

    return ray.tune


class SpaceType(StrEnum):
    CHOICE = "choice"
    UNIFORM = "uniform"
    QUNIFORM = "quniform"
    LOGUNIFORM = "loguniform"
    QLOGUNIFORM = "qloguniform"
    RANDINT = "randint"
    QRANDINT = "qrandint"
    LOGRANDINT = "lograndint"
    RANDN = "randn"
    GRID_SEARCH = "grid_search"


def _number(key: str, name: str, value: Any) -> Any:
    """``value`` if it is a finite number (YAML's .nan and .inf are floats, but no bound)."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise _error(key, f"'{name}' must be a number, got {value!r}")
    if not math.isfinite(value):
        raise _error(key, f"'{name}' must be a finite number, got {value!r}")
    return value


def _bounds(spec: Mapping[str, Any], key: str, log: bool = False) -> tuple[Any, Any]:
    lower, upper = _field(spec, key, "lower"), _field(spec, key, "upper")
    for name, value in (("lower", lower), ("upper", upper)):
        _number(key, name, value)
    if lower >= upper:
        raise _error(key, f"`lower < upper` must hold, got lower={lower}, upper={upper}")
    if log and lower <= 0:
        raise _error(key, f"log-scale bounds must be positive, got lower={lower}")
    return lower, upper


def _q(spec: Mapping[str, Any], key: str) -> Any:
    q = _number(key, "q", _field(spec, key, "q"))
    if q <= 0:
        raise _error(key, f"'q' must be a positive number, got {q!r}")
    return q


def _base(spec: Mapping[str, Any], key: str) -> dict[str, Any]:
    """``base`` only when the YAML sets it: Ray 2.5x ignores it and warns whenever it is passed."""
    if "base" not in spec:
        return {}
    base = _number(key, "base", spec["base"])
    if base <= 0 or base == 1:
        raise _error(key, f"'base' must be positive and not 1, got {base!r}")
    return {"base": base}


def _choice(spec: Mapping[str, Any], key: str) -> Domain:
    categories = _field(spec, key, "categories")
    if not isinstance(categories, list) or not categories:
        raise _error(key, f"'categories' must be a non-empty list, got {categories!r}")
    return _tune().choice(categories)


def _grid(spec: Mapping[str, Any], key: str) -> Any:
    values = _field(spec, key, "values")
    if not isinstance(values, list) or not values:
        raise _error(key, f"'values' must be a non-empty list, got {values!r}")
    return _tune().grid_search(values)


def _randn(spec: Mapping[str, Any], key: str) -> Domain:
    sd = _number(key, "sd", spec.get("sd", 1.0))
    if sd <= 0:
        raise _error(key, f"'sd' must be a positive number, got {sd!r}")
    return _tune().randn(_number(key, "mean", spec.get("mean", 0.0)), sd)


_BUILDERS: dict[SpaceType, tuple[set[str], Callable[[Mapping[str, Any], str], Any]]] = {
    SpaceType.CHOICE: ({"categories"}, _choice),
    SpaceType.GRID_SEARCH: ({"values"}, _grid),
    SpaceType.UNIFORM: ({"lower", "upper"}, lambda s, k: _tune().uniform(*_bounds(s, k))),
    SpaceType.QUNIFORM: (
        {"lower", "upper", "q"},
        lambda s, k: _tune().quniform(*_bounds(s, k), _q(s, k)),
    ),
    SpaceType.LOGUNIFORM: (
        {"lower", "upper", "base"},
        lambda s, k: _tune().loguniform(*_bounds(s, k, log=True), **_base(s, k)),
    ),
    SpaceType.QLOGUNIFORM: (
        {"lower", "upper", "q", "base"},
        lambda s, k: _tune().qloguniform(*_bounds(s, k, log=True), _q(s, k), **_base(s, k)),
    ),
    SpaceType.RANDINT: ({"lower", "upper"}, lambda s, k: _tune().randint(*_bounds(s, k))),
    SpaceType.QRANDINT: (
        {"lower", "upper", "q"},
        lambda s, k: _tune().qrandint(*_bounds(s, k), _q(s, k)),
    ),
    SpaceType.LOGRANDINT: (
        {"lower", "upper", "base"},
        lambda s, k: _tune().lograndint(*_bounds(s, k, log=True), **_base(s, k)),
    ),
    SpaceType.RANDN: ({"mean", "sd"}, _randn),
}


def _error(key: str, message: str) -> ConfigError:
    return ConfigError(message, key_path=f"tune.search_space.{key}")


def _field(spec: Mapping[str, Any], key: str, name: str) -> Any:
    if name not in spec:
        raise _error(key, f"missing field '{name}' for type '{spec.get('type')}'")
    return spec[name]


def _is_ray_object(spec: Any) -> bool:
    """A Ray Tune domain or grid passed from Python (kept as it is)."""
    if isinstance(spec, dict):
        return "grid_search" in spec
    if isinstance(spec, str | int | float | bool | list) or spec is None:
        return False
    from ray.tune.search.sample import Domain

    return isinstance(spec, Domain)


class SearchSpace(dict[str, Any]):
    """The Ray Tune param space of random and grid search (conditional keys folded in, see
    ``_conditions``), which also keeps each key's own domain and its condition."""

    def __init__(
        self,
        domains: dict[str, Any],
        conditions: dict[str, When],
        order: list[str],
        seed: int | None = None,
    ) -> None:
        super().__init__(fold(domains, conditions, order, seed) if conditions else domains)
        #: searched key → its Ray domain (or grid), conditions aside
        self.domains = domains
        #: conditional key → its parents and the values that make it active
        self.conditions = conditions
        #: the keys, each after the keys its condition reads
        self.order = order

    def seeded(self, seed: int | None) -> SearchSpace:
        """The same space whose conditional keys draw from a random state seeded by ``seed``."""
        return SearchSpace(self.domains, self.conditions, self.order, seed)


def build_search_space(space: Mapping[str, Any], conditional: bool = True) -> SearchSpace:
    """YAML search space → Ray Tune param space. Ray Tune objects pass through unchanged.

    ``conditional``: whether entries may carry ``when:`` (not in PBT's mutations).
    The input mapping is not mutated.
    """
    if not space:
        raise ConfigError(
            "the search space is empty",
            key_path="tune.search_space",
            hint="add the keys to tune under tune.search_space",
        )
    result: dict[str, Any] = {}
    raw_when: dict[str, Any] = {}
    for key, spec in space.items():
        key = str(key)
        if _is_ray_object(spec):
            result[key] = spec
            continue
        if isinstance(spec, Mapping) and "when" in spec:
            if not conditional:
                raise _error(key, "'when' is not supported here; remove it")
            raw_when[key] = spec["when"]
            spec = {k: v for k, v in spec.items() if k != "when"}
        if not isinstance(spec, Mapping) or "type" not in spec:
            raise _error(
                key,
                f"expected a mapping with a 'type', got {spec!r}",
            )
        try:
            kind = SpaceType(str(spec["type"]).lower())
        except ValueError:
            valid = ", ".join(t.value for t in SpaceType)
            raise _error(
                key, f"unknown search-space type {spec['type']!r}; valid: {valid}"
            ) from None
        allowed, builder = _BUILDERS[kind]
        extra = set(spec) - allowed - {"type", LABEL}
        if extra:
            raise _error(
                key,
                f"unexpected field(s) {sorted(extra)} for type '{kind.value}'; "
                f"allowed: {', '.join(sorted(allowed))}",
            )
        result[key] = _checked(builder, spec, key)  # the label stays here: Ray never sees it
    _check_labels(space)
    conditions = {key: parse_when(key, raw, result) for key, raw in raw_when.items()}
    return SearchSpace(result, conditions, ordered(conditions, list(result)))


def _check_labels(space: Mapping[str, Any]) -> None:
    """A ``label:`` names its key in tables and plots: a non-empty string, unique, and not
    the name of another searched key."""
    seen: dict[str, str] = {}
    for key, spec in space.items():
        if not isinstance(spec, Mapping) or LABEL not in spec:
            continue
        label, path = spec[LABEL], f"{key}.{LABEL}"
        if not isinstance(label, str) or not label.strip():
            raise _error(path, f"'{LABEL}' must be a non-empty string, got {label!r}")
        if label in seen:
            raise _error(path, f"label {label!r} names '{seen[label]}' too; give a unique label")
        if label != key and label in space:
            raise _error(path, f"label {label!r} is another searched key; give a unique label")
        seen[label] = str(key)


def _checked(builder: Callable[[Mapping[str, Any], str], Any], spec: Any, key: str) -> Any:
    """Build the domain and draw one value: Ray's own checks (a bound not divisible by q, a
    range too wide to sample) become errors at this key instead of tracebacks later."""
    try:
        domain = builder(spec, key)
        if hasattr(domain, "sample"):
            domain.sample()
    except ConfigError:
        raise
    except (ValueError, TypeError, ArithmeticError, AssertionError) as exc:
        raise _error(key, f"invalid {spec['type']!r} space: {exc}") from None
    return domain


def grid_size(param_space: Mapping[str, Any]) -> int:
    """How many points the grid-search keys of a param space make (1 without any)."""
    return math.prod(len(values) for values in grid_values(param_space).values())


def grid_values(param_space: Mapping[str, Any]) -> dict[str, list[Any]]:
    """The grid-search keys of a param space and their values."""
    return {
        k: list(v["grid_search"])
        for k, v in param_space.items()
        if isinstance(v, dict) and "grid_search" in v
    }
