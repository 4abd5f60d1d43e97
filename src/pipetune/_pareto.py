"""Pareto dominance over several objectives: which points no other point beats in every one."""

from __future__ import annotations

from collections.abc import Sequence

from pipetune._mode import Mode


def dominates(a: Sequence[float], b: Sequence[float], modes: Sequence[Mode]) -> bool:
    """Whether ``a`` is at least as good as ``b`` in every objective and better in one."""
    signed = [(m.sign * x, m.sign * y) for x, y, m in zip(a, b, modes, strict=True)]
    return all(x <= y for x, y in signed) and any(x < y for x, y in signed)


def pareto_mask(points: Sequence[Sequence[float] | None], modes: Sequence[Mode]) -> list[bool]:
    """For each point, whether no other point dominates it; a None point (a trial that may
    not compete: broken, infeasible, without values) is never on the front and dominates
    nothing. Equal points are all on the front. O(n²): experiments hold thousands of trials
    at most."""
    candidates = [p for p in points if p is not None]
    return [p is not None and not any(dominates(q, p, modes) for q in candidates) for p in points]
