"""Reading an experiment folder in whatever state it was left: rows, configs, notes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_report_support import RUNNING, TRIALS, write_interrupted

from pipetune.errors import ConfigError
from pipetune.report import load_experiment
from pipetune.report._files import parse_cell


def test_interrupted_folder_gives_every_trial(tmp_path: Path) -> None:
    experiment = load_experiment(write_interrupted(tmp_path / "exp"))
    assert experiment.metric == "val_loss" and experiment.mode == "min"
    assert [t.trial_id for t in experiment.trials] == sorted(TRIALS)
    by_id = {t.trial_id: t for t in experiment.trials}
    assert by_id["a1b2c_00000"].status == "TERMINATED"
    assert by_id["a1b2c_00000"].best == pytest.approx(0.55)
    assert by_id["a1b2c_00001"].status == "ERROR"
    assert "diverged" in by_id["a1b2c_00001"].error
    assert by_id["a1b2c_00002"].iterations == 1
    running = by_id[RUNNING]
    assert running.status == "RUNNING"  # from Ray's state: not in results.csv
    assert running.config == {"lr": 0.003, "batch_size": 128, "optimizer": "rmsprop"}
    assert running.iterations == 2 and running.best == pytest.approx(0.6)
    assert experiment.best_trial is by_id["a1b2c_00000"]
    assert [t.trial_id for t in experiment.ranked()][:2] == ["a1b2c_00000", RUNNING]
    notes = " ".join(experiment.notes)
    assert "missing from results.csv rebuilt from history.jsonl" in notes
    assert RUNNING in notes
    assert "1 unreadable line(s) of history.jsonl skipped" in notes


def test_without_results_csv_rows_are_rebuilt_from_history(tmp_path: Path) -> None:
    experiment = load_experiment(write_interrupted(tmp_path / "exp", results=False))
    assert len(experiment.trials) == 4
    assert "results.csv is missing" in experiment.notes[0]
    by_id = {t.trial_id: t for t in experiment.trials}
    assert by_id["a1b2c_00000"].final == pytest.approx(0.55)
    assert by_id["a1b2c_00001"].best == pytest.approx(1.2)
    assert by_id["a1b2c_00001"].config["optimizer"] == "sgd"  # from Ray's state


def test_history_only_trials_have_no_config_but_still_count(tmp_path: Path) -> None:
    folder = write_interrupted(tmp_path / "exp", results=False, state=False)
    experiment = load_experiment(folder)
    assert {t.status for t in experiment.trials} == {"INCOMPLETE"}
    assert experiment.param_names == []
    assert experiment.best_trial is not None and experiment.best_trial.trial_id == "a1b2c_00000"


def test_metric_and_mode_from_the_command_line(tmp_path: Path) -> None:
    experiment = load_experiment(write_interrupted(tmp_path / "exp"), "val_accuracy", "max")
    assert (experiment.metric, experiment.mode) == ("val_accuracy", "max")
    assert experiment.best_trial is not None
    assert experiment.best_trial.best == pytest.approx(1 - 0.55 / 2)


def test_metric_from_meta_overrides_the_config(tmp_path: Path) -> None:
    folder = write_interrupted(tmp_path / "exp", results=False)
    (folder / "pipetune_meta.json").write_text(json.dumps({"metric": "train_loss"}))
    assert load_experiment(folder).metric == "train_loss"


def test_not_an_experiment_folder(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not a pipetune experiment folder"):
        load_experiment(tmp_path)
    with pytest.raises(ConfigError, match="not a folder"):
        load_experiment(tmp_path / "nothing")
    with pytest.raises(ConfigError, match="mode"):
        load_experiment(write_interrupted(tmp_path / "exp"), mode="up")


def test_csv_cells_get_their_types_back() -> None:
    assert parse_cell("") is None
    assert parse_cell("32") == 32 and isinstance(parse_cell("32"), int)
    assert parse_cell("1e-3") == pytest.approx(0.001)
    assert parse_cell("True") is True
    assert parse_cell("1_0") == "1_0"
    assert parse_cell("[0.9, 0.99]") == "[0.9, 0.99]"


def test_an_empty_config_cell_is_a_key_the_trial_did_not_set(tmp_path: Path) -> None:
    """A conditional key that was inactive (issue 18): no value, so the reproduce command
    and the parameter plots leave it out instead of setting it to null."""
    from pipetune.experiment import read_results, write_results

    folder = write_interrupted(tmp_path / "exp")
    rows = read_results(folder)
    assert rows is not None
    rows[0]["config/optimizer"] = None
    write_results(rows, folder)
    by_id = {t.trial_id: t for t in load_experiment(folder).trials}
    assert by_id[rows[0]["trial_id"]].config == {"lr": 0.0001, "batch_size": 32}
