"""The Logger base: kind checks, context protocol, rank gating and log_freq."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
import torch

from pipetune.errors import ConfigError, PipetuneError
from pipetune.loggers import LOG_KINDS, ConsoleLogger, CSVLogger, Logger
from pipetune.loggers._base import flatten_params, to_scalar


class RecordingLogger(Logger):
    supported_kinds = frozenset({"metric", "text"})

    def __init__(self, log_freq: int | str = "epoch") -> None:
        super().__init__(log_freq=log_freq)
        self.calls: list[tuple[Any, str, str, int | None, int | None]] = []
        self.opened = 0
        self.closed = 0
        self.params: list[dict[str, Any]] = []

    def _open(self) -> None:
        self.opened += 1

    def _close(self) -> None:
        self.closed += 1

    def _save_hyperparameters(self, params: dict[str, Any]) -> None:
        self.params.append(params)

    def _log(
        self,
        item: Any,
        identifier: str,
        kind: str,
        step: int | None,
        batch_idx: int | None,
        **kwargs: Any,
    ) -> None:
        self.calls.append((item, identifier, kind, step, batch_idx))


def test_unknown_kind_raises_value_error_listing_valid_kinds() -> None:
    log = RecordingLogger()
    log.create_logger_context()
    with pytest.raises(ValueError, match="unknown log kind 'metrik'") as info:
        log.log(1.0, "loss", kind="metrik")
    for kind in LOG_KINDS:
        assert kind in str(info.value)


def test_unknown_kind_raises_even_on_other_ranks() -> None:
    log = RecordingLogger()
    log.create_logger_context(rank=3)
    with pytest.raises(ValueError, match="valid kinds"):
        log.log(1.0, "loss", kind="nope")


def test_unsupported_known_kind_is_skipped_with_debug_message(
    caplog: pytest.LogCaptureFixture,
) -> None:
    log = RecordingLogger()
    with caplog.at_level(logging.DEBUG, logger="pipetune.loggers"), log:
        log.log("x.png", "sample", kind="image", step=1)
    assert log.calls == []
    assert any("ignores kind 'image'" in record.getMessage() for record in caplog.records)


def test_log_outside_context_raises() -> None:
    log = RecordingLogger()
    with pytest.raises(PipetuneError, match="create_logger_context"):
        log.log(1.0, "loss", step=0)
    with pytest.raises(PipetuneError, match="create_logger_context"):
        log.save_hyperparameters({"lr": 0.1})


def test_other_ranks_are_no_ops() -> None:
    log = RecordingLogger()
    log.create_logger_context(rank=1)
    log.log(1.0, "loss", step=0)
    log.save_hyperparameters({"lr": 0.1})
    log.destroy_logger_context()
    assert (log.opened, log.closed, log.calls, log.params) == (0, 0, [], [])


def test_context_manager_and_idempotent_destroy() -> None:
    log = RecordingLogger()
    with log as same:
        assert same is log
        assert log.is_open and log.writes and log.rank == 0
        log.log(0.5, "loss", step=2)
    assert not log.is_open
    log.destroy_logger_context()
    log.destroy_logger_context()
    assert (log.opened, log.closed) == (1, 1)
    assert log.calls == [(0.5, "loss", "metric", 2, None)]


def test_create_twice_opens_once() -> None:
    log = RecordingLogger()
    log.create_logger_context()
    log.create_logger_context()
    assert log.opened == 1


@pytest.mark.parametrize(
    ("log_freq", "kept"),
    [("epoch", [None]), ("batch", [None, 0, 1, 2, 3, 4]), (2, [None, 0, 2, 4])],
)
def test_log_freq_filters_batch_level_calls(log_freq: int | str, kept: list[int | None]) -> None:
    log = RecordingLogger(log_freq=log_freq)
    with log:
        log.log(1.0, "loss", step=0)
        for batch_idx in range(5):
            log.log(1.0, "batch_loss", step=0, batch_idx=batch_idx)
    assert [call[4] for call in log.calls] == kept


@pytest.mark.parametrize("bad", [0, -1, "step", 1.5, True])
def test_bad_log_freq_is_a_config_error(bad: Any) -> None:
    with pytest.raises(ConfigError, match="log_freq"):
        RecordingLogger(log_freq=bad)


def test_to_scalar_and_flatten_params() -> None:
    assert to_scalar(torch.tensor(0.25), "x") == 0.25
    assert to_scalar(torch.tensor(3), "x") == 3
    assert isinstance(to_scalar(torch.tensor(3), "x"), int)
    assert to_scalar(True, "x") == 1
    with pytest.raises(TypeError, match="'x' must be a single number"):
        to_scalar(torch.ones(3), "x")
    with pytest.raises(TypeError, match="must be a single number"):
        to_scalar("abc", "x")
    assert flatten_params({"opt": {"lr": 0.1, "betas": [0.9]}, "bs": 8, "empty": {}}) == {
        "opt.lr": 0.1,
        "opt.betas": [0.9],
        "bs": 8,
        "empty": {},
    }


def test_rank_other_than_zero_writes_nothing_to_disk(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "rank1"
    for log in (CSVLogger(savedir=target), ConsoleLogger()):
        log.create_logger_context(rank=1)
        log.save_hyperparameters({"lr": 0.1})
        for epoch in range(3):
            log.log(0.5, "loss", step=epoch)
            log.log("hello", "note", kind="text", step=epoch)
        log.flush()
        log.destroy_logger_context()
    assert not target.exists()
    assert capsys.readouterr().out == ""


def test_the_exit_waits_for_a_context_another_thread_is_closing() -> None:
    import threading
    import time

    from pipetune.loggers import _exit

    log = RecordingLogger()
    opened, release = threading.Event(), threading.Event()

    def owner() -> None:
        with log:
            opened.set()
            release.wait()
            time.sleep(0.2)

    thread = threading.Thread(target=owner, daemon=True)
    thread.start()
    opened.wait()
    release.set()
    start = time.monotonic()
    assert _exit.wait_for_open_contexts(timeout=10) == []
    assert 0.15 < time.monotonic() - start < 5 and log.closed == 1


def test_the_exit_gives_up_after_its_bound_and_never_waits_for_itself(
    caplog: pytest.LogCaptureFixture,
) -> None:
    import threading
    import time

    from pipetune.loggers import _exit

    mine = RecordingLogger()
    mine.create_logger_context()  # opened by this thread: nobody else will close it
    stuck, opened, release = RecordingLogger(), threading.Event(), threading.Event()

    def owner() -> None:
        with stuck:
            opened.set()
            release.wait()

    thread = threading.Thread(target=owner, daemon=True)
    thread.start()
    opened.wait()
    try:
        start = time.monotonic()
        with caplog.at_level(logging.WARNING, logger="pipetune.loggers._exit"):
            assert _exit.wait_for_open_contexts(timeout=0.3) == [stuck]
        assert 0.25 < time.monotonic() - start < 5
        assert "RecordingLogger was still open" in caplog.text
    finally:
        release.set()
        thread.join()
        mine.destroy_logger_context()
    assert _exit.wait_for_open_contexts(timeout=0.1) == []
