"""``TensorBoardLogger``: event files through ``torch.utils.tensorboard.SummaryWriter``."""

from __future__ import annotations

import importlib.util
import json
import logging
from pathlib import Path
from typing import Any, ClassVar

from pipetune.errors import PipetuneError
from pipetune.loggers._base import Logger, flatten_params, to_scalar

logger = logging.getLogger(__name__)

_MISSING = "TensorBoardLogger needs tensorboard: pip install 'pipetune[tensorboard]'"


def _hparam_value(value: Any) -> int | float | str | bool:
    if isinstance(value, bool | int | float | str):
        return value
    return str(value)


class TensorBoardLogger(Logger):
    """Write TensorBoard event files under ``savedir`` (or ``savedir/run_name``); in a Tune
    trial under ``savedir/<trial id>[/run_name]``, one TensorBoard run per trial.

    Kinds: ``metric`` (``add_scalar``), ``text`` (``add_text``), ``image`` (``add_image``;
    pass ``dataformats=`` for non-CHW arrays), ``figure`` (``add_figure``, a matplotlib
    figure) and ``histogram`` (``add_histogram``). Hyperparameters go to the HParams tab
    of the same run and, as JSON, to the text tag ``hparams``.
    """

    supported_kinds: ClassVar[frozenset[str]] = frozenset(
        {"metric", "text", "image", "figure", "histogram"}
    )

    def __init__(
        self,
        savedir: str | Path = "runs/tensorboard",
        log_freq: int | str = "epoch",
        *,
        run_name: str | None = None,
        flush_secs: int = 120,
    ) -> None:
        super().__init__(savedir=savedir, log_freq=log_freq)
        if importlib.util.find_spec("tensorboard") is None:
            raise PipetuneError(_MISSING)
        self.run_name = run_name
        self.flush_secs = flush_secs
        self._writer: Any = None

    @property
    def log_dir(self) -> Path:
        """The folder the event files go to."""
        folder = self.run_folder
        return folder / self.run_name if self.run_name else folder

    @property
    def writer(self) -> Any:
        """The open ``SummaryWriter`` (``None`` outside a rank-0 context)."""
        return self._writer

    def _open(self) -> None:
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError as error:
            raise PipetuneError(_MISSING) from error
        self._writer = SummaryWriter(log_dir=str(self.log_dir), flush_secs=self.flush_secs)

    def _close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        self._writer = None

    def flush(self) -> None:
        """Write pending events to disk."""
        if self._writer is not None:
            self._writer.flush()

    def _log(
        self,
        item: Any,
        identifier: str,
        kind: str,
        step: int | None,
        batch_idx: int | None,
        **kwargs: Any,
    ) -> None:
        writer = self._writer
        if kind == "metric":
            writer.add_scalar(identifier, to_scalar(item, identifier), global_step=step)
        elif kind == "text":
            writer.add_text(identifier, str(item), global_step=step)
        elif kind == "image":
            dataformats = kwargs.get("dataformats", "CHW")
            writer.add_image(identifier, item, global_step=step, dataformats=dataformats)
        elif kind == "figure":
            writer.add_figure(identifier, item, global_step=step)
        elif kind == "histogram":
            writer.add_histogram(identifier, item, global_step=step)

    def _save_hyperparameters(self, params: dict[str, Any]) -> None:
        from torch.utils.tensorboard.summary import hparams

        flat = {key: _hparam_value(value) for key, value in flatten_params(params).items()}
        experiment, session_start, session_end = hparams(flat, {})
        # SummaryWriter has no public accessor; add_hparams() would start a second event file.
        file_writer = self._writer._get_file_writer()
        for summary in (experiment, session_start, session_end):
            file_writer.add_summary(summary)
        text = json.dumps(params, indent=2, default=str)
        self._writer.add_text("hparams", f"```json\n{text}\n```")
