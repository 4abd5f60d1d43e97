"""The experiment's results: results.csv, best_config.yaml and a printed summary."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from pipetune._io import atomic_write_text
from pipetune._mode import Mode
from pipetune._pareto import pareto_mask
from pipetune._seed import SEED_RESULT, pin_seed
from pipetune.config import ConfigSource
from pipetune.experiment import (
    BEST_CONFIG_FILE,
    DIVERGED_DIR,
    Status,
    display_names,
    read_history,
    read_state,
    write_results,
)
from pipetune.tune._conditions import active_values
from pipetune.tune._trial import TRAIN_LOOP_CONFIG

__all__ = ["best_row", "grid_trials", "persisted_statuses", "trial_rows", "write_results"]


def _last_line(error: BaseException | None) -> str:
    if error is None:
        return ""
    text = str(error).strip().splitlines()
    return text[-1] if text else type(error).__name__


def grid_trials(result_grid: Any) -> list[Any]:
    """The Tune ``Trial`` objects behind a ``ResultGrid`` (statuses, error files)."""
    return list(getattr(getattr(result_grid, "_experiment_analysis", None), "trials", []))


def trial_rows(
    result_grid: Any,
    folder: Path,
    metric: str | Sequence[str],
    mode: str | Sequence[str],
    ended: set[str] | None = None,
    from_points: int | None = None,
    constraints: Sequence[Any] = (),
) -> list[dict[str, Any]]:
    """One row per trial: its config, final and best metric, status, iterations and time.

    ``metric`` and ``mode``: one objective, or lists of them (then each objective has its
    columns and ``pareto`` marks the trials on the front of their ``best_<metric>`` values).
    ``constraints``: ``tune.constraints``; each constrained metric gets its final value's
    column (beside an objective's own) and ``feasible`` says whether they kept every bound.
    ``ended``: the trials that really ended (completed, stopped by a stopper or scheduler,
    failed); any other trial Tune calls TERMINATED is marked STOPPED. None: trust Tune.
    ``from_points``: how many first trials (in Tune's order of creation) ran
    points_to_evaluate; given, each row says its ``origin``. A conditional key that was
    inactive in a trial is left out of its row (an empty cell).
    """
    metrics = [metric] if isinstance(metric, str) else list(metric)
    modes = [Mode(mode)] if isinstance(mode, str) else [Mode(m) for m in mode]
    bounded = [c.metric for c in constraints if c.metric not in metrics]
    # A resumed trial may repeat iterations it ran after its last checkpoint: keep the last.
    recorded = read_history(folder)
    histories = {m: recorded.curves(m) for m in metrics}
    trials = grid_trials(result_grid)
    statuses = {trial.trial_id: str(trial.status) for trial in trials}
    # A trial that never reported has no trial_id in its metrics; its folder names it.
    ids_by_path = {str(trial.path): trial.trial_id for trial in trials}
    created = {trial.trial_id: index for index, trial in enumerate(trials)}
    diverged = {
        path.stem: path.read_text(encoding="utf-8").strip()
        for path in (folder / DIVERGED_DIR).glob("*.txt")
    }
    rows = []
    for result in result_grid:
        metrics_of = result.metrics or {}
        trial_id = (
            metrics_of.get("trial_id")
            or ids_by_path.get(str(result.path))
            or Path(result.path).name
        )
        status = Status.of(statuses.get(trial_id)) or Status.TERMINATED
        if result.error is not None:
            status = Status.ERROR
        elif trial_id in diverged:
            status = Status.DIVERGED
        elif status == Status.TERMINATED and ended is not None and trial_id not in ended:
            status = Status.STOPPED
        row: dict[str, Any] = {"trial_id": trial_id, "status": str(status)}
        for name, name_mode in zip(metrics, modes, strict=True):
            values = [v for v in histories[name].get(trial_id, []) if math.isfinite(v)]
            final = metrics_of.get(name)
            row[name] = final
            row[f"best_{name}"] = name_mode.best_value(values) if values else final
        for name in bounded:
            row[name] = metrics_of.get(name)
        if constraints:
            row["feasible"] = is_feasible(constraints, row)
        if len(metrics) > 1:
            row["pareto"] = False  # filled in below, once every row is known
        row.update(
            {
                "iterations": metrics_of.get("training_iteration", 0),
                "time_total_s": round(float(metrics_of.get("time_total_s", 0.0)), 3),
                "seed": metrics_of.get(SEED_RESULT),  # the seed the trial trained with
                **{f"config/{k}": v for k, v in searched_values(result.config).items()},
                "error": diverged.get(trial_id) or _last_line(result.error),
            }
        )
        rows.append(row)
        if from_points is not None:
            first = created.get(trial_id, from_points) < from_points
            rows[-1]["origin"] = "points_to_evaluate" if first else "sampled"
    if len(metrics) > 1:
        mark_pareto(rows, metrics, modes)
    return rows


def is_feasible(constraints: Sequence[Any], row: Mapping[str, Any]) -> bool:
    """Whether the row's final value of each constrained metric keeps its bounds (a missing
    or non-finite value does not)."""
    for constraint in constraints:
        value = row.get(constraint.metric)
        if not isinstance(value, int | float) or not _finite(value):
            return False
        if constraint.violation(float(value)) > 0:
            return False
    return True


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _competes(row: Mapping[str, Any], metrics: Sequence[str]) -> bool:
    """Whether a row may be recommended: not broken, not infeasible, every objective's best
    value finite."""
    return (
        Status.of(row.get("status")) not in (Status.ERROR, Status.DIVERGED)
        and row.get("feasible") is not False
        and all(_finite(row.get(f"best_{m}")) for m in metrics)
    )


def mark_pareto(rows: list[dict[str, Any]], metrics: Sequence[str], modes: Sequence[Mode]) -> None:
    """Set each row's ``pareto``: no competing row is as good in every ``best_<metric>`` and
    better in one (the per-trial value best_config.yaml is chosen by, too)."""
    points = [
        [float(r[f"best_{m}"]) for m in metrics] if _competes(r, metrics) else None for r in rows
    ]
    for row, on_front in zip(rows, pareto_mask(points, modes), strict=True):
        row["pareto"] = on_front


def persisted_statuses(folder: Path) -> dict[str, str]:
    """Trial id → status in Tune's newest experiment snapshot in ``folder`` (empty if none)."""
    return read_state(folder).statuses()


def searched_values(config: dict[str, Any] | None) -> dict[str, Any]:
    """The sampled values of a trial (DDP trials nest them in ``train_loop_config``),
    inactive conditional keys left out."""
    config = dict(config or {})
    if isinstance(config.get(TRAIN_LOOP_CONFIG), dict):
        config = dict(config[TRAIN_LOOP_CONFIG])
    return {k: v for k, v in active_values(config).items() if not k.startswith("__")}


def best_row(rows: list[dict[str, Any]], metric: str, mode: str) -> dict[str, Any] | None:
    """The trial best in ``metric``: never a broken or infeasible one, and with several
    metrics (a ``pareto`` column) one on the Pareto front."""
    scored = [
        r
        for r in rows
        if _competes(r, [metric]) and r.get("pareto") is not False  # absent: one objective
    ]
    if not scored:
        return None
    return Mode(mode).best(scored, key=lambda r: r[f"best_{metric}"])


def write_best_config(
    source: ConfigSource,
    best_config: dict[str, Any],
    folder: Path,
    *,
    seed: int | None = None,
    trainer_path: str | None = None,
    name: str = BEST_CONFIG_FILE,
) -> Path:
    """The whole input config with the best values written in: runnable with pipetune run.
    ``name``: the file, relative to ``folder`` (``pareto/<trial id>.yaml`` for a trial of
    the Pareto front).

    ``seed``: the best trial's seed (its ``seed`` column), pinned into the config of the
    trainer step at ``trainer_path`` when the config did not set it, so that the run
    reproduces the trial.
    """
    tree = source.copy().tree
    for key, value in best_config.items():
        OmegaConf.update(tree, key, value, merge=False)
    if isinstance(seed, int) and not isinstance(seed, bool) and trainer_path:
        pin_seed(tree, trainer_path, seed)
    (folder / name).parent.mkdir(parents=True, exist_ok=True)
    return atomic_write_text(folder / name, OmegaConf.to_yaml(tree))


def print_summary(
    rows: list[dict[str, Any]],
    metric: str,
    mode: str,
    limit: int | None = 10,
    labels: Mapping[str, str] | None = None,
    others: Sequence[str] = (),
) -> None:
    """A compact table of the ``limit`` best trials (all with None), hyperparameters under
    their display names (``labels``: the search space's ``label:`` entries). ``others``:
    the other objectives of a multi-objective search, shown beside ``metric`` (which orders
    the table) with the ``pareto`` and ``feasible`` marks."""
    from rich import box
    from rich.console import Console
    from rich.table import Table

    key = f"best_{metric}"
    finite = [r for r in rows if isinstance(r.get(key), int | float) and math.isfinite(r[key])]
    ordered = Mode(mode).ranked(finite, key=lambda r: r[key])
    ordered += [r for r in rows if r not in finite]
    config_keys = list(dict.fromkeys(k for r in rows for k in r if k.startswith("config/")))
    names = display_names([k.removeprefix("config/") for k in config_keys], labels)
    shown = ordered if limit is None else ordered[:limit]
    count = f"top {len(shown)} of {len(rows)}" if len(shown) < len(rows) else f"{len(rows)}"
    title = f"{count} trials, best {metric} ({mode}) first"
    if others:
        title += f"; pareto: on the front of {', '.join([metric, *others])}"
    table = Table(title=title, box=box.SIMPLE_HEAD)
    marks = [m for m in ("pareto", "feasible") if any(m in r for r in rows)]
    fixed = [key, *(f"best_{o}" for o in others), *marks]
    cells = [
        [
            str(row["trial_id"]),
            str(row["status"]),
            *(_short(row.get(k)) for k in fixed),
            str(row["iterations"]),
            *(_short(row.get(k)) for k in config_keys),
        ]
        for row in shown
    ]
    for index, column in enumerate(["trial", "status", *fixed, "iter", *names.values()]):
        # trial, status, metrics and iter keep their width; hyperparameters give way on a
        # narrow terminal
        keep = index < 3 + len(fixed)
        width = max([len(column), *(len(c[index]) for c in cells)]) if keep else None
        table.add_column(column, no_wrap=True, overflow="ellipsis", min_width=width)
    for row_cells in cells:
        table.add_row(*row_cells)
    if len(shown) < len(rows):
        table.caption = f"{len(rows) - len(shown)} more: --all shows every trial"
    console = Console(stderr=False)
    if not console.is_terminal:  # a log file: no width to fit, nothing to crop
        console.width = _LOG_WIDTH
    console.print(table)


_LOG_WIDTH = 200


def _short(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)
