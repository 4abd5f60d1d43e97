"""Pipeline passes outputs to inputs; DataSplitter validates its proportions."""

from __future__ import annotations

import re
from typing import Any

import pytest

from pipetune.components import Component, DataGetter, DataSplitter
from pipetune.errors import ConfigError, PipelineError
from pipetune.pipeline import Pipeline


class Make(DataGetter):
    def execute(self) -> Any:
        return [1, 2, 3, 4]


class Split(DataSplitter):
    def execute(self, dataset: Any) -> tuple[Any, Any, Any]:
        return dataset[:2], dataset[2:3], dataset[3:]


class Sum(Component):
    def execute(self, train: Any, validation: Any, test: Any) -> Any:
        return sum(train) + 10 * sum(validation) + 100 * sum(test)


def test_tuple_outputs_are_spread_over_next_inputs() -> None:
    pipeline = Pipeline([Make(), Split(0.5, 0.25), Sum()])
    assert pipeline.execute() == 1 + 2 + 30 + 400


def test_steps_as_mapping_and_indexing() -> None:
    pipeline = Pipeline({"get": Make(), "split": Split(0.5), "sum": Sum()})
    assert pipeline.execute() == 433
    assert isinstance(pipeline["split"], Split)
    assert isinstance(pipeline[2], Sum)
    assert len(pipeline) == 3


def test_wrong_number_of_inputs_names_the_step() -> None:
    pipeline = Pipeline([Make(), Sum()])
    with pytest.raises(PipelineError) as e:
        pipeline.execute()
    msg = str(e.value)
    assert "step 1 (Sum) received 1 input(s)" in msg
    assert "takes (train, validation, test)" in msg


def test_named_step_in_arity_error() -> None:
    with pytest.raises(PipelineError, match=re.escape("step 1 'total' (Sum)")):
        Pipeline({"get": Make(), "total": Sum()}).execute()


def test_step_without_execute_is_refused() -> None:
    with pytest.raises(ConfigError, match="has no execute"):
        Pipeline([Make(), object()])  # type: ignore[list-item]


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        ((1.2,), "train_proportion must lie in [0, 1], got 1.2"),
        ((0.5, -0.1), "validation_proportion must lie in [0, 1], got -0.1"),
        ((0.6, 0.3, 0.2), "must add up to at most 1, got 1.1"),
    ],
)
def test_splitter_proportions_are_validated(args: tuple[float, ...], fragment: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(fragment)):
        Split(*args)


def test_splitter_accepts_rounding_noise_and_defaults_test_to_the_rest() -> None:
    split = Split(0.7, 0.2, 0.1 + 1e-12)
    assert split.test_proportion == pytest.approx(0.1)
    assert Split(0.7, 0.2).test_proportion == pytest.approx(0.1)
