"""`pipetune report`: a summary table, the report's path, one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_report_support import TRIALS, write_interrupted

from pipetune.cli.main import main


def test_report_command_prints_summary_and_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = write_interrupted(tmp_path / "exp")
    assert main(["report", str(folder)]) == 0
    out = capsys.readouterr().out
    assert f"report: {folder / 'report.html'}" in out
    assert "best val_loss (min) first" in out
    assert out.index("a1b2c_00000") < out.index("a1b2c_00001")  # best first, error last
    for trial_id in TRIALS:
        assert trial_id in out
    assert (folder / "report.html").is_file() and (folder / "report-curves.png").is_file()


def test_format_md_only(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = write_interrupted(tmp_path / "exp")
    assert main(["report", str(folder), "--format", "md", "--mode", "min"]) == 0
    assert f"report: {folder / 'report.md'}" in capsys.readouterr().out
    assert not (folder / "report.html").exists()


def test_not_an_experiment_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert err.startswith("pipetune: error: ") and "not a folder" in err
