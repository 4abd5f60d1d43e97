"""Per-trial overhead: no-op trials through pipetune, plain Ray Tune and Optuna, at several sizes.

    .venv/bin/python benchmarks/tune_overhead.py [--trials 16 128 1000] [--repeats 2]
        [--with-default]

Each variant runs in its own process (clean environment, its own embedded 2-CPU Ray) and
times only the search itself (Ray start-up excluded). Variants:
- ray-lean: a hand-written Tuner with reused actors;
- pipetune: `Experiment(config).run()` on a config whose trainer does nothing but report;
- optuna: an in-memory Optuna study (TPE) in one process: no processes, no Ray;
- ray-default (``--with-default``, first size and repeat only: it takes minutes): the same
  Tuner with Ray Tune's default settings.
For every size and repeat, ray-lean and pipetune run back to back (their order swapped on
every second repeat) and their ratio is one pair; the medians of those paired ratios are
pipetune ÷ lean Ray per trial at each size. "Flat from 16 to 1,000 trials" is read from the
per-trial seconds at each size and from the marginal seconds per trial between two sizes
(the slope, which leaves out what a run costs once). The load average is printed beside
each figure. Goal (issue 17): pipetune ÷ lean Ray <= 1.0 per trial at every size.
"""

from __future__ import annotations

import argparse
import itertools
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
    parser.add_argument("--trials", type=int, nargs="+", default=[16, 128, 1000])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--with-default", action="store_true", help="also Ray's defaults")
    args = parser.parse_args()
    sizes = sorted(set(args.trials))
    runs: dict[tuple[str, int], list[float]] = {}
    loads: dict[tuple[str, int], list[float]] = {}
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    with tempfile.TemporaryDirectory(prefix="pipetune-bench-") as tmp:
        folder = Path(tmp)
        (folder / "noop_bench.py").write_text(textwrap.dedent(NOOP_MODULE))
        for size in sizes:
            for repeat in range(args.repeats):
                order = ["ray-lean", "pipetune", "optuna"]
                if args.with_default and size == sizes[0] and repeat == 0:
                    order.append("ray-default")
                for name in order if repeat % 2 == 0 else order[::-1]:
                    seconds = run_variant(name, size, folder / f"{name}-{size}-{repeat}")
                    runs.setdefault((name, size), []).append(seconds)
                    loads.setdefault((name, size), []).append(os.getloadavg()[0])
                    print(f"{name} {size} trials: {seconds:.2f} s", flush=True)
    names = ["ray-lean", "pipetune", "optuna"] + (["ray-default"] if args.with_default else [])
    print(f"{args.repeats} repeat(s) per size, 2-CPU embedded Ray, medians")
    print(f"{'variant':<12}{'trials':>7}{'total s':>10}{'s/trial':>10}{'load1':>7}")
    per_trial: dict[tuple[str, int], float] = {}
    for name in names:
        for size in sizes:
            if (name, size) not in runs:
                continue
            total = statistics.median(runs[name, size])
            per_trial[name, size] = total / size
            load = statistics.median(loads[name, size])
            print(f"{name:<12}{size:>7}{total:>10.2f}{total / size:>10.4f}{load:>7.2f}")
    paired = {
        size: statistics.median(
            p / r for p, r in zip(runs["pipetune", size], runs["ray-lean", size], strict=True)
        )
        for size in sizes
    }
    slopes = {}
    for small, large in itertools.pairwise(sizes):
        slope = {
            name: (statistics.median(runs[name, large]) - statistics.median(runs[name, small]))
            / (large - small)
            for name in ("ray-lean", "pipetune")
        }
        slopes[f"{small}-{large}"] = slope
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "tune_overhead.json").write_text(
        json.dumps(
            {
                "sizes": sizes,
                "repeats": args.repeats,
                "runs": {f"{n}/{k}": v for (n, k), v in runs.items()},
                "load1": {f"{n}/{k}": v for (n, k), v in loads.items()},
                "pipetune_vs_lean_paired": paired,
                "marginal_s_per_trial": slopes,
            },
            indent=2,
        )
    )
    print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    for span, slope in slopes.items():
        print(
            f"marginal s/trial {span}: pipetune {slope['pipetune']:.4f}, "
            f"ray-lean {slope['ray-lean']:.4f}, ratio {slope['pipetune'] / slope['ray-lean']:.3f}"
        )
    if args.with_default:
        first = sizes[0]
        print(
            f"pipetune/ray-default per trial at {first}: "
            f"{per_trial['pipetune', first] / per_trial['ray-default', first]:.3f}"
        )
    print(
        "pipetune/ray-lean per trial (paired medians, goal <= 1.0): "
        + ", ".join(f"{size}: {ratio:.3f}" for size, ratio in paired.items())
        + f"; pipetune/optuna at {sizes[-1]}: "
        f"{per_trial['pipetune', sizes[-1]] / per_trial['optuna', sizes[-1]]:.0f}x"
    )


def run_variant(name: str, trials: int, where: Path) -> float:
    n = str(trials)
    if name == "ray-default":
        return run(RAY_SCRIPT, n, "default", str(where))
    if name == "ray-lean":
        return run(RAY_SCRIPT, n, "lean", str(where))
    if name == "pipetune":
        where.mkdir(parents=True)
        config = where / "config.yaml"
        config.write_text(CONFIG.format(trials=n, storage=where / "runs"))
        return run(PIPETUNE_SCRIPT, str(config), n, cwd=where.parent)
    return run(OPTUNA_SCRIPT, n)


if __name__ == "__main__":
    main()
