"""``CSVLogger``: long-format ``metrics.csv`` plus ``hparams.json``."""

from __future__ import annotations

import csv
import json
import logging
import os
import tempfile
from pathlib import Path
from typing import IO, Any, ClassVar

from pipetune.loggers._base import Logger, to_scalar

logger = logging.getLogger(__name__)

CSV_COLUMNS: tuple[str, ...] = ("step", "name", "value", "kind", "batch_idx")


def write_json_atomic(path: Path, data: Any) -> None:
    """Write ``data`` as JSON to ``path`` through a temporary file and ``os.replace``."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=2, default=str)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class CSVLogger(Logger):
    """Append rows ``step,name,value,kind,batch_idx`` to ``<savedir>/metrics.csv``.

    The file is flushed whenever the step changes and when the context closes; an existing
    file is appended to. ``save_hyperparameters`` writes ``<savedir>/hparams.json``.
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
        return self.savedir / self.filename

    @property
    def hparams_path(self) -> Path:
        """Where ``save_hyperparameters`` writes."""
        return self.savedir / "hparams.json"

    def _open(self) -> None:
        self.savedir.mkdir(parents=True, exist_ok=True)
        self._handle = self.path.open("a", newline="", encoding="utf-8")
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
