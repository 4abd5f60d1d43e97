"""Time to a target accuracy: the seed's HPO vs pipetune's schedulers and searchers.

    .venv/bin/python benchmarks/time_to_target.py [--target 0.86] [--samples 10000]
        [--trials 32] [--epochs 16] [--seeds 0 1 2 3 4] [--variants NAME ...]
    .venv/bin/python benchmarks/time_to_target.py --check   # what do random configs reach?
    .venv/bin/python benchmarks/time_to_target.py --tiny    # a smoke run, about 30 s
    .venv/bin/python benchmarks/time_to_target.py --reprint A.json [B.json ...]  # merged report

Task: a one-hidden-layer MLP (``MLP`` below) on the first ``--samples`` Fashion-MNIST
training images, 80 % train / 20 % validation (``RandomSplit``, seed 42), Adam, trainer seed
0, metric val_accuracy (max). Space: learning_rate loguniform 1e-5..1e-1, batch_size
32/64/128/256, hidden 16/64/256. Budget: ``--trials`` trials of at most ``--epochs`` epochs,
2 at a time with 1 CPU each, on one embedded Ray started once for the whole benchmark.

Variants (``--variants`` picks some), each run once per seed in a rotating order:

- ``seed``: the seed's approach, ``scheduler: fifo``, ``search_alg: random`` (every trial
  runs all its epochs); every ratio is against this variant, seed by seed;
- ``defaults``: the YAML names no scheduler and no search algorithm, so
  ``pipetune.tune._settings.TuneSettings`` decides;
- ``asha-g1-r2``, ``asha-g1-r3``, ``asha-g1-r4``, ``asha-g2-r3``: ASHA with that grace period
  and reduction factor (``max_t`` = the epoch budget), random search; ``...-tpe``: the same
  with Optuna's TPE (``search_alg: optuna``, its default 10 random start-up trials);
- ``optuna``: Optuna alone, in process: TPE + MedianPruner(n_startup_trials=2), 2 threads,
  running the trainer pipetune builds from the same YAML.

Random variants with the same seed draw the same configurations, so ``seed`` vs an ASHA +
random variant differ only in the scheduler. A search ends as soon as one result reaches
the target (the benchmark extends pipetune's own stopper so that ``stop_all()`` fires).

Time to target, two ways:

- **trial-seconds**: the sum of the trials' own time (Ray's ``time_this_iter_s``, which
  includes each trial's set-up in its first epoch; Optuna: the same, clocked per thread) over
  every result the driver received up to and including the first one at or above the target,
  in the order received. Load moves it far less than wall time: the figure to judge by.
- **wall**: seconds from the start of the search to that result (Ray stamps whole seconds:
  +0.5 s).

A search that never reaches the target counts all of its time and is flagged ``*``. For each
variant: the median over seeds of the paired ratio (variant ÷ seed approach, same seed) with
its interquartile range and min–max. The last lines are those ratios and the load average;
the goal is pipetune defaults ≤ 0.4× the seed approach in trial-seconds.
Needs the Fashion-MNIST files ($PIPETUNE_DATA, ../shared/datasets, or Debian's package).
"""

from __future__ import annotations

import argparse
import copy
import inspect
import json
import math
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import torch
from torch import nn

import pipetune  # noqa: F401  (Ray environment defaults)

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
PIPELINE = "training_pipeline"
TRAINER_STEP = 2  # getter, splitter, trainer
DEFAULT_TARGET = 0.86
LR = (1.0e-5, 1.0e-1)
BATCH = [32, 64, 128, 256]
HIDDEN = [16, 64, 256]
SPACE = {
    "learning_rate": {"type": "loguniform", "lower": LR[0], "upper": LR[1]},
    "batch_size": {"type": "choice", "categories": BATCH},
    "hidden": {"type": "choice", "categories": HIDDEN},
}


class MLP(nn.Module):
    """28×28 image → ``hidden`` ReLU units → 10 classes (13k to 200k parameters)."""

    def __init__(self, hidden: int = 64, num_classes: int = 10) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Flatten(), nn.Linear(28 * 28, hidden), nn.ReLU(), nn.Linear(hidden, num_classes)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def asha(grace: int, factor: int) -> dict[str, Any]:
    return {"type": "asha", "grace_period": grace, "reduction_factor": factor}


#: name → the tune: keys it sets (None: Optuna alone); "defaults" sets nothing
VARIANTS: dict[str, dict[str, Any] | None] = {
    "seed": {"scheduler": "fifo", "search_alg": "random"},
    "defaults": {},
    "asha-g1-r2": {"scheduler": asha(1, 2), "search_alg": "random"},
    "asha-g1-r3": {"scheduler": asha(1, 3), "search_alg": "random"},
    "asha-g1-r4": {"scheduler": asha(1, 4), "search_alg": "random"},
    "asha-g2-r3": {"scheduler": asha(2, 3), "search_alg": "random"},
    "asha-g1-r2-tpe": {"scheduler": asha(1, 2), "search_alg": "optuna"},
    "asha-g1-r3-tpe": {"scheduler": asha(1, 3), "search_alg": "optuna"},
    "asha-g1-r4-tpe": {"scheduler": asha(1, 4), "search_alg": "optuna"},
    "optuna": None,
}
DEFAULT_VARIANTS = [
    "seed",
    "defaults",
    "asha-g1-r2",
    "asha-g1-r3",
    "asha-g2-r3",
    "asha-g1-r3-tpe",
    "asha-g1-r4-tpe",
    "optuna",
]


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def config(args: argparse.Namespace) -> dict[str, Any]:
    """The benchmark's YAML tree: getter → splitter → trainer, no scheduler or searcher."""
    return {
        "batch_size": 64,
        "learning_rate": 1.0e-3,
        "hidden": 64,
        "epochs": args.epochs,
        "train_samples": args.samples,
        PIPELINE: {
            "class_path": "pipetune.Pipeline",
            "init_args": {
                "steps": [
                    {
                        "class_path": "pipetune.data.FashionMNIST",
                        "init_args": {"data_dir": None, "limit": "${train_samples}"},
                    },
                    {
                        "class_path": "pipetune.data.RandomSplit",
                        "init_args": {
                            "train_proportion": 0.8,
                            "validation_proportion": 0.2,
                            "seed": 42,
                        },
                    },
                    {
                        "class_path": "pipetune.torch.TorchTrainer",
                        "init_args": {
                            "config": {
                                "batch_size": "${batch_size}",
                                "optim_lr": "${learning_rate}",
                                "optimizer": "adam",
                                "seed": 0,
                            },
                            "epochs": "${epochs}",
                            "model": {
                                "class_path": "time_to_target.MLP",
                                "init_args": {"hidden": "${hidden}"},
                            },
                        },
                    },
                ]
            },
        },
        "tune": {"search_space": copy.deepcopy(SPACE)},
    }


def default_names() -> str:
    """'asha g1 r4 + random': what TuneSettings picks when the YAML names nothing."""
    from pipetune.tune._algorithms import SCHEDULERS, _split
    from pipetune.tune._settings import TuneSettings

    s = TuneSettings()
    scheduler, options = _split(s.scheduler, "fifo")
    search = _split(s.search_alg, "random")[0]
    if scheduler == "asha":
        from ray.tune.schedulers import ASHAScheduler

        SCHEDULERS["asha"].factory(options, 16)  # fills in pipetune's own defaults
        ray_default = inspect.signature(ASHAScheduler).parameters["reduction_factor"].default
        factor = options.get("reduction_factor", ray_default)
        scheduler = f"asha g{options['grace_period']:g} r{factor:g}"
    return f"{scheduler} + {search}"


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines() if path.exists() else []:
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return rows


Point = tuple[float, float, float, float]  # wall s, trial s, epoch s, val_accuracy


def to_target(points: list[Point], target: float) -> dict[str, Any]:
    """From (wall s, trial s, epoch s, val_accuracy) in the order received: the wall time
    and the running sums of trial-seconds and of epoch-seconds (training and validation
    only, no set-up) at the first point reaching ``target``; when none does, the totals
    with ``reached`` false."""
    trial_s = epoch_s = 0.0
    for wall, trial, epoch, accuracy in points:
        trial_s, epoch_s = trial_s + trial, epoch_s + epoch
        if accuracy >= target:
            return {"reached": True, "wall_s": wall, "trial_s": trial_s, "epoch_s": epoch_s}
    last = max((p[0] for p in points), default=0.0)
    return {"reached": False, "wall_s": last, "trial_s": trial_s, "epoch_s": epoch_s}


def oracle_bound(rows: list[list[Any]], target: float, epochs: int) -> float:
    """A lower bound on the trial-seconds any scheduler needs to reach ``target`` when it is
    given the configurations of ``rows`` (a run's results: trial, iteration, trial-seconds,
    epoch-seconds, val_accuracy) in the same order: an oracle that knows which of them will
    reach the target runs every other one for a single epoch (the least a scheduler needs
    to judge a trial) and the first good one until it gets there, its other slot idle.

    A trial that reached the target costs its trial-seconds up to that result; one that was
    still running when the run stopped might have reached it, and costs at least what it
    had run; one never started costs at least the cheapest first epoch seen."""
    by_trial: dict[str, list[tuple[int, float, float]]] = {}
    for trial, iteration, trial_s, _epoch_s, accuracy in rows:
        by_trial.setdefault(str(trial), []).append(
            (int(iteration), float(trial_s or 0), float(accuracy))
        )
    before, candidates, first_epochs = 0.0, [], []
    for trial in sorted(by_trial):  # trial ids count up in the order the searcher made them
        results = sorted(by_trial[trial])
        elapsed, reached = 0.0, False
        for _iteration, seconds, accuracy in results:
            elapsed += seconds
            if accuracy >= target:
                reached = True
                break
        if reached or len(results) < epochs:
            candidates.append(before + elapsed)
        first_epochs.append(results[0][1])
        before += results[0][1]
    candidates.append(before + min(first_epochs, default=0.0))
    return min(candidates)


def oracle_ratios(runs: list[dict[str, Any]], target: float, epochs: int) -> list[float]:
    """Per seed: the oracle's bound on the seed approach's configurations ÷ what the seed
    approach took; the median is the least a scheduler could give with that sampler."""
    return [
        oracle_bound(r["results"], target, epochs) / r["trial_s"]
        for r in runs
        if r["variant"] == "seed" and r.get("results") and r.get("reached") and r["trial_s"]
    ]


def spread(ratios: list[float]) -> dict[str, Any]:
    """Median, quartiles, min, max and the ratios themselves, as ``ratio_text`` prints them."""
    q1, median, q3 = quartiles(ratios)
    return {
        "median": median,
        "q1": q1,
        "q3": q3,
        "min": min(ratios),
        "max": max(ratios),
        "per_seed": ratios,
    }


def quartiles(values: list[float]) -> tuple[float, float, float]:
    """(first quartile, median, third quartile); the median thrice for one value."""
    if len(values) == 1:
        return values[0], values[0], values[0]
    q1, q2, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return q1, q2, q3


def run_pipetune(
    name: str, tune: dict[str, Any], seed: int, args: argparse.Namespace, storage: Path
) -> dict[str, Any]:
    import pipetune.tune._contract as contract
    from pipetune.tune import Experiment

    overrides = {
        "tune.num_samples": args.trials,
        "tune.stop": {"training_iteration": args.epochs},
        "tune.metric": "val_accuracy",
        "tune.mode": "max",
        "tune.seed": seed,
        "tune.progress": "quiet",
        "tune.checkpoint_every": 0,
        "tune.storage_path": str(storage),
        "tune.name": f"{name}-s{seed}",
        **{f"tune.{k}": v for k, v in tune.items()},
    }
    original = contract.MetricContractStopper
    target = args.target
    used: list[bool] = []

    class StopAtTarget(original):  # type: ignore[misc,valid-type]
        """pipetune's stopper, plus: end the whole search once a result reaches the target."""

        reached = False

        def __init__(self, *a: Any, **k: Any) -> None:
            super().__init__(*a, **k)
            used.append(True)

        def __call__(self, trial_id: str, result: dict[str, Any]) -> bool:
            if float(result.get("val_accuracy", 0.0)) >= target:
                self.reached = True
            return bool(super().__call__(trial_id, result))

        def stop_all(self) -> bool:
            return self.reached or bool(super().stop_all())

    contract.MetricContractStopper = StopAtTarget  # the runner imports it from there
    try:
        experiment = Experiment(config(args), overrides)
        start = time.time()
        outcome = experiment.run()
        ended = time.time() - start
    finally:
        contract.MetricContractStopper = original
    if not used:
        raise SystemExit("the stop-at-target patch was not used: pipetune's stopper moved")
    history = [r for r in read_jsonl(outcome.path / "history.jsonl") if "val_accuracy" in r]
    points = [
        (
            min(float(r["timestamp"]) + 0.5 - start, ended),
            float(r.get("time_this_iter_s", r.get("epoch_time", 0.0))),
            float(r.get("epoch_time", 0.0)),
            float(r["val_accuracy"]),
        )
        for r in history
    ]
    return {
        **to_target(points, args.target),
        "ended_s": ended,
        "epochs_run": len(points),
        "trials": len(outcome.rows),
        "best_acc": max((p[-1] for p in points), default=0.0),
        "failed": outcome.failed,
        # (trial, iteration, trial-seconds, epoch_time, val_accuracy) in the order received
        "results": [
            [
                r.get("trial_id"),
                r.get("training_iteration"),
                r.get("time_this_iter_s"),
                r.get("epoch_time"),
                r["val_accuracy"],
            ]
            for r in history
        ],
    }


def build_upstream(args: argparse.Namespace) -> tuple[Any, ...]:
    from pipetune.parser import ConfigParser

    upstream = ConfigParser(config(args)).parse_pipeline(PIPELINE).run((), 0, TRAINER_STEP)
    return upstream if isinstance(upstream, tuple) else (upstream,)


def trainer_for(args: argparse.Namespace, values: dict[str, Any]) -> Any:
    from pipetune.parser import ConfigParser

    trainer = ConfigParser(config(args), values).parse_step(TRAINER_STEP, PIPELINE)
    trainer.logger = None
    return trainer


def run_optuna(seed: int, args: argparse.Namespace) -> dict[str, Any]:
    import optuna

    from pipetune.torch import Callback

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    points: list[Point] = []
    guard = threading.Lock()
    reached = threading.Event()

    class ReportAndPrune(Callback):
        def __init__(self, study: optuna.Study, trial: optuna.Trial, began: float) -> None:
            self.study, self.trial, self.last = study, trial, began

        def on_epoch_end(self, trainer: Any, epoch: int, metrics: dict[str, float]) -> None:
            accuracy = float(metrics["val_accuracy"])
            now = time.time()
            with guard:
                points.append((now - start, now - self.last, metrics["epoch_time"], accuracy))
            self.last = now
            if accuracy >= args.target or reached.is_set():
                reached.set()
                self.study.stop()  # the search is over: no new trial, running ones end here
                raise optuna.TrialPruned()
            self.trial.report(accuracy, epoch + 1)
            if epoch + 1 < args.epochs and self.trial.should_prune():
                raise optuna.TrialPruned()

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # 2 trials at a time, 1 core each, as pipetune's auto resources
    try:
        start = time.time()
        upstream = build_upstream(args)

        def objective(trial: optuna.Trial) -> float:
            began = time.time()
            values = {
                "learning_rate": trial.suggest_float("learning_rate", *LR, log=True),
                "batch_size": trial.suggest_categorical("batch_size", BATCH),
                "hidden": trial.suggest_categorical("hidden", HIDDEN),
            }
            with guard:  # the same trainer step pipetune builds in each trial
                trainer = trainer_for(args, values)
            trainer.callbacks.append(ReportAndPrune(trial.study, trial, began))
            trainer.execute(*upstream)
            return float(trainer.history[-1]["val_accuracy"])

        study = optuna.create_study(
            direction="maximize",
            sampler=optuna.samplers.TPESampler(seed=seed),
            pruner=optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=0),
        )
        study.optimize(objective, n_trials=args.trials, n_jobs=2)
        ended = time.time() - start
    finally:
        torch.set_num_threads(threads)
    return {
        **to_target(points, args.target),
        "ended_s": ended,
        "epochs_run": len(points),
        "trials": len(study.trials),
        "best_acc": max((p[-1] for p in points), default=0.0),
        "failed": sum(1 for t in study.trials if t.state == optuna.trial.TrialState.FAIL),
    }


def check(args: argparse.Namespace) -> None:
    """Train random configurations of the space for the whole budget, one at a time."""
    torch.set_num_threads(1)
    upstream = build_upstream(args)
    rng = random.Random(0)
    print(
        f"reachability: {len(upstream[0])} train / {len(upstream[1])} validation samples, "
        f"{args.epochs} epochs, 1 thread, load average {load()}"
    )
    print(f"{'learning_rate':>14}{'batch':>6}{'hidden':>7}{'best':>8}{'epoch s':>8}  val_accuracy")
    best = []
    for _ in range(args.trials):
        values = {
            "learning_rate": 10 ** rng.uniform(math.log10(LR[0]), math.log10(LR[1])),
            "batch_size": rng.choice(BATCH),
            "hidden": rng.choice(HIDDEN),
        }
        trainer = trainer_for(args, values)
        trainer.execute(*upstream)
        accs = [h["val_accuracy"] for h in trainer.history]
        best.append(max(accs))
        seconds = statistics.mean(h["epoch_time"] for h in trainer.history)
        print(
            f"{values['learning_rate']:>14.2e}{values['batch_size']:>6}{values['hidden']:>7}"
            f"{max(accs):>8.4f}{seconds:>8.2f}  " + " ".join(f"{a:.3f}" for a in accs),
            flush=True,
        )
    best.sort(reverse=True)
    print(f"load average at end {load()}")
    for target in sorted({round(b, 2) for b in best[: max(1, len(best) // 2)]}, reverse=True):
        share = sum(b >= target for b in best)
        print(f"target {target:.2f}: reached by {share}/{len(best)} random configurations")


def summarise(runs: list[dict[str, Any]], names: list[str]) -> dict[str, dict[str, Any]]:
    """Per variant: medians, and the paired ratios to the seed approach over seeds."""
    seed_runs = {r["seed"]: r for r in runs if r["variant"] == "seed"}
    summary: dict[str, dict[str, Any]] = {}
    for name in names:
        mine = [r for r in runs if r["variant"] == name]
        epoch_s = [r["epoch_s"] for r in mine if "epoch_s" in r]
        entry: dict[str, Any] = {
            "reached": sum(r["reached"] for r in mine),
            "runs": len(mine),
            "median_trial_s": statistics.median(r["trial_s"] for r in mine),
            "median_wall_s": statistics.median(r["wall_s"] for r in mine),
            "median_epoch_s": statistics.median(epoch_s) if epoch_s else None,
            "median_epochs": statistics.median(r["epochs_run"] for r in mine),
            "per_seed_trial_s": [r["trial_s"] for r in mine],
            "per_seed_reached": [r["reached"] for r in mine],
        }
        for unit in UNITS:
            paired = [(r, seed_runs[r["seed"]]) for r in mine if r["seed"] in seed_runs]
            ratios = [r[unit] / s[unit] for r, s in paired if unit in r and s.get(unit)]
            if ratios:
                entry[f"ratio_{unit}"] = spread(ratios)
        summary[name] = entry
    return summary


#: the run's keys that hold a time to target, and what the report calls them
UNITS = {"trial_s": "trial-s", "epoch_s": "epoch-s", "wall_s": "wall"}


def ratio_text(r: dict[str, float]) -> str:
    spread = f"IQR {r['q1']:.2f}-{r['q3']:.2f}, min-max {r['min']:.2f}-{r['max']:.2f}"
    return f"{r['median']:.2f} ({spread}, {len(r['per_seed'])} seeds)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", type=float, default=DEFAULT_TARGET)
    parser.add_argument("--samples", type=int, default=10000)
    parser.add_argument("--trials", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=16)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=DEFAULT_VARIANTS)
    parser.add_argument("--check", action="store_true", help="only train random configurations")
    parser.add_argument("--tiny", action="store_true", help="a smoke run: seconds, not minutes")
    parser.add_argument("--out", type=Path, default=None, help="the JSON file to write")
    parser.add_argument(
        "--reprint", type=Path, nargs="+", help="print the report of saved runs (merged) again"
    )
    args = parser.parse_args()
    if args.out is not None:
        args.out = args.out.resolve()  # before the chdir below
    if args.reprint:
        data = merge([json.loads(path.read_text(encoding="utf-8")) for path in args.reprint])
        backfill(data)
        report(data, "(not recorded: see the runs' loads)")
        return
    if args.tiny:
        args.samples, args.trials, args.epochs, args.seeds = 1000, 3, 2, [0]
        args.variants = ["seed", "defaults", "optuna"]
    if "seed" not in args.variants:
        args.variants.insert(0, "seed")
    shared = HERE.parents[1] / "shared" / "datasets"
    if "PIPETUNE_DATA" not in os.environ and shared.is_dir():
        os.environ["PIPETUNE_DATA"] = str(shared)
    from pipetune.data import DataError, FashionMNIST

    try:
        FashionMNIST(download=False).locate()
    except DataError as exc:
        print(f"skipped: {exc}")
        return
    os.chdir(HERE)  # MLP is imported as time_to_target.MLP, in the driver and the workers
    sys.path.insert(0, str(HERE))
    if args.check:
        check(args)
        return

    import ray

    defaults = default_names()
    val = round(args.samples * 0.2)
    print(
        f"settings: Fashion-MNIST {args.samples} samples ({args.samples - val} train / {val} "
        f"validation), MLP, {args.trials} trials of <= {args.epochs} epochs, 2 at a time "
        f"x 1 CPU, target val_accuracy >= {args.target}, seeds {args.seeds}; "
        f"defaults = {defaults}"
    )
    print(f"load average at start: {load()}")
    names = args.variants
    runs: list[dict[str, Any]] = []
    began = time.perf_counter()
    ray.init(num_cpus=2, include_dashboard=False, _node_ip_address="127.0.0.1", log_to_driver=False)
    ray_init = time.perf_counter() - began
    try:
        with tempfile.TemporaryDirectory(prefix="pipetune-ttt-") as tmp:
            for index, seed in enumerate(args.seeds):
                shift = index % len(names)  # rotate the order, so load drift hits all alike
                for name in names[shift:] + names[:shift]:
                    tune = VARIANTS[name]
                    if tune is None:
                        row = run_optuna(seed, args)
                    else:
                        row = run_pipetune(name, tune, seed, args, Path(tmp))
                    row.update(variant=name, seed=seed, load1=os.getloadavg()[0])
                    runs.append(row)
                    flag = "" if row["reached"] else "*"
                    print(
                        f"  seed {seed} {name:<16} trial-s {row['trial_s']:7.1f}{flag:1} "
                        f"wall {row['wall_s']:6.1f}{flag:1}  ended {row['ended_s']:6.1f}  "
                        f"epochs {row['epochs_run']:>4}  trials {row['trials']:>3}  "
                        f"best {row['best_acc']:.4f}  load {row['load1']:.2f}",
                        flush=True,
                    )
    finally:
        ray.shutdown()
    total = time.perf_counter() - began
    data = {
        "settings": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "defaults": defaults,
        "runs": runs,
        "summary": summarise(runs, names),
        "ray_init_s": ray_init,
        "total_s": total,
    }
    out = args.out or (None if args.tiny else RESULTS / f"time_to_target-{args.target:g}.json")
    if out is not None:  # a smoke run keeps results/ as it was
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(data, indent=2))
    report(data, load())


def merge(saved: list[dict[str, Any]]) -> dict[str, Any]:
    """Saved runs of the same settings (other seeds, fewer variants) as one."""
    data = copy.deepcopy(saved[0])
    for more in saved[1:]:
        data["runs"] += more["runs"]
        data["total_s"] += more["total_s"]
        settings = data["settings"]
        settings["variants"] += [
            v for v in more["settings"]["variants"] if v not in settings["variants"]
        ]
        settings["seeds"] += [s for s in more["settings"]["seeds"] if s not in settings["seeds"]]
    return data


def backfill(data: dict[str, Any]) -> None:
    """Epoch-seconds of runs saved before the benchmark counted them, from their results."""
    target = data["settings"]["target"]
    for run in data["runs"]:
        if "epoch_s" not in run and run.get("results"):
            points = [(0.0, 0.0, float(r[3] or 0.0), float(r[4])) for r in run["results"]]
            run["epoch_s"] = to_target(points, target)["epoch_s"]
    data["summary"] = summarise(data["runs"], data["settings"]["variants"])


def report(data: dict[str, Any], load_at_end: str) -> None:
    """The table, then the ratios to the seed approach: the last lines printed."""
    names, summary, defaults = data["settings"]["variants"], data["summary"], data["defaults"]
    seeds = data["settings"]["seeds"]
    loads = [r["load1"] for r in data["runs"]]
    print()
    print(
        f"{'variant':<18}{'reached':>8}{'trial-s':>9}{'epoch-s':>9}{'wall s':>8}{'epochs':>7}"
        "   trial-seconds per seed (* = never reached)"
    )
    for name in names:
        s = summary[name]
        cells = " ".join(
            f"{t:.1f}{'' if ok else '*'}"
            for t, ok in zip(s["per_seed_trial_s"], s["per_seed_reached"], strict=True)
        )
        epoch_s = s["median_epoch_s"]
        print(
            f"{name:<18}{s['reached']:>5}/{s['runs']:<2}{s['median_trial_s']:>9.1f}"
            f"{'-' if epoch_s is None else f'{epoch_s:.1f}':>9}{s['median_wall_s']:>8.1f}"
            f"{s['median_epochs']:>7.0f}   {cells}"
        )
    print(
        f"embedded Ray start-up {data['ray_init_s']:.1f} s (not in the times); "
        f"whole run {data['total_s'] / 60:.1f} min"
    )
    print()
    print(
        f"ratio to the seed approach (fifo + random), seeds {seeds}: median of the paired "
        f"ratios (IQR, min-max); load average 1/5/15 min at end {load_at_end}, "
        f"1-min during the runs {min(loads):.2f}-{max(loads):.2f}:"
    )
    for name in names[1:]:
        s = summary[name]
        label = f"{name} ({defaults})" if name == "defaults" else name
        cells = [
            f"{word} {ratio_text(s[f'ratio_{unit}'])}"
            for unit, word in UNITS.items()
            if f"ratio_{unit}" in s
        ]
        print(f"  {label:<30} " + "   ".join(cells))
    bound = oracle_ratios(data["runs"], data["settings"]["target"], data["settings"]["epochs"])
    if bound:
        print(
            f"  {'oracle bound':<30} trial-s {ratio_text(spread(bound))}: the least any "
            "scheduler can take with the seed approach's configurations, stopping each one "
            "that will not reach the target after one epoch"
        )
    if "defaults" in summary:
        ratio = summary["defaults"]["ratio_trial_s"]["median"]
        verdict = "met" if ratio <= 0.4 else "not met"
        print(
            f"goal: pipetune defaults ({defaults}) <= 0.4x the seed approach in trial-seconds: "
            f"{ratio:.2f}, {verdict}"
        )


if __name__ == "__main__":
    main()
