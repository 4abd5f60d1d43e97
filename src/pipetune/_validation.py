"""A pydantic ValidationError read as the one problem a user is shown, in YAML words."""

from __future__ import annotations

from dataclasses import dataclass
from types import UnionType
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError


@dataclass(frozen=True)
class Invalid:
    """The most specific error of a ValidationError, located by the YAML keys."""

    key: str  # dotted, inside the model; "" for the model as a whole
    message: str  # pydantic's (or a validator's) words, without "Value error, "
    value: Any  # the input that was refused
    unknown: bool  # the key is not a setting of the model (extra="forbid")
    valid: tuple[str, ...]  # the settings of the model the key was looked up in
    from_validator: bool  # a validator of ours raised it: its message names the value

    @property
    def got(self) -> str:
        """``message (got value)``: what a refusal line says after its location."""
        return f"{self.message} (got {self.value!r})"


def invalid(exc: ValidationError, model: type[BaseModel]) -> Invalid:
    """The deepest error of ``exc`` (for a union, the member the input was meant for).

    Pydantic names a union's member in the location (``resources_per_trial.Resources.cpu``);
    that tag is not a key of the YAML and is dropped.
    """
    first = max(exc.errors(), key=lambda e: len(e["loc"]))
    parts: list[str] = []
    current: type[BaseModel] | None = model
    holder: type[BaseModel] | None = model
    location = [str(p) for p in first["loc"]]
    index = 0
    while index < len(location):
        part = location[index]
        parts.append(part)
        if part.isdigit() and current is not None:  # an item of a list of models
            index += 1
            continue
        holder = current
        field = current.model_fields.get(part) if current is not None else None
        annotation = field.annotation if field is not None else None
        if _is_tagged_union(annotation) and index + 1 < len(location):
            index += 1  # skip the union member's tag
        current = _model_in(annotation)
        index += 1
    return Invalid(
        key=".".join(parts),
        message=str(first["msg"]).removeprefix("Value error, "),
        value=first.get("input"),
        unknown=first["type"] == "extra_forbidden",
        valid=tuple(sorted(holder.model_fields)) if holder is not None else (),
        from_validator=first["type"] == "value_error",
    )


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model an annotation is, or holds as a union member."""
    for candidate in (annotation, *get_args(annotation)):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def _is_tagged_union(annotation: Any) -> bool:
    """A union of two or more types: pydantic tags errors with the member (``X | None`` not)."""
    members = [a for a in get_args(annotation) if a is not type(None)]
    return get_origin(annotation) in (Union, UnionType) and len(members) > 1
