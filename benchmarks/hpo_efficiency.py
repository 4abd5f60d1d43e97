"""HPO efficiency and memory on the Fashion-MNIST example.

    .venv/bin/python benchmarks/hpo_efficiency.py [--trials 4] [--samples 10000]

1. Efficiency: HPO wall time of the search ÷ (Σ epoch time of all trials ÷ concurrency),
   with 2 concurrent trials of 1 CPU each and FIFO (every trial runs all its epochs).
   1.0 means the framework adds nothing; goal ≤ 1.05.
2. Memory: peak proportional set size (PSS, so shared object-store pages count once) of the
   whole process tree — this driver and every Ray process — for 1, 2 and 4 concurrent trials.
   The dataset is put in the object store once, so it should not grow with concurrency.
Needs the Fashion-MNIST files ($PIPETUNE_DATA, ../shared/datasets, or Debian's package).
"""

from __future__ import annotations

import argparse
import json
import os
import threading
import time
from pathlib import Path

import pipetune  # noqa: F401  (Ray environment defaults)

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "fashion-mnist"
RESULTS = ROOT / "benchmarks" / "results"


def _children(root: int) -> list[int]:
    """Every descendant of ``root``, from /proc (Linux)."""
    parents: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue  # the process ended meanwhile
        parents.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [root]
    while todo:
        kids = parents.get(todo.pop(), [])
        found.extend(kids)
        todo.extend(kids)
    return found


def _pss(pid: int) -> int:
    """Proportional set size of ``pid`` in bytes (0 when it is gone or unreadable)."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


class TreeMemory:
    """Samples the PSS of this process and all its descendants (Ray's raylet, workers...).

    Reads /proc directly (Linux), so no psutil is needed.
    """

    def __init__(self, interval: float = 0.5) -> None:
        self.interval, self.peak, self._stop = interval, 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> int:
        root = os.getpid()
        return sum(_pss(pid) for pid in [root, *_children(root)])

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._sample())
            self._stop.wait(self.interval)

    def __enter__(self) -> TreeMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def run_experiment(trials: int, samples: int, concurrency: int, storage: Path) -> dict:
    import ray

    from pipetune.tune import Experiment

    cpu = 2 / concurrency
    overrides = {
        "train_samples": samples,
        "epochs": 2,
        "tune.num_samples": trials,
        "tune.scheduler": "fifo",
        "tune.stop": {"training_iteration": 2},
        "tune.max_concurrent_trials": concurrency,
        "tune.resources_per_trial": {"cpu": cpu},
        "tune.storage_path": str(storage),
        "tune.name": f"efficiency-c{concurrency}",
        "tune.checkpoint_every": 0,
    }
    ray.init(num_cpus=2, include_dashboard=False, _node_ip_address="127.0.0.1", log_to_driver=False)
    try:
        experiment = Experiment(str(EXAMPLE / "config.yaml"), overrides)
        with TreeMemory() as memory:
            started = time.perf_counter()
            outcome = experiment.run()
            wall = time.perf_counter() - started
    finally:
        ray.shutdown()
    from pipetune.tune._history import read_history

    # Pure trainer compute: the epochs themselves (training + validation), as the trainer
    # timed them; everything else in the wall time is framework and scheduling.
    compute = sum(float(row.get("epoch_time", 0.0)) for row in read_history(outcome.path))
    return {
        "concurrency": concurrency,
        "wall_s": wall,
        "sum_trial_compute_s": compute,
        "efficiency": wall / (compute / concurrency),
        "peak_pss_mib": memory.peak / 2**20,
        "trials": len(outcome.rows),
        "load1": os.getloadavg()[0],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=4)
    parser.add_argument("--samples", type=int, default=10000)
    args = parser.parse_args()
    shared = ROOT.parent / "shared" / "datasets"
    if "PIPETUNE_DATA" not in os.environ and shared.is_dir():
        os.environ["PIPETUNE_DATA"] = str(shared)
    os.chdir(EXAMPLE)  # the example's model.py is imported from its folder
    rows = []
    import tempfile

    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")

    with tempfile.TemporaryDirectory(prefix="pipetune-eff-") as tmp:
        for concurrency in (1, 2, 4):
            rows.append(run_experiment(args.trials, args.samples, concurrency, Path(tmp)))
    print(
        f"{args.trials} trials x 2 epochs, {args.samples} samples, FIFO, 2-CPU embedded Ray "
        "(CPUs per trial = 2 / concurrent)"
    )
    print(
        f"{'concurrent':>10}{'wall s':>9}{'Σ trial s':>11}{'wall÷(Σ/c)':>12}{'peak PSS MiB':>14}"
        f"{'load1':>8}"
    )
    for r in rows:
        print(
            f"{r['concurrency']:>10}{r['wall_s']:>9.1f}{r['sum_trial_compute_s']:>11.1f}"
            f"{r['efficiency']:>12.3f}{r['peak_pss_mib']:>14.0f}{r['load1']:>8.2f}"
        )
    print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "hpo_efficiency.json").write_text(json.dumps(rows, indent=2))
    two = next(r for r in rows if r["concurrency"] == 2)
    one = next(r for r in rows if r["concurrency"] == 1)
    print(
        f"efficiency at 2 concurrent: {two['efficiency']:.3f} (goal <= 1.05); "
        f"peak memory 2 vs 1 concurrent: {two['peak_pss_mib'] / one['peak_pss_mib']:.2f}x"
    )


if __name__ == "__main__":
    main()
