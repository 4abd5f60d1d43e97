"""The same figures as static PNGs (matplotlib's Agg canvas; pyplot's global state untouched).

Each figure is ``(experiment, its section's data) -> PNG bytes | None`` (None: nothing to
draw); ``render_pngs`` draws those of the report's table.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

from pipetune._mode import Mode
from pipetune.report._colors import status_color, trial_colors
from pipetune.report._importance import Importance
from pipetune.report._model import ExperimentData
from pipetune.report._parallel import Parallel
from pipetune.report._series import Curve, Progress, Timeline

if TYPE_CHECKING:
    from pipetune.report._sections import View

_MAX_LEGEND = 20


def _t(text: Any) -> str:
    """Plain text for matplotlib: '$' would start mathtext."""
    return str(text).replace("$", r"\$")


def _figure(width: float = 9.0, height: float = 4.5) -> Any:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=100, layout="constrained")


def _png(figure: Any) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def curves_png(experiment: ExperimentData, found: list[Curve]) -> bytes | None:
    if not found:
        return None
    colors = trial_colors(experiment)
    longest = max(max(c.iterations) for c in found)
    figure = _figure()
    ax = figure.add_subplot()
    for curve in found:
        ax.plot(
            curve.iterations,
            curve.values,
            marker="o",
            markersize=3,
            color=colors[curve.trial_id],
            linestyle=":" if curve.status == "ERROR" else "-",
            label=_t(curve.trial_id),
        )
        if max(curve.iterations) < longest:
            ax.plot(curve.iterations[-1], curve.values[-1], marker="x", color="#333", ms=9)
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("training_iteration")
    ax.set_ylabel(_t(experiment.metric))
    stopped = any(max(c.iterations) < longest for c in found)
    ax.set_title(_t(f"{experiment.metric} per trial" + (" (x: ended early)" if stopped else "")))
    ax.grid(alpha=0.3)
    if len(found) <= _MAX_LEGEND:
        ax.legend(fontsize="small", loc="best")
    return _png(figure)


def parallel_png(experiment: ExperimentData, data: Parallel) -> bytes | None:
    from matplotlib import colormaps
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    if not data.axes or not data.trial_ids:
        return None
    figure = _figure(max(6.0, 2.0 * len(data.axes)), 4.5)
    ax = figure.add_subplot()
    cmap = colormaps["viridis_r" if experiment.mode == Mode.MIN else "viridis"]
    norm = Normalize(
        min(data.metric),
        max(data.metric) if max(data.metric) > min(data.metric) else min(data.metric) + 1,
    )
    spans_ = [(min(a.tickvals + a.values), max(a.tickvals + a.values)) for a in data.axes]

    def scale(value: float, index: int) -> float:
        low, high = spans_[index]
        return 0.5 if high <= low else (value - low) / (high - low)

    xs = list(range(len(data.axes)))
    for row, value in enumerate(data.metric):
        ys = [scale(axis.values[row], i) for i, axis in enumerate(data.axes)]
        ax.plot(xs, ys, color=cmap(norm(value)), alpha=0.8, linewidth=1.5)
    for i, axis in enumerate(data.axes):
        ax.axvline(i, color="#444", linewidth=1)
        for tick, text in zip(axis.tickvals, axis.ticktext, strict=True):
            ax.text(i + 0.03, scale(tick, i), _t(text), fontsize=7, va="center")
    ax.set_xticks(xs, [_t(a.label) for a in data.axes], fontsize=8)
    ax.set_yticks([])
    ax.set_xlim(-0.2, len(xs) - 0.6)
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    figure.colorbar(ScalarMappable(norm=norm, cmap=cmap), ax=ax, label=_t(experiment.metric))
    return _png(figure)


def importance_png(experiment: ExperimentData, result: Importance) -> bytes | None:
    if not result.values:
        return None
    names = list(result.values)
    figure = _figure(7.0, 1.2 + 0.45 * len(names))
    ax = figure.add_subplot()
    ax.barh([_t(n) for n in names], [result.values[n] for n in names], color="#1f77b4")
    ax.invert_yaxis()
    ax.set_xlabel("fANOVA importance (share of variance)")
    return _png(figure)


def progress_png(experiment: ExperimentData, data: Progress) -> bytes | None:
    if not data.seconds:
        return None
    figure = _figure()
    ax = figure.add_subplot()
    ax.scatter(data.seconds, data.values, s=12, color="#bbb", label="each result")
    ax.step(
        data.seconds,
        data.best,
        where="post",
        color="#d62728",
        linewidth=2,
        label=f"best so far ({experiment.mode})",
    )
    ax.set_xlabel("wall time since the first trial started (s)")
    ax.set_ylabel(_t(experiment.metric))
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    return _png(figure)


def timeline_png(experiment: ExperimentData, data: Timeline) -> bytes | None:
    if not data.spans:
        return None
    start, total, minimum, rows = data.start, data.total, data.minimum, data.rows
    figure = _figure(9.0, 1.4 + 0.5 * len(rows))
    ax = figure.add_subplot()
    for span in data.spans:
        y = rows.index(span.row)
        width = max(span.end - span.start, minimum)
        ax.barh(
            y,
            width,
            left=span.start - start,
            color=status_color(span.status),
            alpha=0.85,
            edgecolor="white",
            linewidth=1,
        )
        if width < 0.06 * max(total, minimum):
            continue
        ax.text(
            span.start - start + width / 2,
            y,
            _t(span.trial_id),
            ha="center",
            va="center",
            fontsize=7,
            color="white",
        )
    ax.set_yticks(range(len(rows)), [_t(r) for r in rows])
    ax.invert_yaxis()
    ax.set_xlabel("wall time since the first trial started (s)")
    ax.grid(axis="x", alpha=0.3)
    return _png(figure)


def render_pngs(views: list[View[Any]]) -> dict[str, bytes]:
    """Section id → PNG bytes, in page order, for every figure there is data for."""
    made = {v.id: v.section.png(v.experiment, v.data) for v in views if v.section.png}
    return {key: png for key, png in made.items() if png is not None}
