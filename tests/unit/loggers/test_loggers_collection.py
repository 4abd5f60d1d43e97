"""LoggersCollection fans out to each member."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest

from pipetune.errors import PipetuneError
from pipetune.loggers import ConsoleLogger, CSVLogger, Logger, LoggersCollection


class _FailingLogger(Logger):
    def __init__(self, fail_on: str) -> None:
        super().__init__()
        self.fail_on = fail_on

    def _open(self) -> None:
        if self.fail_on == "open":
            raise OSError("cannot open")

    def _close(self) -> None:
        if self.fail_on == "close":
            raise OSError("cannot close")

    def _log(self, *args: Any, **kwargs: Any) -> None:
        pass


def test_fans_out_to_every_logger(tmp_path: Path) -> None:
    out = io.StringIO()
    console = ConsoleLogger(file=out)
    csv_logger = CSVLogger(savedir=tmp_path)
    with LoggersCollection([console, csv_logger]) as loggers:
        assert console.writes and csv_logger.writes
        loggers.save_hyperparameters({"lr": 0.1})
        for epoch in range(2):
            loggers.log(0.25 * (epoch + 1), "loss", step=epoch)
            loggers.log("note", "memo", kind="text", step=epoch)  # console ignores text
    assert not console.is_open and not csv_logger.is_open
    assert out.getvalue().splitlines() == ["epoch 0  loss 0.2500", "epoch 1  loss 0.5000"]
    with (tmp_path / "metrics.csv").open(newline="") as handle:
        rows = [(r["step"], r["name"], r["value"]) for r in csv.DictReader(handle)]
    assert rows == [
        ("0", "loss", "0.25"),
        ("0", "memo", "note"),
        ("1", "loss", "0.5"),
        ("1", "memo", "note"),
    ]
    assert json.loads((tmp_path / "hparams.json").read_text()) == {"lr": 0.1}


def test_kind_check_and_rank_are_forwarded(tmp_path: Path) -> None:
    csv_logger = CSVLogger(savedir=tmp_path / "csv")
    loggers = LoggersCollection([csv_logger])
    with pytest.raises(PipetuneError, match="create_logger_context"):
        loggers.log(1.0, "loss")
    loggers.create_logger_context(rank=1)
    assert csv_logger.rank == 1
    with pytest.raises(ValueError, match="valid kinds: metric"):
        loggers.log(1.0, "loss", kind="scalar")
    loggers.log(1.0, "loss", step=0)
    loggers.destroy_logger_context()
    assert not (tmp_path / "csv").exists()


def test_failed_open_closes_members_already_opened(tmp_path: Path) -> None:
    csv_logger = CSVLogger(savedir=tmp_path)
    loggers = LoggersCollection([csv_logger, _FailingLogger("open")])
    with pytest.raises(OSError, match="cannot open"):
        loggers.create_logger_context()
    assert not csv_logger.is_open and not loggers.is_open


def test_failed_close_still_closes_the_others(tmp_path: Path) -> None:
    csv_logger = CSVLogger(savedir=tmp_path)
    loggers = LoggersCollection([_FailingLogger("close"), csv_logger])
    loggers.create_logger_context()
    with pytest.raises(OSError, match="cannot close"):
        loggers.destroy_logger_context()
    assert not csv_logger.is_open and not loggers.is_open


def test_rejects_non_loggers() -> None:
    with pytest.raises(TypeError, match="Logger instances"):
        LoggersCollection([object()])  # type: ignore[list-item]
