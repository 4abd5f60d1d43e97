"""report.html from a hand-made interrupted experiment: sections, data, escaping, no network."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from test_report_support import EVIL, EVIL_ERROR, RUNNING, TRIALS, write_interrupted

from pipetune.report import SECTION_IDS, load_experiment, write_files, write_report


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> str:
    folder = write_interrupted(tmp_path_factory.mktemp("report") / "exp", trackers=True)
    path = write_report(folder)
    assert path == folder / "report.html"
    assert not list(folder.glob(".report.html.*"))  # the temp file was renamed away
    return path.read_text(encoding="utf-8")


def test_every_section_is_there(page: str) -> None:
    for key in SECTION_IDS:
        assert f'<section id="{key}">' in page
    for key in ("curves", "parallel", "importance", "progress", "resources"):
        assert f'id="fig-{key}"' in page, key
    assert "Plotly.newPlot" in page
    assert '"type":"parcoords"' in page


def test_every_trial_and_its_values_are_in_the_table(page: str) -> None:
    table = page[
        page.index('<table class="sortable"') : page.index(
            "</table>", page.index('<table class="sortable"')
        )
    ]
    for trial_id, (_, _, config, _) in TRIALS.items():
        assert f'id="trial-{trial_id}"' in table
        for value in config.values():
            shown = f"{value:.4g}" if isinstance(value, float) else str(value)
            assert f">{html.escape(shown)}<" in table, (trial_id, value)
    for status in ("TERMINATED", "ERROR", "RUNNING"):
        assert f">{status}<" in table
    assert table.count("<tr") == 1 + len(TRIALS)


def test_best_trial_and_command(page: str) -> None:
    best = page[page.index('<section id="best">') : page.index('<section id="trials">')]
    assert "a1b2c_00000" in best
    assert "0.55" in best
    command = re.search(r'<code id="reproduce">(.*?)</code>', best)
    assert command is not None
    text = html.unescape(command.group(1))
    assert text.startswith("pipetune run ") and "pipetune_config.yaml" in text
    assert "-o lr=0.0001" in text and "-o batch_size=32" in text and "-o optimizer=adam" in text


def test_user_strings_are_escaped(page: str) -> None:
    assert EVIL not in page and "<script>alert(1)" not in page
    assert html.escape(EVIL) in page
    assert html.escape(EVIL_ERROR) in page


def test_self_contained_and_offline(page: str) -> None:
    import plotly.offline

    plotly_js = plotly.offline.get_plotlyjs()
    assert plotly_js in page  # inline, once
    rest = page.replace(plotly_js, "")
    assert not re.search(r"<script[^>]+src=", rest)
    assert not re.search(r"(src|href)=\"(https?:)?//", rest)
    assert "cdn.plot.ly" not in rest and "mathjax" not in rest.lower()


def test_notes_and_links(page: str) -> None:
    assert "missing from results.csv" in page and RUNNING in page
    assert "unreadable line(s) of history.jsonl" in page
    assert "fANOVA needs about 10" in page
    assert '<a href="mlruns/">' in page and '<a href="tensorboard/">' in page
    assert '<a href="results.csv">' in page
    assert "table.sortable" in page and "aria-sort" in page


def test_best_config_command_when_the_experiment_finished(tmp_path: Path) -> None:
    folder = write_interrupted(tmp_path / "exp")
    (folder / "best_config.yaml").write_text("lr: 0.0001\n")
    page = write_report(folder).read_text()
    assert f"pipetune run {folder / 'best_config.yaml'}" in page
    assert "<summary>best_config.yaml</summary>" in page


def test_empty_experiment_still_gets_a_page(tmp_path: Path) -> None:
    folder = tmp_path / "exp"
    folder.mkdir()
    (folder / "pipetune_config.yaml").write_text("tune: {metric: val_accuracy, mode: max}\n")
    files = write_files(load_experiment(folder), ["html", "md", "png"])
    assert files.pngs == []
    page = (folder / "report.html").read_text()
    for key in SECTION_IDS:
        assert f'<section id="{key}">' in page
    assert "No trial has reported val_accuracy yet" in page
    assert files.markdown is not None and "No trial has started yet" in files.markdown.read_text()
