"""File loggers in a search: each trial writes its own files, under the folder the user ran
`pipetune tune` in, whatever folder Ray's worker processes started in.

The config names the loggers' folders with relative paths, as a user would; the experiment
runs on the shared local Ray, whose workers started in another folder (the repository).
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from tune_toy import TOY_MODULE, read_results, toy_config

from pipetune.experiment import read_history
from pipetune.tune import Experiment

pytestmark = [pytest.mark.ray, pytest.mark.slow]

EPOCHS = 2


def test_each_trial_logs_into_its_own_folder(
    ray_local: object,
    make_module: Callable[..., str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import mlflow
    import ray

    @ray.remote(num_cpus=0)
    def worker_folder() -> str:
        return str(Path.cwd())

    started_in = Path(ray.get(worker_folder.remote()))
    assert started_in != tmp_path
    module = make_module(TOY_MODULE, tmp_path)
    tree = toy_config(module, tmp_path, epochs=EPOCHS, num_samples=1, search_alg="grid")
    tree["tune"]["search_space"] = {"learning_rate": {"type": "grid_search", "values": [0.01, 0.1]}}
    trainer = tree["training_pipeline"]["init_args"]["steps"][1]["init_args"]
    trainer["logger"] = {
        "class_path": "pipetune.loggers.LoggersCollection",
        "init_args": {
            "loggers": [
                {"class_path": "pipetune.loggers.CSVLogger", "init_args": {"savedir": "logs"}},
                {
                    "class_path": "pipetune.loggers.TensorBoardLogger",
                    "init_args": {"savedir": "tb"},
                },
                {
                    "class_path": "pipetune.loggers.MLFlowLogger",
                    "init_args": {"savedir": "mlruns", "experiment_name": "search"},
                },
            ]
        },
    }
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(tree, sort_keys=False))
    monkeypatch.chdir(tmp_path)
    outcome = Experiment(config).run()
    assert outcome.failed == 0

    trial_ids = sorted(r["trial_id"] for r in read_results(outcome.path))
    assert len(trial_ids) == 2
    # CSV: one metrics.csv per trial, holding that trial's own values (as Tune saw them)
    assert sorted(p.name for p in (tmp_path / "logs").iterdir()) == trial_ids
    history = read_history(outcome.path).rows
    for trial_id in trial_ids:
        with (tmp_path / "logs" / trial_id / "metrics.csv").open(newline="") as handle:
            logged = [
                float(row["value"]) for row in csv.DictReader(handle) if row["name"] == "val_loss"
            ]
        reported = [r["val_loss"] for r in history if r["trial_id"] == trial_id]
        assert len(logged) == EPOCHS
        assert all(map(math.isclose, logged, reported)), (logged, reported)
    # TensorBoard: one run (folder of event files) per trial
    assert sorted(p.name for p in (tmp_path / "tb").iterdir()) == trial_ids
    for trial_id in trial_ids:
        assert list((tmp_path / "tb" / trial_id).glob("events.out.tfevents.*"))
    # MLflow: one run per trial, named and tagged with its id, in the file store under cwd
    client = mlflow.MlflowClient(tracking_uri=(tmp_path / "mlruns").as_uri())
    runs = client.search_runs([client.get_experiment_by_name("search").experiment_id])
    assert sorted(run.info.run_name for run in runs) == trial_ids
    assert sorted(run.data.tags["pipetune.trial_id"] for run in runs) == trial_ids
    # nothing went to the folder Ray's workers started in
    assert not [name for name in ("logs", "tb", "mlruns") if (started_in / name).exists()]
