"""The exceptions pipetune raises; each also subclasses the matching builtin."""

from __future__ import annotations

from collections.abc import Callable, Sequence


class PipetuneError(Exception):
    """Base class of every error pipetune raises on purpose.

    The CLI prints ``str(error)`` on one line and exits with status 2.
    """


class ConfigError(PipetuneError, ValueError):
    """A configuration problem, located by file, YAML key path and line where known."""

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        key_path: str | None = None,
        line: int | None = None,
        hint: str | None = None,
    ) -> None:
        self.message = message
        self.file = file
        self.key_path = key_path
        self.line = line
        self.hint = hint
        super().__init__(self._format())

    def _format(self) -> str:
        where = ""
        if self.file:
            where = self.file + (f":{self.line}" if self.line else "")
        if self.key_path:
            where = f"{where} at '{self.key_path}'" if where else f"at '{self.key_path}'"
        text = f"{where}: {self.message}" if where else self.message
        if self.hint:
            text = f"{text} ({self.hint})"
        return text


class PipelineError(PipetuneError, RuntimeError):
    """A pipeline could not pass data from one step to the next."""


def did_you_mean(
    candidates: Sequence[str], quote: Callable[[str], str] = "'{}'".format
) -> str | None:
    """The hint ``did you mean 'a' or 'b'?`` for ``candidates``; None when there are none."""
    if not candidates:
        return None
    return "did you mean " + " or ".join(quote(c) for c in candidates) + "?"
