"""The terminal view: a compact rich table of the trials, best first."""

from __future__ import annotations

from typing import Any

from pipetune.report._model import ExperimentData, format_value


def print_summary(experiment: ExperimentData, limit: int | None = 10, console: Any = None) -> None:
    """Print the ``limit`` best trials (all with None; rich); ``console`` defaults to stdout."""
    from rich import box
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    if console is None:
        console = Console()
        if not console.is_terminal:  # a log file: no width to fit, nothing to crop
            console.width = 200
    params, names = experiment.param_names, experiment.names
    ranked = experiment.ranked()
    shown = ranked if limit is None else ranked[:limit]
    count = f"top {len(shown)} of {len(ranked)}" if len(shown) < len(ranked) else str(len(ranked))
    table = Table(
        title=escape(
            f"{experiment.name}: {count} trial(s), best {experiment.metric} "
            f"({experiment.mode}) first"
        ),
        box=box.SIMPLE_HEAD,
    )
    rows = [
        [
            trial.trial_id,
            trial.status,
            format_value(trial.best),
            str(trial.iterations),
            format_value(trial.time_total_s),
            *(format_value(trial.config.get(p)) for p in params),
        ]
        for trial in shown
    ]
    headers = ["trial", "status", f"best {experiment.metric}", "iter", "time (s)"]
    headers += [names[p] for p in params]
    for index, header in enumerate(headers):
        # The first columns keep their width; hyperparameters give way on narrow terminals.
        width = max([len(header), *(len(r[index]) for r in rows)]) if index < 3 else None
        table.add_column(escape(header), no_wrap=True, overflow="ellipsis", min_width=width)
    for trial, row in zip(shown, rows, strict=True):
        best = trial is ranked[0] and trial.best is not None
        table.add_row(*(escape(cell) for cell in row), style="bold green" if best else None)
    if len(shown) < len(ranked):
        table.caption = f"… and {len(ranked) - len(shown)} more in the report (--all lists them)"
    console.print(table)
    for note in experiment.notes:
        console.print(f"note: {note}", style="yellow", markup=False, highlight=False)
