"""PNG figures and report.md beside report.html."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_report_support import TRIALS, write_interrupted

from pipetune.errors import ConfigError
from pipetune.report import load_experiment, write_files, write_report

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_pngs_are_valid_images(tmp_path: Path) -> None:
    folder = write_interrupted(tmp_path / "exp")
    files = write_files(load_experiment(folder), ["png"])
    assert files.html is None and files.markdown is None
    names = sorted(p.name for p in files.pngs)
    assert names == sorted(
        f"report-{k}.png" for k in ("curves", "parallel", "importance", "progress", "resources")
    )
    for path in files.pngs:
        data = path.read_bytes()
        assert data.startswith(PNG_MAGIC), path
        assert len(data) > 5_000
    assert not list(folder.glob(".*.tmp"))


def test_markdown_has_every_trial_and_its_figures(tmp_path: Path) -> None:
    folder = write_interrupted(tmp_path / "exp")
    path = write_report(folder, ["md"])
    assert path == folder / "report.md"
    text = path.read_text()
    assert text.startswith("# pipetune report: exp")
    for trial_id in TRIALS:
        assert f"| {trial_id} |" in text
    for title in ("Best trial", "All trials", "Learning curves", "Trials over time per node"):
        assert f"## {title}" in text
    assert "![Learning curves](report-curves.png)" in text
    assert (folder / "report-curves.png").is_file()  # md brings its PNGs
    assert "&lt;b&gt;adam&amp;w&lt;/b&gt;" in text
    assert not (folder / "report.html").exists()


def test_unknown_format(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown report format"):
        write_report(write_interrupted(tmp_path / "exp"), ["pdf"])
