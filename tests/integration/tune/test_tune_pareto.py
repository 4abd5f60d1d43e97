"""Several objectives and constraints on the shared local Ray (issue 18, points 1 and 4).

The toy trainer reports ``n_params`` (a callback adds it), searched through the width of its
hidden layer: a 2-objective search of val_loss and n_params, with a bound on n_params.
results.csv's ``pareto`` column is checked against a brute-force dominance test of its own
rows, and the configs of ``pareto/`` run.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from tune_toy import TOY_MODULE, read_results, toy_config

from pipetune.cli.main import main
from pipetune.tune import Experiment

N_PARAMS = '''

class NParams(Callback):
    """Reports the model's size beside its losses."""

    def on_epoch_end(self, trainer, epoch, metrics):
        metrics["n_params"] = float(sum(p.numel() for p in trainer.model.parameters()))
'''

MAX_PARAMS = 100.0  # Net(hidden) has 7 * hidden + 2 parameters: 16 and 32 are too big
HIDDEN = {"type": "choice", "categories": [2, 4, 8, 16, 32]}


def write_config(make_module: Callable[..., str], folder: Path, **tune: Any) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    module = make_module(TOY_MODULE + N_PARAMS, folder)
    tree = toy_config(module, folder, epochs=1, top_level={"hidden": 8}, **tune)
    trainer = tree["training_pipeline"]["init_args"]["steps"][1]["init_args"]
    trainer["model"]["init_args"] = {"hidden": "${hidden}"}
    trainer["callbacks"] = [{"class_path": f"{module}.NParams"}]
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(tree, sort_keys=False))
    return path


def dominated(p: tuple[float, float], others: list[tuple[float, float]]) -> bool:
    """Brute force: some other point is no worse in both (min, min) and better in one."""
    return any(q[0] <= p[0] and q[1] <= p[1] and q != p for q in others)


@pytest.mark.slow
@pytest.mark.ray
def test_two_objectives_with_a_constraint_mark_the_front_and_write_runnable_configs(
    ray_local: object, make_module: Callable[..., str], tmp_path: Path
) -> None:
    config = write_config(
        make_module,
        tmp_path,
        metric=["val_loss", "n_params"],
        mode=["min", "min"],
        constraints=[{"metric": "n_params", "max": MAX_PARAMS}],
        num_samples=6,
        search_space={
            "hidden": HIDDEN,
            "learning_rate": {"type": "loguniform", "lower": 1e-3, "upper": 1e-1},
        },
        # the biggest model first: always one infeasible trial
        points_to_evaluate=[{"hidden": 32, "learning_rate": 0.05}],
    )
    outcome = Experiment(config).run()
    rows = read_results(outcome.path)
    assert len(rows) == 6 and {r["status"] for r in rows} == {"TERMINATED"}
    for r in rows:
        assert float(r["n_params"]) == 7 * int(r["config/hidden"]) + 2
        assert r["feasible"] == str(float(r["n_params"]) <= MAX_PARAMS)
    assert "False" in {r["feasible"] for r in rows}
    # the pareto column, checked against brute force over results.csv's own values
    feasible = [r for r in rows if r["feasible"] == "True"]
    points = {
        r["trial_id"]: (float(r["best_val_loss"]), float(r["best_n_params"])) for r in feasible
    }
    front = {t for t, p in points.items() if not dominated(p, list(points.values()))}
    assert front and {r["trial_id"] for r in rows if r["pareto"] == "True"} == front
    # pareto/: one config per trial of the front, each with that trial's values
    written = {
        p.stem: yaml.safe_load(p.read_text()) for p in (outcome.path / "pareto").glob("*.yaml")
    }
    assert set(written) == front
    by_id = {r["trial_id"]: r for r in rows}
    for trial_id, tree in written.items():
        assert tree["hidden"] == int(by_id[trial_id]["config/hidden"])
    # best_config.yaml: the front's best val_loss, never the infeasible model
    best = min(front, key=lambda t: points[t][0])
    assert outcome.best is not None and outcome.best["trial_id"] == best
    assert yaml.safe_load((outcome.path / "best_config.yaml").read_text()) == written[best]
    # a config of the front runs as best_config.yaml does
    assert main(["run", str(outcome.path / "pareto" / f"{best}.yaml")]) == 0


def test_several_metrics_with_asha_are_refused_and_nothing_is_written(
    make_module: Callable[..., str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(
        make_module,
        tmp_path,
        metric=["val_loss", "n_params"],
        mode=["min", "min"],
        scheduler="asha",
        search_space={"hidden": HIDDEN},
    )
    assert main(["tune", str(config)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert str(config) in err[0] and "tune.scheduler" in err[0] and "scheduler: fifo" in err[0]
    assert not (tmp_path / "runs").exists()
