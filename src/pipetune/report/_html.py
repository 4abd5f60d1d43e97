"""report.html: one self-contained page (plotly.js inline, no network), every string escaped.

``render_html`` lays out the sections of the table in ``_sections.py``; the renderers here
are the bodies it names (``figure`` wraps any of ``_plotly.py``'s figures).
"""

from __future__ import annotations

import html
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote

from pipetune.report import _plotly
from pipetune.report._assets import CSS, SORT_JS
from pipetune.report._files import BEST_CONFIG_FILE, read_text
from pipetune.report._importance import Importance
from pipetune.report._links import Link, folder_links, reproduce_command
from pipetune.report._live import LiveBanner, banner_html
from pipetune.report._model import ExperimentData, Trial, TrialTable, finite, format_value
from pipetune.report._series import Progress

if TYPE_CHECKING:
    from pipetune.report._sections import View

T = TypeVar("T")


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _notes(notes: list[str]) -> str:
    if not notes:
        return ""
    return '<ul class="notes">' + "".join(f"<li>{_e(n)}</li>" for n in notes) + "</ul>"


def _section(view: View[Any], body: str) -> str:
    return section(view.id, view.title, body)


def _figure(figure: Any, key: str, empty: str) -> str:
    if figure is None:
        return f'<p class="note">{_e(empty)}</p>'
    return _plotly.fragment(figure, f"fig-{key}")


def figure(
    make: Callable[[ExperimentData, T], Any], empty: str | Callable[[View[T]], str]
) -> Callable[[View[T]], str]:
    """A section body of one plotly figure (``make``), or the note ``empty`` without one."""

    def body(view: View[T]) -> str:
        note = empty if isinstance(empty, str) else empty(view)
        return _figure(make(view.experiment, view.data), view.id, note)

    return body


def _header(experiment: ExperimentData, links: list[Link], views: list[View[Any]]) -> str:
    counts = experiment.status_summary()
    link_html = " ".join(f'<a href="{_e(quote(link.href))}">{_e(link.title)}</a>' for link in links)
    commands = "".join(
        f"<li>{_e(link.title)}: <code>{_e(link.command)}</code></li>"
        for link in links
        if link.command
    )
    toc = " ".join(f'<a href="#{v.id}">{_e(v.title)}</a>' for v in views)
    return f"""<header id="summary">
<h1>pipetune report: {_e(experiment.name)}</h1>
<p class="meta">{_e(experiment.folder)}<br>
tuned <code>{_e(experiment.metric)}</code> ({_e(experiment.mode)}) ·
{len(experiment.trials)} trial(s){": " + _e(counts) if counts else ""} ·
generated {_e(time.strftime("%Y-%m-%d %H:%M:%S"))}</p>
{_notes(experiment.notes)}
<nav id="links">{link_html}</nav>
{f"<ul class='hint'>{commands}</ul>" if commands else ""}
<nav id="toc">{toc}</nav>
</header>"""


def _kv_table(config: dict[str, Any], names: dict[str, str]) -> str:
    """Hyperparameters under their short names; the full key shows on hover."""
    rows = "".join(
        f'<tr><th title="{_e(k)}">{_e(names.get(k, k))}</th><td>{_e(format_value(v))}</td></tr>'
        for k, v in config.items()
    )
    return f'<table class="kv">{rows}</table>' if rows else "<p>(no hyperparameters)</p>"


def best(view: View[Trial | None]) -> str:
    experiment, best = view.experiment, view.data
    if best is None:
        return f'<p class="note">No trial has reported {_e(experiment.metric)} yet.</p>'
    saved = read_text(experiment.folder / BEST_CONFIG_FILE)
    details = (
        f"<details><summary>{BEST_CONFIG_FILE}</summary><pre>{_e(saved)}</pre></details>"
        if saved is not None
        else f'<p class="hint">{BEST_CONFIG_FILE} is written when the experiment ends; '
        "the command runs the saved config with this trial's values.</p>"
    )
    return f"""<p>Trial <code>{_e(best.trial_id)}</code> ({_e(best.status.lower())}):
best <code>{_e(experiment.metric)}</code> = <strong>{_e(format_value(best.best))}</strong>,
final {_e(format_value(best.final))} after {best.iterations} iteration(s).</p>
{_kv_table(best.config, experiment.names)}
<p>Reproduce it:</p>
<pre><code id="reproduce">{_e(reproduce_command(experiment, best))}</code></pre>
{details}"""


def _cell(value: Any, css: str = "") -> str:
    number = finite(value)
    sort = repr(number) if number is not None else ("" if value is None else str(value))
    klass = f' class="{css}"' if css else (' class="num"' if number is not None else "")
    return f'<td{klass} data-sort="{_e(sort)}">{_e(format_value(value))}</td>'


def trials(view: View[TrialTable]) -> str:
    if not view.experiment.trials:
        return '<p class="note">No trial has started yet.</p>'
    keys = view.data.keys
    head = "".join(
        f'<th title="{_e(keys[h])}">{_e(h)}</th>' if h in keys else f"<th>{_e(h)}</th>"
        for h in view.data.headers
    )
    best = view.experiment.best_trial
    rows = []
    for trial, (rank, _, status, *values, error) in view.data.rows:
        cells = [
            _cell(rank),
            f'<td data-sort="{_e(trial.trial_id)}"><code>{_e(trial.trial_id)}</code></td>',
            _cell(status, f"status-{_e(status)}"),
            *(_cell(v) for v in values),
            _cell(error, "error"),
        ]
        klass = ' class="best"' if trial is best else ""
        rows.append(f'<tr{klass} id="trial-{_e(trial.trial_id)}">{"".join(cells)}</tr>')
    return (
        '<p class="hint">Click a column header to sort; best first to begin with.</p>'
        f'<div class="table-wrap"><table class="sortable" id="trials-table">'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
    )


def importance(view: View[Importance]) -> str:
    experiment, result = view.experiment, view.data
    shown = _figure(_plotly.importance_figure(experiment, result), view.id, "No importances.")
    rows = "".join(
        f'<tr><th>{_e(name)}</th><td class="num">{value:.3f}</td></tr>'
        for name, value in result.values.items()
    )
    table = f'<table class="kv" id="importance-table">{rows}</table>' if rows else ""
    intro = (
        "<p class=\"hint\">Optuna's fANOVA on the completed trials' best "
        f"<code>{_e(experiment.metric)}</code>: the share of its variance each "
        "hyperparameter explains.</p>"
    )
    return intro + _notes(result.notes) + (shown if result.values else "") + table


def progress(view: View[Progress]) -> str:
    start = view.data.start
    when = ""
    if start is not None:
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(start))
        when = f'<p class="hint">First trial started {_e(stamp)}.</p>'
    empty = "No timed results in history.jsonl yet."
    return when + _figure(_plotly.progress_figure(view.experiment, view.data), view.id, empty)


def section(section_id: str, title: str, body: str) -> str:
    """One ``<section>`` of a page: its anchor, its escaped title, its body."""
    return f'<section id="{section_id}">\n<h2>{_e(title)}</h2>\n{body}\n</section>'


def page(
    title: str, header: str, sections: str, plotly_js: str, banner: str = "", css: str = ""
) -> str:
    """A self-contained page: the style sheet (plus ``css``), ``plotly_js`` embedded once in the
    head, ``banner``, ``header`` and ``sections`` as given (already escaped)."""
    script = plotly_js.replace("</script", "<\\/script")
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(title)}</title>
<style>{CSS}{css}</style>
<script>{script}</script>
</head>
<body>
{banner}
{header}
<main>
{sections}
</main>
<script>{SORT_JS}</script>
</body>
</html>
"""


def render_html(
    experiment: ExperimentData,
    views: list[View[Any]],
    plotly_js: str,
    extra: list[Link],
    live: LiveBanner | None = None,
) -> str:
    """The whole page; ``plotly_js`` is plotly.js's source, embedded once in the head.
    With ``live`` (the experiment still runs) it has a banner and reloads itself."""
    views = [v for v in views if v.section.html]
    sections = "\n".join(_section(v, v.section.html(v)) for v in views if v.section.html)
    return page(
        f"pipetune report: {experiment.name}",
        _header(experiment, folder_links(experiment) + extra, views),
        sections,
        plotly_js,
        banner_html(live) if live is not None else "",
    )
