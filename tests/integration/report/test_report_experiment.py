"""A report from a real (tiny) experiment on the shared local Ray."""

from __future__ import annotations

import html
from collections.abc import Callable
from pathlib import Path

import pytest

from pipetune.cli.main import main
from pipetune.report import SECTION_IDS, load_experiment, write_files

pytestmark = pytest.mark.ray

TOY = """
import torch
from torch.utils.data import TensorDataset

from pipetune.pipeline import DataGetter


class Blobs(DataGetter):
    def __init__(self, n: int = 96, name: str | None = None) -> None:
        super().__init__(name)
        self.n = n

    def execute(self):
        gen = torch.Generator().manual_seed(0)
        x = torch.randn(self.n, 4, generator=gen)
        return TensorDataset(x, (x[:, 0] - x[:, 1] > 0).long())
"""

CONFIG = """
batch_size: 16
lr: 0.01
training_pipeline:
  class_path: pipetune.Pipeline
  init_args:
    steps:
      - class_path: {module}.Blobs
        init_args: {{n: 96}}
      - class_path: pipetune.data.RandomSplit
        init_args: {{train_proportion: 0.75, validation_proportion: 0.25}}
      - class_path: pipetune.torch.TorchTrainer
        init_args:
          config: {{batch_size: "${{batch_size}}", optim_lr: "${{lr}}", optimizer: adam}}
          epochs: 2
          model: {{class_path: torch.nn.Linear, init_args: {{in_features: 4, out_features: 2}}}}
tune:
  num_samples: 3
  search_space:
    lr: {{type: loguniform, lower: 1.0e-3, upper: 1.0e-1}}
    batch_size: {{type: choice, categories: [8, 16]}}
  scheduler: fifo
  storage_path: {storage}
  name: toy-report
  seed: 0
"""


def test_report_of_a_real_experiment(
    ray_local: object,
    make_module: Callable[[str], str],
    write_yaml: Callable[[str], Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from pipetune.tune import Experiment

    config = write_yaml(CONFIG.format(module=make_module(TOY), storage=tmp_path / "runs"))
    outcome = Experiment(config).run()
    assert outcome.failed == 0 and len(outcome.rows) == 3

    experiment = load_experiment(outcome.path)
    assert experiment.notes == []
    assert [t.status for t in experiment.trials] == ["TERMINATED"] * 3
    assert all(t.iterations == 2 and len(t.history) == 2 for t in experiment.trials)
    assert experiment.best_trial is not None
    assert experiment.best_trial.trial_id == (outcome.best or {}).get("trial_id")

    files = write_files(experiment, ["html", "png", "md"])
    assert files.html is not None and files.markdown is not None
    page = files.html.read_text()
    for key in SECTION_IDS:
        assert f'<section id="{key}">' in page
    for row in outcome.rows:
        assert f'id="trial-{html.escape(row["trial_id"])}"' in page
        assert f">{row['config/lr']:.4g}<" in page
        assert f">{row['config/batch_size']}<" in page
    assert f"pipetune run {outcome.path / 'best_config.yaml'}" in page
    assert len(files.pngs) == 5
    assert all(p.read_bytes().startswith(b"\x89PNG") for p in files.pngs)

    assert main(["report", str(outcome.path)]) == 0
    assert f"report: {outcome.path / 'report.html'}" in capsys.readouterr().out
