"""Write the report's files into the experiment folder, each atomically (temp + rename)."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from pipetune._io import atomic_write_bytes, atomic_write_text
from pipetune.errors import ConfigError
from pipetune.experiment import REPORT_FILE
from pipetune.report._html import render_html
from pipetune.report._links import Link
from pipetune.report._live import LiveBanner, LiveReport, PageProcess
from pipetune.report._load import load_experiment
from pipetune.report._markdown import render_markdown
from pipetune.report._model import ExperimentData
from pipetune.report._sections import fill
from pipetune.report._static import render_pngs

FORMATS = ("html", "png", "md")
HTML_FILE = REPORT_FILE
MARKDOWN_FILE = "report.md"


def png_name(section: str) -> str:
    return f"report-{section}.png"


@dataclass
class ReportFiles:
    html: Path | None = None
    markdown: Path | None = None
    pngs: list[Path] = field(default_factory=list)

    @property
    def main(self) -> Path:
        """report.html, else report.md, else the first PNG."""
        found = self.html or self.markdown or (self.pngs[0] if self.pngs else None)
        if found is None:
            raise ConfigError("no report file was written")
        return found


def _check(formats: Iterable[str]) -> set[str]:
    chosen = {str(f).lower() for f in formats}
    unknown = sorted(chosen - set(FORMATS))
    if unknown or not chosen:
        raise ConfigError(
            f"unknown report format(s): {', '.join(unknown) or '(none given)'}",
            hint=f"choose from {', '.join(FORMATS)}",
        )
    return chosen


def render_page(
    experiment: ExperimentData, extra: list[Link] | None = None, live: LiveBanner | None = None
) -> str:
    """report.html's text (``live``: the page of a running experiment)."""
    views = fill(experiment, live=live is not None)
    return render_html(experiment, views, _plotly_js(), extra or [], live)


@functools.cache
def _plotly_js() -> str:  # 4 MB read once per process, not once per live render
    import plotly.offline

    return str(plotly.offline.get_plotlyjs())


def write_files(experiment: ExperimentData, formats: Iterable[str] = ("html",)) -> ReportFiles:
    """Write the chosen formats: 'html' (report.html), 'png' (figures), 'md' (report.md + PNGs)."""
    chosen = _check(formats)
    if "md" in chosen:
        chosen.add("png")
    folder = experiment.folder
    views = fill(experiment)
    files = ReportFiles()
    names: dict[str, str] = {}
    if "png" in chosen:
        for section, data in render_pngs(views).items():
            names[section] = png_name(section)
            files.pngs.append(atomic_write_bytes(folder / names[section], data))
    if "md" in chosen:
        shown = [dataclasses.replace(v, png=names.get(v.id)) for v in views]
        text = render_markdown(experiment, shown, [])
        files.markdown = atomic_write_text(folder / MARKDOWN_FILE, text)
    if "html" in chosen:
        extra = [Link("report.md", MARKDOWN_FILE)] if files.markdown else []
        extra += [Link(f"{s}.png", n) for s, n in names.items()]
        page = render_html(experiment, views, _plotly_js(), extra)
        files.html = atomic_write_text(folder / HTML_FILE, page)
    return files


def write_report(
    folder: str | Path,
    formats: Iterable[str] = ("html",),
    *,
    metric: str | None = None,
    mode: str | None = None,
) -> Path:
    """Read the experiment in ``folder``, write its report there; return report.html's path
    (report.md's, when only 'md'/'png' were asked)."""
    return write_files(load_experiment(folder, metric, mode), formats).main


def render_live_page(folder: str | Path, banner: LiveBanner) -> str:
    """The page of a running experiment: the folder as it is now, each trial's status as
    the driver knows it (Tune's snapshot in the folder lags), and the banner on top."""
    experiment = load_experiment(folder, running=True)
    for trial in experiment.trials:
        trial.status = banner.statuses.get(trial.trial_id, trial.status)
    return render_page(experiment, live=banner)


def live_report(folder: str | Path, every_s: float) -> LiveReport:
    """A :class:`LiveReport` that rewrites ``folder``'s report.html while it runs, each page
    rendered in a child process (:class:`PageProcess`)."""
    return LiveReport(Path(folder), every_s, PageProcess(folder))
