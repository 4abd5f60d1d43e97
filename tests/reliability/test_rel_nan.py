"""Issue 7, point 4: a trial whose loss becomes NaN ends DIVERGED (not ERROR), the experiment
goes on, and no NaN ever reaches Tune.

One experiment on the shared local Ray, a grid on the learning rate (SGD with momentum):
- 0.01 trains normally;
- 1e10 makes the loss NaN within its first epoch, before any report;
- 0.02 trains one epoch, then its model turns NaN (the ``Blowup`` callback) at the second.
"""

from __future__ import annotations

import math
import os
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from rel_toy import read_history, read_results, write_config

from pipetune.tune import Experiment, ExperimentOutcome

pytestmark = [pytest.mark.ray, pytest.mark.slow]

FINE, AT_ONCE, LATER = 0.01, 1e10, 0.02


@pytest.fixture(scope="module")
def nan_run(ray_local: object, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    folder = tmp_path_factory.mktemp("nan")
    names: list[str] = []

    def make_module(code: str, where: Path) -> str:
        name = f"rel_nan_toy_{os.getpid()}"
        (where / f"{name}.py").write_text(textwrap.dedent(code))
        names.append(name)
        return name

    config = write_config(
        make_module,
        folder,
        epochs=3,
        optimizer="sgd",
        callbacks=[{"name": "Blowup", "args": {"lr": LATER, "epoch": 1}}],
        num_samples=1,
        search_alg="grid",
        search_space={"learning_rate": {"type": "grid_search", "values": [FINE, AT_ONCE, LATER]}},
    )
    outcome = Experiment(config).run()  # must not raise
    rows = {float(r["config/learning_rate"]): r for r in read_results(outcome.path)}
    yield {"outcome": outcome, "rows": rows, "history": read_history(outcome.path)}
    for name in names:
        sys.modules.pop(name, None)


def test_diverged_trials_end_diverged_and_the_others_terminated(nan_run: dict) -> None:
    rows = nan_run["rows"]
    assert rows[FINE]["status"] == "TERMINATED"
    assert int(rows[FINE]["iterations"]) == 3
    for lr, epoch in ((AT_ONCE, 0), (LATER, 1)):
        assert rows[lr]["status"] == "DIVERGED", rows[lr]
        assert rows[lr]["error"].startswith(f"training diverged at epoch {epoch}: "), rows[lr]
        assert "nan" in rows[lr]["error"]
    outcome: ExperimentOutcome = nan_run["outcome"]
    assert outcome.failed == 0 and outcome.unfinished == 0
    # every trial of the grid has its own row, under its own trial id
    assert len({r["trial_id"] for r in rows.values()}) == 3
    assert all(r["trial_id"].count("_") == 1 for r in rows.values())


def test_no_nan_ever_reached_tune(nan_run: dict) -> None:
    rows = nan_run["rows"]
    per_trial: dict[str, list[dict]] = {}
    for row in nan_run["history"]:
        per_trial.setdefault(row["trial_id"], []).append(row)
    for row in nan_run["history"]:
        for key, value in row.items():
            if isinstance(value, float):
                assert math.isfinite(value), (key, row)
    assert per_trial.get(rows[AT_ONCE]["trial_id"], []) == []  # never reported
    later = per_trial[rows[LATER]["trial_id"]]
    assert [r["training_iteration"] for r in later] == [1]  # epoch 0 only
    assert math.isfinite(float(rows[LATER]["best_val_loss"]))
