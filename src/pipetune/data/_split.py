"""Seeded random splitting of a dataset into train, validation and test parts."""

from __future__ import annotations

import math
from typing import Any

import torch
from torch.utils.data import Subset

from pipetune.errors import ConfigError
from pipetune.pipeline import DataSplitter


class RandomSplit(DataSplitter):
    """Split a dataset by a seeded random permutation into (train, validation, test).

    Part sizes come from rounding the cumulative proportions times the dataset's length, so
    they add up to the whole dataset when the proportions add up to 1 (the test proportion
    defaults to what is left). A part may be empty. Datasets with a ``subset(indices)`` method
    (such as :class:`ImageClassificationDataset`) give cheap views; any other dataset is
    wrapped in :class:`torch.utils.data.Subset`. The same seed and length give the same split.
    """

    def __init__(
        self,
        train_proportion: float,
        validation_proportion: float = 0.0,
        test_proportion: float | None = None,
        seed: int = 42,
        name: str | None = None,
    ) -> None:
        super().__init__(train_proportion, validation_proportion, test_proportion, name)
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise ConfigError(f"seed must be an integer, got {seed!r}", key_path="seed")
        self.seed = seed

    def sizes(self, n: int) -> tuple[int, int, int]:
        """Return the (train, validation, test) sizes for a dataset of ``n`` samples."""
        bounds = []
        cumulative = 0.0
        for proportion in (self.train_proportion, self.validation_proportion, self.test_proportion):
            cumulative += proportion
            bounds.append(min(n, math.floor(n * cumulative + 0.5)))
        return bounds[0], bounds[1] - bounds[0], bounds[2] - bounds[1]

    def execute(self, dataset: Any) -> tuple[Any, Any, Any]:
        """Return the (train, validation, test) parts of ``dataset``."""
        n = len(dataset)
        n_train, n_val, n_test = self.sizes(n)
        generator = torch.Generator().manual_seed(self.seed)
        order = torch.randperm(n, generator=generator)
        a, b = n_train, n_train + n_val
        train = _subset(dataset, order[:a])
        validation = _subset(dataset, order[a:b])
        test = _subset(dataset, order[b : b + n_test])
        return train, validation, test

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(train={self.train_proportion:g}, "
            f"validation={self.validation_proportion:g}, test={self.test_proportion:g}, "
            f"seed={self.seed})"
        )


def _subset(dataset: Any, indices: torch.Tensor) -> Any:
    subset = getattr(dataset, "subset", None)
    if callable(subset):
        return subset(indices)
    return Subset(dataset, indices.tolist())
