"""The abstract ``Logger``: rank gating, log frequency, kind checks and the context protocol."""

from __future__ import annotations

import abc
import logging
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, ClassVar, Self

from pipetune._session import current_trial_id
from pipetune.errors import ConfigError, PipetuneError
from pipetune.loggers import _exit

logger = logging.getLogger(__name__)

LOG_KINDS: tuple[str, ...] = (
    "metric",
    "text",
    "param",
    "dict",
    "artifact",
    "image",
    "figure",
    "histogram",
)
"""Every kind some logger understands; ``Logger.log`` rejects any other name."""

_FREQ_WORDS = ("epoch", "batch")


def check_kind(kind: str) -> None:
    """Raise ``ValueError`` unless ``kind`` is one of ``LOG_KINDS``."""
    if kind not in LOG_KINDS:
        raise ValueError(f"unknown log kind {kind!r}; valid kinds: {', '.join(LOG_KINDS)}")


def check_log_freq(log_freq: int | str) -> int | str:
    """Validate a ``log_freq``: a positive int (every N batches), ``"epoch"`` or ``"batch"``."""
    if isinstance(log_freq, bool) or not isinstance(log_freq, int | str):
        raise ConfigError(f"log_freq must be a positive int, 'epoch' or 'batch', not {log_freq!r}")
    if isinstance(log_freq, str) and log_freq not in _FREQ_WORDS:
        raise ConfigError(f"log_freq must be a positive int, 'epoch' or 'batch', not {log_freq!r}")
    if isinstance(log_freq, int) and log_freq < 1:
        raise ConfigError(f"log_freq must be a positive int, 'epoch' or 'batch', not {log_freq!r}")
    return log_freq


def to_scalar(item: Any, identifier: str) -> float | int:
    """Turn a Python/NumPy/torch scalar into an ``int`` or ``float``; ``TypeError`` otherwise."""
    if isinstance(item, bool):
        return int(item)
    if isinstance(item, int | float):
        return item
    try:
        value = item.item() if hasattr(item, "item") else float(item)
    except (TypeError, ValueError, RuntimeError) as error:
        raise TypeError(
            f"metric {identifier!r} must be a single number, got {type(item).__name__}"
        ) from error
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float):
        return value
    raise TypeError(f"metric {identifier!r} must be a single number, got {type(value).__name__}")


def flatten_params(params: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Flatten nested mappings into dotted keys: ``{"opt": {"lr": 1}}`` → ``{"opt.lr": 1}``."""
    flat: dict[str, Any] = {}
    for key, value in params.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            flat.update(flatten_params(value, prefix=f"{name}."))
        else:
            flat[name] = value
    return flat


def is_requested_stop(exc: BaseException) -> bool:
    """Whether ``exc`` asks for a clean stop: ``SystemExit`` with status 0 or none."""
    return isinstance(exc, SystemExit) and exc.code in (0, None)


class Logger(abc.ABC):
    """Base class of every logger.

    ``create_logger_context(rank)`` opens files or runs; only rank 0 writes, so every call
    on another rank is a no-op. Logging outside a context raises ``PipetuneError``.
    ``log_freq`` filters batch-level calls (those with ``batch_idx``): ``"epoch"`` drops
    them, ``"batch"`` keeps all, an int ``N`` keeps every N-th batch. Calls without
    ``batch_idx`` are always logged. A kind the logger does not handle is skipped with a
    debug message; a kind outside ``LOG_KINDS`` raises ``ValueError``.
    """

    supported_kinds: ClassVar[frozenset[str]] = frozenset({"metric"})

    def __init__(self, savedir: str | Path = "runs/logs", log_freq: int | str = "epoch") -> None:
        self.savedir = Path(savedir)
        self.log_freq = check_log_freq(log_freq)
        self._rank: int | None = None
        self._failed = False
        self._stopped = False

    # -- state ---------------------------------------------------------------------------
    @property
    def run_folder(self) -> Path:
        """Where this logger's files go: ``savedir``, or ``savedir/<trial id>`` inside a Ray
        Tune trial, so that the trials of a search, built from the same arguments, never
        write into the same files."""
        trial_id = current_trial_id()
        return self.savedir / trial_id if trial_id else self.savedir

    @property
    def rank(self) -> int | None:
        """The rank given to ``create_logger_context``; ``None`` outside a context."""
        return self._rank

    @property
    def is_open(self) -> bool:
        """Whether a logger context is open (on any rank)."""
        return self._rank is not None

    @property
    def writes(self) -> bool:
        """Whether this process writes: a context is open and its rank is 0."""
        return self._rank == 0

    # -- context -------------------------------------------------------------------------
    def create_logger_context(self, rank: int = 0) -> None:
        """Open the logger for ``rank``; only rank 0 opens files or runs. No-op when open."""
        if self._rank is not None:
            logger.debug("%s: logger context already open", type(self).__name__)
            return
        self._failed = self._stopped = False
        if rank == 0:
            self._open()
            _exit.track(self)
        self._rank = rank

    def destroy_logger_context(self) -> None:
        """Flush and close whatever the context opened; safe to call more than once."""
        if self._rank is None:
            return
        try:
            if self._rank == 0:
                self._close()
        finally:
            self._rank = None
            _exit.untrack(self)

    def __enter__(self) -> Self:
        if not self.is_open:
            self.create_logger_context()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is not None:
            self.mark_ended_by(exc)
        self.destroy_logger_context()

    def mark_failed(self) -> None:
        """Have the open context end as failed (MLflow then marks its run FAILED).

        ``__exit__`` calls it when an exception escapes; call it before
        ``destroy_logger_context()`` when managing the context by hand.
        """
        self._failed = True

    def mark_stopped(self) -> None:
        """Have the open context end as stopped on request (MLflow: KILLED), as when Ray
        Tune stops a trial early: not a failure, and not a run to its last epoch."""
        self._stopped = True

    def mark_ended_by(self, exc: BaseException) -> None:
        """Mark the context for the exception that ends it: stopped for a clean
        ``SystemExit`` (how Ray Tune ends a trial it stops), failed for anything else."""
        if is_requested_stop(exc):
            self.mark_stopped()
        else:
            self.mark_failed()

    # -- logging -------------------------------------------------------------------------
    def should_log(self, batch_idx: int | None = None) -> bool:
        """Whether a call with this ``batch_idx`` passes ``log_freq``."""
        if batch_idx is None or self.log_freq == "batch":
            return True
        if self.log_freq == "epoch":
            return False
        assert isinstance(self.log_freq, int)
        return batch_idx % self.log_freq == 0

    def log(
        self,
        item: Any,
        identifier: str,
        kind: str = "metric",
        step: int | None = None,
        batch_idx: int | None = None,
        **kwargs: Any,
    ) -> None:
        """Log ``item`` under ``identifier``; ``kind`` is one of ``LOG_KINDS``."""
        check_kind(kind)
        self._require_open("log")
        if not self.writes or not self.should_log(batch_idx):
            return
        if kind not in self.supported_kinds:
            logger.debug("%s ignores kind %r (%s)", type(self).__name__, kind, identifier)
            return
        self._log(item, identifier, kind, step, batch_idx, **kwargs)

    def save_hyperparameters(self, params: dict[str, Any]) -> None:
        """Record the run's hyperparameters (nested dicts allowed)."""
        self._require_open("save_hyperparameters")
        if self.writes:
            self._save_hyperparameters(dict(params))

    def flush(self) -> None:
        """Write out anything buffered; the default has nothing to flush."""

    def _require_open(self, what: str) -> None:
        if self._rank is None:
            raise PipetuneError(
                f"{type(self).__name__}.{what}() called outside a logger context; "
                "call create_logger_context() first or use the logger as a context manager"
            )

    # -- hooks for subclasses --------------------------------------------------------------
    def _open(self) -> None:
        """Open files/runs (rank 0 only)."""

    def _close(self) -> None:
        """Flush and close (rank 0 only)."""
        self.flush()

    def _save_hyperparameters(self, params: dict[str, Any]) -> None:
        logger.debug("%s ignores hyperparameters", type(self).__name__)

    @abc.abstractmethod
    def _log(
        self,
        item: Any,
        identifier: str,
        kind: str,
        step: int | None,
        batch_idx: int | None,
        **kwargs: Any,
    ) -> None:
        """Write one supported item (rank 0, context open, ``log_freq`` passed)."""
