"""A hand-made experiment folder, left as an interrupted ``pipetune tune`` would leave it.

Four trials: one finished after 3 iterations, one ERROR, one stopped after a single
iteration, and one still running (in history.jsonl and Ray's state, missing from
results.csv) whose last history line was cut mid-write. No tests here: a helper module.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

START = 1_700_000_000.0
EVIL = "<b>adam&w</b>"
EVIL_ERROR = "RuntimeError: diverged <script>alert(1)</script>"

#: trial id → (status or None when missing from results.csv, node, config, val_loss per epoch)
TRIALS: dict[str, tuple[str | None, str, dict[str, Any], list[float]]] = {
    "a1b2c_00000": (
        "TERMINATED",
        "10.0.0.1",
        {"lr": 0.0001, "batch_size": 32, "optimizer": "adam"},
        [0.9, 0.7, 0.55],
    ),
    "a1b2c_00001": (
        "ERROR",
        "10.0.0.2",
        {"lr": 0.1, "batch_size": 64, "optimizer": "sgd"},
        [1.2, 1.5],
    ),
    "a1b2c_00002": (
        "TERMINATED",
        "10.0.0.1",
        {"lr": 0.01, "batch_size": 32, "optimizer": EVIL},
        [0.8],
    ),
    "a1b2c_00003": (
        None,
        "10.0.0.2",
        {"lr": 0.003, "batch_size": 128, "optimizer": "rmsprop"},
        [0.75, 0.6],
    ),
}
RUNNING = "a1b2c_00003"

CONFIG = """\
lr: 0.001
batch_size: 32
optimizer: adam
training_pipeline:
  class_path: pipetune.Pipeline
  init_args: {steps: []}
tune:
  metric: val_loss
  mode: min
  num_samples: 4
  search_space:
    lr: {type: loguniform, lower: 1.0e-4, upper: 1.0e-1}
    batch_size: {type: choice, categories: [32, 64, 128]}
    optimizer: {type: choice, categories: [adam, sgd, rmsprop]}
  name: hand-made
"""


def _history(folder: Path) -> None:
    lines = []
    offset = {"a1b2c_00000": 0.0, "a1b2c_00001": 1.0, "a1b2c_00002": 40.0, RUNNING: 15.0}
    for trial_id, (_, node, _, losses) in TRIALS.items():
        for epoch, loss in enumerate(losses, start=1):
            row = {
                "trial_id": trial_id,
                "node_ip": node,
                "timestamp": START + offset[trial_id] + 10.0 * epoch,
                "training_iteration": epoch,
                "time_this_iter_s": 10.0,
                "time_total_s": 10.0 * epoch,
                "val_loss": loss,
                "val_accuracy": 1.0 - loss / 2,
                "train_loss": loss + 0.05,
            }
            lines.append(json.dumps(row))
    cut = json.dumps({"trial_id": RUNNING, "node_ip": "10.0.0.2", "val_loss": 0.5})
    text = "\n".join(lines) + "\n" + cut[: len(cut) // 2]  # the driver died mid-line
    (folder / "history.jsonl").write_text(text)


def _results(folder: Path) -> None:
    columns = ["trial_id", "status", "val_loss", "best_val_loss", "iterations", "time_total_s"]
    columns += ["config/lr", "config/batch_size", "config/optimizer", "error"]
    with (folder / "results.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        for trial_id, (status, _, config, losses) in TRIALS.items():
            if status is None:
                continue
            writer.writerow(
                {
                    "trial_id": trial_id,
                    "status": status,
                    "val_loss": losses[-1],
                    "best_val_loss": min(losses),
                    "iterations": len(losses),
                    "time_total_s": 10.0 * len(losses),
                    **{f"config/{k}": v for k, v in config.items()},
                    "error": EVIL_ERROR if status == "ERROR" else "",
                }
            )


def _state(folder: Path) -> None:
    entries = []
    for trial_id, (status, _, config, _) in TRIALS.items():
        static = {
            "trial_id": trial_id,
            "status": status or "RUNNING",
            "config": config,
            "relative_logdir": f"run_trial_{trial_id}",
        }
        entries.append([json.dumps(static), json.dumps({"error_filename": None})])
    state = {"trial_data": entries, "runner_data": {"_metric": "val_loss"}}
    (folder / "experiment_state-2023-11-14_22-13-20.json").write_text(json.dumps(state))


def write_interrupted(
    folder: Path, *, results: bool = True, state: bool = True, trackers: bool = False
) -> Path:
    """Write the experiment into ``folder`` (created); return it."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "pipetune_config.yaml").write_text(CONFIG)
    (folder / "pipetune_meta.json").write_text(json.dumps({"config_file": "config.yaml"}))
    _history(folder)
    if results:
        _results(folder)
    if state:
        _state(folder)
    if trackers:
        (folder / "mlruns").mkdir()
        (folder / "tensorboard").mkdir()
    return folder
