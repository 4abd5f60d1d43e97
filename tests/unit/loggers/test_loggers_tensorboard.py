"""TensorBoardLogger: event files read back with EventAccumulator."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

pytest.importorskip("tensorboard")

from tensorboard.backend.event_processing.event_accumulator import (
    EventAccumulator,
)

from pipetune.loggers import TensorBoardLogger


def _load(log_dir: Path) -> EventAccumulator:
    accumulator = EventAccumulator(str(log_dir), size_guidance={"tensors": 0, "scalars": 0})
    accumulator.Reload()
    return accumulator


def test_scalars_text_and_hparams_read_back(tmp_path: Path) -> None:
    with TensorBoardLogger(savedir=tmp_path) as log:
        log.save_hyperparameters({"lr": 0.01, "model": {"hidden": 64}, "dims": [1, 2]})
        for epoch in range(3):
            log.log(1.0 / (epoch + 1), "val_loss", step=epoch)
            log.log(torch.tensor(0.5 + epoch / 10), "val_accuracy", step=epoch)
        log.log("hello tensorboard", "notes", kind="text", step=2)
        log.log(torch.zeros(3, 4, 4), "sample", kind="image", step=2)
        log.log(torch.randn(100), "weights", kind="histogram", step=2)
        log.log("ignored", "x", kind="artifact")
    assert len(list(tmp_path.glob("events.out.tfevents.*"))) == 1

    accumulator = _load(tmp_path)
    tags = accumulator.Tags()
    events = accumulator.Scalars("val_loss")
    assert [e.step for e in events] == [0, 1, 2]
    assert [e.value for e in events] == pytest.approx([1.0, 0.5, 1 / 3])
    assert [e.value for e in accumulator.Scalars("val_accuracy")] == pytest.approx([0.5, 0.6, 0.7])
    assert "sample" in tags["images"]
    assert "weights" in tags["histograms"]
    text_tags = set(tags["tensors"])
    assert {"notes/text_summary", "hparams/text_summary"} <= text_tags
    notes = accumulator.Tensors("notes/text_summary")[0]
    assert notes.step == 2
    assert notes.tensor_proto.string_val[0].decode() == "hello tensorboard"
    hparams_text = accumulator.Tensors("hparams/text_summary")[0].tensor_proto.string_val[0]
    assert '"hidden": 64' in hparams_text.decode()
    assert "_hparams_/experiment" in accumulator.summary_metadata


def test_run_name_subfolder_and_other_rank(tmp_path: Path) -> None:
    with TensorBoardLogger(savedir=tmp_path, run_name="trial-1") as log:
        log.log(2.0, "loss", step=5)
    assert [e.value for e in _load(tmp_path / "trial-1").Scalars("loss")] == [2.0]

    quiet = TensorBoardLogger(savedir=tmp_path / "rank1")
    quiet.create_logger_context(rank=1)
    quiet.log(1.0, "loss", step=0)
    quiet.save_hyperparameters({"lr": 0.1})
    quiet.destroy_logger_context()
    assert not (tmp_path / "rank1").exists()
