"""What kind of values a hyperparameter took: integers, floats (log-scaled or not) or labels."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any, Literal

from pipetune.report._model import finite

#: Positive numbers spanning more than this ratio (two decades) are shown on a log scale.
LOG_SPAN = 100.0

Kind = Literal["int", "float", "categorical"]
Primitive = None | bool | int | float | str


def label(value: Any) -> Primitive:
    """A hashable, comparable stand-in for a categorical value (lists become JSON text)."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    try:
        return json.dumps(value, sort_keys=True, default=str)
    except (TypeError, ValueError):
        return str(value)


@dataclass(frozen=True)
class ParamSpec:
    name: str
    kind: Kind
    log: bool
    low: float
    high: float
    choices: tuple[Primitive, ...]

    #: how many of the choices the trials took (the axis may show more)
    taken: int = 0

    @property
    def varies(self) -> bool:
        return self.taken > 1 if self.kind == "categorical" else self.high > self.low

    def position(self, value: Any) -> float | None:
        """Where ``value`` lies on this parameter's axis (log10 or category index)."""
        if self.kind == "categorical":
            key = label(value)
            return float(self.choices.index(key)) if key in self.choices else None
        number = finite(value)
        if number is None:
            return None
        if self.log:
            return math.log10(number) if number > 0 else None
        return number


def _is_number(value: Any) -> bool:
    return finite(value) is not None


def _order(choice: Primitive) -> tuple[int, float, str]:
    number = finite(choice)
    return (0, number, "") if number is not None else (1, 0.0, str(choice))


def describe(name: str, values: list[Any], categories: list[Any] | None = None) -> ParamSpec | None:
    """The spec of a hyperparameter from the values its trials took (None values ignored).
    ``categories`` (a choice in the search space) makes it categorical, numbers or not, with
    the categories in the search space's order."""
    present = [v for v in values if v is not None]
    if not present:
        return None
    if categories is not None:
        known = [label(c) for c in categories]
        extra = sorted({label(v) for v in present} - set(known), key=_order)
        choices = tuple(dict.fromkeys([*known, *extra]))
        taken = len({label(v) for v in present})
        return ParamSpec(name, "categorical", False, 0.0, float(len(choices) - 1), choices, taken)
    if all(_is_number(v) for v in present):
        numbers = [float(v) for v in present]
        low, high = min(numbers), max(numbers)
        if all(isinstance(v, int) for v in present):
            return ParamSpec(name, "int", False, low, high, ())
        log = low > 0 and high / low > LOG_SPAN
        return ParamSpec(name, "float", log, low, high, ())
    choices = tuple(sorted({label(v) for v in present}, key=_order))
    high = float(len(choices) - 1)
    return ParamSpec(name, "categorical", False, 0.0, high, choices, len(choices))
