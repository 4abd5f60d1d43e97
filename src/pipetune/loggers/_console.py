"""``ConsoleLogger``: one compact line of metrics per epoch."""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import IO, Any, ClassVar

from rich.console import Console
from rich.text import Text

from pipetune.loggers._base import Logger, to_scalar

logger = logging.getLogger(__name__)


def format_value(name: str, value: float | int) -> str:
    """Format one metric for the console line (durations in s, rates with separators)."""
    lowered = name.lower()
    if lowered.endswith(("time", "_sec", "_seconds")):
        return f"{value:.1f}s"
    if lowered.endswith(("/s", "_per_s", "per_sec", "per_second", "throughput")):
        return f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    magnitude = abs(value)
    if not math.isfinite(magnitude):
        return str(value)
    if magnitude >= 1e5 or (0 < magnitude < 1e-3):
        return f"{value:.3e}"
    return f"{value:.4f}"


class ConsoleLogger(Logger):
    """Print one line per step, e.g. ``epoch 3  train_loss 0.4123  val_loss 0.3921``.

    Metrics logged for a step are buffered; the line is printed when a metric for another
    step arrives, on ``flush()`` and when the context is destroyed. Other kinds are ignored.
    Output goes through rich: styled on a terminal, plain text otherwise.
    """

    supported_kinds: ClassVar[frozenset[str]] = frozenset({"metric"})

    def __init__(
        self,
        log_freq: int | str = "epoch",
        *,
        step_name: str = "epoch",
        file: IO[str] | None = None,
        savedir: str | Path = "runs/logs",
    ) -> None:
        super().__init__(savedir=savedir, log_freq=log_freq)
        self.step_name = step_name
        self._file = file
        self._console: Console | None = None
        self._step: int | None = None
        self._pending: dict[str, float | int] = {}

    def _open(self) -> None:
        # file=None makes rich look up sys.stdout at each print (works with redirection).
        self._console = Console(
            file=self._file, highlight=False, markup=False, emoji=False, soft_wrap=True
        )
        self._step = None
        self._pending = {}

    def _close(self) -> None:
        self.flush()
        self._console = None

    def _log(
        self,
        item: Any,
        identifier: str,
        kind: str,
        step: int | None,
        batch_idx: int | None,
        **kwargs: Any,
    ) -> None:
        value = to_scalar(item, identifier)
        if self._pending and step != self._step:
            self.flush()
        self._step = step
        self._pending[identifier] = value

    def format_line(self, step: int | None, metrics: dict[str, float | int]) -> Text:
        """The line printed for ``step`` (styled ``rich.text.Text``)."""
        line = Text()
        if step is not None:
            line.append(f"{self.step_name} {step}", style="bold")
        for name, value in metrics.items():
            if line:
                line.append("  ")
            line.append(name, style="cyan")
            line.append(f" {format_value(name, value)}")
        return line

    def flush(self) -> None:
        """Print the buffered metrics as one line, if any."""
        if not self._pending or self._console is None:
            return
        line = self.format_line(self._step, self._pending)
        self._pending = {}
        self._console.print(line)
