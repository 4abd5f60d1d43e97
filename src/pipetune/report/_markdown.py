"""report.md: the same sections as report.html, with the PNG figures as images."""

from __future__ import annotations

import html
from typing import Any
from urllib.parse import quote

from pipetune.report._importance import Importance
from pipetune.report._links import Link, folder_links, reproduce_command
from pipetune.report._model import ExperimentData, format_value
from pipetune.report._sections import SECTION_IDS, SECTIONS

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


def _best(experiment: ExperimentData) -> str:
    best = experiment.best_trial
    if best is None:
        return f"No trial has reported {_md(experiment.metric)} yet."
    return (
        f"Trial {_md(best.trial_id)} ({_md(best.status.lower())}): best "
        f"{_md(experiment.metric)} = **{_md(best.best)}**, final {_md(best.final)} "
        f"after {best.iterations} iteration(s).\n\n"
        + _table(["hyperparameter", "value"], [[k, v] for k, v in best.config.items()])
        + f"\n\nReproduce it:\n\n```bash\n{reproduce_command(experiment, best)}\n```"
    )


def _trials(experiment: ExperimentData) -> str:
    if not experiment.trials:
        return "No trial has started yet."
    metric, params = experiment.metric, experiment.param_names
    headers = ["#", "trial", "status", metric, f"best {metric}", "iterations", "time (s)"]
    rows = [
        [
            rank if t.best is not None else None,
            t.trial_id,
            t.status,
            t.final,
            t.best,
            t.iterations,
            t.time_total_s,
            *(t.config.get(p) for p in params),
            t.error or None,
        ]
        for rank, t in enumerate(experiment.ranked(), start=1)
    ]
    return _table([*headers, *params, "error"], rows)


def _image(key: str, pngs: dict[str, str], empty: str) -> str:
    if key not in pngs:
        return f"_{_md(empty)}_"
    return f"![{SECTIONS[key]}]({quote(pngs[key])})"


def _importance(result: Importance, pngs: dict[str, str]) -> str:
    parts = [f"> {_md(note)}" for note in result.notes]
    if result.values:
        parts.append(
            _table(
                ["hyperparameter", "importance"],
                [[k, f"{v:.3f}"] for k, v in result.values.items()],
            )
        )
        parts.append(_image("importance", pngs, ""))
    return "\n\n".join(parts)


def render_markdown(
    experiment: ExperimentData, result: Importance, pngs: dict[str, str], extra: list[Link]
) -> str:
    """``pngs`` maps section ids to the PNG file names written beside report.md."""
    counts = ", ".join(f"{n} {s.lower()}" for s, n in sorted(experiment.status_counts().items()))
    links = " · ".join(
        f"[{_md(link.title)}]({quote(link.href)})" for link in folder_links(experiment) + extra
    )
    bodies = {
        "best": _best(experiment),
        "trials": _trials(experiment),
        "curves": _image("curves", pngs, "no learning curves yet"),
        "parallel": _image("parallel", pngs, "nothing to compare yet"),
        "importance": _importance(result, pngs),
        "progress": _image("progress", pngs, "no timed results yet"),
        "resources": _image("resources", pngs, "no timed results yet"),
    }
    head = [
        f"# pipetune report: {_md(experiment.name)}",
        f"{_md(experiment.folder)} · tuned {_md(experiment.metric)} ({experiment.mode}) · "
        f"{len(experiment.trials)} trial(s){': ' + counts if counts else ''}",
        *(f"> {_md(note)}" for note in experiment.notes),
        links,
    ]
    sections = [f"## {SECTIONS[key]}\n\n{bodies[key]}" for key in SECTION_IDS]
    return "\n\n".join(part for part in [*head, *sections] if part) + "\n"
