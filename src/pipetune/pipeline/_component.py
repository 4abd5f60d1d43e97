"""The component protocol and the roles of a training pipeline."""

from __future__ import annotations

import abc
from typing import Any

from pipetune.errors import ConfigError


class Component(abc.ABC):
    """One step of a pipeline: ``execute(*inputs)`` returns the next step's inputs.

    A tuple return value is spread over the next step's arguments.
    """

    def __init__(self, name: str | None = None) -> None:
        self.name = name or type(self).__name__

    @abc.abstractmethod
    def execute(self, *inputs: Any) -> Any:
        """Run this step on the previous step's outputs."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


class DataGetter(Component):
    """Produces a dataset from nothing (first step of a pipeline)."""

    @abc.abstractmethod
    def execute(self) -> Any:
        """Return the dataset (or a tuple of datasets)."""


class DataSplitter(Component):
    """Splits one dataset into train, validation and test parts by proportion.

    Each proportion lies in [0, 1] and they add up to at most 1; the test proportion
    defaults to what is left.
    """

    def __init__(
        self,
        train_proportion: float,
        validation_proportion: float = 0.0,
        test_proportion: float | None = None,
        name: str | None = None,
    ) -> None:
        super().__init__(name)
        if test_proportion is None:
            test_proportion = max(0.0, 1.0 - train_proportion - validation_proportion)
        proportions = {
            "train_proportion": train_proportion,
            "validation_proportion": validation_proportion,
            "test_proportion": test_proportion,
        }
        for key, value in proportions.items():
            if not isinstance(value, int | float) or not 0.0 <= value <= 1.0:
                raise ConfigError(f"{key} must lie in [0, 1], got {value!r}", key_path=key)
        total = sum(proportions.values())
        if total > 1.0 + 1e-9:
            raise ConfigError(
                f"proportions must add up to at most 1, got {total:g} "
                f"({train_proportion} + {validation_proportion} + {test_proportion})"
            )
        self.train_proportion = float(train_proportion)
        self.validation_proportion = float(validation_proportion)
        self.test_proportion = float(test_proportion)

    @abc.abstractmethod
    def execute(self, dataset: Any) -> tuple[Any, Any, Any]:
        """Return (train, validation, test)."""


class DataProcessor(Component):
    """Transforms datasets between splitting and training."""


class Trainer(Component):
    """Trains a model on (train, validation[, test]) datasets."""


class Predictor(Component):
    """Applies a trained model to data."""


class Saver(Component):
    """Persists an artefact (model, predictions) and passes it on."""
