"""The terminal view: a compact rich table of the trials, best first."""

from __future__ import annotations

from typing import Any

from pipetune.report._model import ExperimentData, format_value


def print_summary(experiment: ExperimentData, limit: int = 10, console: Any = None) -> None:
    """Print the ``limit`` best trials (rich); ``console`` defaults to stdout."""
    from rich import box
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = console or Console()
    params = experiment.param_names
    ranked = experiment.ranked()
    shown = ranked[:limit]
    table = Table(
        title=escape(
            f"{experiment.name}: {len(ranked)} trial(s), best {experiment.metric} "
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
    headers = ["trial", "status", f"best {experiment.metric}", "iter", "time (s)", *params]
    for index, header in enumerate(headers):
        # The first columns keep their width; hyperparameters give way on narrow terminals.
        width = max([len(header), *(len(r[index]) for r in rows)]) if index < 3 else None
        table.add_column(escape(header), no_wrap=True, overflow="ellipsis", min_width=width)
    for trial, row in zip(shown, rows, strict=True):
        best = trial is ranked[0] and trial.best is not None
        table.add_row(*(escape(cell) for cell in row), style="bold green" if best else None)
    if len(ranked) > limit:
        table.caption = f"… and {len(ranked) - limit} more in the report"
    console.print(table)
    for note in experiment.notes:
        console.print(f"note: {note}", style="yellow", markup=False, highlight=False)
