"""Per-trial overhead: 128 no-op trials through pipetune, plain Ray Tune and Optuna.

    .venv/bin/python benchmarks/tune_overhead.py [--trials 128]

Each variant runs in its own process (clean environment, its own embedded 2-CPU Ray) and
times only the search itself (Ray start-up excluded). Variants:
- ray-default: a hand-written Tuner with Ray Tune's default settings;
- ray-lean: the same with reused actors and no automatic result loggers;
- pipetune: `Experiment(config).run()` on a config whose trainer does nothing but report;
- optuna: an in-memory Optuna study (TPE), for scale: no processes, no Ray.
Goals: pipetune ≤ 0.1× ray-default and ≤ 1.2× ray-lean seconds per trial.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"

RAY_SCRIPT = """
import json, sys, time, ray
from ray import tune
lean = sys.argv[2] == "lean"
ray.init(num_cpus=2, include_dashboard=False, _node_ip_address="127.0.0.1", log_to_driver=False)
def trainable(config):
    tune.report({"score": config["x"]})
tuner = tune.Tuner(
    trainable,
    param_space={"x": tune.uniform(0, 1)},
    tune_config=tune.TuneConfig(num_samples=int(sys.argv[1]), metric="score", mode="min",
                                reuse_actors=lean),
    run_config=tune.RunConfig(storage_path=sys.argv[3], name="bench", verbose=0),
)
started = time.perf_counter()
grid = tuner.fit()
elapsed = time.perf_counter() - started
assert len(grid) == int(sys.argv[1]) and grid.num_errors == 0
print(json.dumps({"seconds": elapsed}))
"""

NOOP_MODULE = """
from ray import tune
from pipetune.components import Trainer


class NoopTrainer(Trainer):
    def __init__(self, x: float = 0.0, name=None):
        super().__init__(name)
        self.x = x

    def execute(self):
        tune.report({"score": self.x})
"""

PIPETUNE_SCRIPT = """
import json, sys, time
import pipetune
import ray
from pipetune.tune import Experiment
ray.init(num_cpus=2, include_dashboard=False, _node_ip_address="127.0.0.1", log_to_driver=False)
experiment = Experiment(sys.argv[1])
started = time.perf_counter()
outcome = experiment.run()
elapsed = time.perf_counter() - started
assert len(outcome.rows) == int(sys.argv[2]) and outcome.failed == 0, outcome.rows[:2]
print(json.dumps({"seconds": elapsed}))
"""

OPTUNA_SCRIPT = """
import json, sys, time
import optuna
optuna.logging.set_verbosity(optuna.logging.WARNING)
study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=0))
started = time.perf_counter()
study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=int(sys.argv[1]))
print(json.dumps({"seconds": time.perf_counter() - started}))
"""

CONFIG = """
x: 0.5
training_pipeline:
  class_path: pipetune.Pipeline
  init_args:
    steps:
      - class_path: noop_bench.NoopTrainer
        init_args: {{x: "${{x}}"}}
tune:
  metric: score
  mode: min
  num_samples: {trials}
  search_space:
    x: {{type: uniform, lower: 0.0, upper: 1.0}}
  scheduler: fifo
  storage_path: {storage}
  name: bench
"""


def clean_env() -> dict[str, str]:
    """The environment without pipetune's Ray defaults (so raw Ray runs as shipped)."""
    drop = ("TUNE_", "RAY_", "PIPETUNE_")
    return {k: v for k, v in os.environ.items() if not k.startswith(drop)}


def run(script: str, *args: str, cwd: Path | None = None) -> float:
    out = subprocess.run(
        [sys.executable, "-c", script, *args],
        capture_output=True,
        text=True,
        env=clean_env(),
        cwd=cwd,
        timeout=900,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"benchmark variant failed:\n{out.stderr[-3000:]}")
    return float(json.loads(out.stdout.strip().splitlines()[-1])["seconds"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=128)
    args = parser.parse_args()
    n = str(args.trials)
    timings: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="pipetune-bench-") as tmp:
        folder = Path(tmp)
        (folder / "noop_bench.py").write_text(textwrap.dedent(NOOP_MODULE))
        config = folder / "config.yaml"
        config.write_text(CONFIG.format(trials=n, storage=folder / "runs"))
        timings["ray-default"] = run(RAY_SCRIPT, n, "default", str(folder / "raw"))
        timings["ray-lean"] = run(RAY_SCRIPT, n, "lean", str(folder / "lean"))
        timings["pipetune"] = run(PIPETUNE_SCRIPT, str(config), n, cwd=folder)
        timings["optuna"] = run(OPTUNA_SCRIPT, n)
    per_trial = {k: v / args.trials for k, v in timings.items()}
    print(f"{'variant':<14}{'total s':>10}{'s/trial':>10}")
    for name, seconds in timings.items():
        print(f"{name:<14}{seconds:>10.2f}{per_trial[name]:>10.4f}")
    vs_default = per_trial["pipetune"] / per_trial["ray-default"]
    vs_lean = per_trial["pipetune"] / per_trial["ray-lean"]
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "tune_overhead.json").write_text(
        json.dumps({"trials": args.trials, "seconds": timings, "per_trial": per_trial}, indent=2)
    )
    print(
        f"pipetune/ray-default {vs_default:.3f} (goal <= 0.1), pipetune/ray-lean {vs_lean:.3f} "
        "(goal <= 1.2)"
    )


if __name__ == "__main__":
    main()
