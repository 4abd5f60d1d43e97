"""Hyperparameter kinds, fANOVA importances and the time series behind the figures."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from test_report_support import RUNNING, write_interrupted

from pipetune.report import ExperimentData, Trial, load_experiment
from pipetune.report._importance import importance
from pipetune.report._params import describe
from pipetune.report._series import curves, progress, spans


def _experiment(configs: list[dict[str, Any]], values: list[float]) -> ExperimentData:
    trials = [
        Trial(f"t{i:02d}", "TERMINATED", config, value, value, 1)
        for i, (config, value) in enumerate(zip(configs, values, strict=True))
    ]
    return ExperimentData(Path("/nowhere"), "val_loss", "min", trials)


def test_param_kinds() -> None:
    lr = describe("lr", [1e-4, 1e-3, 0.1])
    assert lr is not None and (lr.kind, lr.log) == ("float", True)
    narrow = describe("dropout", [0.1, 0.5])
    assert narrow is not None and (narrow.kind, narrow.log) == ("float", False)
    batch = describe("batch", [32, 64, None])
    assert batch is not None and batch.kind == "int" and batch.varies
    opt = describe("opt", ["sgd", "adam", [1, 2]])
    assert opt is not None and opt.kind == "categorical"
    assert opt.choices == ("[1, 2]", "adam", "sgd")
    assert opt.position("sgd") == 2.0
    single = describe("seed", [0, 0])
    assert single is not None and not single.varies
    assert describe("none", [None]) is None


def test_fanova_ranks_the_parameter_that_matters() -> None:
    configs = [
        {"lr": 10 ** (-4 + i * 0.25), "batch": [16, 32, 64][i % 3], "seed": 0, "opt": "ab"[i % 2]}
        for i in range(12)
    ]
    values = [abs(i - 6) * 0.1 for i in range(12)]  # driven by lr's position alone
    result = importance(_experiment(configs, values))
    assert next(iter(result.values)) == "lr"
    assert set(result.values) == {"lr", "batch", "opt"}
    assert sum(result.values.values()) == pytest.approx(1.0, abs=1e-6)
    assert result.trials == 12
    assert any("seed" in note for note in result.notes)
    assert not any("reliable" in note for note in result.notes)


def test_fanova_notes_when_it_cannot_or_should_not_be_trusted(tmp_path: Path) -> None:
    result = importance(load_experiment(write_interrupted(tmp_path / "exp")))
    assert set(result.values) == {"lr", "optimizer"}  # batch_size is 32 in both finished trials
    assert any("rough hint" in note for note in result.notes)
    one = importance(_experiment([{"lr": 0.1}], [1.0]))
    assert not one.values and "at least 2 completed trials" in one.notes[0]
    same = importance(_experiment([{"lr": 0.1}, {"lr": 0.1}], [1.0, 2.0]))
    assert not same.values and "more than one value" in same.notes[0]


def test_curves_progress_and_lanes(tmp_path: Path) -> None:
    experiment = load_experiment(write_interrupted(tmp_path / "exp"))
    lengths = {c.trial_id: len(c.iterations) for c in curves(experiment)}
    assert lengths == {"a1b2c_00000": 3, "a1b2c_00001": 2, "a1b2c_00002": 1, RUNNING: 2}
    series = progress(experiment)
    assert series.seconds == sorted(series.seconds)
    assert all(b >= a for a, b in zip(series.best[1:], series.best, strict=False))
    assert series.best[-1] == pytest.approx(0.55)
    by_id = {s.trial_id: s for s in spans(experiment)}
    assert by_id["a1b2c_00000"].row == by_id["a1b2c_00002"].row == "10.0.0.1 #1"
    assert by_id["a1b2c_00001"].row == "10.0.0.2 #1"
    assert by_id[RUNNING].row == "10.0.0.2 #2"  # overlaps trial 1 on the same node
    assert by_id["a1b2c_00000"].start == pytest.approx(1_700_000_000.0)


def test_trials_on_nodes_sharing_an_ip_get_their_own_rows() -> None:
    rows = [
        {"node_ip": "10.0.0.9", "node_id": node, "timestamp": 100.0, "time_this_iter_s": 5.0}
        for node in ("aaaa1111ffff", "bbbb2222ffff")
    ]
    trials = [Trial(f"t{i}", "TERMINATED", history=[row]) for i, row in enumerate(rows)]
    found = spans(ExperimentData(Path("/nowhere"), "val_loss", "min", trials))
    assert [s.row for s in found] == ["10.0.0.9 (aaaa1111) #1", "10.0.0.9 (bbbb2222) #1"]
