"""The experiment's results: results.csv, best_config.yaml and a printed summary."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from pipetune._io import atomic_write_text
from pipetune._mode import Mode
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
    metric: str,
    mode: str,
    ended: set[str] | None = None,
    from_points: int | None = None,
) -> list[dict[str, Any]]:
    """One row per trial: its config, final and best metric, status, iterations and time.

    ``ended``: the trials that really ended (completed, stopped by a stopper or scheduler,
    failed); any other trial Tune calls TERMINATED is marked STOPPED. None: trust Tune.
    ``from_points``: how many first trials (in Tune's order of creation) ran
    points_to_evaluate; given, each row says its ``origin``. A conditional key that was
    inactive in a trial is left out of its row (an empty cell).
    """
    # A resumed trial may repeat iterations it ran after its last checkpoint: keep the last.
    history = read_history(folder).curves(metric)
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
        metrics = result.metrics or {}
        trial_id = (
            metrics.get("trial_id") or ids_by_path.get(str(result.path)) or Path(result.path).name
        )
        values = [v for v in history.get(trial_id, []) if math.isfinite(v)]
        final = metrics.get(metric)
        best = Mode(mode).best_value(values) if values else final
        status = Status.of(statuses.get(trial_id)) or Status.TERMINATED
        if result.error is not None:
            status = Status.ERROR
        elif trial_id in diverged:
            status = Status.DIVERGED
        elif status == Status.TERMINATED and ended is not None and trial_id not in ended:
            status = Status.STOPPED
        rows.append(
            {
                "trial_id": trial_id,
                "status": str(status),
                f"{metric}": final,
                f"best_{metric}": best,
                "iterations": metrics.get("training_iteration", 0),
                "time_total_s": round(float(metrics.get("time_total_s", 0.0)), 3),
                "seed": metrics.get(SEED_RESULT),  # the seed the trial trained with
                **{f"config/{k}": v for k, v in searched_values(result.config).items()},
                "error": diverged.get(trial_id) or _last_line(result.error),
            }
        )
        if from_points is not None:
            first = created.get(trial_id, from_points) < from_points
            rows[-1]["origin"] = "points_to_evaluate" if first else "sampled"
    return rows


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
    scored = [
        r
        for r in rows
        # never recommend a broken trial
        if Status.of(r.get("status")) not in (Status.ERROR, Status.DIVERGED)
        and isinstance(r.get(f"best_{metric}"), int | float)
        and math.isfinite(r[f"best_{metric}"])
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
) -> Path:
    """The whole input config with the best values written in: runnable with pipetune run.

    ``seed``: the best trial's seed (its ``seed`` column), pinned into the config of the
    trainer step at ``trainer_path`` when the config did not set it, so that the run
    reproduces the trial.
    """
    tree = source.copy().tree
    for key, value in best_config.items():
        OmegaConf.update(tree, key, value, merge=False)
    if isinstance(seed, int) and not isinstance(seed, bool) and trainer_path:
        pin_seed(tree, trainer_path, seed)
    return atomic_write_text(folder / BEST_CONFIG_FILE, OmegaConf.to_yaml(tree))


def print_summary(
    rows: list[dict[str, Any]],
    metric: str,
    mode: str,
    limit: int | None = 10,
    labels: Mapping[str, str] | None = None,
) -> None:
    """A compact table of the ``limit`` best trials (all with None), hyperparameters under
    their display names (``labels``: the search space's ``label:`` entries)."""
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
    table = Table(title=f"{count} trials, best {metric} ({mode}) first", box=box.SIMPLE_HEAD)
    cells = [
        [
            str(row["trial_id"]),
            str(row["status"]),
            _short(row.get(key)),
            str(row["iterations"]),
            *(_short(row.get(k)) for k in config_keys),
        ]
        for row in shown
    ]
    for index, column in enumerate(["trial", "status", key, "iter", *names.values()]):
        # trial, status, metric and iter keep their width; hyperparameters give way on a
        # narrow terminal
        width = max([len(column), *(len(c[index]) for c in cells)]) if index < 4 else None
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
