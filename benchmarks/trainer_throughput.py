"""Samples/s of pipetune's TorchTrainer vs a hand-written PyTorch loop, interleaved.

    .venv/bin/python benchmarks/trainer_throughput.py [--repeats 5] [--samples 12000]

Same model (the example's SmallCNN), data, batch size and optimizer; the two loops
alternate so that machine noise hits both alike. The last line is the ratio of medians and
the median of the ratios of back-to-back pairs, which resists a drifting machine load better
(goal: >= 0.97). --threads 1 makes it less sensitive to other processes on a busy machine.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import torch
from torch.utils.data import DataLoader

import pipetune  # noqa: F401
from pipetune.data import ImageClassificationDataset
from pipetune.torch import TorchTrainer

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "examples" / "fashion-mnist"))
from model import SmallCNN  # noqa: E402


def make_data(samples: int) -> ImageClassificationDataset:
    generator = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (samples, 28, 28), dtype=torch.uint8, generator=generator)
    labels = torch.randint(0, 10, (samples,), generator=generator)
    return ImageClassificationDataset(images, labels, mean=0.286, std=0.353)


def hand_written(dataset: ImageClassificationDataset, batch_size: int) -> float:
    torch.manual_seed(0)
    model = SmallCNN()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=True)
    model.train()
    started = time.perf_counter()
    for images, labels in loader:
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(model(images), labels)
        loss.backward()
        optimizer.step()
    return len(dataset) / (time.perf_counter() - started)


def pipetune_trainer(dataset: ImageClassificationDataset, batch_size: int) -> float:
    torch.manual_seed(0)
    trainer = TorchTrainer(
        {"batch_size": batch_size, "optim_lr": 1e-3, "seed": 0},
        epochs=1,
        model=SmallCNN(),
        strategy="local",
    )
    trainer.fit(dataset)
    return trainer.history[-1]["samples_per_s"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--samples", type=int, default=12000)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    dataset = make_data(args.samples)
    load_start = os.getloadavg()
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in load_start)}")
    hand_written(dataset, args.batch_size)  # warm-up
    raw, ours = [], []
    for repeat in range(args.repeats):
        # Alternate which loop goes first, so drifting machine load hits both alike.
        if repeat % 2 == 0:
            raw.append(hand_written(dataset, args.batch_size))
            ours.append(pipetune_trainer(dataset, args.batch_size))
        else:
            ours.append(pipetune_trainer(dataset, args.batch_size))
            raw.append(hand_written(dataset, args.batch_size))
    ratio = statistics.median(ours) / statistics.median(raw)
    # Each pair ran back to back: the median of the pairs' ratios resists load drift better.
    paired = statistics.median(o / r for o, r in zip(ours, raw, strict=True))
    print(f"{'loop':<22}{'median samples/s':>18}   runs")
    for label, runs in (("hand-written PyTorch", raw), ("pipetune TorchTrainer", ours)):
        print(f"{label:<22}{statistics.median(runs):>18,.0f}   {[round(x) for x in runs]}")
    threads = torch.get_num_threads()
    out = ROOT / "benchmarks" / "results" / "trainer_throughput.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "hand_written": raw,
                "pipetune": ours,
                "ratio": ratio,
                "paired_ratio": paired,
                "threads": threads,
                "load_start": load_start,
                "load_end": os.getloadavg(),
            },
            indent=2,
        )
    )
    print(f"torch threads {threads}, {args.samples} samples, batch {args.batch_size}")
    print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(
        f"ratio pipetune/hand-written (median samples/s): {ratio:.3f}; "
        f"median of paired ratios: {paired:.3f} (goal >= 0.97)"
    )


if __name__ == "__main__":
    main()
