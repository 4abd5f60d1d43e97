"""The rendered Slurm script, run by bash with stand-ins for srun and scontrol.

Every "node" is this machine: `scontrol show hostnames` lists node1 and node2, `srun` runs its
command here (once per task) and `hostname --ip-address` answers 127.0.0.1. Each run gets a
private Ray temp dir and an environment tag, so that only the processes it started are
checked (and, after a failure, stopped) by their PIDs.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from pipetune.cli.main import main

pytestmark = pytest.mark.cluster

VENV_BIN = Path(sys.executable).parent

SRUN = r"""#!/bin/bash
# stand-in srun: every node is this machine; runs the command once per task
printf 'srun %s\n' "$*" >> "$STANDIN_LOG"
ntasks=1
while [ $# -gt 0 ]; do
  case "$1" in
    --ntasks=*) ntasks=${1#--ntasks=} ;;
    -w|--nodelist|-N|-n|-c) shift ;;
    -*) ;;
    *) break ;;
  esac
  shift
done
if [ "$1" = hostname ] && [ "${2:-}" = --ip-address ]; then echo 127.0.0.1; exit 0; fi
if [ "$ntasks" = 1 ]; then SLURM_NODEID=0 SLURM_PROCID=0 exec "$@"; fi
pids=()
for ((i = 0; i < ntasks; i++)); do
  args=("$@")
  if [ "$i" -gt 0 ] && [ -n "${STANDIN_UNSHARED:-}" ]; then
    # node i>0 does not see this folder: as on a node-local file system
    args=("${args[@]//$STANDIN_UNSHARED//nonexistent-node$i}")
  fi
  SLURM_NODEID=$i SLURM_PROCID=$i "${args[@]}" &
  pids+=("$!")
done
status=0
for pid in "${pids[@]}"; do wait "$pid" || status=1; done
exit "$status"
"""

SCONTROL = r"""#!/bin/bash
# stand-in scontrol: `show hostnames A,B` and `requeue ID`
printf 'scontrol %s\n' "$*" >> "$STANDIN_LOG"
case "$1 ${2:-}" in
  "show hostnames") tr ',' '\n' <<< "$3" ;;
  "requeue "*) exit 0 ;;
  *) echo "stand-in scontrol: unsupported: $*" >&2; exit 1 ;;
esac
"""

FAILING_RAY = """#!/bin/bash
echo "stand-in ray: cannot start" >&2
exit 1
"""

TOY = """
import time

from pipetune.components import DataGetter, Trainer


class Numbers(DataGetter):
    def execute(self):
        return list(range(8))


class ToyTrainer(Trainer):
    def __init__(self, learning_rate: float, epochs: int = 3, sleep_s: float = 0.5, name=None):
        super().__init__(name)
        self.learning_rate, self.epochs, self.sleep_s = learning_rate, epochs, sleep_s

    def execute(self, data):
        import ray
        from ray import train

        node_id = ray.get_runtime_context().get_node_id()
        loss = 1.0
        for _ in range(self.epochs):
            time.sleep(self.sleep_s)
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
      - class_path: {module}.ToyTrainer
        init_args: {{learning_rate: "${{learning_rate}}", sleep_s: {sleep_s}}}
tune:
  num_samples: {samples}
  scheduler: fifo
  search_alg: random
  search_space:
    learning_rate: {{type: uniform, lower: 0.05, upper: 0.5}}
  resources_per_trial: {{cpu: 1}}
  storage_path: runs
  name: toy
  seed: 0
slurm:
  nodes: {nodes}
  cpus_per_task: 1
  time: "00:10:00"
  ray_temp_dir: {temp_dir}
"""


@dataclass
class Rehearsal:
    """A project folder, the stand-ins and the environment of one fake Slurm job."""

    root: Path
    project: Path
    tag: str = field(default_factory=lambda: f"ptc-{uuid.uuid4().hex[:12]}")
    job_id: str = field(default_factory=lambda: str(900000 + os.getpid() % 99999))

    @property
    def temp_dir(self) -> str:
        return str(self.root / "ray")

    @property
    def log(self) -> Path:
        return self.root / "standin.log"

    @property
    def experiment(self) -> Path:
        return self.project / "runs" / "toy"

    def env(self, nodes: int, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("RAY_", "SLURM_"))}
        env.update(
            PATH=os.pathsep.join([str(self.root / "bin"), str(VENV_BIN), os.environ["PATH"]]),
            SLURM_JOB_ID=self.job_id,
            SLURM_JOB_NODELIST=",".join(f"node{i + 1}" for i in range(nodes)),
            SLURM_JOB_NUM_NODES=str(nodes),
            SLURM_CPUS_PER_TASK="1",
            STANDIN_LOG=str(self.log),
            PIPETUNE_TEST_TAG=self.tag,
        )
        env.update(extra)
        return env

    def render(self, nodes: int, samples: int, sleep_s: float, *flags: str) -> Path:
        module = f"slurm_toy_{uuid.uuid4().hex[:8]}"
        (self.project / f"{module}.py").write_text(textwrap.dedent(TOY))
        config = self.project / "config.yaml"
        config.write_text(
            CONFIG.format(
                module=module, sleep_s=sleep_s, samples=samples, nodes=nodes, temp_dir=self.temp_dir
            )
        )
        script = self.root / "job.sh"
        cwd = os.getcwd()
        os.chdir(self.project)
        try:
            assert main(["slurm", str(config), "--output", str(script), *flags]) == 0
        finally:
            os.chdir(cwd)
        return script

    def start(self, script: Path, env: dict[str, str], output: Path) -> subprocess.Popen:
        handle = output.open("w")
        return subprocess.Popen(
            ["bash", str(script)], cwd=self.root, env=env, stdout=handle, stderr=subprocess.STDOUT
        )

    def finish(self, job: subprocess.Popen, timeout: float) -> int:
        try:
            return job.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            job.send_signal(signal.SIGTERM)  # the script's trap stops what it started
            job.wait(timeout=90)
            raise

    def tagged(self) -> list[int]:
        """PIDs of live processes that carry this rehearsal's environment tag."""
        needle = f"PIPETUNE_TEST_TAG={self.tag}".encode()
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                if needle in (entry / "environ").read_bytes().split(b"\0"):
                    found.append(int(entry.name))
            except OSError:
                continue
        return found

    def with_temp_dir(self) -> list[str]:
        """`ps` lines of live processes whose command line names this run's Ray temp dir."""
        ps = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True).stdout
        return [line for line in ps.splitlines() if self.temp_dir in line]

    def stop_leftovers(self) -> list[int]:
        left = self.tagged()
        for sig in (signal.SIGTERM, signal.SIGKILL):
            if not left:
                break
            for pid in left:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, sig)
            time.sleep(3)
            left = [pid for pid in left if pid in self.tagged()]
        return left


@pytest.fixture
def rehearsal() -> Iterator[Rehearsal]:
    root = Path(tempfile.mkdtemp(prefix="ptc-", dir="/tmp"))  # short: Ray's socket paths
    (root / "bin").mkdir()
    for name, text in {"srun": SRUN, "scontrol": SCONTROL}.items():
        (root / "bin" / name).write_text(text)
        (root / "bin" / name).chmod(0o755)
    (root / "project").mkdir()
    run = Rehearsal(root, root / "project")
    yield run
    leftovers = run.stop_leftovers()
    shutil.rmtree(root, ignore_errors=True)
    assert not leftovers, f"processes of this test were still running: {leftovers}"


def results(folder: Path) -> list[dict[str, str]]:
    with (folder / "results.csv").open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def history(folder: Path) -> list[dict]:
    lines = (folder / "history.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def tail(path: Path, lines: int = 40) -> str:
    """The last ``lines`` lines of a job's output, without Ray's INFO chatter."""
    text = path.read_text(errors="replace").splitlines()
    kept = [line for line in text if "\tINFO " not in line and "\tSUCC " not in line]
    return "\n".join(kept[-lines:])


# -- end to end ---------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_two_node_job_runs_the_experiment_and_leaves_no_ray_behind(
    rehearsal: Rehearsal,
) -> None:
    script = rehearsal.render(nodes=2, samples=2, sleep_s=1.0)
    output = rehearsal.root / "job.out"
    started = time.monotonic()
    job = rehearsal.start(script, rehearsal.env(nodes=2), output)
    status = rehearsal.finish(job, timeout=200)
    took = time.monotonic() - started
    print(f"--- job output ({took:.0f} s, status {status}) ---\n{tail(output)}")
    assert status == 0, tail(output)

    rows = results(rehearsal.experiment)
    assert [r["status"] for r in rows] == ["TERMINATED", "TERMINATED"]
    nodes = {row["node_id"] for row in history(rehearsal.experiment)}
    assert len(nodes) == 2, "the two trials should have run on the two Ray nodes"

    calls = rehearsal.log.read_text()
    assert "srun --nodes=1 --ntasks=1 --nodelist=node1 hostname --ip-address" in calls
    assert "--nodelist=node1 --ntasks=1 --cpus-per-task=1 --export=ALL ray start --head" in calls
    assert "--nodelist=node2 --ntasks=1 --cpus-per-task=1 --export=ALL ray start --block" in calls
    text = output.read_text()
    assert "the Ray cluster has 2 node(s)" in text
    assert "pipetune tune finished with status 0" in text
    assert "stopping Ray (2 node(s))" in text
    # nothing of this job survives it: no process names its temp dir or carries its tag
    assert rehearsal.with_temp_dir() == []
    assert rehearsal.tagged() == []
    assert not list(rehearsal.experiment.glob(".slurm-check-*"))


@pytest.mark.slow
@pytest.mark.timeout(480)
def test_requeue_stops_gracefully_and_the_restart_resumes(rehearsal: Rehearsal) -> None:
    script = rehearsal.render(2, 4, 3.0, "--requeue")
    first = rehearsal.root / "first.out"
    job = rehearsal.start(script, rehearsal.env(nodes=2), first)
    deadline = time.monotonic() + 200
    while "[1/4]" not in first.read_text() and job.poll() is None:
        assert time.monotonic() < deadline, tail(first)
        time.sleep(0.5)
    job.send_signal(signal.SIGUSR1)  # what `#SBATCH --signal=B:USR1@120` delivers
    status = rehearsal.finish(job, timeout=150)
    print(f"--- first start (status {status}) ---\n{tail(first)}")
    assert status == 0, tail(first)
    assert f"scontrol requeue {rehearsal.job_id}" in rehearsal.log.read_text()
    assert rehearsal.tagged() == []
    before = history(rehearsal.experiment)
    # Finished is what Tune recorded as ended when it stopped (results.csv: TERMINATED; the
    # others are STOPPED). A trial whose last report arrived but whose end Tune had not yet
    # processed is unfinished for Tune, and this toy (no checkpoints) starts it over.
    finished = {r["trial_id"] for r in results(rehearsal.experiment) if r["status"] == "TERMINATED"}
    assert all(
        max(r["training_iteration"] for r in before if r["trial_id"] == trial_id) == 3
        for trial_id in finished
    ), before
    assert finished, "at least one trial had finished before the signal"
    assert len(finished) < 4, "the signal came too late to interrupt the experiment"

    second = rehearsal.root / "second.out"
    env = rehearsal.env(nodes=2, SLURM_RESTART_COUNT="1")
    status = rehearsal.finish(rehearsal.start(script, env, second), timeout=200)
    print(f"--- after the requeue (status {status}) ---\n{tail(second)}")
    assert status == 0, tail(second)
    assert f"resuming the experiment in {rehearsal.experiment}" in second.read_text()
    rows = results(rehearsal.experiment)
    assert sorted(r["status"] for r in rows) == ["TERMINATED"] * 4
    assert all(int(r["iterations"]) == 3 for r in rows)
    after = history(rehearsal.experiment)[len(before) :]
    assert not finished & {r["trial_id"] for r in after}, "a finished trial ran again"
    assert rehearsal.tagged() == []


# -- failures: clear messages, non-zero status, nothing left running -------------------------


def test_outside_slurm_the_script_says_so(rehearsal: Rehearsal) -> None:
    script = rehearsal.render(1, 1, 0.1)
    env = rehearsal.env(nodes=1)
    del env["SLURM_JOB_ID"]
    done = subprocess.run(["bash", str(script)], env=env, capture_output=True, text=True)
    assert done.returncode != 0
    assert "SLURM_JOB_ID: is not set: submit this script with sbatch" in done.stderr


def test_a_folder_not_shared_by_all_nodes_stops_the_job_before_ray(
    rehearsal: Rehearsal,
) -> None:
    script = rehearsal.render(2, 1, 0.1)
    env = rehearsal.env(nodes=2, STANDIN_UNSHARED=str(rehearsal.experiment))
    done = subprocess.run(
        ["bash", str(script)], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 1
    assert "is the folder on a shared file system?" in done.stderr
    assert "error: the storage check failed on some node" in done.stderr
    assert "ray start" not in rehearsal.log.read_text()


def test_a_head_that_does_not_start_fails_fast_and_clearly(rehearsal: Rehearsal) -> None:
    (rehearsal.root / "bin" / "ray").write_text(FAILING_RAY)
    (rehearsal.root / "bin" / "ray").chmod(0o755)
    script = rehearsal.render(1, 1, 0.1)
    started = time.monotonic()
    done = subprocess.run(
        ["bash", str(script)],
        env=rehearsal.env(nodes=1),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert time.monotonic() - started < 60
    assert "stand-in ray: cannot start" in done.stderr
    assert "ended before it answered" in done.stderr
    assert "error: the Ray head at 127.0.0.1:" in done.stderr
