"""What the live report costs an experiment: the same HPO with it off and on, alternated.

    .venv/bin/python benchmarks/live_report.py [--rounds 3] [--trials 4] [--samples 4000]
        [--every 1]

Each round runs the Fashion-MNIST example twice in one embedded Ray (2 CPUs, 2 concurrent
trials, FIFO, 2 epochs): ``tune.report_every_s=0`` (report.html written only at the end)
and ``--every`` seconds (default 1, five times more often than the default 5 s, to make any
cost visible). Reported: the wall time of ``Experiment.run``, Σ epoch time (the trials'
own compute, which the renders must not slow) and the CPU seconds of the render child
processes (the driver's waited-for children: Ray's own processes are reaped only at its
shutdown, after the timed runs). The last lines are the ratios on ÷ off, paired within each
round (median and range), the renders' CPU as a share of the run's two cores, and the load.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import tempfile
import time
from pathlib import Path

import pipetune  # noqa: F401  (Ray environment defaults)

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "fashion-mnist"
RESULTS = ROOT / "benchmarks" / "results"


def run_once(every: float, trials: int, samples: int, storage: Path, name: str) -> dict:
    from pipetune.experiment import read_history
    from pipetune.tune import Experiment

    overrides = {
        "train_samples": samples,
        "epochs": 2,
        "tune.num_samples": trials,
        "tune.scheduler": "fifo",
        "tune.stop": {"training_iteration": 2},
        "tune.max_concurrent_trials": 2,
        "tune.resources_per_trial": {"cpu": 1},
        "tune.storage_path": str(storage),
        "tune.name": name,
        "tune.checkpoint_every": 0,
        "tune.progress": "quiet",
        "tune.report_every_s": every,
    }
    experiment = Experiment(str(EXAMPLE / "config.yaml"), overrides)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    outcome = experiment.run()
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    render_cpu = (after.ru_utime + after.ru_stime) - (children.ru_utime + children.ru_stime)
    compute = sum(float(row.get("epoch_time", 0.0)) for row in read_history(outcome.path).rows)
    return {
        "every_s": every,
        "wall_s": wall,
        "sum_epoch_s": compute,
        "render_cpu_s": render_cpu,
        "load1": os.getloadavg()[0],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--trials", type=int, default=4)
    parser.add_argument("--samples", type=int, default=4000)
    parser.add_argument("--every", type=float, default=1.0)
    args = parser.parse_args()
    shared = ROOT.parent / "shared" / "datasets"
    if "PIPETUNE_DATA" not in os.environ and shared.is_dir():
        os.environ["PIPETUNE_DATA"] = str(shared)
    os.chdir(EXAMPLE)  # the example's model.py is imported from its folder
    import ray

    ray.init(num_cpus=2, include_dashboard=False, _node_ip_address="127.0.0.1", log_to_driver=False)
    rows = []
    try:
        with tempfile.TemporaryDirectory(prefix="pipetune-live-") as tmp:
            for round_ in range(args.rounds):
                order = (0.0, args.every) if round_ % 2 == 0 else (args.every, 0.0)
                for every in order:
                    name = f"r{round_}-every{every:g}"
                    rows.append(run_once(every, args.trials, args.samples, Path(tmp), name))
                    print(json.dumps(rows[-1]), flush=True)
    finally:
        ray.shutdown()
    print(
        f"{'report_every_s':>14}{'wall s (median)':>17}{'Σ epoch s (median)':>20}"
        f"{'render CPU s':>14}{'runs':>6}"
    )
    for every in (0.0, args.every):
        mine = [r for r in rows if r["every_s"] == every]
        print(
            f"{every:>14g}{statistics.median(r['wall_s'] for r in mine):>17.1f}"
            f"{statistics.median(r['sum_epoch_s'] for r in mine):>20.1f}"
            f"{statistics.median(r['render_cpu_s'] for r in mine):>14.2f}{len(mine):>6}"
        )
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "live_report.json").write_text(json.dumps(rows, indent=2))
    pairs = [(rows[2 * i], rows[2 * i + 1]) for i in range(args.rounds)]
    pairs = [(a, b) if a["every_s"] == 0.0 else (b, a) for a, b in pairs]  # (off, on)
    for key, label in (("wall_s", "wall"), ("sum_epoch_s", "Σ epoch time")):
        ratios = sorted(on[key] / off[key] for off, on in pairs)
        print(
            f"live report on ÷ off, {label}: median {statistics.median(ratios):.3f} "
            f"(range {ratios[0]:.3f}-{ratios[-1]:.3f}, {len(ratios)} pairs)"
        )
    share = statistics.median(on["render_cpu_s"] / (2 * on["wall_s"]) for _, on in pairs)
    loads = [r["load1"] for r in rows]
    print(
        f"render CPU: {100 * share:.1f}% of the run's 2 cores at every {args.every:g} s; "
        f"load average during the runs {min(loads):.1f}-{max(loads):.1f} on {os.cpu_count()} cores"
    )


if __name__ == "__main__":
    main()
