"""RandomSplit: sizes, determinism, disjointness and proportion checks."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
from torch.utils.data import Subset, TensorDataset

from pipetune.data import ImageClassificationDataset, RandomSplit
from pipetune.errors import ConfigError
from pipetune.pipeline import DataSplitter


def dataset(n: int = 100) -> ImageClassificationDataset:
    images = np.zeros((n, 2, 2), dtype=np.uint8)
    images[:, 0, 0] = np.arange(n) % 256
    labels = np.arange(n) % 3
    return ImageClassificationDataset(images, labels)


def ids(part: ImageClassificationDataset) -> list[int]:
    return part.images[:, 0, 0, 0].tolist()


def test_is_a_data_splitter() -> None:
    assert isinstance(RandomSplit(0.5), DataSplitter)


@pytest.mark.parametrize(
    ("proportions", "n", "sizes"),
    [
        ((0.8, 0.2), 100, (80, 20, 0)),
        ((0.7, 0.2), 100, (70, 20, 10)),
        ((0.6, 0.2, 0.2), 100, (60, 20, 20)),
        ((0.5, 0.1, 0.1), 100, (50, 10, 10)),
        ((1.0,), 7, (7, 0, 0)),
        ((0.7, 0.15, 0.15), 9, (6, 2, 1)),
        ((1 / 3, 1 / 3), 10, (3, 4, 3)),
        ((0.5, 0.5), 0, (0, 0, 0)),
    ],
)
def test_sizes(proportions: tuple[Any, ...], n: int, sizes: tuple[int, int, int]) -> None:
    splitter = RandomSplit(*proportions)
    assert splitter.sizes(n) == sizes
    parts = splitter.execute(dataset(n))
    assert tuple(len(p) for p in parts) == sizes


def test_parts_are_disjoint_views_of_the_dataset() -> None:
    full = dataset(100)
    train, validation, test = RandomSplit(0.6, 0.3, seed=1).execute(full)
    assert all(isinstance(p, ImageClassificationDataset) for p in (train, validation, test))
    together = ids(train) + ids(validation) + ids(test)
    assert sorted(together) == list(range(100))
    assert ids(train) != sorted(ids(train))  # shuffled
    assert train.targets.tolist() == [i % 3 for i in ids(train)]


def test_deterministic_for_a_seed() -> None:
    a = RandomSplit(0.5, 0.25, seed=7).execute(dataset())
    b = RandomSplit(0.5, 0.25, seed=7).execute(dataset())
    c = RandomSplit(0.5, 0.25, seed=8).execute(dataset())
    assert [ids(p) for p in a] == [ids(p) for p in b]
    assert ids(a[0]) != ids(c[0])


def test_empty_test_part() -> None:
    _, _, test = RandomSplit(0.9, 0.1).execute(dataset(50))
    assert len(test) == 0
    assert test.images.shape == (0, 1, 2, 2)


def test_plain_dataset_gets_torch_subsets() -> None:
    data = TensorDataset(torch.arange(20))
    train, validation, test = RandomSplit(0.5, 0.25, seed=3).execute(data)
    assert all(isinstance(p, Subset) for p in (train, validation, test))
    values = [int(x) for part in (train, validation, test) for (x,) in part]
    assert sorted(values) == list(range(20))
    assert (len(train), len(validation), len(test)) == (10, 5, 5)
    again = RandomSplit(0.5, 0.25, seed=3).execute(data)
    assert again[0].indices == train.indices


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"train_proportion": 1.2}, r"train_proportion must lie in \[0, 1\]"),
        ({"train_proportion": -0.1}, r"train_proportion must lie in \[0, 1\]"),
        ({"train_proportion": 0.5, "validation_proportion": 2}, r"validation_proportion"),
        (
            {"train_proportion": 0.7, "validation_proportion": 0.2, "test_proportion": 0.2},
            r"proportions must add up to at most 1",
        ),
        ({"train_proportion": 0.5, "seed": "x"}, r"seed must be an integer"),
        ({"train_proportion": 0.5, "seed": 1.5}, r"seed must be an integer"),
    ],
)
def test_invalid_arguments(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        RandomSplit(**kwargs)
