"""The driver's progress lines for trials Tune retries (``max_failures``)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from pipetune.tune._callbacks import ProgressPrinter


def failed_trial(error_file: Path | None, checkpoint_iteration: int | None) -> SimpleNamespace:
    checkpoint = (
        None
        if checkpoint_iteration is None
        else SimpleNamespace(metrics={"training_iteration": checkpoint_iteration})
    )
    return SimpleNamespace(
        trial_id="abc_00001",
        latest_checkpoint_result=checkpoint,
        max_failures=2,
        num_failures=1,
        error_file=None if error_file is None else str(error_file),
    )


def test_a_retry_names_the_error_and_the_checkpoint(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    error_file = tmp_path / "error.txt"
    error_file.write_text(
        "Failure # 1 (occurred at 2026-11-27_23-59-50)\n"
        "Traceback (most recent call last):\n  ...\n"
        "ray.exceptions.ActorUnavailableError: The actor abc is unavailable\n\n"
    )
    ProgressPrinter("val_loss", 4).on_trial_recover(3, [], failed_trial(error_file, 2))
    assert capsys.readouterr().err == (
        "trial abc_00001 failed (ray.exceptions.ActorUnavailableError: The actor abc is "
        "unavailable); retry 1 of 2 from its checkpoint at iteration 2\n"
    )


def test_a_retry_without_checkpoint_or_error_file_starts_over(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    printer = ProgressPrinter("val_loss", 4)
    printer.on_trial_recover(3, [], failed_trial(tmp_path / "missing.txt", None))
    printer.on_trial_recover(3, [], failed_trial(None, None))
    lines = capsys.readouterr().err.splitlines()
    assert lines == ["trial abc_00001 failed (no error message); retry 1 of 2 from the start"] * 2
    assert printer.finished == 0  # a retry is not a finished trial
