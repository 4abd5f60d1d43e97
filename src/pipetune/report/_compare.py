"""compare.html: several experiments side by side on one self-contained page.

Best-so-far over wall time and over the trial-seconds spent, the best configs next to each
other (values that differ highlighted) and each experiment's distribution of trial bests.
Every experiment must have tuned the same metric; the first one's mode ranks them all.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipetune._io import atomic_write_text
from pipetune.errors import ConfigError
from pipetune.experiment import display_names
from pipetune.report import _plotly
from pipetune.report._html import _e, _figure, page, section
from pipetune.report._load import load_experiment
from pipetune.report._model import ExperimentData, finite, format_value
from pipetune.report._series import progress
from pipetune.report._write import _plotly_js

COMPARE_FILE = "compare.html"
DIFFERS = "differs"  # the CSS class of a best-config cell whose value varies between experiments
_CSS = f"td.{DIFFERS} {{ background: #fff1c2; font-weight: 600; }}"


def load_experiments(
    folders: Sequence[str | Path], metric: str | None = None, mode: str | None = None
) -> list[ExperimentData]:
    """Each folder's experiment, all ranked by one metric and the first one's mode."""
    loaded = [load_experiment(folder, metric, mode) for folder in folders]
    first = loaded[0]
    for other in loaded[1:]:
        if other.metric != first.metric:
            raise ConfigError(
                f"'{first.folder}' tuned '{first.metric}' but '{other.folder}' tuned "
                f"'{other.metric}': the experiments share no metric",
                hint=f"pass --metric {first.metric} (or --metric {other.metric}) to compare by one",
            )
    return [
        e if e.mode == first.mode else load_experiment(e.folder, first.metric, first.mode)
        for e in loaded
    ]


def column_names(experiments: list[ExperimentData]) -> list[str]:
    """Each experiment's column title: its folder's name, the whole path where names repeat."""
    names = [e.name for e in experiments]
    return [str(e.folder) if names.count(e.name) > 1 else e.name for e in experiments]


@dataclass
class Steps:
    """One experiment's best-so-far as a step line: x (seconds) and the best value there."""

    name: str
    x: list[float] = field(default_factory=list)
    best: list[float] = field(default_factory=list)


def wall_steps(experiment: ExperimentData, name: str) -> Steps:
    found = progress(experiment)
    return Steps(name, found.seconds, found.best)


def trial_second_steps(experiment: ExperimentData, name: str) -> Steps:
    """Best-so-far against the trial-seconds all trials had spent by each result (in wall
    order): what the experiment paid for its best, however many trials ran at once."""
    points = []
    for trial in experiment.trials:
        spent = 0.0
        for row in trial.history:
            stamp, value = finite(row.get("timestamp")), finite(row.get(experiment.metric))
            total = finite(row.get("time_total_s"))
            step = (total - spent) if total is not None else finite(row.get("time_this_iter_s"))
            spent = total if total is not None else spent + (step or 0.0)
            if stamp is not None and value is not None:
                points.append((stamp, max(step or 0.0, 0.0), value))
    out, paid, best = Steps(name), 0.0, None
    for _, step, value in sorted(points, key=lambda p: p[0]):
        paid += step
        best = value if best is None or experiment.better(value, best) else best
        out.x.append(paid)
        out.best.append(best)
    return out


def steps_figure(found: list[Steps], metric: str, x_title: str) -> Any | None:
    import plotly.graph_objects as go

    if not any(s.x for s in found):
        return None
    figure = go.Figure()
    for steps in found:
        figure.add_trace(
            go.Scatter(
                x=steps.x,
                y=steps.best,
                mode="lines",
                line_shape="hv",
                name=_e(steps.name),
                hovertemplate=f"{_e(steps.name)}<br>%{{x:.1f}} s<br>%{{y:.4g}}<extra></extra>",
            )
        )
    figure.update_layout(
        **_plotly._LAYOUT, xaxis_title=x_title, yaxis_title=f"best {_e(metric)} so far"
    )
    return figure


def distribution_figure(experiments: list[ExperimentData], names: list[str]) -> Any | None:
    import plotly.graph_objects as go

    figure = go.Figure()
    for experiment, name in zip(experiments, names, strict=True):
        scored = [t for t in experiment.trials if t.best is not None]
        if scored:
            figure.add_trace(
                go.Box(
                    y=[t.best for t in scored],
                    name=_e(name),
                    boxpoints="all",
                    jitter=0.4,
                    text=[_e(t.trial_id) for t in scored],
                    hovertemplate="trial %{text}<br>%{y:.4g}<extra></extra>",
                )
            )
    if not figure.data:
        return None
    figure.update_layout(
        **_plotly._LAYOUT, yaxis_title=f"each trial's best {_e(experiments[0].metric)}"
    )
    return figure


def best_table(experiments: list[ExperimentData], names: list[str]) -> str:
    """Rows: the best value, its trial, then each searched key (short name; the full key on
    hover); columns: the experiments. A key's cells differ when its values do."""
    bests = [e.best_trial for e in experiments]
    keys = list(dict.fromkeys(k for e in experiments for k in e.param_names))
    labels = {k: v for e in experiments for k, v in e.labels.items()}
    short = display_names(keys, labels)
    head = "".join(f"<th>{_e(n)}</th>" for n in names)
    rows = [
        f"<tr><th>best {_e(experiments[0].metric)}</th>"
        + "".join(f'<td class="num">{_e(format_value(b and b.best))}</td>' for b in bests)
        + "</tr>",
        "<tr><th>trial</th>"
        + "".join(f"<td><code>{_e(b.trial_id if b else '—')}</code></td>" for b in bests)
        + "</tr>",
    ]
    for key in keys:
        values = [b.config.get(key) if b else None for b in bests]
        klass = f' class="{DIFFERS}"' if len({repr(v) for v in values}) > 1 else ""
        cells = "".join(f"<td{klass}>{_e(format_value(v))}</td>" for v in values)
        rows.append(f'<tr><th title="{_e(key)}">{_e(short[key])}</th>{cells}</tr>')
    return (
        '<p class="hint">Each experiment\'s best trial; highlighted values differ.</p>'
        f'<div class="table-wrap"><table class="kv" id="compare-best"><thead><tr><th></th>'
        f"{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
    )


def render_compare(experiments: list[ExperimentData]) -> str:
    """compare.html's text."""
    names, metric = column_names(experiments), experiments[0].metric
    untimed = "No timed results in history.jsonl."
    wall = [wall_steps(e, n) for e, n in zip(experiments, names, strict=True)]
    paid = [trial_second_steps(e, n) for e, n in zip(experiments, names, strict=True)]
    sections = [
        section(
            "wall",
            "Best so far over wall time",
            _figure(
                steps_figure(wall, metric, "wall time since the first trial started (s)"),
                "wall",
                untimed,
            ),
        ),
        section(
            "trial-seconds",
            "Best so far over trial-seconds",
            _figure(
                steps_figure(paid, metric, "trial-seconds spent, all trials together (s)"),
                "trial-seconds",
                untimed,
            ),
        ),
        section("best-configs", "Best configs", best_table(experiments, names)),
        section(
            "distribution",
            f"Distribution of each trial's best {metric}",
            _figure(distribution_figure(experiments, names), "distribution", "No trial scored."),
        ),
    ]
    listed = "".join(
        f"<li><code>{_e(n)}</code>: {_e(e.folder)} · {len(e.trials)} trial(s)</li>"
        for e, n in zip(experiments, names, strict=True)
    )
    header = f"""<header id="summary">
<h1>pipetune comparison: {_e(" vs ".join(names))}</h1>
<p class="meta">metric <code>{_e(metric)}</code> ({_e(experiments[0].mode)}) ·
generated {_e(time.strftime("%Y-%m-%d %H:%M:%S"))}</p>
<ul>{listed}</ul>
</header>"""
    title = "pipetune comparison: " + ", ".join(names)
    return page(title, header, "\n".join(sections), _plotly_js(), css=_CSS)


def write_compare(
    folders: Sequence[str | Path],
    output: str | Path = COMPARE_FILE,
    *,
    metric: str | None = None,
    mode: str | None = None,
) -> Path:
    """Load every folder, then write the comparison to ``output`` atomically; return its path.
    A folder that is no experiment, or a metric they do not share, writes nothing."""
    experiments = load_experiments(folders, metric, mode)
    return atomic_write_text(Path(output), render_compare(experiments))
