"""What Ray Tune's own experiment snapshot says about each trial (status, config, error).

Tune writes one ``experiment_state-<session time>.json`` per driver session and, when it
restores, reads the one whose name sorts last; so does this module (modification times of
files written within the same millisecond cannot order them). It is the only record of a
trial's sampled values before ``results.csv`` is written. Values Ray could only pickle are
left out: reading a folder never unpickles anything.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipetune.experiment._files import STATE_GLOB

_PICKLED = "_type"


@dataclass
class StateTrial:
    trial_id: str
    status: str
    config: dict[str, Any] = field(default_factory=dict)
    error: str = ""


@dataclass
class TuneState:
    metric: str | None = None
    trials: dict[str, StateTrial] = field(default_factory=dict)
    #: the snapshot read (None when the folder has none)
    path: Path | None = None
    #: whether that snapshot could be read as Tune's JSON
    readable: bool = False

    def statuses(self) -> dict[str, str]:
        """Trial id → Tune's status word."""
        return {trial_id: trial.status for trial_id, trial in self.trials.items()}


def state_files(folder: Path) -> list[Path]:
    """Tune's snapshots in ``folder``, oldest first, in the order Tune itself uses."""
    return sorted(folder.glob(STATE_GLOB), key=lambda path: path.name)


def latest_state_file(folder: Path) -> Path | None:
    files = state_files(folder)
    return files[-1] if files else None


def read_state(folder: Path) -> TuneState:
    """The newest snapshot; an absent or unreadable one gives no trials."""
    path = latest_state_file(folder)
    if path is None:
        return TuneState()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return TuneState(path=path)
    if not isinstance(data, dict):
        return TuneState(path=path)
    runner = data.get("runner_data")
    metric = runner.get("_metric") if isinstance(runner, dict) else None
    state = TuneState(metric if isinstance(metric, str) else None, path=path, readable=True)
    entries = data.get("trial_data")
    for entry in entries if isinstance(entries, list) else []:
        trial = _trial(entry, folder)
        if trial is not None:
            state.trials[trial.trial_id] = trial
    return state


def _decode(part: Any) -> dict[str, Any]:
    if isinstance(part, str):
        try:
            part = json.loads(part)
        except ValueError:
            return {}
    return part if isinstance(part, dict) else {}


def _trial(entry: Any, folder: Path) -> StateTrial | None:
    parts = entry if isinstance(entry, list | tuple) else [entry]
    static = _decode(parts[0]) if parts else {}
    runtime = _decode(parts[1]) if len(parts) > 1 else {}
    trial_id = static.get("trial_id")
    if not trial_id:
        return None
    config = static.get("config")
    return StateTrial(
        trial_id=str(trial_id),
        status=str(static.get("status") or "UNKNOWN"),
        config=flatten(config) if isinstance(config, dict) and _PICKLED not in config else {},
        error=_error_line(folder, static.get("relative_logdir"), runtime.get("error_filename")),
    )


def flatten(config: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested mappings as dotted keys; pickled values (Ray's fallback) are dropped."""
    flat: dict[str, Any] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            if _PICKLED not in value:
                flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def _error_line(folder: Path, logdir: Any, filename: Any) -> str:
    if not isinstance(logdir, str) or not isinstance(filename, str):
        return ""
    try:
        path = folder / Path(logdir).name / Path(filename).name  # never outside the folder
        lines = path.read_text(encoding="utf-8").strip().splitlines()
    except (OSError, UnicodeDecodeError):
        return "error (see the trial folder)"
    return lines[-1] if lines else ""
