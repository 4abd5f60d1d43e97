"""Per-trial overhead: 128 no-op trials through pipetune, plain Ray Tune and Optuna.

    .venv/bin/python benchmarks/tune_overhead.py [--trials 128] [--repeats 3]

Each variant runs in its own process (clean environment, its own embedded 2-CPU Ray) and
times only the search itself (Ray start-up excluded). Variants:
- ray-default: a hand-written Tuner with Ray Tune's default settings;
- ray-lean: the same with reused actors and no automatic result loggers;
- pipetune: `Experiment(config).run()` on a config whose trainer does nothing but report;
- optuna: an in-memory Optuna study (TPE) in one process: no processes, no Ray. pipetune's
  seconds per trial ÷ Optuna's is the price of running every trial in a Ray worker.
The variants run in the order ray-lean, pipetune, optuna, ray-default, reversed on every
second repeat, so that the two closest competitors run back to back; ray-default (minutes)
runs in the first repeat only. Medians over the repeats; pipetune/ray-lean is also given as
the median of the back-to-back pairs' ratios, which resists a drifting machine load better.
The load average is printed beside each variant.
Goals: pipetune ≤ 0.1× ray-default and ≤ 1.2× ray-lean seconds per trial.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
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
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    n = str(args.trials)
    order = ["ray-lean", "pipetune", "optuna", "ray-default"]
    runs: dict[str, list[float]] = {name: [] for name in order}
    loads: dict[str, list[float]] = {name: [] for name in order}
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory(prefix="pipetune-bench-") as tmp:
        folder = Path(tmp)
        (folder / "noop_bench.py").write_text(textwrap.dedent(NOOP_MODULE))
        for repeat in range(args.repeats):
            for name in order if repeat % 2 == 0 else order[::-1]:
                if name == "ray-default" and repeat > 0:
                    continue
                where = folder / f"{name}-{repeat}"
                if name == "ray-default":
                    seconds = run(RAY_SCRIPT, n, "default", str(where))
                elif name == "ray-lean":
                    seconds = run(RAY_SCRIPT, n, "lean", str(where))
                elif name == "pipetune":
                    config = folder / f"config-{repeat}.yaml"
                    config.write_text(CONFIG.format(trials=n, storage=where))
                    seconds = run(PIPETUNE_SCRIPT, str(config), n, cwd=folder)
                else:
                    seconds = run(OPTUNA_SCRIPT, n)
                runs[name].append(seconds)
                loads[name].append(os.getloadavg()[0])
    timings = {k: statistics.median(v) for k, v in runs.items()}
    per_trial = {k: v / args.trials for k, v in timings.items()}
    print(
        f"{args.trials} trials per variant, {args.repeats} repeat(s) (ray-default: 1), "
        "2-CPU embedded Ray"
    )
    print(f"{'variant':<14}{'total s':>10}{'s/trial':>10}{'x optuna':>10}{'load1':>8}")
    for name in ("ray-default", "ray-lean", "pipetune", "optuna"):
        print(
            f"{name:<14}{timings[name]:>10.2f}{per_trial[name]:>10.4f}"
            f"{per_trial[name] / per_trial['optuna']:>10.0f}{statistics.median(loads[name]):>8.2f}"
        )
    vs_default = per_trial["pipetune"] / per_trial["ray-default"]
    vs_lean = per_trial["pipetune"] / per_trial["ray-lean"]
    paired = statistics.median(
        p / r for p, r in zip(runs["pipetune"], runs["ray-lean"], strict=True)
    )
    vs_optuna = per_trial["pipetune"] / per_trial["optuna"]
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "tune_overhead.json").write_text(
        json.dumps(
            {
                "trials": args.trials,
                "repeats": args.repeats,
                "seconds": timings,
                "runs": runs,
                "per_trial": per_trial,
                "load1": loads,
                "pipetune_vs_optuna": vs_optuna,
                "pipetune_vs_lean_paired": paired,
            },
            indent=2,
        )
    )
    print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(
        f"pipetune/ray-default {vs_default:.3f} (goal <= 0.1), pipetune/ray-lean {vs_lean:.3f}, "
        f"paired {paired:.3f} (goal <= 1.2), pipetune/optuna {vs_optuna:.0f}x"
    )


if __name__ == "__main__":
    main()
