"""Which way a metric improves: the one place that knows what 'min' and 'max' mean."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from enum import StrEnum
from typing import Literal, TypeVar

T = TypeVar("T")


class Mode(StrEnum):
    """``min`` or ``max``; ``Mode("min")`` parses the YAML's word and a Mode is a str."""

    MIN = "min"
    MAX = "max"

    @classmethod
    def of(cls, value: str | Mode) -> Mode:
        """Parse ``value``, with one line naming the two valid words when it is neither."""
        try:
            return cls(value)
        except ValueError:
            raise ValueError(f"mode must be 'min' or 'max', got {value!r}") from None

    @property
    def sign(self) -> float:
        """+1 for min, -1 for max: ``sign * value`` sorts best first, ascending."""
        return 1.0 if self is Mode.MIN else -1.0

    @property
    def direction(self) -> Literal["minimize", "maximize"]:
        """Optuna's word for it."""
        return "minimize" if self is Mode.MIN else "maximize"

    def better(self, value: float, than: float | None, margin: float = 0.0) -> bool:
        """Whether ``value`` improves on ``than`` by more than ``margin`` (None: nothing yet)."""
        if than is None:
            return True
        return self.sign * value < self.sign * than - margin

    def best(self, items: Iterable[T], key: Callable[[T], float]) -> T:
        """The best of ``items`` by ``key``; ValueError when there are none, like min()."""
        return min(items, key=lambda item: self.sign * key(item))

    def best_value(self, values: Iterable[float]) -> float:
        """The best of plain numbers."""
        return self.sign * min(self.sign * value for value in values)

    def ranked(self, items: Iterable[T], key: Callable[[T], float]) -> list[T]:
        """``items`` best first (a stable sort: ties keep their order)."""
        return sorted(items, key=lambda item: self.sign * key(item))
