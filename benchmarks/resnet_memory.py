"""Memory and wall time of `pipetune tune` on the itwinai v0.4.2 HPO tutorial's task.

    PYTHONPATH=$PWD/src .venv/bin/python benchmarks/resnet_memory.py [--repeats 2]
        [--samples 10000] [--interval 0.5]

The task (``benchmarks/resnet18/config.yaml``): ResNet-18 (torchvision's layers, 1-channel
input, 11,175,370 parameters; written in plain torch in ``resnet18/resnet18.py``, since
torchvision does not install beside the CPU torch) on Fashion-MNIST, 90/10 split, batch 64,
4 trials × 2 epochs, 1 CPU per trial, 2 at once on this machine's 2 CPUs.

Each run is a whole `pipetune tune` process, timed from outside while a sampler reads the
proportional set size (PSS: a page shared by n processes counts 1/n) of every process of its
tree every 0.5 s (``--interval``; the sampler's own CPU time is printed beside each run: on
2 cores it slows the run it measures). Two kinds of run alternate: the search (4 trials, 2
at once) and one trial alone (``num_samples: 1``), whose peak is "one trial's" in goal 5.
The peak sample's PSS is also given by role (driver, trial workers, Ray's own processes),
so a regression shows where.

Issue 17's anchor, measured on this machine with itwinai itself (not installed here):
itwinai 266–274 s wall and 3,740–3,801 MiB peak PSS of its tree. Its dataset size is not on
record; ``--samples 10000`` gives about the anchor's pipetune wall time (114–117 s).
Goals: peak PSS ≤ 0.5 × itwinai's at wall ≤ 0.5 × itwinai's; peak PSS at 2 concurrent
≤ 1.2 × (one trial's + the dataset's bytes). Needs the Fashion-MNIST files.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from hpo_efficiency import _children, _env, _proc_bytes, _pss

ROOT = Path(__file__).resolve().parents[1]
TASK = ROOT / "benchmarks" / "resnet18"
RESULTS = ROOT / "benchmarks" / "results"
ITWINAI_WALL_S = (266.0, 274.0)
ITWINAI_PSS_MIB = (3740.0, 3801.0)
ROLES = (
    ("pipetune.cli.main", "driver"),
    ("ray::ImplicitFunc", "trial workers"),
    ("pipetune.report._live_child", "live report page"),
    ("pipetune._reaper", "watcher"),
    ("gcs_server", "ray: gcs_server"),
    ("raylet", "ray: raylet"),
    ("ray::DashboardAgent", "ray: dashboard agent"),
    ("ray::RuntimeEnvAgent", "ray: runtime env agent"),
    ("dashboard/dashboard.py", "ray: dashboard head"),
    ("log_monitor", "ray: log monitor"),
    ("monitor.py", "ray: monitor"),
    ("default_worker", "ray: idle workers"),
)


def _role(pid: int) -> str:
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return "gone"
    return next((role for key, role in ROLES if key in command), "other")


def _rss(pid: int) -> int:
    return _proc_bytes(pid, "status", "VmRSS:")


class PeakSampler:
    """Peak PSS of process ``root``'s tree, its breakdown by role, and the root's peak RSS."""

    def __init__(self, root: int, interval: float = 0.5) -> None:
        self.root, self.interval = root, interval
        self.peak, self.by_role, self.driver_rss = 0, {}, 0
        self.cpu_s = 0.0  # the sampler's own CPU time: the measurement's cost to the run
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            self._sample()
        finally:
            self.cpu_s = time.thread_time()

    def _sample(self) -> None:
        while not self._stop.is_set():
            rows = [(pid, _pss(pid)) for pid in [self.root, *_children(self.root)]]
            total = sum(pss for _, pss in rows)
            self.driver_rss = max(self.driver_rss, _rss(self.root))
            if total > self.peak:
                roles: dict[str, int] = collections.defaultdict(int)
                for pid, pss in rows:
                    roles[_role(pid)] += pss
                self.peak, self.by_role = total, dict(roles)
            self._stop.wait(self.interval)

    def __enter__(self) -> PeakSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def run(trials: int, samples: int, storage: Path, interval: float = 0.5) -> dict:
    name = f"t{trials}-{time.monotonic_ns()}"
    overrides = {
        "train_samples": samples,
        "tune.num_samples": trials,
        "tune.storage_path": str(storage),
        "tune.name": name,
    }
    command = [sys.executable, "-m", "pipetune.cli.main", "tune", "config.yaml"]
    for key, value in overrides.items():
        command += ["-o", f"{key}={value}"]
    started = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=TASK, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    with PeakSampler(process.pid, interval) as sampler:
        _out, err = process.communicate(timeout=3600)
    wall = time.perf_counter() - started
    if process.returncode != 0:
        raise RuntimeError(f"pipetune tune failed ({process.returncode}):\n{err[-3000:]}")
    rows = (storage / name / "history.jsonl").read_text().splitlines()
    assert len(rows) == 2 * trials, f"expected {2 * trials} epochs, got {len(rows)}"
    return {
        "trials": trials,
        "wall_s": wall,
        "peak_pss_mib": sampler.peak / 2**20,
        "by_role_mib": {role: pss / 2**20 for role, pss in sampler.by_role.items()},
        "driver_peak_rss_mib": sampler.driver_rss / 2**20,
        "sampler_cpu_s": sampler.cpu_s,
        "load1": os.getloadavg()[0],
    }


def dataset_mib(samples: int) -> float:
    """What the trials hold of the data: uint8 images and int64 labels."""
    return samples * (28 * 28 + 8) / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--samples", type=int, default=10000)
    parser.add_argument(
        "--interval", type=float, default=0.5, help="seconds between two samples of the tree"
    )
    args = parser.parse_args()
    shared = ROOT.parent / "shared" / "datasets"
    if "PIPETUNE_DATA" not in os.environ and shared.is_dir():
        os.environ["PIPETUNE_DATA"] = str(shared)
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    runs: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="pipetune-resnet-") as tmp:
        for repeat in range(args.repeats):
            for trials in (1, 4) if repeat % 2 == 0 else (4, 1):
                row = run(trials, args.samples, Path(tmp), args.interval)
                runs.append(row)
                print(
                    f"repeat {repeat} trials={trials}: wall {row['wall_s']:.1f} s, peak PSS "
                    f"{row['peak_pss_mib']:.0f} MiB, driver peak RSS "
                    f"{row['driver_peak_rss_mib']:.0f} MiB, load1 {row['load1']:.2f}, sampler "
                    f"{row['sampler_cpu_s']:.1f} s CPU ({row['sampler_cpu_s'] / row['wall_s']:.0%} "
                    "of a core)",
                    flush=True,
                )
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "resnet_memory.json").write_text(json.dumps({"runs": runs}, indent=2))

    def median(key: str, trials: int) -> float:
        return statistics.median(r[key] for r in runs if r["trials"] == trials)

    search = [r for r in runs if r["trials"] == 4]
    peak_run = sorted(search, key=lambda r: r["peak_pss_mib"])[len(search) // 2]
    wall, pss = median("wall_s", 4), median("peak_pss_mib", 4)
    one, data = median("peak_pss_mib", 1), dataset_mib(args.samples)
    print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"peak PSS by role, median search run ({peak_run['peak_pss_mib']:.0f} MiB):")
    for role, mib in sorted(peak_run["by_role_mib"].items(), key=lambda kv: -kv[1]):
        print(f"  {mib:7.0f} MiB  {role}")
    print(
        f"ResNet-18, {args.samples} samples, 4 trials x 2 epochs, 2 at once, median of "
        f"{args.repeats}: wall {wall:.1f} s, peak PSS {pss:.0f} MiB, driver peak RSS "
        f"{median('driver_peak_rss_mib', 4):.0f} MiB; one trial alone: wall "
        f"{median('wall_s', 1):.1f} s, peak PSS {one:.0f} MiB; dataset {data:.1f} MiB"
    )
    low, high = ITWINAI_WALL_S
    print(
        f"pipetune/itwinai wall {wall / high:.2f}-{wall / low:.2f} (goal <= 0.5), peak PSS "
        f"{pss / ITWINAI_PSS_MIB[1]:.2f}-{pss / ITWINAI_PSS_MIB[0]:.2f} (goal <= 0.5); "
        f"2 concurrent / (one trial + dataset) {pss / (one + data):.2f} (goal <= 1.2)"
    )


if __name__ == "__main__":
    main()
