"""`pipetune ray start` starts a real head on loopback; two `pipetune tune` runs attach to it
at once (their trials run in the head's workers, user modules found through PYTHONPATH,
pipetune's Ray defaults in force); `pipetune ray stop` ends exactly the head's session.

Everything runs as subprocesses with a record folder of this test's own, so neither this
test process's embedded Ray nor anyone else's head is touched.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import signal
import subprocess
import textwrap
import time
from pathlib import Path

import pytest
from local_cluster import BIN

from pipetune.cluster._local import RECORD, STATE_ENV, LocalHead, read_record, session_members

pytestmark = [pytest.mark.cluster, pytest.mark.slow]

TOY = """
import os
import time

from pipetune.components import DataGetter, Trainer


class Numbers(DataGetter):
    def execute(self):
        return list(range(8))


class SessionReportingTrainer(Trainer):
    \"\"\"Reports the session id of the process it runs in (the head's, when attached).\"\"\"

    def __init__(self, learning_rate: float, name=None):
        super().__init__(name)
        self.learning_rate = learning_rate

    def execute(self, data):
        from ray import train  # Train V1's report: refused unless RAY_TRAIN_V2_ENABLED=0

        loss = 1.0
        for _ in range(2):
            time.sleep(0.2)
            loss *= 1.0 - self.learning_rate
            train.report({"val_loss": loss, "sid": os.getsid(0)})
        return loss
"""

CONFIG = """
learning_rate: 0.1
training_pipeline:
  class_path: pipetune.Pipeline
  init_args:
    steps:
      - class_path: {module}.Numbers
      - class_path: {module}.SessionReportingTrainer
        init_args: {{learning_rate: "${{learning_rate}}"}}
tune:
  num_samples: 2
  scheduler: fifo
  search_space:
    learning_rate: {{type: uniform, lower: 0.05, upper: 0.5}}
  resources_per_trial: {{cpu: 1}}
  storage_path: runs
  name: attached
  seed: 0
"""

FILES = {"results.csv", "history.jsonl", "best_config.yaml", "report.html"}


def _pipetune(*args: str, env: dict[str, str], cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [str(BIN / "pipetune"), *args],
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.timeout(400)
def test_tune_attaches_to_a_head_that_pipetune_starts_and_stops(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_ADDRESS")}
    env[STATE_ENV] = str(tmp_path / "state")
    started = subprocess.run(
        [str(BIN / "pipetune"), "ray", "start", "--num-cpus", "2"],
        env=env,
        capture_output=True,
        text=True,
        timeout=150,
    )
    assert started.returncode == 0, started.stderr[-3000:]
    head = read_record(tmp_path / "state" / RECORD)
    assert isinstance(head, LocalHead)
    try:
        runs = []
        for name in ("a", "b"):  # two experiments at once, sharing the head's 2 CPUs
            folder = tmp_path / name
            folder.mkdir()
            module = f"attach_toy_{name}"
            (folder / f"{module}.py").write_text(textwrap.dedent(TOY))
            (folder / "config.yaml").write_text(CONFIG.format(module=module))
            runs.append((folder, _pipetune("tune", "config.yaml", env=env, cwd=folder)))
        for folder, run in runs:
            _, err = run.communicate(timeout=300)
            assert run.returncode == 0, err[-3000:]
            assert f"attached to the local Ray at {head.address}" in err
            experiment = folder / "runs" / "attached"
            assert {path.name for path in experiment.iterdir()} >= FILES
            with (experiment / "results.csv").open() as handle:
                assert [r["status"] for r in csv.DictReader(handle)] == ["TERMINATED"] * 2
            history = (experiment / "history.jsonl").read_text().splitlines()
            assert {json.loads(line)["sid"] for line in history} == {head.pid}
        stopped = subprocess.run(
            [str(BIN / "pipetune"), "ray", "stop"], env=env, capture_output=True, text=True
        )
        assert stopped.returncode == 0, stopped.stderr
        assert stopped.stdout.strip() == f"stopped the local Ray at {head.address} (PID {head.pid})"
        assert session_members(head.pid) == {}, "processes of the head outlived `pipetune ray stop`"
        assert not Path(head.root).exists() and not (tmp_path / "state" / RECORD).exists()
    finally:  # the head's session only, by its id
        deadline = time.monotonic() + 30
        while (left := session_members(head.pid)) and time.monotonic() < deadline:
            for pid in left:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.2)
