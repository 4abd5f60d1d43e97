"""Read an experiment folder into :class:`ExperimentData`, whatever state it was left in.

``results.csv`` is written when an experiment ends; until then (or after an interruption)
rows are rebuilt from ``history.jsonl`` and the hyperparameters from Ray's experiment state.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from pipetune._mode import Mode
from pipetune.errors import ConfigError
from pipetune.experiment import (
    TuneState,
    latest_state_file,
    read_state,
    space_categories,
    space_labels,
)
from pipetune.report._files import (
    CONFIG_COPY,
    HISTORY_FILE,
    META_FILE,
    RESULTS_FILE,
    History,
    read_history,
    read_json,
    read_results,
)
from pipetune.report._model import INCOMPLETE, ExperimentData, Trial, finite

DEFAULT_METRIC = "val_loss"
DEFAULT_MODE = Mode.MIN


def load_experiment(
    folder: str | Path,
    metric: str | None = None,
    mode: str | None = None,
    *,
    running: bool = False,
) -> ExperimentData:
    """Everything the report needs from ``folder``; ``metric``/``mode`` override the config's;
    ``running``: the experiment is known to run (its driver asks), so results.csv and
    history.jsonl are not there yet and no note says so."""
    root = Path(folder).expanduser().resolve()
    _check_folder(root, folder)
    if mode is not None and mode not in tuple(Mode):
        raise ConfigError(f"mode must be 'min' or 'max', got {mode!r}", key_path="mode")
    notes: list[str] = []
    results = read_results(root)
    state = read_state(root)
    history = read_history(root)
    tune = _tune_section(root / CONFIG_COPY)
    metric, mode = _metric_and_mode(root, tune, results, state, metric, mode, notes)
    trials = _merge(results, state, history, metric, mode)
    notes += _notes(results, state, history, trials, running)
    space = tune.get("search_space")
    space = space if isinstance(space, dict) else {}
    objectives = _objectives(root, metric)
    by_id = {str(r["trial_id"]): r for r in results or []}
    for trial in trials:
        if trial.trial_id in by_id:
            _apply_marks(trial, by_id[trial.trial_id], [name for name, _ in objectives])
    return ExperimentData(
        root,
        metric,
        Mode(mode),
        trials,
        notes,
        labels=space_labels(space),
        categories=space_categories(space),
        objectives=objectives,
    )


def _objectives(root: Path, metric: str) -> list[tuple[str, Mode]]:
    """The (metric, mode) of each objective of a multi-objective experiment (its meta file
    lists them), when the report shows its first; else empty."""
    meta = read_json(root / META_FILE)
    names, modes = meta.get("metrics"), meta.get("modes")
    if not isinstance(names, list) or not isinstance(modes, list) or len(names) != len(modes):
        return []
    if not names or names[0] != metric or any(m not in tuple(Mode) for m in modes):
        return []
    return [(str(n), Mode(m)) for n, m in zip(names, modes, strict=True)]


def _apply_marks(trial: Trial, row: dict[str, Any], objectives: list[str]) -> None:
    """results.csv's objectives and its pareto/feasible marks."""
    trial.objectives = {name: finite(row.get(f"best_{name}")) for name in objectives}
    for mark in ("pareto", "feasible"):
        value = row.get(mark)
        if isinstance(value, bool):
            setattr(trial, mark, value)


def _check_folder(root: Path, given: str | Path) -> None:
    markers = (HISTORY_FILE, RESULTS_FILE, CONFIG_COPY, META_FILE)
    if root.is_dir() and (
        any((root / name).exists() for name in markers) or latest_state_file(root) is not None
    ):
        return
    what = "not a folder" if not root.is_dir() else "not a pipetune experiment folder"
    raise ConfigError(
        f"'{given}' is {what} (no {HISTORY_FILE}, {RESULTS_FILE} or {CONFIG_COPY})",
        hint="pass the folder that `pipetune tune` printed, e.g. runs/<name>",
    )


def _tune_section(path: Path) -> dict[str, Any]:
    """The ``tune:`` mapping of the saved config, interpolations resolved where possible."""
    if not path.is_file():
        return {}
    try:
        tree = OmegaConf.load(path)
        section = OmegaConf.select(tree, "tune")
        if section is None:
            return {}
        try:
            data = OmegaConf.to_container(section, resolve=True)
        except OmegaConfBaseException:
            data = OmegaConf.to_container(section, resolve=False)
    except (OSError, ValueError, yaml.YAMLError, OmegaConfBaseException):
        return {}
    return {str(k): v for k, v in data.items()} if isinstance(data, dict) else {}


def _results_metric(results: list[dict[str, Any]] | None) -> str | None:
    """The metric results.csv was written for: its single ``best_<metric>`` column."""
    if not results:
        return None
    columns = results[0].keys()
    names = [c.removeprefix("best_") for c in columns if c.startswith("best_")]
    return names[0] if len(names) == 1 else None


def _metric_and_mode(
    root: Path,
    tune: dict[str, Any],
    results: list[dict[str, Any]] | None,
    state: TuneState,
    metric: str | None,
    mode: str | None,
    notes: list[str],
) -> tuple[str, str]:
    meta = read_json(root / META_FILE)
    candidates = (
        metric,
        meta.get("metric"),
        _results_metric(results),
        state.metric,
        tune.get("metric"),
        DEFAULT_METRIC,
    )
    chosen = next(str(c) for c in candidates if c)
    chosen_mode = str(mode or meta.get("mode") or tune.get("mode") or DEFAULT_MODE).lower()
    if chosen_mode not in tuple(Mode):
        notes.append(f"unknown mode {chosen_mode!r} in the config: '{DEFAULT_MODE}' assumed")
        chosen_mode = DEFAULT_MODE
    configured = tune.get("metric")
    if mode is None and not meta.get("mode") and configured and configured != chosen:
        notes.append(
            f"the experiment tuned '{chosen}' while its config names '{configured}': "
            f"mode '{chosen_mode}' assumed (pass --mode to change it)"
        )
    return chosen, chosen_mode


def _by_trial(rows: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """History rows per trial in iteration order; a repeated iteration (resume) keeps its last."""
    grouped: dict[str, dict[Any, dict[str, Any]]] = {}
    for index, row in enumerate(rows):
        iteration = row.get("training_iteration")
        key = iteration if isinstance(iteration, int) else f"row{index}"
        grouped.setdefault(row["trial_id"], {})[key] = row
    return {
        trial_id: sorted(by_iteration.values(), key=_iteration)
        for trial_id, by_iteration in grouped.items()
    }


def _iteration(row: dict[str, Any]) -> float:
    value = finite(row.get("training_iteration"))
    return value if value is not None else float("inf")


def _merge(
    results: list[dict[str, Any]] | None,
    state: TuneState,
    history: History,
    metric: str,
    mode: str,
) -> list[Trial]:
    rows = {str(r["trial_id"]): r for r in results or []}
    curves = _by_trial(history.rows)
    ids = sorted({*rows, *state.trials, *curves})
    trials = []
    for trial_id in ids:
        row, known, curve = rows.get(trial_id), state.trials.get(trial_id), curves.get(trial_id, [])
        values = [v for v in (finite(r.get(metric)) for r in curve) if v is not None]
        trial = Trial(trial_id=trial_id, status=known.status if known else INCOMPLETE)
        trial.history = curve
        trial.final = values[-1] if values else None
        trial.best = Mode(mode).best_value(values) if values else None
        steps = [finite(r.get("training_iteration")) for r in curve]
        trial.iterations = int(max((s for s in steps if s is not None), default=0))
        trial.time_total_s = finite(curve[-1].get("time_total_s")) if curve else None
        trial.config = dict(known.config) if known else {}
        trial.error = known.error if known else ""
        if row is not None:
            _apply_row(trial, row, metric)
        trials.append(trial)
    return trials


def _apply_row(trial: Trial, row: dict[str, Any], metric: str) -> None:
    """results.csv is the final word where it has a value."""
    trial.status = str(row.get("status") or trial.status)
    trial.final = _first(finite(row.get(metric)), trial.final)
    trial.best = _first(finite(row.get(f"best_{metric}")), trial.best, trial.final)
    iterations = row.get("iterations")
    if isinstance(iterations, int) and not isinstance(iterations, bool):
        trial.iterations = iterations
    trial.time_total_s = _first(finite(row.get("time_total_s")), trial.time_total_s)
    # an empty cell: a conditional key that was inactive, the trial kept the config's value
    config = {
        k.removeprefix("config/"): v
        for k, v in row.items()
        if k.startswith("config/") and v is not None
    }
    trial.config = config or trial.config
    trial.error = str(row.get("error") or trial.error)


def _first(*values: float | None) -> float | None:
    return next((v for v in values if v is not None), None)


def _notes(
    results: list[dict[str, Any]] | None,
    state: TuneState,
    history: History,
    trials: list[Trial],
    running: bool,
) -> list[str]:
    notes = []
    sources = "history.jsonl" + (" and Ray's experiment state" if state.trials else "")
    if results is None and running:
        pass  # written when the experiment ends
    elif results is None:
        notes.append(
            f"{RESULTS_FILE} is missing (experiment running or interrupted): "
            f"trials rebuilt from {sources}"
        )
    else:
        listed = {str(r["trial_id"]) for r in results}
        missing = [t.trial_id for t in trials if t.trial_id not in listed]
        if missing:
            notes.append(
                f"{len(missing)} trial(s) missing from {RESULTS_FILE} rebuilt from {sources}: "
                + ", ".join(missing)
            )
    if history.skipped:
        notes.append(
            f"{history.skipped} unreadable line(s) of {HISTORY_FILE} skipped "
            "(cut by an interrupted write)"
        )
    if not history.rows and not running:
        notes.append(f"{HISTORY_FILE} is missing or empty: no learning curves or timeline")
    unknown = [t.trial_id for t in trials if not t.config]
    if unknown and len(unknown) < len(trials):
        notes.append("hyperparameters unknown for: " + ", ".join(unknown))
    return notes
