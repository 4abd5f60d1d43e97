"""ConsoleLogger: one plain-text line per epoch."""

from __future__ import annotations

import io
import re

import pytest
import torch

from pipetune.loggers import ConsoleLogger
from pipetune.loggers._console import format_value


def _log_epoch(log: ConsoleLogger, epoch: int) -> None:
    log.log(0.5 - 0.1 * epoch, "train_loss", step=epoch)
    log.log(torch.tensor(0.45 - 0.1 * epoch), "val_loss", step=epoch)
    log.log(0.8 + 0.01 * epoch, "val_accuracy", step=epoch)
    log.log(4.123, "epoch_time", step=epoch)
    log.log(12345.6, "samples/s", step=epoch)
    log.log(1.0, "batch_loss", step=epoch, batch_idx=7)  # dropped: log_freq="epoch"


def test_one_line_per_epoch_with_every_metric(capsys: pytest.CaptureFixture[str]) -> None:
    printed: list[str] = []
    with ConsoleLogger() as log:
        for epoch in range(3):
            _log_epoch(log, epoch)
            # A line appears once the next step starts: epoch N-1's line during epoch N.
            printed.append(capsys.readouterr().out)
    assert printed[0] == ""
    assert printed[1].startswith("epoch 0  ")
    assert printed[2].startswith("epoch 1  ")
    lines = "".join([*printed, capsys.readouterr().out]).splitlines()
    assert len(lines) == 3
    assert lines[1] == (
        "epoch 1  train_loss 0.4000  val_loss 0.3500  val_accuracy 0.8100"
        "  epoch_time 4.1s  samples/s 12,346"
    )
    for epoch, line in enumerate(lines):
        assert line.startswith(f"epoch {epoch}  ")
        for name in ("train_loss", "val_loss", "val_accuracy", "epoch_time", "samples/s"):
            assert f"  {name} " in line
        assert "batch_loss" not in line
        assert "\x1b[" not in line  # no ANSI codes when stdout is not a terminal


def test_flush_prints_pending_line_and_text_is_ignored() -> None:
    out = io.StringIO()
    log = ConsoleLogger(file=out, step_name="step")
    log.create_logger_context()
    log.log("some text", "note", kind="text", step=0)
    log.log(1, "count", step=0)
    assert out.getvalue() == ""
    log.flush()
    assert out.getvalue() == "step 0  count 1\n"
    log.flush()
    log.destroy_logger_context()
    assert out.getvalue() == "step 0  count 1\n"


def test_metric_names_with_brackets_are_not_markup() -> None:
    out = io.StringIO()
    with ConsoleLogger(file=out) as log:
        log.log(0.1, "loss[bold]", step=None)
    assert out.getvalue() == "loss[bold] 0.1000\n"


@pytest.mark.parametrize(
    ("name", "value", "text"),
    [
        ("val_loss", 0.39214, "0.3921"),
        ("epoch_time", 4.12, "4.1s"),
        ("samples/s", 12345.4, "12,345"),
        ("samples_per_s", 5561.3832, "5,561"),  # the trainer's own rate: no 4 decimals
        ("tiny", 1.5e-6, "1.500e-06"),
        ("steps", 60000, "60,000"),
        ("lr", float("nan"), "nan"),
    ],
)
def test_format_value(name: str, value: float, text: str) -> None:
    assert format_value(name, value) == text


def test_line_count_regex_on_long_run(capsys: pytest.CaptureFixture[str]) -> None:
    with ConsoleLogger() as log:
        for epoch in range(20):
            log.log(1.0 / (epoch + 1), "loss", step=epoch)
    out = capsys.readouterr().out
    assert re.findall(r"^epoch (\d+)  loss \S+$", out, flags=re.MULTILINE) == [
        str(epoch) for epoch in range(20)
    ]
