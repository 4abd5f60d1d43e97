"""CSVLogger: long-format metrics.csv and atomic hparams.json."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from pipetune.loggers import CSVLogger


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_metrics_csv_after_three_epochs(tmp_path: Path) -> None:
    savedir = tmp_path / "logs"
    with CSVLogger(savedir=savedir) as log:
        for epoch in range(3):
            log.log(1.0 / (epoch + 1), "train_loss", step=epoch)
            log.log(0.5 + epoch / 10, "val_accuracy", step=epoch)
            if epoch == 1:
                # The first epoch's rows are on disk once the step moved on.
                assert len(_rows(savedir / "metrics.csv")) == 2
        log.log("done", "note", kind="text", step=2)
    with (savedir / "metrics.csv").open(encoding="utf-8") as handle:
        assert handle.readline().strip() == "step,name,value,kind,batch_idx"
    rows = _rows(savedir / "metrics.csv")
    assert len(rows) == 7
    losses = [(r["step"], float(r["value"])) for r in rows if r["name"] == "train_loss"]
    assert losses == [("0", 1.0), ("1", 0.5), ("2", pytest.approx(1 / 3))]
    assert {r["kind"] for r in rows} == {"metric", "text"}
    assert rows[-1] == {
        "step": "2",
        "name": "note",
        "value": "done",
        "kind": "text",
        "batch_idx": "",
    }


def test_appends_to_existing_file_without_second_header(tmp_path: Path) -> None:
    for run in range(2):
        with CSVLogger(savedir=tmp_path, log_freq=1) as log:
            log.log(run, "loss", step=0, batch_idx=4)
    text = (tmp_path / "metrics.csv").read_text(encoding="utf-8")
    assert text.count("step,name") == 1
    assert [r["value"] for r in _rows(tmp_path / "metrics.csv")] == ["0", "1"]
    assert [r["batch_idx"] for r in _rows(tmp_path / "metrics.csv")] == ["4", "4"]


def test_hparams_json_is_written_atomically(tmp_path: Path) -> None:
    with CSVLogger(savedir=tmp_path) as log:
        log.save_hyperparameters({"lr": 0.01, "model": {"hidden": [64, 32]}, "path": tmp_path})
        log.save_hyperparameters({"lr": 0.02})
    assert json.loads((tmp_path / "hparams.json").read_text(encoding="utf-8")) == {"lr": 0.02}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hparams.json", "metrics.csv"]


def test_non_scalar_metric_is_a_type_error(tmp_path: Path) -> None:
    with CSVLogger(savedir=tmp_path) as log, pytest.raises(TypeError, match="'weights'"):
        log.log([1, 2], "weights", step=0)
