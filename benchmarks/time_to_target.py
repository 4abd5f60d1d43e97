"""Time to a target accuracy: the seed's HPO vs pipetune's vs Optuna alone, on Fashion-MNIST.

    .venv/bin/python benchmarks/time_to_target.py [--target 0.87] [--samples 12000] [--trials 8]
        [--epochs 4] [--seeds 0 1 2]
    .venv/bin/python benchmarks/time_to_target.py --check     # is the target reachable at all?

The example's SmallCNN and trainer (examples/fashion-mnist), the same search space
(learning_rate loguniform 1e-4..1e-2, batch_size 64/128/256), the same budget (``--trials``
trials of at most ``--epochs`` epochs), 2 trials at a time with 1 CPU each, metric
val_accuracy (max). Variants, run in a rotating order for every seed:

- seed approach: pipetune with ``scheduler: fifo``, ``search_alg: random`` (every trial runs
  all its epochs: what the seed tutorial's random search + FIFO did);
- pipetune defaults: the YAML names no scheduler and no search algorithm, so the defaults of
  ``pipetune.tune._settings.TuneSettings`` apply (resources auto: 1 CPU per trial);
- pipetune asha+tpe: ``scheduler: asha``, ``search_alg: optuna`` (TPE);
- optuna alone: an in-process Optuna study (TPE sampler, MedianPruner(n_startup_trials=2,
  n_warmup_steps=0)) running the very trainer pipetune builds (through ConfigParser) in 2
  threads (``n_jobs=2``, ``torch.set_num_threads(1)``), pruned after each epoch.

Time to target = seconds from the start of the search (data loading included; the embedded
Ray's start-up is not, it is printed apart) to the first epoch result with
val_accuracy >= target: the result's timestamp in ``history.jsonl`` for pipetune (Ray stamps
whole seconds: +0.5 s is added, the middle of that second), the wall clock at the end of the
epoch for Optuna. A search ends as soon as a result reaches the target, since nothing after
it counts (pipetune: the benchmark extends pipetune's own stopper so that it stops all
trials; Optuna: ``study.stop()`` and the running trials end at their next epoch end):
"ended s" is when it returned. A run that never reaches the target counts as its full wall
time and is flagged with ``*``. Medians over the seeds. The last line is the ratio of the
median times to target, pipetune defaults ÷ seed approach (goal <= 0.4).
Needs the Fashion-MNIST files ($PIPETUNE_DATA, ../shared/datasets, or Debian's package).
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import yaml

import pipetune  # noqa: F401  (Ray environment defaults)

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "fashion-mnist"
RESULTS = ROOT / "benchmarks" / "results"
PIPELINE = "training_pipeline"
TRAINER_STEP = 2  # getter, splitter, trainer
DEFAULT_TARGET = 0.87
SPACE = {
    "learning_rate": {"type": "loguniform", "lower": 1.0e-4, "upper": 1.0e-2},
    "batch_size": {"type": "choice", "categories": [64, 128, 256]},
}


def load() -> str:
    return f"{os.getloadavg()[0]:.2f}"


def base_config() -> dict[str, Any]:
    """The example's YAML with no scheduler and no search algorithm named."""
    tree = yaml.safe_load((EXAMPLE / "config.yaml").read_text(encoding="utf-8"))
    tune = tree["tune"]
    tune.pop("scheduler", None)
    tune.pop("search_alg", None)
    if tune["search_space"] != SPACE:
        raise SystemExit(f"the example's search space changed: {tune['search_space']}")
    return tree


def default_names() -> tuple[str, str]:
    from pipetune.tune._algorithms import _split
    from pipetune.tune._settings import TuneSettings

    s = TuneSettings()
    return _split(s.scheduler, "fifo")[0], _split(s.search_alg, "random")[0]


def pipeline_overrides(args: argparse.Namespace) -> dict[str, Any]:
    return {"train_samples": args.samples, "epochs": args.epochs}


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines() if path.exists() else []:
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return rows


def first_hit(points: list[tuple[float, float]], target: float) -> float | None:
    """Earliest time among (seconds since start, val_accuracy) points reaching ``target``."""
    hits = [t for t, acc in points if acc >= target]
    return min(hits) if hits else None


def run_pipetune(
    variant: str, tune: dict[str, Any], seed: int, args: argparse.Namespace, storage: Path
) -> dict[str, Any]:
    import ray

    import pipetune.tune._callbacks as callbacks
    from pipetune.tune import Experiment

    overrides = {
        **pipeline_overrides(args),
        "tune.num_samples": args.trials,
        "tune.stop": {"training_iteration": args.epochs},
        "tune.metric": "val_accuracy",
        "tune.mode": "max",
        "tune.seed": seed,
        "tune.storage_path": str(storage),
        "tune.name": f"{variant.replace(' ', '-').replace('+', '-')}-s{seed}",
        **{f"tune.{k}": v for k, v in tune.items()},
    }
    began = time.perf_counter()
    ray.init(num_cpus=2, include_dashboard=False, _node_ip_address="127.0.0.1", log_to_driver=False)
    ray_init = time.perf_counter() - began
    original = callbacks.MetricContractStopper
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

    callbacks.MetricContractStopper = StopAtTarget  # Experiment.run() imports it from there
    try:
        experiment = Experiment(copy.deepcopy(base_config()), overrides)
        start = time.time()
        outcome = experiment.run()
        wall = time.time() - start
    finally:
        callbacks.MetricContractStopper = original
        ray.shutdown()
    if not used:
        print("  (the stop-at-target patch was not used: this search ran to its end)")
    history = read_jsonl(outcome.path / "history.jsonl")
    points = [
        (min(float(r["timestamp"]) + 0.5 - start, wall), float(r["val_accuracy"]))
        for r in history
        if "val_accuracy" in r
    ]
    return {
        "wall_s": wall,
        "hit_s": first_hit(points, args.target),
        "epochs_run": len(points),
        "trials": len(outcome.rows),
        "best_acc": max((a for _, a in points), default=0.0),
        "ray_init_s": ray_init,
        "failed": outcome.failed,
    }


def run_optuna(seed: int, args: argparse.Namespace) -> dict[str, Any]:
    import optuna
    import torch

    from pipetune.parser import ConfigParser
    from pipetune.torch import Callback

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    config = base_config()
    points: list[tuple[float, float]] = []
    guard = threading.Lock()
    reached = threading.Event()

    class ReportAndPrune(Callback):
        def __init__(self, study: optuna.Study, trial: optuna.Trial, start: float) -> None:
            self.study, self.trial, self.start = study, trial, start

        def on_epoch_end(self, trainer: Any, epoch: int, metrics: dict[str, float]) -> None:
            accuracy = float(metrics["val_accuracy"])
            with guard:
                points.append((time.time() - self.start, accuracy))
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
        parser = ConfigParser(config, pipeline_overrides(args))
        pipeline = parser.parse_pipeline(PIPELINE)
        upstream = pipeline.run((), 0, TRAINER_STEP)
        upstream = upstream if isinstance(upstream, tuple) else (upstream,)

        def objective(trial: optuna.Trial) -> float:
            values = {
                "learning_rate": trial.suggest_float("learning_rate", 1e-4, 1e-2, log=True),
                "batch_size": trial.suggest_categorical("batch_size", [64, 128, 256]),
            }
            with guard:  # the same trainer step pipetune builds in each trial
                trainer = ConfigParser(config, {**pipeline_overrides(args), **values}).parse_step(
                    TRAINER_STEP, PIPELINE
                )
            trainer.logger = None
            trainer.callbacks.append(ReportAndPrune(trial.study, trial, start))
            trainer.execute(*upstream)
            return float(trainer.history[-1]["val_accuracy"])

        study = optuna.create_study(
            direction="maximize",
            sampler=optuna.samplers.TPESampler(seed=seed),
            pruner=optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=0),
        )
        study.optimize(objective, n_trials=args.trials, n_jobs=2)
        wall = time.time() - start
    finally:
        torch.set_num_threads(threads)
    return {
        "wall_s": wall,
        "hit_s": first_hit(points, args.target),
        "epochs_run": len(points),
        "trials": len(study.trials),
        "best_acc": max((a for _, a in points), default=0.0),
        "ray_init_s": 0.0,
        "failed": sum(1 for t in study.trials if t.state == optuna.trial.TrialState.FAIL),
    }


def check(args: argparse.Namespace) -> None:
    """Train three fixed configurations of the space, one at a time, 1 thread each."""
    import torch

    from pipetune.parser import ConfigParser

    torch.set_num_threads(1)
    config = base_config()
    parser = ConfigParser(config, pipeline_overrides(args))
    upstream = parser.parse_pipeline(PIPELINE).run((), 0, TRAINER_STEP)
    print(
        f"reachability: {len(upstream[0])} train / {len(upstream[1])} validation samples, "
        f"{args.epochs} epochs, 1 thread, load average {load()}"
    )
    print(f"{'learning_rate':>14}{'batch':>7}   val_accuracy per epoch (epoch seconds)")
    reached = 0
    for lr, bs in ((2e-3, 64), (1e-3, 128), (5e-3, 256)):
        trainer = ConfigParser(
            config, {**pipeline_overrides(args), "learning_rate": lr, "batch_size": bs}
        ).parse_step(TRAINER_STEP, PIPELINE)
        trainer.logger = None
        trainer.execute(*upstream)
        cells = "  ".join(
            f"{h['val_accuracy']:.4f} ({h['epoch_time']:.1f})" for h in trainer.history
        )
        print(f"{lr:>14g}{bs:>7}   {cells}")
        first = next(
            (i + 1 for i, h in enumerate(trainer.history) if h["val_accuracy"] >= args.target),
            None,
        )
        reached += first is not None
    print(f"load average at end {load()}")
    print(f"configurations reaching {args.target}: {reached}/3")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", type=float, default=DEFAULT_TARGET)
    parser.add_argument("--samples", type=int, default=12000)
    parser.add_argument("--trials", type=int, default=8)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--check", action="store_true", help="only test reachability")
    args = parser.parse_args()
    shared = ROOT.parent / "shared" / "datasets"
    if "PIPETUNE_DATA" not in os.environ and shared.is_dir():
        os.environ["PIPETUNE_DATA"] = str(shared)
    from pipetune.data import DataError, FashionMNIST

    try:
        FashionMNIST(download=False).locate()
    except DataError as exc:
        print(f"skipped: {exc}")
        return
    os.chdir(EXAMPLE)  # the example's model.py is imported from its folder
    sys.path.insert(0, str(EXAMPLE))
    if args.check:
        check(args)
        return

    scheduler, search_alg = default_names()
    defaults = f"pipetune defaults ({scheduler}+{search_alg})"
    variants: list[tuple[str, dict[str, Any] | None]] = [
        ("seed fifo+random", {"scheduler": "fifo", "search_alg": "random"}),
        (defaults, {}),
    ]
    if (scheduler, search_alg) != ("asha", "optuna"):
        variants.append(("pipetune asha+tpe", {"scheduler": "asha", "search_alg": "optuna"}))
    variants.append(("optuna alone tpe+median", None))

    val = round(args.samples * 0.1)
    print(
        f"settings: Fashion-MNIST {args.samples} samples ({args.samples - val} train / {val} "
        f"validation), SmallCNN, {args.trials} trials of <= {args.epochs} epochs, 2 at a time "
        f"x 1 CPU, target val_accuracy >= {args.target}, seeds {args.seeds}"
    )
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    runs: list[dict[str, Any]] = []
    began = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="pipetune-ttt-") as tmp:
        for index, seed in enumerate(args.seeds):
            shift = index % len(variants)  # rotate the order, so load drift hits all alike
            for name, tune in variants[shift:] + variants[:shift]:
                if tune is None:
                    row = run_optuna(seed, args)
                else:
                    row = run_pipetune(name, tune, seed, args, Path(tmp))
                row.update(variant=name, seed=seed, load1=os.getloadavg()[0])
                runs.append(row)
                hit = f"{row['hit_s']:.1f}" if row["hit_s"] is not None else "-"
                print(
                    f"  seed {seed} {name:<32} to target {hit:>6} s  ended {row['wall_s']:6.1f} s"
                    f"  epochs {row['epochs_run']:>2}  best {row['best_acc']:.4f}"
                    f"  load {row['load1']:.2f}",
                    flush=True,
                )
    total = time.perf_counter() - began

    print()
    print(
        f"{'variant':<34}{'to target s':>12}{'reached':>9}{'ended s':>8}{'epochs':>8}"
        f"{'best acc':>10}{'per seed (s, * = never reached)':>34}"
    )
    summary: dict[str, dict[str, Any]] = {}
    for name, _ in variants:
        mine = [r for r in runs if r["variant"] == name]
        times = [r["hit_s"] if r["hit_s"] is not None else r["wall_s"] for r in mine]
        summary[name] = {
            "median_to_target_s": statistics.median(times),
            "reached": sum(r["hit_s"] is not None for r in mine),
            "median_wall_s": statistics.median(r["wall_s"] for r in mine),
            "median_epochs": statistics.median(r["epochs_run"] for r in mine),
            "median_best_acc": statistics.median(r["best_acc"] for r in mine),
        }
        s = summary[name]
        flags = ["*" if r["hit_s"] is None else "" for r in mine]
        per_seed = " ".join(f"{t:.1f}{f}" for t, f in zip(times, flags, strict=True))
        print(
            f"{name:<34}{s['median_to_target_s']:>12.1f}{s['reached']:>6}/{len(mine)}"
            f"{s['median_wall_s']:>8.1f}{s['median_epochs']:>8.0f}{s['median_best_acc']:>10.4f}"
            f"{per_seed:>34}"
        )
    inits = [r["ray_init_s"] for r in runs if r["ray_init_s"]]
    print(
        f"embedded Ray start-up (not in the times above): median {statistics.median(inits):.1f} s;"
        f" whole benchmark {total / 60:.1f} min; load average at end: "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    ratio = (
        summary[defaults]["median_to_target_s"] / summary["seed fifo+random"]["median_to_target_s"]
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    suffix = "" if args.target == DEFAULT_TARGET else f"-{args.target:g}"
    (RESULTS / f"time_to_target{suffix}.json").write_text(
        json.dumps(
            {
                "settings": vars(args),
                "runs": runs,
                "summary": summary,
                "ratio": ratio,
                "total_s": total,
            },
            indent=2,
        )
    )
    print(
        f"ratio {defaults} / seed approach (median time to {args.target}): {ratio:.3f} "
        "(goal <= 0.4)"
    )


if __name__ == "__main__":
    main()
