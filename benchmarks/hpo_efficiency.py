"""HPO efficiency, fixed cost and memory of `pipetune tune` on the Fashion-MNIST example.

    PYTHONPATH=$PWD/src .venv/bin/python benchmarks/hpo_efficiency.py [--trials 4]
        [--samples 4000] [--repeats 2]

Every run is a whole `pipetune tune` process (imports, its own embedded 2-CPU Ray, the
trials, results, report, exit), timed from outside, with FIFO (every trial runs all its
epochs), ``checkpoint_every: 0`` and 1, 2 or 4 concurrent trials of 2/c CPUs.

- Work: Σ epoch time of all trials (the trainer's own ``epoch_time``, from history.jsonl)
  ÷ concurrency: the wall time a framework costing nothing would take.
- Fixed cost and marginal efficiency: each concurrency runs at two sizes (1 and 3 epochs per
  trial); the straight line wall = fixed + marginal × work through the two points gives the
  fixed cost (everything that does not grow with the trials' work: start-up, Ray, trial
  start, results, report, exit) and the marginal efficiency (wall seconds per second of
  work; 1.0 = the framework adds nothing per epoch). The fixed cost is also given as a ratio
  to a bare `ray.init()` + `ray.shutdown()` process measured in the same run.
- Memory: peak proportional set size (PSS: shared pages count once) of the whole process
  tree (the `pipetune` process and every Ray process), sampled from outside.
Runs alternate (sizes and the bare Ray start interleaved per repeat); medians over repeats.
Goals: fixed ≤ 1.5 × bare Ray start/stop; marginal ≤ 1.05 at 1, 2 and 4 concurrent.
Needs the Fashion-MNIST files ($PIPETUNE_DATA, ../shared/datasets, or Debian's package).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "fashion-mnist"
RESULTS = ROOT / "benchmarks" / "results"
SIZES = (1, 3)  # epochs per trial
BARE_RAY = (
    "import ray; ray.init(num_cpus=2, include_dashboard=False, "
    "_node_ip_address='127.0.0.1', log_to_driver=False); ray.shutdown()"
)


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


def _proc_bytes(pid: int, file: str, field: str) -> int:
    """A kB ``field`` of ``/proc/PID/file`` in bytes (0 when it is gone or unreadable)."""
    try:
        for line in Path(f"/proc/{pid}/{file}").read_text().splitlines():
            if line.startswith(field):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


def _pss(pid: int) -> int:
    """Proportional set size of ``pid`` in bytes (0 when it is gone or unreadable)."""
    return _proc_bytes(pid, "smaps_rollup", "Pss:")


class TreeMemory:
    """Samples the PSS of process ``root`` and all its descendants until stopped."""

    def __init__(self, root: int, interval: float = 0.5) -> None:
        self.root, self.interval, self.peak = root, interval, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            pids = [self.root, *_children(self.root)]
            self.peak = max(self.peak, sum(_pss(pid) for pid in pids))
            self._stop.wait(self.interval)

    def __enter__(self) -> TreeMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _env() -> dict[str, str]:
    drop = ("TUNE_", "RAY_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    if env.get("PYTHONPATH"):
        env["PYTHONPATH"] = os.pathsep.join(
            str(Path(p).resolve()) for p in env["PYTHONPATH"].split(os.pathsep) if p
        )
    return env


def _timed(command: list[str], cwd: Path) -> tuple[float, int]:
    """(wall s, peak PSS of the tree in bytes) of one process."""
    started = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=cwd, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    with TreeMemory(process.pid) as memory:
        _out, err = process.communicate(timeout=1800)
    wall = time.perf_counter() - started
    if process.returncode != 0:
        raise RuntimeError(f"{command[:4]} failed ({process.returncode}):\n{err[-3000:]}")
    return wall, memory.peak


def bare_ray() -> float:
    return _timed([sys.executable, "-c", BARE_RAY], ROOT)[0]


def run_tune(trials: int, samples: int, concurrency: int, epochs: int, storage: Path) -> dict:
    name = f"c{concurrency}-e{epochs}-{time.monotonic_ns()}"
    overrides = {
        "train_samples": samples,
        "epochs": epochs,
        "tune.num_samples": trials,
        "tune.scheduler": "fifo",
        "tune.stop": json.dumps({"training_iteration": epochs}),
        "tune.max_concurrent_trials": concurrency,
        "tune.resources_per_trial": json.dumps({"cpu": 2 / concurrency}),
        "tune.storage_path": str(storage),
        "tune.name": name,
        "tune.checkpoint_every": 0,
    }
    command = [sys.executable, "-m", "pipetune.cli.main", "tune", "config.yaml"]
    for key, value in overrides.items():
        command += ["-o", f"{key}={value}"]
    wall, peak = _timed(command, EXAMPLE)
    history = storage / name / "history.jsonl"
    rows = [json.loads(line) for line in history.read_text().splitlines() if line.strip()]
    compute = sum(float(row.get("epoch_time", 0.0)) for row in rows)
    return {
        "concurrency": concurrency,
        "epochs": epochs,
        "wall_s": wall,
        "work_s": compute / concurrency,
        "peak_pss_mib": peak / 2**20,
        "load1": os.getloadavg()[0],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=4)
    parser.add_argument("--samples", type=int, default=4000)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    shared = ROOT.parent / "shared" / "datasets"
    if "PIPETUNE_DATA" not in os.environ and shared.is_dir():
        os.environ["PIPETUNE_DATA"] = str(shared)
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    runs: list[dict] = []
    bare: list[float] = []
    with tempfile.TemporaryDirectory(prefix="pipetune-eff-") as tmp:
        for repeat in range(args.repeats):
            sizes = SIZES if repeat % 2 == 0 else SIZES[::-1]
            for concurrency in (1, 2, 4):
                bare.append(bare_ray())
                for epochs in sizes:
                    row = run_tune(args.trials, args.samples, concurrency, epochs, Path(tmp))
                    runs.append(row)
                    print(
                        f"repeat {repeat} c={concurrency} epochs={epochs}: wall "
                        f"{row['wall_s']:.1f} s, work {row['work_s']:.1f} s, "
                        f"load1 {row['load1']:.2f}",
                        flush=True,
                    )
    bare_s = statistics.median(bare)
    table = []
    for concurrency in (1, 2, 4):

        def median(key: str, epochs: int, c: int = concurrency) -> float:
            return statistics.median(
                r[key] for r in runs if r["concurrency"] == c and r["epochs"] == epochs
            )

        (w1, x1), (w2, x2) = ((median("wall_s", e), median("work_s", e)) for e in SIZES)
        marginal = (w2 - w1) / (x2 - x1)
        fixed = w1 - marginal * x1
        table.append(
            {
                "concurrency": concurrency,
                "wall_s": [w1, w2],
                "work_s": [x1, x2],
                "fixed_s": fixed,
                "fixed_vs_bare_ray": fixed / bare_s,
                "marginal": marginal,
                "whole": w2 / x2,
                "peak_pss_mib": median("peak_pss_mib", SIZES[-1]),
            }
        )
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "hpo_efficiency.json").write_text(
        json.dumps({"bare_ray_s": bare, "runs": runs, "table": table}, indent=2)
    )
    print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(
        f"{args.trials} trials of {SIZES[0]} and {SIZES[1]} epochs, {args.samples} samples, FIFO, "
        f"whole `pipetune tune` processes, median of {args.repeats}; bare Ray start+stop "
        f"{bare_s:.1f} s"
    )
    print(
        f"{'concurrent':>10}{'wall s':>14}{'work s':>14}{'fixed s':>9}{'÷bare':>7}"
        f"{'marginal':>10}{'wall÷work':>11}{'peak PSS MiB':>14}"
    )
    for r in table:
        walls = "/".join(f"{w:.1f}" for w in r["wall_s"])
        works = "/".join(f"{x:.1f}" for x in r["work_s"])
        print(
            f"{r['concurrency']:>10}{walls:>14}{works:>14}{r['fixed_s']:>9.1f}"
            f"{r['fixed_vs_bare_ray']:>7.2f}{r['marginal']:>10.3f}{r['whole']:>11.2f}"
            f"{r['peak_pss_mib']:>14.0f}"
        )
    print(
        "goals: fixed <= 1.5x bare Ray start/stop: "
        + ", ".join(f"c={r['concurrency']} {r['fixed_vs_bare_ray']:.2f}" for r in table)
        + "; marginal <= 1.05: "
        + ", ".join(f"c={r['concurrency']} {r['marginal']:.3f}" for r in table)
    )


if __name__ == "__main__":
    main()
