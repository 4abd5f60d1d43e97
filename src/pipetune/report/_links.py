"""What the report points to: the command reproducing the best trial, and the folder's files."""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass
from typing import Any

from pipetune.report._files import BEST_CONFIG_FILE, CONFIG_COPY, HISTORY_FILE, RESULTS_FILE
from pipetune.report._model import ExperimentData, Trial

#: Tracker folders an experiment may hold → (title, command that opens them).
TRACKERS = {
    "mlruns": ("MLflow runs", "mlflow ui --backend-store-uri {path}"),
    "tensorboard": ("TensorBoard logs", "tensorboard --logdir {path}"),
}


@dataclass(frozen=True)
class Link:
    title: str
    href: str  # relative to the experiment folder
    command: str = ""


def reproduce_command(experiment: ExperimentData, trial: Trial) -> str:
    """``pipetune run best_config.yaml``, or the saved config with the trial's values as -o."""
    best_config = experiment.folder / BEST_CONFIG_FILE
    if best_config.is_file() and trial is experiment.best_trial:
        return f"pipetune run {shlex.quote(str(best_config))}"
    overrides = " ".join(
        f"-o {shlex.quote(f'{key}={_yaml_scalar(value)}')}" for key, value in trial.config.items()
    )
    command = f"pipetune run {shlex.quote(str(experiment.folder / CONFIG_COPY))}"
    return f"{command} {overrides}".strip()


def _yaml_scalar(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, default=str)


def folder_links(experiment: ExperimentData) -> list[Link]:
    links = [
        Link(name, name)
        for name in (RESULTS_FILE, BEST_CONFIG_FILE, HISTORY_FILE, CONFIG_COPY)
        if (experiment.folder / name).is_file()
    ]
    for folder, (title, command) in TRACKERS.items():
        path = experiment.folder / folder
        if path.is_dir():
            links.append(Link(title, f"{folder}/", command.format(path=shlex.quote(str(path)))))
    return links
