"""A pipeline: each step's outputs become the next step's inputs."""

from __future__ import annotations

import inspect
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from pipetune._session import train_v2_refusal
from pipetune.errors import ConfigError, PipelineError
from pipetune.pipeline._component import Component


class Pipeline(Component):
    """Run ``steps`` in order (a list, or a dict of step name to step)."""

    def __init__(
        self, steps: Sequence[Component] | Mapping[str, Component], name: str | None = None
    ) -> None:
        super().__init__(name)
        if isinstance(steps, Mapping):
            self.steps: dict[str, Component] = {str(k): v for k, v in steps.items()}
        elif isinstance(steps, Sequence) and not isinstance(steps, str):
            self.steps = {str(i): step for i, step in enumerate(steps)}
        else:
            raise ConfigError(
                f"steps must be a list or a mapping of steps, got {type(steps).__name__}",
                key_path="steps",
            )
        for key, step in self.steps.items():
            if not callable(getattr(step, "execute", None)):
                raise ConfigError(
                    f"step {key} is a {type(step).__name__}, which has no execute() method",
                    key_path=f"steps.{key}",
                    hint="declare it with class_path: or _target_: pointing at a Component",
                )

    def __len__(self) -> int:
        return len(self.steps)

    def __iter__(self) -> Iterator[Component]:
        return iter(self.steps.values())

    def __getitem__(self, key: int | str) -> Component:
        if isinstance(key, int):
            return list(self.steps.values())[key]
        return self.steps[key]

    def execute(self, *inputs: Any) -> Any:
        """Run every step; return the last step's outputs."""
        return self.run(inputs, start=0)

    def run(self, inputs: tuple[Any, ...], start: int = 0, stop: int | None = None) -> Any:
        """Run steps ``start`` to ``stop`` (exclusive) on ``inputs``; return the last outputs."""
        items = list(self.steps.items())[start:stop]
        outputs: Any = inputs
        for offset, (key, step) in enumerate(items):
            args = outputs if isinstance(outputs, tuple) else (outputs,)
            _check_arity(step, args, start + offset, key)
            try:
                outputs = step.execute(*args)
            except DeprecationWarning as error:
                refusal = train_v2_refusal(error)
                if refusal is None:
                    raise
                raise refusal from error
        return outputs


def _check_arity(step: Component, args: tuple[Any, ...], index: int, key: str) -> None:
    try:
        signature = inspect.signature(step.execute)
    except (TypeError, ValueError):
        return
    try:
        signature.bind(*args)
    except TypeError as exc:
        expected = ", ".join(signature.parameters) or "no inputs"
        label = f"step {index}" + (f" '{key}'" if key != str(index) else "")
        raise PipelineError(
            f"{label} ({type(step).__name__}) received {len(args)} input(s) from the step "
            f"before it but its execute() takes ({expected}): {exc}"
        ) from None
