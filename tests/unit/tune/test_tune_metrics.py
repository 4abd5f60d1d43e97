"""Issue 15, point 5: a reported value that is not a finite number fails the trial."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

from pipetune.torch import DivergedError
from pipetune.tune._metrics import MetricError, checked_metrics


def test_numbers_pass_and_scalars_become_plain_numbers() -> None:
    numeric: set[str] = set()
    metrics = {
        "val_loss": 0.5,
        "epoch": 3,
        "acc": np.float32(0.25),
        "n": np.int64(7),
        "t": torch.tensor(1.5),
        "one": torch.tensor([2.0]),
        "done": False,
        "nested": {"loss": 0.1},
        "test_loss": None,  # never a number so far: left alone
    }
    result = checked_metrics(metrics, numeric)
    assert result == {
        "val_loss": 0.5,
        "epoch": 3,
        "acc": 0.25,
        "n": 7,
        "t": 1.5,
        "one": 2.0,
        "done": False,
        "nested": {"loss": 0.1},
        "test_loss": None,
    }
    assert all(type(v) in (int, float) for k, v in result.items() if k in ("acc", "n", "t"))
    assert {"val_loss", "acc", "t", "nested/loss"} <= numeric


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("abc", "'val_loss' = 'abc'"),
        (torch.tensor([0.1, 0.2]), "(a tensor of 2 elements)"),
        (np.zeros((2, 2)), "(a tensor of 4 elements)"),
        ([0.1, 0.2], "'val_loss' = [0.1, 0.2]"),
        (b"0.1", "'val_loss' = b'0.1'"),
    ],
    ids=["string", "tensor", "array", "list", "bytes"],
)
def test_a_value_that_is_not_a_number_fails_naming_metric_and_value(
    value: object, shown: str
) -> None:
    with pytest.raises(MetricError, match=re.escape(shown)) as info:
        checked_metrics({"val_loss": value}, {"val_loss"})  # val_loss: the tuned metric
    assert "is not a number" in str(info.value)


def test_a_string_label_beside_the_metrics_passes_unchanged() -> None:
    numeric = {"val_loss"}
    reported = checked_metrics({"val_loss": 0.5, "node_id": "fb55"}, numeric)
    assert reported == {"val_loss": 0.5, "node_id": "fb55"}
    assert numeric == {"val_loss"}
    with pytest.raises(MetricError, match=re.escape("'node_id' = [1, 2]")):
        checked_metrics({"node_id": [1, 2]}, numeric)  # not a label: a list


def test_none_after_a_number_fails() -> None:
    numeric: set[str] = set()
    checked_metrics({"val_loss": 0.3}, numeric)
    with pytest.raises(MetricError, match=re.escape("'val_loss' = None, after numbers")):
        checked_metrics({"val_loss": None}, numeric)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), torch.tensor(float("-inf"))])
def test_nan_and_inf_mean_diverged(value: object) -> None:
    with pytest.raises(DivergedError, match="training diverged: the trial reported val_loss="):
        checked_metrics({"val_loss": value}, set())
