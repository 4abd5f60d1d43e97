"""``CSVLogger``: long-format ``metrics.csv`` plus ``hparams.json``."""

from __future__ import annotations

import csv
import json
import logging
from pathlib import Path
from typing import IO, Any, ClassVar

from pipetune._io import atomic_write_text
from pipetune.loggers._base import Logger, to_scalar

logger = logging.getLogger(__name__)

CSV_COLUMNS: tuple[str, ...] = ("step", "name", "value", "kind", "batch_idx")


def write_json_atomic(path: Path, data: Any) -> None:
    """Write ``data`` as JSON to ``path`` atomically."""
    atomic_write_text(path, json.dumps(data, indent=2, default=str) + "\n")


class CSVLogger(Logger):
    """Append rows ``step,name,value,kind,batch_idx`` to ``<savedir>/metrics.csv``.

    The file is flushed whenever the step changes and when the context closes; an existing
    file is appended to. ``save_hyperparameters`` writes ``<savedir>/hparams.json``. In a
    Tune trial both go to ``<savedir>/<trial id>/`` instead.
    """

    supported_kinds: ClassVar[frozenset[str]] = frozenset({"metric", "text"})

    def __init__(
        self,
        savedir: str | Path = "runs/logs",
        log_freq: int | str = "epoch",
        *,
        filename: str = "metrics.csv",
    ) -> None:
        super().__init__(savedir=savedir, log_freq=log_freq)
        self.filename = filename
        self._handle: IO[str] | None = None
        self._writer: Any = None
        self._step: int | None = None

    @property
    def path(self) -> Path:
        """Where the metrics go."""
        return self.run_folder / self.filename

    @property
    def hparams_path(self) -> Path:
        """Where ``save_hyperparameters`` writes."""
        return self.run_folder / "hparams.json"

    def _open(self) -> None:
        path = self.path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._handle = path.open("a", newline="", encoding="utf-8")
        self._writer = csv.writer(self._handle)
        if self._handle.tell() == 0:
            self._writer.writerow(CSV_COLUMNS)
            self._handle.flush()
        self._step = None

    def _close(self) -> None:
        if self._handle is not None:
            self._handle.close()
        self._handle = None
        self._writer = None

    def flush(self) -> None:
        """Flush written rows to disk."""
        if self._handle is not None:
            self._handle.flush()

    def _log(
        self,
        item: Any,
        identifier: str,
        kind: str,
        step: int | None,
        batch_idx: int | None,
        **kwargs: Any,
    ) -> None:
        value: Any = to_scalar(item, identifier) if kind == "metric" else str(item)
        if step != self._step:
            self.flush()
            self._step = step
        self._writer.writerow(
            [
                "" if step is None else step,
                identifier,
                value,
                kind,
                "" if batch_idx is None else batch_idx,
            ]
        )

    def _save_hyperparameters(self, params: dict[str, Any]) -> None:
        write_json_atomic(self.hparams_path, params)
