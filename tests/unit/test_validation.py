"""invalid(): a pydantic error read in YAML words; did_you_mean(): the hint's wording."""

from __future__ import annotations

from typing import Literal

import pytest
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from pipetune._validation import Invalid, invalid
from pipetune.errors import did_you_mean


class Inner(BaseModel):
    model_config = ConfigDict(extra="forbid")
    cpu: float = Field(1.0, gt=0)
    gpu: float = 0.0


class Outer(BaseModel):
    model_config = ConfigDict(extra="forbid")
    resources: Literal["auto"] | Inner = "auto"
    seed: int | None = None
    name: str = "x"

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if "/" in value:
            raise ValueError(f"name may not hold '/': {value!r}")
        return value


def _problem(**raw: object) -> Invalid:
    with pytest.raises(ValidationError) as caught:
        Outer(**raw)  # type: ignore[arg-type]
    return invalid(caught.value, Outer)


def test_a_union_members_tag_is_not_a_key() -> None:
    problem = _problem(resources={"cpu": -1})
    assert problem.key == "resources.cpu"
    assert problem.value == -1 and not problem.unknown and not problem.from_validator
    assert problem.got == f"{problem.message} (got -1)" and "greater than 0" in problem.message


def test_an_unknown_key_lists_the_settings_of_its_own_model() -> None:
    nested = _problem(resources={"cpus": 2})
    assert (nested.key, nested.unknown, nested.valid) == ("resources.cpus", True, ("cpu", "gpu"))
    top = _problem(sead=1)
    assert (top.key, top.unknown, top.valid) == ("sead", True, ("name", "resources", "seed"))


def test_an_optional_field_keeps_its_key_and_a_validators_words_are_kept() -> None:
    assert _problem(seed="abc").key == "seed"
    own = _problem(name="a/b")
    assert own.from_validator and own.message == "name may not hold '/': 'a/b'"


def test_did_you_mean() -> None:
    assert did_you_mean([]) is None
    assert did_you_mean(["lr"]) == "did you mean 'lr'?"
    assert did_you_mean(["a", "b"], "'${{{}}}'".format) == "did you mean '${a}' or '${b}'?"
