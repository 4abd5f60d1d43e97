"""The interactive figures of report.html (plotly). User strings are HTML-escaped: plotly
renders a subset of HTML in names, ticks and hover text.

Each figure is ``(experiment, its section's data) -> Figure | None`` (None: nothing to draw).
"""

from __future__ import annotations

import html
from typing import Any

from pipetune._mode import Mode
from pipetune.report._colors import status_color, trial_colors
from pipetune.report._importance import Importance
from pipetune.report._model import ExperimentData, format_value
from pipetune.report._parallel import Parallel
from pipetune.report._pareto import Front, Point
from pipetune.report._series import Curve, Progress, Timeline

_CONFIG = {"displaylogo": False, "responsive": True}
_LAYOUT: dict[str, Any] = {
    "template": "plotly_white",
    "margin": {"l": 70, "r": 30, "t": 30, "b": 60},
    "height": 440,
}


def fragment(figure: Any, div_id: str) -> str:
    """The figure as a <div> and its <script>, without plotly.js (the page embeds it once)."""
    return str(
        figure.to_html(full_html=False, include_plotlyjs=False, div_id=div_id, config=_CONFIG)
    )


def _e(value: Any) -> str:
    return html.escape(str(value))


def _hover_config(experiment: ExperimentData, trial_id: str) -> str:
    trial = next(t for t in experiment.trials if t.trial_id == trial_id)
    config = experiment.named(trial.config)
    return "<br>".join(f"{_e(k)}={_e(format_value(v))}" for k, v in config.items())


def curves_figure(experiment: ExperimentData, found: list[Curve]) -> Any | None:
    import plotly.graph_objects as go

    if not found:
        return None
    colors = trial_colors(experiment)
    longest = max(max(c.iterations) for c in found)
    figure = go.Figure()
    for curve in found:
        figure.add_trace(
            go.Scatter(
                x=curve.iterations,
                y=curve.values,
                mode="lines+markers",
                name=_e(f"{curve.trial_id} ({curve.status.lower()})"),
                line={"color": colors[curve.trial_id], "dash": _dash(curve.status)},
                hovertemplate=f"trial {_e(curve.trial_id)}<br>iteration %{{x}}<br>"
                f"{_e(experiment.metric)} %{{y:.4g}}<br>"
                f"{_hover_config(experiment, curve.trial_id)}<extra></extra>",
            )
        )
    short = [c for c in found if max(c.iterations) < longest]
    if short:
        figure.add_trace(
            go.Scatter(
                x=[c.iterations[-1] for c in short],
                y=[c.values[-1] for c in short],
                mode="markers",
                name="ended early",
                marker={"symbol": "x", "size": 11, "color": "#333"},
                hoverinfo="skip",
            )
        )
    figure.update_layout(
        **_LAYOUT,
        xaxis={"title": "training_iteration", "dtick": 1 if longest <= 20 else None},
        yaxis_title=_e(experiment.metric),
        legend_title_text="trial",
    )
    return figure


def _dash(status: str) -> str:
    return "dot" if status == "ERROR" else "solid"


def parallel_figure(experiment: ExperimentData, data: Parallel) -> Any | None:
    import plotly.graph_objects as go

    if not data.axes:
        return None
    dimensions = [
        {
            "label": _e(axis.label),
            "values": axis.values,
            "tickvals": axis.tickvals,
            "ticktext": axis.ticktext,  # parcoords draws tick labels as plain text
            "range": [min(axis.tickvals + axis.values), max(axis.tickvals + axis.values)],
        }
        for axis in data.axes
    ]
    line = {
        "color": data.metric,
        "colorscale": "Viridis",
        "reversescale": experiment.mode == Mode.MIN,
        "showscale": True,
        "colorbar": {"title": {"text": _e(experiment.metric)}},
    }
    figure = go.Figure(go.Parcoords(line=line, dimensions=dimensions))
    figure.update_layout(**{**_LAYOUT, "margin": {"l": 80, "r": 80, "t": 60, "b": 40}})
    return figure


def importance_figure(experiment: ExperimentData, result: Importance) -> Any | None:
    import plotly.graph_objects as go

    if not result.values:
        return None
    names = list(result.values)
    figure = go.Figure(
        go.Bar(
            x=[result.values[n] for n in names],
            y=[_e(n) for n in names],
            orientation="h",
            marker_color="#1f77b4",
            hovertemplate="%{y}: %{x:.3f}<extra></extra>",
        )
    )
    figure.update_layout(
        **{**_LAYOUT, "height": 160 + 40 * len(names)},
        xaxis_title="fANOVA importance (share of variance)",
        yaxis={"autorange": "reversed"},
    )
    return figure


def progress_figure(experiment: ExperimentData, data: Progress) -> Any | None:
    import plotly.graph_objects as go

    if not data.seconds:
        return None
    figure = go.Figure()
    figure.add_trace(
        go.Scatter(
            x=data.seconds,
            y=data.values,
            mode="markers",
            name="each result",
            marker={"color": "#bbb", "size": 6},
            text=[_e(t) for t in data.trial_ids],
            hovertemplate="trial %{text}<br>%{x:.1f} s<br>%{y:.4g}<extra></extra>",
        )
    )
    figure.add_trace(
        go.Scatter(
            x=data.seconds,
            y=data.best,
            mode="lines",
            line_shape="hv",
            name=f"best so far ({experiment.mode})",
            line={"color": "#d62728", "width": 3},
        )
    )
    figure.update_layout(
        **_LAYOUT,
        xaxis_title="wall time since the first trial started (s)",
        yaxis_title=_e(experiment.metric),
    )
    return figure


def timeline_figure(experiment: ExperimentData, data: Timeline) -> Any | None:
    import plotly.graph_objects as go

    if not data.spans:
        return None
    start = data.start
    figure = go.Figure()
    for status in sorted({s.status for s in data.spans}):
        chosen = [s for s in data.spans if s.status == status]
        figure.add_trace(
            go.Bar(
                base=[s.start - start for s in chosen],
                x=[max(s.end - s.start, data.minimum) for s in chosen],
                y=[_e(s.row) for s in chosen],
                orientation="h",
                name=_e(status.lower()),
                marker_color=status_color(status),
                text=[_e(s.trial_id) for s in chosen],
                textposition="inside",
                insidetextanchor="middle",
                customdata=[[s.start - start, s.end - start] for s in chosen],
                hovertemplate="trial %{text}<br>%{y}<br>%{customdata[0]:.1f} s → "
                "%{customdata[1]:.1f} s<extra></extra>",
            )
        )
    rows = [_e(row) for row in data.rows]
    figure.update_layout(
        **{**_LAYOUT, "height": 180 + 45 * len(rows)},
        barmode="overlay",
        xaxis_title="wall time since the first trial started (s)",
        yaxis={
            "title": "node #lane",
            "autorange": "reversed",
            "type": "category",
            "categoryorder": "array",
            "categoryarray": rows,
        },
        legend_title_text="status",
    )
    return figure


def pareto_figure(experiment: ExperimentData, data: Front) -> Any | None:
    """Two objectives: every trial, the front drawn through its trials; three or more: the
    front's trials in parallel coordinates, one axis per objective."""
    import plotly.graph_objects as go

    front = data.front
    if not front:
        return None
    if len(data.names) == 2:
        return _pareto_scatter(data, front)
    dimensions = [
        {"label": _e(name), "values": [p.values[i] for p in front]}
        for i, name in enumerate(data.names)
    ]
    line = {"color": [p.values[0] for p in front], "colorscale": "Viridis", "showscale": True}
    line["colorbar"] = {"title": {"text": _e(data.names[0])}}
    figure = go.Figure(go.Parcoords(line=line, dimensions=dimensions))
    figure.update_layout(**{**_LAYOUT, "margin": {"l": 80, "r": 80, "t": 60, "b": 40}})
    return figure


def _pareto_scatter(data: Front, front: list[Point]) -> Any:
    import plotly.graph_objects as go

    x_name, y_name = (_e(n) for n in data.names)
    hover = f"trial %{{text}}<br>{x_name} %{{x:.4g}}<br>{y_name} %{{y:.4g}}<extra></extra>"
    figure = go.Figure()
    groups = [
        (
            "dominated",
            [p for p in data.points if p.feasible and not p.on_front],
            "#9aa0a6",
            "circle",
        ),
        ("infeasible", [p for p in data.points if not p.feasible], "#d62728", "x"),
        ("Pareto-optimal", front, "#1f77b4", "diamond"),
    ]
    for name, points, color, symbol in groups:
        if points:
            figure.add_trace(
                go.Scatter(
                    x=[p.values[0] for p in points],
                    y=[p.values[1] for p in points],
                    text=[_e(p.trial_id) for p in points],
                    mode="markers",
                    name=name,
                    marker={"color": color, "symbol": symbol, "size": 9},
                    hovertemplate=hover,
                )
            )
    figure.add_trace(
        go.Scatter(
            x=[p.values[0] for p in front],
            y=[p.values[1] for p in front],
            mode="lines",
            name="front",
            line={"color": "#1f77b4", "shape": "hv" if _falls(front) else "linear"},
            hoverinfo="skip",
        )
    )
    figure.update_layout(**_LAYOUT, xaxis_title=x_name, yaxis_title=y_name)
    return figure


def _falls(front: list[Point]) -> bool:
    """Whether the second objective falls along the front (both minimised or maximised):
    then the front is a staircase."""
    return front[0].values[1] >= front[-1].values[1]
