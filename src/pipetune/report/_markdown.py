"""report.md: the same sections as report.html, with the PNG figures as images.

``render_markdown`` lays out the sections of the table in ``_sections.py``; the renderers
here are the bodies it names (``image`` shows any section's PNG).
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from pipetune.report._importance import Importance
from pipetune.report._links import Link, folder_links, reproduce_command
from pipetune.report._model import ExperimentData, Trial, TrialTable, format_value
from pipetune.report._pareto import Front

if TYPE_CHECKING:
    from pipetune.report._sections import View

_SPECIAL = str.maketrans({c: f"\\{c}" for c in "\\`*[]|"})


def _md(value: Any) -> str:
    """Text safe in a Markdown paragraph or table cell."""
    return html.escape(format_value(value)).translate(_SPECIAL).replace("\n", " ")


def _table(headers: list[str], rows: list[list[Any]]) -> str:
    lines = [
        "| " + " | ".join(_md(h) for h in headers) + " |",
        "|" + "---|" * len(headers),
    ]
    lines += ["| " + " | ".join(_md(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def best(view: View[Trial | None]) -> str:
    experiment, best = view.experiment, view.data
    if best is None:
        return f"No trial has reported {_md(experiment.metric)} yet."
    return (
        f"Trial {_md(best.trial_id)} ({_md(best.status.lower())}): best "
        f"{_md(experiment.metric)} = **{_md(best.best)}**, final {_md(best.final)} "
        f"after {best.iterations} iteration(s).\n\n"
        + _table(
            ["hyperparameter", "value"], [[k, v] for k, v in experiment.named(best.config).items()]
        )
        + f"\n\nReproduce it:\n\n```bash\n{reproduce_command(experiment, best)}\n```"
    )


def pareto(view: View[Front]) -> str:
    """The trials of the Pareto front, their objectives, and where their configs are."""
    front = view.data.front
    if not front:
        return "No trial has a value of every objective yet."
    rows = [[p.trial_id, *p.values, f"pareto/{p.trial_id}.yaml"] for p in front]
    return f"{len(front)} Pareto-optimal trial(s):\n\n" + _table(
        ["trial", *view.data.names, "config"], rows
    )


def trials(view: View[TrialTable]) -> str:
    if not view.experiment.trials:
        return "No trial has started yet."
    return _table(view.data.headers, [values for _, values in view.data.rows])


def _image(view: View[Any], empty: str) -> str:
    if view.png is None:
        return f"_{_md(empty)}_"
    return f"![{_md(view.title)}]({quote(view.png)})"


def image(empty: str) -> Callable[[View[Any]], str]:
    """A section body of its PNG, or the note ``empty`` (in italics) when none was drawn."""
    return lambda view: _image(view, empty)


def importance(view: View[Importance]) -> str:
    result = view.data
    parts = [f"> {_md(note)}" for note in result.notes]
    if result.values:
        parts.append(
            _table(
                ["hyperparameter", "importance"],
                [[k, f"{v:.3f}"] for k, v in result.values.items()],
            )
        )
        parts.append(_image(view, ""))
    return "\n\n".join(parts)


def render_markdown(experiment: ExperimentData, views: list[View[Any]], extra: list[Link]) -> str:
    """The sections' bodies, each view naming the PNG written for it beside report.md."""
    counts = experiment.status_summary()
    links = " · ".join(
        f"[{_md(link.title)}]({quote(link.href)})" for link in folder_links(experiment) + extra
    )
    head = [
        f"# pipetune report: {_md(experiment.name)}",
        f"{_md(experiment.folder)} · tuned {_md(experiment.metric)} ({experiment.mode}) · "
        f"{len(experiment.trials)} trial(s){': ' + counts if counts else ''}",
        *(f"> {_md(note)}" for note in experiment.notes),
        links,
    ]
    sections = [f"## {_md(v.title)}\n\n{v.section.md(v)}" for v in views if v.section.md]
    return "\n\n".join(part for part in [*head, *sections] if part) + "\n"
