"""One vocabulary of trial statuses, from results.csv to the report and the live table."""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    """A trial's status. Tune's own words, plus pipetune's ``STOPPED`` and ``DIVERGED``."""

    PENDING = "PENDING"
    RUNNING = "RUNNING"
    PAUSED = "PAUSED"
    #: ran to its end: its budget, a stop criterion or the scheduler
    TERMINATED = "TERMINATED"
    #: cut short by the end of the experiment (time budget, Ctrl+C, SIGTERM): a resume goes on
    STOPPED = "STOPPED"
    ERROR = "ERROR"
    #: its metric became NaN or infinite
    DIVERGED = "DIVERGED"
    #: known from its reported results only: the folder never recorded how it ended
    INCOMPLETE = "INCOMPLETE"

    @classmethod
    def of(cls, text: object) -> Status | None:
        """The status named by ``text`` (any case), or None."""
        try:
            return cls(str(text).strip().upper())
        except ValueError:
            return None


#: a trial in one of these is done: a resume does not run it again
FINISHED = frozenset({Status.TERMINATED, Status.ERROR, Status.DIVERGED})
