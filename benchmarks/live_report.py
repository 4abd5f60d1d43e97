"""What the live report costs an experiment: the same HPO with it off and on, alternated.

    .venv/bin/python benchmarks/live_report.py [--rounds 3] [--trials 4] [--samples 4000]
        [--every 1]

Each round runs the Fashion-MNIST example twice in one embedded Ray (2 CPUs, 2 concurrent
trials, FIFO, 2 epochs): ``tune.report_every_s=0`` (report.html written only at the end)
and ``--every`` seconds (default 1, five times more often than the default 5 s, to make any
cost visible). Reported: the wall time of ``Experiment.run`` and Σ epoch time (the trials'
own compute, which a render in the driver must not slow). The last line is the ratio of the
medians, on ÷ off.
"""

from __future__ import annotations

import argparse
import json
import os
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
    started = time.perf_counter()
    outcome = experiment.run()
    wall = time.perf_counter() - started
    compute = sum(float(row.get("epoch_time", 0.0)) for row in read_history(outcome.path).rows)
    return {"every_s": every, "wall_s": wall, "sum_epoch_s": compute, "load1": os.getloadavg()[0]}


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
    print(f"{'report_every_s':>14}{'wall s (median)':>17}{'Σ epoch s (median)':>20}{'runs':>6}")
    medians = {}
    for every in (0.0, args.every):
        mine = [r for r in rows if r["every_s"] == every]
        medians[every] = (
            statistics.median(r["wall_s"] for r in mine),
            statistics.median(r["sum_epoch_s"] for r in mine),
        )
        print(f"{every:>14g}{medians[every][0]:>17.1f}{medians[every][1]:>20.1f}{len(mine):>6}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "live_report.json").write_text(json.dumps(rows, indent=2))
    wall = medians[args.every][0] / medians[0.0][0]
    epochs = medians[args.every][1] / medians[0.0][1]
    print(f"live report on ÷ off: wall {wall:.3f}, Σ epoch time {epochs:.3f}")


if __name__ == "__main__":
    main()
