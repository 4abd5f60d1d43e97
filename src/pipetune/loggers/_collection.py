"""``LoggersCollection``: one logger that fans every call out to several."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from typing import Any

from pipetune.loggers._base import Logger, check_kind

logger = logging.getLogger(__name__)


class LoggersCollection(Logger):
    """Forward every call to each of ``loggers``, in order.

    Each member applies its own rank gating, ``log_freq`` and supported kinds. Opening is
    all-or-nothing (members opened before a failure are closed again); closing closes every
    member even when one fails, then re-raises the first error.
    """

    def __init__(self, loggers: Iterable[Logger]) -> None:
        super().__init__(log_freq="batch")
        self.loggers: list[Logger] = list(loggers)
        for member in self.loggers:
            if not isinstance(member, Logger):
                raise TypeError(f"LoggersCollection takes Logger instances, got {member!r}")

    def __iter__(self) -> Iterator[Logger]:
        return iter(self.loggers)

    def __len__(self) -> int:
        return len(self.loggers)

    def create_logger_context(self, rank: int = 0) -> None:
        """Open every member for ``rank``."""
        if self.is_open:
            return
        opened: list[Logger] = []
        try:
            for member in self.loggers:
                member.create_logger_context(rank)
                opened.append(member)
        except BaseException:
            for member in reversed(opened):
                try:
                    member.destroy_logger_context()
                except Exception:
                    logger.exception("closing %s after a failed open", type(member).__name__)
            raise
        self._failed = self._stopped = False
        self._rank = rank

    def destroy_logger_context(self) -> None:
        """Close every member; the first error, if any, is raised after all are closed."""
        if not self.is_open:
            return
        first: BaseException | None = None
        for member in self.loggers:
            try:
                member.destroy_logger_context()
            except Exception as error:
                if first is None:
                    first = error
                else:
                    logger.exception("closing %s", type(member).__name__)
        self._rank = None
        if first is not None:
            raise first

    def mark_failed(self) -> None:
        """Mark this collection and every member as failed."""
        super().mark_failed()
        for member in self.loggers:
            member.mark_failed()

    def mark_stopped(self) -> None:
        """Mark this collection and every member as stopped on request."""
        super().mark_stopped()
        for member in self.loggers:
            member.mark_stopped()

    def log(
        self,
        item: Any,
        identifier: str,
        kind: str = "metric",
        step: int | None = None,
        batch_idx: int | None = None,
        **kwargs: Any,
    ) -> None:
        """Forward to each member's ``log``."""
        check_kind(kind)
        self._require_open("log")
        self._log(item, identifier, kind, step, batch_idx, **kwargs)

    def _log(
        self,
        item: Any,
        identifier: str,
        kind: str,
        step: int | None,
        batch_idx: int | None,
        **kwargs: Any,
    ) -> None:
        for member in self.loggers:
            member.log(item, identifier, kind=kind, step=step, batch_idx=batch_idx, **kwargs)

    def save_hyperparameters(self, params: dict[str, Any]) -> None:
        """Forward to each member."""
        self._require_open("save_hyperparameters")
        for member in self.loggers:
            member.save_hyperparameters(params)

    def flush(self) -> None:
        """Flush each member."""
        for member in self.loggers:
            member.flush()
