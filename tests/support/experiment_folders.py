"""Small experiment folders written by hand (results.csv, history.jsonl, the saved config),
as a finished ``pipetune tune`` leaves them, for the report tests that need no Ray."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

START = 1_760_000_000.0


def write_folder(
    folder: Path,
    trials: list[tuple[dict[str, Any], list[float]]],
    *,
    metric: str = "val_loss",
    mode: str = "min",
    epoch_s: float = 10.0,
) -> Path:
    """One trial per ``(config, metric per epoch)``, two at a time, ``epoch_s`` an epoch."""
    folder.mkdir(parents=True)
    rows, history = [], []
    for i, (config, values) in enumerate(trials):
        trial_id = f"c0ffe_{i:05d}"
        begin = START + (i // 2) * epoch_s * 4  # two slots, four epochs apart
        for epoch, value in enumerate(values, start=1):
            history.append(
                {
                    "trial_id": trial_id,
                    "node_ip": "10.0.0.1",
                    "timestamp": begin + epoch_s * epoch,
                    "training_iteration": epoch,
                    "time_this_iter_s": epoch_s,
                    "time_total_s": epoch_s * epoch,
                    metric: value,
                }
            )
        best = min(values) if mode == "min" else max(values)
        rows.append(
            {
                "trial_id": trial_id,
                "status": "TERMINATED",
                metric: values[-1],
                f"best_{metric}": best,
                "iterations": len(values),
                "time_total_s": epoch_s * len(values),
                **{f"config/{k}": v for k, v in config.items()},
                "error": "",
            }
        )
    history.sort(key=lambda r: float(r["timestamp"]))
    (folder / "history.jsonl").write_text("".join(json.dumps(r) + "\n" for r in history))
    with (folder / "results.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    space = "{model.init_args.hidden: {type: choice, categories: [32, 64]}}"
    (folder / "pipetune_config.yaml").write_text(
        f"tune: {{metric: {metric}, mode: {mode}, search_space: {space}}}\n"
    )
    return folder


def two_experiments(root: Path, second: str = "fashion-b") -> tuple[Path, Path]:
    """Two folders tuning val_loss: same optimizer, a different best lr and hidden size."""
    a = write_folder(
        root / "fashion-a",
        [
            ({"lr": 0.01, "model.init_args.hidden": 64, "optimizer": "adam"}, [0.9, 0.6, 0.5]),
            ({"lr": 0.1, "model.init_args.hidden": 32, "optimizer": "adam"}, [1.1, 0.95]),
            ({"lr": 0.001, "model.init_args.hidden": 32, "optimizer": "sgd"}, [0.8, 0.7]),
        ],
    )
    b = write_folder(
        root / second,
        [
            ({"lr": 0.003, "model.init_args.hidden": 128, "optimizer": "adam"}, [0.7, 0.45, 0.4]),
            ({"lr": 0.3, "model.init_args.hidden": 32, "optimizer": "sgd"}, [1.3]),
        ],
        epoch_s=6.0,
    )
    return a, b
