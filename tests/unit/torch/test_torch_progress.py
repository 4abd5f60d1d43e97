"""The per-batch hook and the epoch progress bar of `pipetune run`."""

from __future__ import annotations

import torch
from torch.utils.data import TensorDataset

from pipetune.torch import Callback, EpochProgressBar, TorchTrainer


def tiny_data(n: int = 40) -> TensorDataset:
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(n, 4, generator=generator)
    return TensorDataset(x, (x[:, 0] > 0).long())


class CountBatches(Callback):
    def __init__(self) -> None:
        self.seen: list[int] = []

    def on_train_batch_end(self, trainer: TorchTrainer, batch_idx: int) -> None:
        self.seen.append(batch_idx)


def test_batch_hook_runs_once_per_training_batch() -> None:
    counter = CountBatches()
    trainer = TorchTrainer(
        {"batch_size": 16, "seed": 0},
        epochs=2,
        model=torch.nn.Linear(4, 2),
        strategy="local",
        callbacks=[counter],
    )
    trainer.fit(tiny_data(), tiny_data(8))
    assert counter.seen == [0, 1, 2, 0, 1, 2]  # 40 samples / 16 per batch = 3 batches


def test_progress_bar_shows_every_epoch_and_its_metrics(capsys) -> None:
    trainer = TorchTrainer(
        {"batch_size": 16, "seed": 0},
        epochs=2,
        model=torch.nn.Linear(4, 2),
        strategy="local",
        callbacks=[EpochProgressBar()],
    )
    trainer.fit(tiny_data(), tiny_data(8))
    out = capsys.readouterr().out
    assert "epoch 1/2" in out and "epoch 2/2" in out
    assert "val_loss" in out and "3/3" in out
