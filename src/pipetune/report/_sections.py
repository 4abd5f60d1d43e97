"""The report's sections, in page order: the one table report.html, the PNGs and report.md iterate.

Each :class:`Section` has a stable id (the HTML anchor, the ``fig-ID`` div, ``report-ID.png``),
a title, the data it shows (a function of the loaded :class:`ExperimentData`, computed once per
report and shared by its renderers) and its renderers: ``html`` (the body of its
``<section>``), ``png`` (a static figure, or None when there is nothing to draw) and ``md``
(its body in report.md). A section lacking a renderer is left out of that output.

A new figure touches three files: this one (its entry, and its data function unless one in
``_series.py`` serves), ``_plotly.py`` (the interactive figure, wrapped by ``_html.figure``)
and ``_static.py`` (the PNG); ``_markdown.image`` shows the PNG in report.md. The pages
themselves (``_html.render_html``, ``_static.render_pngs``, ``_markdown.render_markdown``)
and ``_write.py`` only iterate the table. ``register_section`` adds an entry from outside.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pipetune.report import _html, _markdown, _plotly, _static
from pipetune.report._importance import importance
from pipetune.report._model import ExperimentData, Trial, trial_table
from pipetune.report._parallel import parallel
from pipetune.report._pareto import pareto_front
from pipetune.report._series import curves, progress, timeline

T = TypeVar("T")

_ID = re.compile(r"[a-z][a-z0-9-]*")


@dataclass(frozen=True)
class Section(Generic[T]):
    id: str
    title: str
    data: Callable[[ExperimentData], T]
    html: Callable[[View[T]], str] | None = None
    png: Callable[[ExperimentData, T], bytes | None] | None = None
    md: Callable[[View[T]], str] | None = None
    #: shown on the live page of a running experiment; False for a section whose data
    #: costs more than the rest of the page (importance fits a forest): the live page says
    #: it comes at the end instead
    live: bool = True
    #: whether the section belongs in this experiment's report (e.g. only with several
    #: objectives); None: always
    applies: Callable[[ExperimentData], bool] | None = None


@dataclass(frozen=True)
class View(Generic[T]):
    """A section filled with one experiment's data; ``png`` names its PNG beside report.md."""

    section: Section[T]
    experiment: ExperimentData
    data: T
    png: str | None = None

    @property
    def id(self) -> str:
        return self.section.id

    @property
    def title(self) -> str:
        return self.section.title


def _best_trial(experiment: ExperimentData) -> Trial | None:
    return experiment.best_trial


SECTIONS: list[Section[Any]] = [
    Section("best", "Best trial", _best_trial, html=_html.best, md=_markdown.best),
    Section("trials", "All trials", trial_table, html=_html.trials, md=_markdown.trials),
    Section(
        "pareto",
        "Pareto front",
        pareto_front,
        html=_html.figure(_plotly.pareto_figure, "No trial has a value of every objective yet."),
        md=_markdown.pareto,
        applies=lambda experiment: len(experiment.objectives) > 1,
    ),
    Section(
        "curves",
        "Learning curves",
        curves,
        html=_html.figure(
            _plotly.curves_figure, lambda v: f"No trial has reported {v.experiment.metric} yet."
        ),
        png=_static.curves_png,
        md=_markdown.image("no learning curves yet"),
    ),
    Section(
        "parallel",
        "Hyperparameters vs metric",
        parallel,
        html=_html.figure(
            _plotly.parallel_figure, lambda v: "; ".join(v.data.notes) or "Nothing to show."
        ),
        png=_static.parallel_png,
        md=_markdown.image("nothing to compare yet"),
    ),
    Section(
        "importance",
        "Hyperparameter importance",
        importance,
        html=_html.importance,
        png=_static.importance_png,
        md=_markdown.importance,
        live=False,
    ),
    Section(
        "progress",
        "Best metric over wall time",
        progress,
        html=_html.progress,
        png=_static.progress_png,
        md=_markdown.image("no timed results yet"),
    ),
    Section(
        "resources",
        "Trials over time per node",
        timeline,
        html=_html.figure(_plotly.timeline_figure, "No timed results yet."),
        png=_static.timeline_png,
        md=_markdown.image("no timed results yet"),
    ),
]
SECTION_IDS = tuple(s.id for s in SECTIONS if s.applies is None)
"""The ids of the built-in sections every report has, in page order (``pareto`` comes only
with several objectives)."""


def register_section(section: Section[Any], *, before: str | None = None) -> Section[Any]:
    """Add ``section`` to every report, last or before the section ``before``."""
    ids = [s.id for s in SECTIONS]
    if not _ID.fullmatch(section.id):
        raise ValueError(f"a section id is lower-case letters, digits and '-': {section.id!r}")
    if section.id in ids:
        raise ValueError(f"the report has a section {section.id!r} already")
    if before is not None and before not in ids:
        raise ValueError(f"no report section {before!r}; the sections are {', '.join(ids)}")
    SECTIONS.insert(ids.index(before) if before is not None else len(SECTIONS), section)
    return section


def _at_the_end(view: View[Any]) -> str:
    return '<p class="note">Computed when the experiment ends.</p>'


def fill(experiment: ExperimentData, live: bool = False) -> list[View[Any]]:
    """Every section with its data for ``experiment``, in page order (``live``: for the page
    of a running experiment, where a section that is not ``live`` only says when it comes);
    a section that does not apply to it (``applies``) is left out."""
    return [
        View(s, experiment, s.data(experiment))
        if s.live or not live
        else View(dataclasses.replace(s, html=_at_the_end), experiment, None)
        for s in SECTIONS
        if s.applies is None or s.applies(experiment)
    ]
