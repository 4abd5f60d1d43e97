"""Pareto dominance: the front of small point sets, against a brute-force definition."""

from __future__ import annotations

import itertools
import random

from pipetune._mode import Mode
from pipetune._pareto import dominates, pareto_mask

MIN, MAX = Mode.MIN, Mode.MAX


def test_two_objectives_min_min() -> None:
    points = [(1.0, 5.0), (2.0, 2.0), (3.0, 3.0), (5.0, 1.0), (2.0, 2.0)]
    # (3, 3) is dominated by (2, 2); equal points are both on the front
    assert pareto_mask(points, [MIN, MIN]) == [True, True, False, True, True]


def test_mode_max_flips_the_order() -> None:
    points = [(1.0, 5.0), (2.0, 2.0), (3.0, 3.0)]
    # minimise the first, maximise the second: (1, 5) beats both others
    assert pareto_mask(points, [MIN, MAX]) == [True, False, False]
    assert dominates((1.0, 5.0), (3.0, 3.0), [MIN, MAX])
    assert not dominates((1.0, 5.0), (1.0, 5.0), [MIN, MAX])


def test_excluded_points_are_never_on_the_front_and_dominate_nothing() -> None:
    points = [None, (2.0, 2.0), (3.0, 3.0)]
    assert pareto_mask(points, [MIN, MIN]) == [False, True, False]


def test_random_sets_match_the_definition() -> None:
    rng = random.Random(0)
    for _ in range(50):
        modes = [rng.choice([MIN, MAX]) for _ in range(rng.randint(2, 3))]
        points = [tuple(float(rng.randint(0, 4)) for _ in modes) for _ in range(12)]
        expected = []
        for p in points:
            beaten = False
            for q in points:
                better_or_equal = all(
                    (x <= y) if m is MIN else (x >= y) for x, y, m in zip(q, p, modes, strict=True)
                )
                if better_or_equal and q != p:
                    beaten = True
            expected.append(not beaten)
        assert pareto_mask(points, modes) == expected
        # no two points on the front dominate one another
        front = [p for p, on in zip(points, pareto_mask(points, modes), strict=True) if on]
        assert not any(dominates(a, b, modes) for a, b in itertools.permutations(front, 2))
