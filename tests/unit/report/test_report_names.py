"""Searched keys under their short names in the report's tables and figures; a choice of
numbers gets a categorical axis; the summary says how many trials it leaves out."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from pipetune.experiment import write_results
from pipetune.report import ExperimentData, Trial, load_experiment, print_summary
from pipetune.report._importance import importance
from pipetune.report._model import trial_table
from pipetune.report._parallel import parallel
from pipetune.report._plotly import curves_figure, parallel_figure
from pipetune.report._series import curves
from pipetune.tune import print_summary as print_tune_summary

STEP = "training_pipeline.init_args.steps.1.init_args"
HIDDEN, DROPOUT, LR = f"{STEP}.model.init_args.hidden", f"{STEP}.dropout", "learning_rate"
CONFIG = f"""\
tune:
  metric: val_loss
  mode: min
  search_space:
    {HIDDEN}: {{type: choice, categories: [32, 64, 128]}}
    {DROPOUT}: {{type: uniform, lower: 0.0, upper: 0.5, label: drop}}
    {LR}: {{type: loguniform, lower: 1.0e-4, upper: 1.0e-1}}
"""


def _rows(count: int) -> list[dict[str, Any]]:
    return [
        {
            "trial_id": f"t{i:02d}",
            "status": "TERMINATED",
            "val_loss": 1.0 / (i + 1),
            "best_val_loss": 1.0 / (i + 1),
            "iterations": 2,
            "time_total_s": 1.5,
            f"config/{HIDDEN}": [32, 64, 128][i % 3],
            f"config/{DROPOUT}": 0.1 * (i % 4),
            f"config/{LR}": 10.0 ** -(1 + i % 4),
            "error": "",
        }
        for i in range(count)
    ]


@pytest.fixture
def experiment(tmp_path: Path) -> ExperimentData:
    """A folder as `pipetune tune` leaves it: results.csv and the saved config."""
    write_results(_rows(14), tmp_path)
    (tmp_path / "pipetune_config.yaml").write_text(CONFIG)
    loaded = load_experiment(tmp_path)
    for trial in loaded.trials:  # a short history for the curves' hover text
        trial.history = [{"training_iteration": 1, "val_loss": trial.best}]
    return loaded


def test_the_folder_gives_back_the_labels_and_categories(experiment: ExperimentData) -> None:
    assert experiment.labels == {DROPOUT: "drop"}
    assert experiment.categories == {HIDDEN: [32, 64, 128]}
    assert experiment.names == {HIDDEN: "hidden", DROPOUT: "drop", LR: LR}


def test_the_trials_table_shows_short_names(experiment: ExperimentData) -> None:
    table = trial_table(experiment)
    assert table.headers[7:] == ["hidden", "drop", LR, "error"]
    assert table.keys == {"hidden": HIDDEN, "drop": DROPOUT, LR: LR}


def test_a_choice_of_numbers_gets_a_categorical_axis(experiment: ExperimentData) -> None:
    axes = {axis.label: axis for axis in parallel(experiment).axes}
    assert list(axes) == ["hidden", "drop", f"{LR} (log)", "val_loss"]
    assert axes["hidden"].tickvals == [0.0, 1.0, 2.0]
    assert axes["hidden"].ticktext == ["32", "64", "128"]
    assert set(axes["hidden"].values) == {0.0, 1.0, 2.0}
    figure = parallel_figure(experiment, parallel(experiment))
    labels = [d.label for d in figure.data[0].dimensions]
    assert labels == ["hidden", "drop", f"{LR} (log)", "val_loss"]


def test_hover_text_and_importance_use_short_names(experiment: ExperimentData) -> None:
    hover = curves_figure(experiment, curves(experiment)).data[0].hovertemplate
    assert "hidden=" in hover and "drop=" in hover and STEP not in hover
    assert set(importance(experiment).values) <= {"hidden", "drop", LR}
    assert importance(experiment).values


def test_the_report_summary_says_what_it_leaves_out(experiment: ExperimentData) -> None:
    out = io.StringIO()
    print_summary(experiment, console=Console(file=out, width=200))
    text = out.getvalue()
    assert "top 10 of 14 trial(s)" in text and "4 more in the report" in text
    assert "hidden" in text and STEP not in text
    out = io.StringIO()
    print_summary(experiment, None, console=Console(file=out, width=200))
    assert "top" not in out.getvalue() and "t00" in out.getvalue()


def test_the_tune_summary_says_top_n_of_m_and_lists_all_on_request(
    capsys: pytest.CaptureFixture[str],
) -> None:
    print_tune_summary(_rows(14), "val_loss", "min", 10, {DROPOUT: "drop"})
    text = capsys.readouterr().out
    assert "top 10 of 14 trials" in text and "--all shows every trial" in text
    header = next(line for line in text.splitlines() if line.strip().startswith("trial"))
    assert header.split()[4:] == ["hidden", "drop", LR]
    assert "t00" not in text  # the worst trial
    print_tune_summary(_rows(14), "val_loss", "min", None)
    text = capsys.readouterr().out
    assert "14 trials, best val_loss" in text and "top" not in text and "t00" in text
    assert "0.3333" in text and "0.33333" not in text  # floats rounded to 4 significant digits


def test_trials_with_an_unknown_category_still_show(experiment: ExperimentData) -> None:
    trial = Trial("odd", "TERMINATED", {HIDDEN: 256, DROPOUT: 0.2, LR: 0.01}, 0.5, 0.5, 1)
    experiment.trials.append(trial)
    axes = {axis.label: axis for axis in parallel(experiment).axes}
    assert axes["hidden"].ticktext == ["32", "64", "128", "256"]
