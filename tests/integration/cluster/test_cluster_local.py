"""A two-node Ray cluster on this machine (two `ray start`s, one CPU each, token auth, private
temp dirs): an HPO spreads its trials over both nodes, and a DDP fit spans them.

`pipetune tune --address` and the DDP fit run as subprocesses: this test process may hold
another, embedded Ray. Only the `ray start` processes started here are stopped, by PID.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from local_cluster import BIN, LocalCluster, local_cluster

pytestmark = [pytest.mark.cluster, pytest.mark.slow]


@pytest.fixture(scope="module")
def two_nodes() -> Iterator[LocalCluster]:
    with local_cluster(workers=["node2"]) as cluster:
        yield cluster


TOY = """
import time

from pipetune.components import DataGetter, Trainer


class Numbers(DataGetter):
    def execute(self):
        return list(range(8))


class NodeReportingTrainer(Trainer):
    \"\"\"Reports the id of the Ray node it runs on with every result.\"\"\"

    def __init__(self, learning_rate: float, epochs: int = 3, name=None):
        super().__init__(name)
        self.learning_rate, self.epochs = learning_rate, epochs

    def execute(self, data):
        import ray
        from ray import train

        node_id = ray.get_runtime_context().get_node_id()
        loss = 1.0
        for _ in range(self.epochs):
            time.sleep(1.0)
            loss *= 1.0 - self.learning_rate
            train.report({"val_loss": loss, "node_id": node_id})
        return loss
"""

CONFIG = """
learning_rate: 0.1
training_pipeline:
  class_path: pipetune.Pipeline
  init_args:
    steps:
      - class_path: {module}.Numbers
      - class_path: {module}.NodeReportingTrainer
        init_args: {{learning_rate: "${{learning_rate}}"}}
tune:
  num_samples: 4
  scheduler: fifo
  search_space:
    learning_rate: {{type: uniform, lower: 0.05, upper: 0.5}}
  resources_per_trial: {{cpu: 1}}
  storage_path: runs
  name: spread
  seed: 0
"""


@pytest.mark.timeout(400)
def test_hpo_trials_spread_over_both_nodes(two_nodes: LocalCluster, tmp_path: Path) -> None:
    module = f"spread_toy_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{module}.py").write_text(textwrap.dedent(TOY))
    config = tmp_path / "config.yaml"
    config.write_text(CONFIG.format(module=module))
    done = subprocess.run(
        [str(BIN / "pipetune"), "tune", str(config), "--address", two_nodes.address],
        cwd=tmp_path,
        env=two_nodes.env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    folder = tmp_path / "runs" / "spread"
    with (folder / "results.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert sorted(r["status"] for r in rows) == ["TERMINATED"] * 4
    history = [json.loads(line) for line in (folder / "history.jsonl").read_text().splitlines()]
    assert len(history) == 4 * 3
    per_trial = {row["trial_id"]: row["node_id"] for row in history}
    assert len(set(per_trial.values())) == 2, f"trials did not use both nodes: {per_trial}"


DDP_PROBE = """
from pathlib import Path

from pipetune.torch import Callback


class NodeProbe(Callback):
    \"\"\"Writes, from inside each DDP worker, its rank and the id of its Ray node.\"\"\"

    def __init__(self, folder: str) -> None:
        self.folder = folder

    def on_fit_start(self, trainer) -> None:
        import ray

        rank = trainer.strategy.global_rank()
        node = ray.get_runtime_context().get_node_id()
        world = trainer.strategy.global_world_size()
        Path(self.folder, f"rank{rank}.txt").write_text(f"{node} {world}")
"""

DDP_JOB = """
import sys

import pipetune  # noqa: F401  (Ray defaults before ray.train loads)
import ray
import torch
from torch.utils.data import TensorDataset

from pipetune.torch import DDPStrategy, TorchTrainer

# One CPU per node and two 1-CPU workers: they can only be placed one per node (pipetune's
# Ray Train coordinator takes no CPU).
address, folder = sys.argv[1], sys.argv[2]
ray.init(address=address, runtime_env={"env_vars": {"PYTHONPATH": folder}}, log_to_driver=False)
sys.path.insert(0, folder)
from ddp_node_probe import NodeProbe  # noqa: E402


def data(n, seed):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 4, generator=gen)
    return TensorDataset(x, (x[:, 0] + x[:, 2] > 0).long())


torch.manual_seed(0)
trainer = TorchTrainer(
    config={"batch_size": 8, "optim_lr": 0.05, "seed": 0},
    epochs=2,
    model=torch.nn.Sequential(torch.nn.Linear(4, 6), torch.nn.ReLU(), torch.nn.Linear(6, 2)),
    strategy=DDPStrategy(workers=2, use_gpu=False),
    callbacks=[NodeProbe(folder)],
)
trainer.execute(data(64, 1), data(32, 2))
print("ddp fit done")
"""


@pytest.mark.timeout(400)
def test_ddp_fit_spans_the_two_nodes(two_nodes: LocalCluster, tmp_path: Path) -> None:
    (tmp_path / "ddp_node_probe.py").write_text(textwrap.dedent(DDP_PROBE))
    (tmp_path / "ddp_job.py").write_text(textwrap.dedent(DDP_JOB))
    done = subprocess.run(
        [sys.executable, str(tmp_path / "ddp_job.py"), two_nodes.address, str(tmp_path)],
        cwd=tmp_path,
        env=two_nodes.env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "ddp fit done" in done.stdout
    ranks = {p.stem: p.read_text().split() for p in tmp_path.glob("rank*.txt")}
    assert sorted(ranks) == ["rank0", "rank1"]
    assert {world for _, world in ranks.values()} == {"2"}
    assert len({node for node, _ in ranks.values()}) == 2, f"both ranks on one node: {ranks}"
