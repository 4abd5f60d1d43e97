"""A real ``pipetune tune`` on a nested search space: the short names of the searched keys in
the printed table, report.html's table and its plots, and no Ray or Optuna noise."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from typing import Any

import pytest
import yaml
from tune_toy import TOY_MODULE, toy_config

pytestmark = [pytest.mark.ray, pytest.mark.slow]

STEPS = "training_pipeline.init_args.steps"
HIDDEN = f"{STEPS}.1.init_args.model.init_args.hidden"
SAMPLES = f"{STEPS}.0.init_args.n"
SPACE: dict[str, Any] = {
    "learning_rate": {"type": "loguniform", "lower": 1e-3, "upper": 1e-1},
    HIDDEN: {"type": "choice", "categories": [4, 8, 16]},
    SAMPLES: {"type": "choice", "categories": [48, 64], "label": "samples"},
}
#: lines Ray and Optuna print that a user can do nothing about
NOISE = ("Token authentication is enabled", "A new study created", "Tuner.restore")


def _figure(page: str, div_id: str) -> list[dict[str, Any]]:
    """The traces plotly draws in the div ``div_id`` of a report page."""
    start = page.index(f'"{div_id}",', page.index(f'<div id="{div_id}"'))
    traces, _ = json.JSONDecoder().raw_decode(page, page.index("[", start))
    return list(traces)


@pytest.fixture(scope="module")
def nested_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("names")
    (folder / "names_toy.py").write_text(TOY_MODULE)
    tree = toy_config("names_toy", folder, num_samples=4, search_alg="optuna", search_space=SPACE)
    steps = tree["training_pipeline"]["init_args"]["steps"]
    steps[0]["init_args"]["n"] = 64
    steps[1]["init_args"]["model"]["init_args"] = {"hidden": 8}
    (folder / "config.yaml").write_text(yaml.safe_dump(tree, sort_keys=False))
    env = {**os.environ, "RAY_ADDRESS": "local"}  # never attach to another Ray on this machine
    done = subprocess.run(
        [sys.executable, "-m", "pipetune.cli.main", "tune", "config.yaml"],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return {"done": done, "folder": folder / "runs" / "exp"}


def test_the_printed_table_shows_short_names(nested_run: dict[str, Any]) -> None:
    out = nested_run["done"].stdout
    header = next(line for line in out.splitlines() if line.strip().startswith("trial"))
    assert header.split()[4:] == ["learning_rate", "hidden", "samples"], out
    assert STEPS not in out
    assert "4 trials, best val_loss (min) first" in out


def test_results_csv_keeps_the_full_keys(nested_run: dict[str, Any]) -> None:
    header = (nested_run["folder"] / "results.csv").read_text().splitlines()[0].split(",")
    assert {f"config/{k}" for k in SPACE} <= set(header)


def test_the_report_table_and_plots_show_short_names(nested_run: dict[str, Any]) -> None:
    page = (nested_run["folder"] / "report.html").read_text()
    table = page[page.index('id="trials-table"') :]
    heads = re.findall(
        r"<th(?: title=\"([^\"]*)\")?>([^<]*)</th>", table[: table.index("</thead>")]
    )
    assert [(key, name) for key, name in heads if key] == [
        ("learning_rate", "learning_rate"),
        (HIDDEN, "hidden"),
        (SAMPLES, "samples"),
    ]
    (parcoords,) = _figure(page, "fig-parallel")
    axes = {d["label"]: d for d in parcoords["dimensions"]}
    assert set(axes) <= {"learning_rate", "hidden", "samples", "val_loss"}, axes
    assert "hidden" in axes, "the choice of hidden took one value only: pick another seed"
    # a choice of numbers is a categorical axis: one tick per category, not 4/8/12/16
    assert axes["hidden"]["tickvals"] == [0.0, 1.0, 2.0]
    assert axes["hidden"]["ticktext"] == ["4", "8", "16"]
    curves = _figure(page, "fig-curves")
    assert all("hidden=" in c["hovertemplate"] for c in curves if "hovertemplate" in c)
    assert not any(STEPS in json.dumps(c) for c in [parcoords, *curves])


def test_no_ray_or_optuna_noise_reaches_the_user(nested_run: dict[str, Any]) -> None:
    done = nested_run["done"]
    printed = done.stdout + done.stderr
    assert [line for line in NOISE if line in printed] == [], printed
