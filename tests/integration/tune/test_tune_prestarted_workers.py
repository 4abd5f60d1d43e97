"""The trials of a ``pipetune tune`` with its own embedded Ray run on the worker processes
Ray prestarted as it came up, not on new ones started for Tune's runtime_env.

Ray Tune registers every trainable with a runtime_env of a few environment variables
(``PL_DISABLE_FORK``), and Ray starts new workers for a runtime_env the job lacks: each trial
then waited for a fresh Python while the prestarted workers idled. pipetune gives those
variables to the embedded Ray's environment instead, which its workers inherit, and
registers the trainable without the runtime_env. What the trials see must not change.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from tune_toy import TOY_MODULE, toy_config

from pipetune.experiment import META_FILE

pytestmark = [pytest.mark.ray, pytest.mark.slow]

WHERE_MODULE = '''

import json as _json
import os as _os


def _process_started_at():
    """This process's start, in seconds since the epoch (Linux /proc)."""
    with open("/proc/self/stat") as handle:
        ticks = int(handle.read().rsplit(")", 1)[1].split()[19])
    with open("/proc/stat") as handle:
        boot = next(int(line.split()[1]) for line in handle if line.startswith("btime"))
    return boot + ticks / _os.sysconf("SC_CLK_TCK")


class WhereAmI(Callback):
    """Appends, after each epoch, where the trial runs: PID, process start, runtime_env."""

    def __init__(self, path: str):
        self.path = path

    def on_epoch_end(self, trainer, epoch, metrics):
        import ray

        context = ray.get_runtime_context()
        line = {
            "pid": _os.getpid(),
            "started_at": _process_started_at(),
            "runtime_env": dict(context.runtime_env or {}),
            "PL_DISABLE_FORK": _os.environ.get("PL_DISABLE_FORK"),
        }
        with open(self.path, "a") as handle:
            handle.write(_json.dumps(line) + "\\n")
'''


def test_trials_run_on_the_workers_ray_prestarted(tmp_path: Path) -> None:
    (tmp_path / "where_toy.py").write_text(TOY_MODULE + WHERE_MODULE)
    where = tmp_path / "where.jsonl"
    tree = toy_config("where_toy", tmp_path, num_samples=4, max_concurrent_trials=2)
    trainer = tree["training_pipeline"]["init_args"]["steps"][1]["init_args"]
    trainer["callbacks"] = [{"class_path": "where_toy.WhereAmI", "init_args": {"path": str(where)}}]
    trainer["epochs"] = 1
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(tree, sort_keys=False))
    env = {**os.environ, "RAY_ADDRESS": "local"}  # never attach to another Ray on this machine
    env.pop("PL_DISABLE_FORK", None)
    done = subprocess.run(
        [sys.executable, "-m", "pipetune.cli.main", "tune", "config.yaml"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    seen = [json.loads(line) for line in where.read_text().splitlines()]
    assert len(seen) == 4, seen
    # The trainable carries no runtime_env of its own (Tune's would name PL_DISABLE_FORK) ...
    assert all("env_vars" not in s["runtime_env"] for s in seen), seen
    # ... and the trials still see Tune's variable, inherited from the embedded Ray.
    assert {s["PL_DISABLE_FORK"] for s in seen} == {"1"}, seen
    # Their worker processes were started before the experiment's Tuner was made (the meta
    # file is written just before): Ray prestarted them, nothing started them for a trial.
    tuner_made = (tmp_path / "runs" / "exp" / META_FILE).stat().st_mtime
    early = {s["pid"] for s in seen if s["started_at"] < tuner_made}
    assert early == {s["pid"] for s in seen}, (tuner_made, seen)
    assert 1 <= len(early) <= 2, seen  # 2 at a time, actors reused
