"""A two-node Ray cluster on this machine (two `ray start`s, one CPU each, token auth, private
temp dirs): an HPO spreads its trials over both nodes, and a DDP fit spans them.

`pipetune tune --address` and the DDP fit run as subprocesses: this test process may hold
another, embedded Ray. Only the `ray start` processes started here are stopped, by PID.
"""

from __future__ import annotations

import csv
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from pipetune.cluster import probe

pytestmark = [pytest.mark.cluster, pytest.mark.slow]

BIN = Path(sys.executable).parent


@dataclass
class LocalCluster:
    address: str
    env: dict[str, str]
    root: Path
    tag: str

    def tagged(self) -> list[int]:
        needle = f"PIPETUNE_TEST_TAG={self.tag}".encode()
        found = []
        for entry in Path("/proc").iterdir():
            try:
                if entry.name.isdigit() and needle in (entry / "environ").read_bytes().split(b"\0"):
                    found.append(int(entry.name))
            except OSError:
                continue
        return found


def _stop(processes: list[subprocess.Popen], timeout: float = 60) -> None:
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)  # `ray start --block` drains and stops its node
    deadline = time.monotonic() + timeout
    for process in processes:
        try:
            process.wait(timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _ray_start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    common = ["--block", "--num-gpus=0", "--dashboard-agent-listen-port=0", "--disable-usage-stats"]
    with log.open("w") as handle:
        return subprocess.Popen(
            [str(BIN / "ray"), "start", *args, *common], env=env, stdout=handle, stderr=handle
        )


@pytest.fixture(scope="module")
def two_nodes() -> Iterator[LocalCluster]:
    root = Path(tempfile.mkdtemp(prefix="ptc-", dir="/tmp"))  # short: Ray's socket paths
    tag = f"ptc-{uuid.uuid4().hex[:12]}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_ADDRESS")}
    # a fresh token for this cluster: the nodes and every client read it from the environment
    env.update(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=secrets.token_hex(32), PIPETUNE_TEST_TAG=tag)
    port, client_port = probe.free_ports(2)
    address = f"127.0.0.1:{port}"
    started = []
    try:
        head_args = ["--head", "--node-ip-address=127.0.0.1", f"--port={port}"]
        head_args += [f"--ray-client-server-port={client_port}", "--num-cpus=1"]
        head_args += [f"--temp-dir={root}/head", "--include-dashboard=false"]
        started.append(_ray_start(head_args, env, root / "head.log"))
        assert probe.wait_head(address, tries=90, interval=1, pids=[started[0].pid]), (
            root / "head.log"
        ).read_text()
        worker_args = [f"--address={address}", "--num-cpus=1", '--resources={"node2": 1}']
        worker_args += [f"--temp-dir={root}/node2"]
        started.append(_ray_start(worker_args, env, root / "node2.log"))
        pids = [option for p in started for option in ("--pid", str(p.pid))]
        wait = ["-m", "pipetune.cluster.probe", "wait-nodes", address, "2", "--timeout", "150"]
        waited = subprocess.run(
            [sys.executable, *wait, *pids],
            env=env,
            capture_output=True,
            text=True,
            timeout=200,
        )
        assert waited.returncode == 0, waited.stderr
        yield LocalCluster(address, env, root, tag)
    finally:
        _stop(started)
        cluster = LocalCluster(address, env, root, tag)
        # Workers and raylet children exit shortly after their `ray start`: on a loaded
        # machine that takes seconds, so give them a bounded grace period.
        deadline = time.monotonic() + 30
        while (leftovers := cluster.tagged()) and time.monotonic() < deadline:
            time.sleep(0.5)
        for pid in leftovers:  # processes of this cluster only (tagged through its env)
            os.kill(pid, signal.SIGKILL)
        shutil.rmtree(root, ignore_errors=True)
        assert not leftovers, f"Ray processes outlived their `ray start`: {leftovers}"


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
