"""The report of a multi-objective experiment: its Pareto front section (a scatter for two
objectives, parallel coordinates for three), absent for one objective; its best trial is
never an infeasible one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pipetune.experiment import write_results
from pipetune.report import load_experiment
from pipetune.report._plotly import pareto_figure
from pipetune.report._sections import fill


def folder_with(tmp_path: Path, rows: list[dict[str, Any]], meta: dict[str, Any]) -> Path:
    write_results(rows, tmp_path)
    (tmp_path / "pipetune_meta.json").write_text(json.dumps(meta))
    return tmp_path


def row(n: int, values: list[float], pareto: bool, feasible: bool = True) -> dict[str, Any]:
    names = ["val_loss", "n_params", "time"][: len(values)]
    return {
        "trial_id": f"t{n}",
        "status": "TERMINATED",
        **{f"best_{name}": v for name, v in zip(names, values, strict=True)},
        "feasible": feasible,
        "pareto": pareto,
        "config/lr": 0.1 * n,
    }


TWO = {"metric": "val_loss", "mode": "min", "metrics": ["val_loss", "n_params"]}


def test_two_objectives_draw_every_trial_and_the_front(tmp_path: Path) -> None:
    rows = [
        row(0, [0.1, 500], False, feasible=False),
        row(1, [0.3, 50], True),
        row(2, [0.2, 80], True),
        row(3, [0.4, 90], False),
    ]
    experiment = load_experiment(folder_with(tmp_path, rows, {**TWO, "modes": ["min", "min"]}))
    views = {v.id: v for v in fill(experiment)}
    assert "pareto" in views
    figure = pareto_figure(experiment, views["pareto"].data)
    traces = {t.name: t for t in figure.data}
    assert list(traces) == ["dominated", "infeasible", "Pareto-optimal", "front"]
    assert list(traces["front"].x) == [0.2, 0.3]  # the front, in the first objective's order
    assert list(traces["infeasible"].text) == ["t0"]
    # the best val_loss is t0's, but it is infeasible: the report's best is t2, as best_config's
    assert experiment.best_trial is not None and experiment.best_trial.trial_id == "t2"


def test_three_objectives_show_the_front_in_parallel_coordinates(tmp_path: Path) -> None:
    rows = [
        row(0, [0.3, 50, 2.0], True),
        row(1, [0.2, 80, 1.0], True),
        row(2, [0.4, 90, 3.0], False),
    ]
    meta = {**TWO, "metrics": ["val_loss", "n_params", "time"], "modes": ["min"] * 3}
    experiment = load_experiment(folder_with(tmp_path, rows, meta))
    view = next(v for v in fill(experiment) if v.id == "pareto")
    (parcoords,) = pareto_figure(experiment, view.data).data
    assert [d.label for d in parcoords.dimensions] == ["val_loss", "n_params", "time"]
    assert sorted(parcoords.dimensions[0].values) == [0.2, 0.3]  # the front only


def test_one_objective_has_no_pareto_section(tmp_path: Path) -> None:
    rows = [{"trial_id": "t0", "status": "TERMINATED", "best_val_loss": 0.1}]
    experiment = load_experiment(folder_with(tmp_path, rows, {"metric": "val_loss", "mode": "min"}))
    assert "pareto" not in {v.id for v in fill(experiment)}


def test_the_trial_table_shows_the_other_objectives_and_the_marks(tmp_path: Path) -> None:
    from pipetune.report._model import trial_table

    rows = [row(0, [0.1, 500], False, feasible=False), row(1, [0.3, 50], True)]
    experiment = load_experiment(folder_with(tmp_path, rows, {**TWO, "modes": ["min", "min"]}))
    table = trial_table(experiment)
    columns = ["best n_params", "pareto", "feasible"]
    assert table.headers[7:10] == columns
    assert [values[7:10] for _, values in table.rows] == [[500.0, False, False], [50.0, True, True]]
