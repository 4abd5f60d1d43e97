"""The table of sections drives all three outputs: a section registered from outside shows in
report.html (section, title, table of contents), as report-ID.png and in report.md, in its
place, with no other module touched. A built-in figure is the same: its entry in
``_sections.py`` plus its figures in ``_plotly.py`` and ``_static.py``."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from test_report_support import write_interrupted

from pipetune.report import (
    SECTION_IDS,
    ExperimentData,
    _markdown,
    _sections,
    load_experiment,
    write_files,
)
from pipetune.report._sections import Section, View, register_section

FAKE_PNG = b"\x89PNG\r\n\x1a\nper-status:"


@pytest.fixture(autouse=True)
def table(monkeypatch: pytest.MonkeyPatch) -> None:
    """Registrations here land in a copy of the table, dropped after each test."""
    monkeypatch.setattr(_sections, "SECTIONS", list(_sections.SECTIONS))


def _per_status(experiment: ExperimentData) -> dict[str, int]:
    return experiment.status_counts()


def _html(view: View[dict[str, int]]) -> str:
    return f'<p id="per-status-body">{html.escape(repr(sorted(view.data.items())))}</p>'


def _png(experiment: ExperimentData, data: dict[str, int]) -> bytes:
    return FAKE_PNG + repr(sorted(data.items())).encode()


def _report(folder: Path) -> tuple[str, str, list[str]]:
    files = write_files(load_experiment(folder), ["html", "md", "png"])
    assert files.html is not None and files.markdown is not None
    page, text = files.html.read_text(), files.markdown.read_text()
    return page, text, [p.name for p in files.pngs]


def test_a_registered_section_is_in_all_three_outputs(tmp_path: Path) -> None:
    folder = write_interrupted(tmp_path / "exp")
    register_section(
        Section(
            "per-status",
            "Trials <per> status & more",
            _per_status,
            html=_html,
            png=_png,
            md=_markdown.image("no trials yet"),
        ),
        before="resources",
    )
    page, text, pngs = _report(folder)
    order = [*SECTION_IDS[:-1], "per-status", SECTION_IDS[-1]]
    title = "Trials &lt;per&gt; status &amp; more"

    assert re.findall(r'<section id="([^"]+)">', page) == order
    assert f'<section id="per-status">\n<h2>{title}</h2>\n<p id="per-status-body">' in page
    assert f'<a href="#per-status">{title}</a>' in page  # table of contents
    assert "ERROR" in page[page.index('id="per-status-body"') :]
    assert '<a href="report-per-status.png">per-status.png</a>' in page

    assert pngs == [f"report-{key}.png" for key in order[2:]]
    written = (folder / "report-per-status.png").read_bytes()
    assert written.startswith(FAKE_PNG) and b"'TERMINATED', 2" in written

    titles = [s for s in _sections.SECTIONS if s.applies is None]  # one objective: no pareto
    assert re.findall(r"^## (.*)$", text, flags=re.M) == [_markdown._md(s.title) for s in titles]
    assert f"## {title}\n\n![{title}](report-per-status.png)\n\n## Trials over time" in text


def test_a_section_shows_only_in_the_outputs_it_has_renderers_for(tmp_path: Path) -> None:
    folder = write_interrupted(tmp_path / "exp")
    register_section(Section("md-only", "Only in markdown", _per_status, md=lambda v: "md body"))
    register_section(
        Section(
            "no-figure", "No figure", _per_status, png=lambda e, d: None, md=_markdown.image("none")
        )
    )
    page, text, pngs = _report(folder)
    assert "md-only" not in page and "Only in markdown" not in page
    assert "no-figure" not in page and "report-no-figure.png" not in pngs
    assert text.endswith("## Only in markdown\n\nmd body\n\n## No figure\n\n_none_\n")


def test_registration_is_checked() -> None:
    with pytest.raises(ValueError, match="already"):
        register_section(Section("curves", "Again", _per_status))
    with pytest.raises(ValueError, match="lower-case"):
        register_section(Section("Not An Id", "Bad", _per_status))
    with pytest.raises(ValueError, match="no report section 'nowhere'"):
        register_section(Section("fine", "Fine", _per_status), before="nowhere")
    assert tuple(s.id for s in _sections.SECTIONS if s.applies is None) == SECTION_IDS
