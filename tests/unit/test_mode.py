"""Mode: the one place that says which way a metric improves."""

from __future__ import annotations

import pytest

from pipetune._mode import Mode


def test_min_prefers_smaller_and_max_larger() -> None:
    assert Mode.MIN.better(1.0, 2.0) and not Mode.MIN.better(2.0, 1.0)
    assert Mode.MAX.better(2.0, 1.0) and not Mode.MAX.better(1.0, 2.0)
    assert Mode.MIN.better(5.0, None) and Mode.MAX.better(-5.0, None)
    assert not Mode.MIN.better(1.0, 1.0) and not Mode.MAX.better(1.0, 1.0)


def test_a_margin_must_be_beaten() -> None:
    assert not Mode.MIN.better(0.95, 1.0, margin=0.1)
    assert Mode.MIN.better(0.85, 1.0, margin=0.1)
    assert not Mode.MAX.better(1.05, 1.0, margin=0.1)
    assert Mode.MAX.better(1.15, 1.0, margin=0.1)


def test_best_and_ranked() -> None:
    rows = [{"v": 3.0}, {"v": 1.0}, {"v": 2.0}, {"v": 1.0, "second": True}]
    assert Mode.MIN.best(rows, key=lambda r: r["v"]) is rows[1]
    assert Mode.MAX.best(rows, key=lambda r: r["v"]) is rows[0]
    assert Mode.MIN.ranked(rows, key=lambda r: r["v"]) == [rows[1], rows[3], rows[2], rows[0]]
    assert Mode.MAX.ranked(rows, key=lambda r: r["v"]) == [rows[0], rows[2], rows[1], rows[3]]
    assert Mode.MIN.best_value([3, 1, 2]) == 1 and Mode.MAX.best_value([3, 1, 2]) == 3
    with pytest.raises(ValueError):
        Mode.MIN.best_value([])


def test_parsing_and_words() -> None:
    assert Mode.of("max") is Mode.MAX and Mode.of(Mode.MIN) is Mode.MIN
    assert Mode.MIN == "min" and f"{Mode.MAX}" == "max"
    assert (Mode.MIN.direction, Mode.MAX.direction) == ("minimize", "maximize")
    with pytest.raises(ValueError, match="mode must be 'min' or 'max', got 'down'"):
        Mode.of("down")
