"""A small real task, three ways: `pipetune tune` vs a lean Ray Tune script vs Optuna.

    PYTHONPATH=$PWD/src .venv/bin/python benchmarks/small_task.py [--repeats 3] [--data-dir D]

The task: 16 trials of a small MLP (784 → hidden → 10) on a slice of MNIST (the first 2,500
training images, flattened, split 2,000 train / 500 validation by a seeded permutation),
Adam, batch 64, 10 epochs, searching ``lr`` log-uniform in [1e-4, 1e-1] and ``hidden`` in
{32, 64, 128, 256}, minimising the validation loss reported after every epoch.

Each variant runs in its own fresh process, in its own temporary folder, and is timed from
outside, from exec to exit (imports, Ray's start and shutdown, reports: everything):
- pipetune: ``pipetune tune config.yaml`` on a normal pipetune config (``pipetune.data.MNIST``
  → ``RandomSplit`` → ``pipetune.torch.TorchTrainer`` with the MLP from a module beside the
  config), ASHA (max_t 10, grace 1, reduction 2), random search (seed 0), 2 concurrent
  trials of 1 CPU, pipetune's defaults otherwise (a checkpoint every epoch, report.html);
- ray-lean: a hand-tuned Ray Tune script: ``ray.init(num_cpus=2)`` on loopback without
  dashboard or log forwarding, ``reuse_actors=True``, Tune's automatic CSV/JSON/TensorBoard
  loggers off (``TUNE_DISABLE_AUTO_CALLBACK_LOGGERS=1``, read by Ray 2.60's
  ``ray.tune.utils.callback._create_default_callbacks``), the same ASHA and random search,
  2 concurrent trials of 1 CPU, the data in the object store once (``tune.with_parameters``),
  a plain torch loop over in-memory tensors and ``tune.report`` every epoch, no checkpoints,
  no callbacks (Ray 2.60's ``tag_callbacks`` imports the mlflow/wandb/comet integrations,
  ~1.7 s, whenever ``RunConfig(callbacks=...)`` is not empty);
- pipetune-attached: the same ``pipetune tune`` attached to a persistent local Ray
  (``pipetune ray start --num-cpus 2``, started once before the timed runs and stopped after
  them, both outside the timings: that is the point of it); the plain ``pipetune`` variant
  looks for that head's record in another, empty folder, so it always starts its own Ray;
- optuna: one in-process Optuna study, TPE (seed 0) with a SuccessiveHalvingPruner
  (min_resource 1, reduction 2, i.e. ASHA's rungs), one trial at a time, the same loop.
Threads: every trial trains with one torch thread. pipetune's trials call
``torch.set_num_threads(OMP_NUM_THREADS)`` and Ray sets OMP_NUM_THREADS to the trial's CPUs
(1); the lean Ray trials and the Optuna process call ``torch.set_num_threads(1)``. So the two
Ray variants use both cores (2 trials at once) and Optuna one.
The variants run in the order pipetune, ray-lean, optuna, pipetune-attached, reversed on every
second repeat.
Medians over the repeats; the ratios are also given as the median of each repeat's ratio.
The best validation loss of each variant (lowest val_loss reported by any trial at any
epoch) is printed to show that the searches are comparable; the load average beside each.
Goals: pipetune ÷ optuna ≤ 1.2 and pipetune ÷ ray-lean ≤ 0.8 (process wall time); the
first result (exec to the first trial's first epoch reported) ≤ 1.5 × ray-lean's.
Needs the MNIST IDX files (``--data-dir``, ``$PIPETUNE_DATA/mnist`` or
``../shared/datasets/mnist``); skips with a message when they are absent.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte")
VARIANTS = ("pipetune", "ray-lean", "optuna", "pipetune-attached")
ATTACHED_LINE = "attached to the local Ray at "

TRIALS = 16
EPOCHS = 10
SAMPLES = 2500  # 2,000 train + 500 validation
LR = (1e-4, 1e-1)
HIDDEN = (32, 64, 128, 256)

MODEL_MODULE = """
from torch import nn


class MLP(nn.Module):
    def __init__(self, hidden: int = 64) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Flatten(), nn.Linear(784, hidden), nn.ReLU(), nn.Linear(hidden, 10)
        )

    def forward(self, x):
        return self.net(x)
"""

CONFIG = """
learning_rate: 1.0e-3
hidden: 64
training_pipeline:
  class_path: pipetune.Pipeline
  init_args:
    steps:
      - class_path: pipetune.data.MNIST
        init_args: {{data_dir: {data_dir}, limit: {samples}, download: false}}
      - class_path: pipetune.data.RandomSplit
        init_args: {{train_proportion: 0.8, validation_proportion: 0.2, seed: 42}}
      - class_path: pipetune.torch.TorchTrainer
        init_args:
          config: {{batch_size: 64, optim_lr: "${{learning_rate}}", optimizer: adam, seed: 0}}
          epochs: {epochs}
          model:
            class_path: mlp_bench.MLP
            init_args: {{hidden: "${{hidden}}"}}
tune:
  metric: val_loss
  mode: min
  num_samples: {trials}
  search_space:
    learning_rate: {{type: loguniform, lower: {lr_low}, upper: {lr_high}}}
    hidden: {{type: choice, categories: {hidden}}}
  scheduler: {{type: asha, max_t: {epochs}, grace_period: 1, reduction_factor: 2}}
  search_alg: random
  max_concurrent_trials: 2
  storage_path: runs
  name: small
  seed: 0
"""

# The data and the training loop shared by the two hand-written variants.
COMMON = """
import gzip, json, os, sys
import numpy as np
import torch
from torch import nn

EPOCHS, SAMPLES, TRIALS, HIDDEN, LR = {epochs}, {samples}, {trials}, {hidden}, {lr}


def load(folder):
    def read(name, offset, size):
        with gzip.open(os.path.join(folder, name + ".gz")) as f:  # only the bytes needed
            return np.frombuffer(f.read(offset + size)[offset:], dtype=np.uint8)

    images = read("train-images-idx3-ubyte", 16, SAMPLES * 784).reshape(SAMPLES, 784)
    labels = read("train-labels-idx1-ubyte", 8, SAMPLES).astype(np.int64)
    x = (torch.from_numpy(images.astype(np.float32)) / 255 - 0.1307) / 0.3081
    y = torch.from_numpy(labels)
    order = torch.randperm(SAMPLES, generator=torch.Generator().manual_seed(42))
    train, val = order[:2000], order[2000:]
    return x[train], y[train], x[val], y[val]


def mark_first_result():
    # The wall-clock time of the task's first result, written once (by whichever trial).
    try:
        fd = os.open(os.environ["FIRST_RESULT_FILE"], os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        return
    import time
    os.write(fd, str(time.time()).encode())
    os.close(fd)


def fit(lr, hidden, data, report):
    torch.set_num_threads(1)
    torch.manual_seed(0)
    xt, yt, xv, yv = data
    model = nn.Sequential(nn.Linear(784, hidden), nn.ReLU(), nn.Linear(hidden, 10))
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    loss_fn = nn.CrossEntropyLoss()
    generator = torch.Generator().manual_seed(0)
    for epoch in range(EPOCHS):
        model.train()
        for idx in torch.randperm(len(yt), generator=generator).split(64):
            optimizer.zero_grad()
            loss_fn(model(xt[idx]), yt[idx]).backward()
            optimizer.step()
        model.eval()
        with torch.no_grad():
            val_loss = loss_fn(model(xv), yv).item()
        mark_first_result()
        if report(epoch, val_loss):
            return
"""

RAY_LEAN = """
os.environ["TUNE_DISABLE_AUTO_CALLBACK_LOGGERS"] = "1"  # no CSV/JSON/TensorBoard loggers
import ray
from ray import tune
from ray.tune.schedulers import ASHAScheduler
from ray.tune.search import BasicVariantGenerator

data = load(sys.argv[1])
ray.init(num_cpus=2, include_dashboard=False, _node_ip_address="127.0.0.1", log_to_driver=False)


def trainable(config, data):
    seen = []

    def report(epoch, val_loss):
        seen.append(val_loss)
        tune.report({{"val_loss": val_loss, "min_val_loss": min(seen)}})

    fit(config["lr"], config["hidden"], data, report)


tuner = tune.Tuner(
    tune.with_parameters(trainable, data=data),
    param_space={{"lr": tune.loguniform(*LR), "hidden": tune.choice(list(HIDDEN))}},
    tune_config=tune.TuneConfig(
        metric="val_loss", mode="min", num_samples=TRIALS, max_concurrent_trials=2,
        scheduler=ASHAScheduler(max_t=EPOCHS, grace_period=1, reduction_factor=2),
        search_alg=BasicVariantGenerator(random_state=0), reuse_actors=True,
    ),
    run_config=tune.RunConfig(storage_path=sys.argv[2], name="small", verbose=0),
)
grid = tuner.fit()
assert len(grid) == TRIALS and grid.num_errors == 0
best = min(result.metrics["min_val_loss"] for result in grid)
ray.shutdown()
print(json.dumps({{"best_val_loss": best}}))
"""

OPTUNA = """
import optuna

optuna.logging.set_verbosity(optuna.logging.WARNING)
torch.set_num_threads(1)
data = load(sys.argv[1])
best = [float("inf")]


def objective(trial):
    lr = trial.suggest_float("lr", *LR, log=True)
    hidden = trial.suggest_categorical("hidden", list(HIDDEN))
    seen = []

    def report(epoch, val_loss):
        seen.append(val_loss)
        best[0] = min(best[0], val_loss)
        trial.report(val_loss, epoch + 1)
        return trial.should_prune()

    fit(lr, hidden, data, report)
    if len(seen) < EPOCHS:
        raise optuna.TrialPruned()
    return min(seen)


study = optuna.create_study(
    sampler=optuna.samplers.TPESampler(seed=0),
    pruner=optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=2),
)
study.optimize(objective, n_trials=TRIALS)
print(json.dumps({{"best_val_loss": best[0]}}))
"""


def find_data(given: str | None) -> Path | None:
    """The folder holding MNIST's training IDX files (gzipped), or None."""
    candidates = [Path(given)] if given else []
    if os.environ.get("PIPETUNE_DATA"):
        candidates += [Path(os.environ["PIPETUNE_DATA"]) / "mnist"]
    candidates += [ROOT.parent / "shared" / "datasets" / "mnist"]
    for folder in candidates:
        if all((folder / f"{name}.gz").is_file() for name in FILES):
            return folder.resolve()
    return None


def clean_env() -> dict[str, str]:
    """This environment without Tune/Ray/pipetune settings (pipetune.pth sets its Ray
    defaults again at every interpreter start); PYTHONPATH made absolute."""
    drop = ("TUNE_", "RAY_", "PIPETUNE_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    if env.get("PYTHONPATH"):
        env["PYTHONPATH"] = os.pathsep.join(
            str(Path(p).resolve()) for p in env["PYTHONPATH"].split(os.pathsep) if p
        )
    return env


def pipetune_command() -> list[str]:
    script = Path(sys.executable).with_name("pipetune")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "pipetune.cli.main"]


#: spans of a pipetune run, from the marks of `pipetune tune --profile`: (label, from, to);
#: None: the process's start, or its exit (the wall time measured from outside)
PHASES = (
    ("imports and checks", None, "checks passed, pipeline built"),
    ("Ray start", "checks passed, pipeline built", "Ray started"),
    ("Tuner -> first trial started", "Tuner built", "first trial started"),
    ("first trial started -> trials done", "first trial started", "trials done"),
    ("summary printed -> exit", "summary printed", None),
)


def phases(profile: str, wall: float) -> dict[str, float]:
    """The spans of PHASES, in seconds, from the table `--profile` prints to stderr."""
    marks = {
        found.group(2).strip(): float(found.group(1))
        for found in re.finditer(r"^\s+([\d.]+)\s+[\d.]+\s+(\S.*)$", profile, re.MULTILINE)
    }
    spans = {}
    for label, start, end in PHASES:
        if (start is None or start in marks) and (end is None or end in marks):
            spans[label] = (wall if end is None else marks[end]) - (
                0.0 if start is None else marks[start]
            )
    return spans


def run_variant(
    name: str, folder: Path, data: Path, baseline: str | None = None, ray_state: Path | None = None
) -> tuple[float, float, float, dict[str, float]]:
    """Run one variant in a fresh process in ``folder``; return (wall s, best val_loss,
    seconds from exec to the first result: the first trial's first epoch reported, and the
    phases of a pipetune variant: see PHASES).

    ``pipetune-base`` is ``pipetune`` run from the source folder ``baseline`` (another
    checkout: the same task before a change, measured in the same run). ``ray_state``: the
    record folder of the persistent head that ``pipetune-attached`` attaches to."""
    folder.mkdir(parents=True)
    fill = {
        "epochs": EPOCHS,
        "samples": SAMPLES,
        "trials": TRIALS,
        "hidden": list(HIDDEN),
        "lr": LR,
    }
    env = clean_env()
    env["FIRST_RESULT_FILE"] = str(folder / "first_result.txt")
    # only pipetune-attached sees the persistent head's record; the others an empty folder
    env["PIPETUNE_RAY_STATE_DIR"] = str(
        ray_state if name == "pipetune-attached" and ray_state else folder / "no-ray-state"
    )
    if name.startswith("pipetune"):
        (folder / "mlp_bench.py").write_text(textwrap.dedent(MODEL_MODULE))
        config = CONFIG.format(data_dir=data, lr_low=LR[0], lr_high=LR[1], **fill)
        (folder / "config.yaml").write_text(config)
        command = [*pipetune_command(), "tune", "config.yaml", "--profile"]
        if name == "pipetune-base" and baseline:
            env["PYTHONPATH"] = str(Path(baseline).resolve())
            command = [sys.executable, "-m", "pipetune.cli.main", *command[-3:]]
    else:
        body = RAY_LEAN if name == "ray-lean" else OPTUNA
        script = (COMMON + body).format(**fill)
        command = [sys.executable, "-c", script, str(data), str(folder / "runs")]
    started, started_at = time.perf_counter(), time.time()
    out = subprocess.run(
        command,
        capture_output=True,
        text=True,
        env=env,
        cwd=folder,
        timeout=1800,
        check=False,
    )
    wall = time.perf_counter() - started
    if out.returncode != 0:
        raise RuntimeError(f"{name} failed (exit {out.returncode}):\n{out.stderr[-3000:]}")
    if (ATTACHED_LINE in out.stderr) != (name == "pipetune-attached"):
        raise RuntimeError(f"{name}: attached to the persistent Ray or not, wrongly:\n{out.stderr}")
    if name.startswith("pipetune"):
        found = re.search(r"^best val_loss: (\S+)$", out.stdout, re.MULTILINE)
        if found is None:
            raise RuntimeError(f"pipetune printed no best val_loss:\n{out.stdout[-2000:]}")
        best = float(found.group(1))
        history = (folder / "runs" / "small" / "history.jsonl").read_text().splitlines()
        first = min(json.loads(line)["timestamp"] for line in history if line.strip())
        spans = phases(out.stderr, wall)
    else:
        best = float(json.loads(out.stdout.strip().splitlines()[-1])["best_val_loss"])
        first = float((folder / "first_result.txt").read_text())
        spans = {}
    return wall, best, first - started_at, spans


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--data-dir", default=None, help="folder of MNIST's IDX .gz files")
    parser.add_argument(
        "--baseline",
        metavar="SRC",
        help="also run `pipetune-base`: pipetune from this src folder (e.g. a worktree of "
        "an older commit), alternated with the others",
    )
    args = parser.parse_args()
    variants = VARIANTS + (("pipetune-base",) if args.baseline else ())
    data = find_data(args.data_dir)
    if data is None:
        print("skipped: MNIST's train-*-ubyte.gz files not found (give --data-dir)")
        return
    walls: dict[str, list[float]] = {name: [] for name in variants}
    bests: dict[str, list[float]] = {name: [] for name in variants}
    loads: dict[str, list[float]] = {name: [] for name in variants}
    firsts: dict[str, list[float]] = {name: [] for name in variants}
    spans: dict[str, list[dict[str, float]]] = {name: [] for name in variants}
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with (
        tempfile.TemporaryDirectory(prefix="pipetune-small-") as tmp,
        persistent_ray(Path(tmp) / "ray-state") as ray_state,
    ):
        for repeat in range(args.repeats):
            for name in variants if repeat % 2 == 0 else variants[::-1]:
                before = os.getloadavg()[0]
                folder = Path(tmp) / f"{name}-{repeat}"
                wall, best, first, phase = run_variant(name, folder, data, args.baseline, ray_state)
                spans[name].append(phase)
                walls[name].append(wall)
                firsts[name].append(first)
                bests[name].append(best)
                loads[name].append(os.getloadavg()[0])
                print(
                    f"repeat {repeat} {name:<17} {wall:7.1f} s  first result {first:5.1f} s  "
                    f"best val_loss {best:.4f}  "
                    f"load1 {before:.2f} -> {loads[name][-1]:.2f}",
                    flush=True,
                )
    median = {k: statistics.median(v) for k, v in walls.items()}
    ratio_optuna = median["pipetune"] / median["optuna"]
    ratio_lean = median["pipetune"] / median["ray-lean"]
    paired_optuna = statistics.median(
        p / o for p, o in zip(walls["pipetune"], walls["optuna"], strict=True)
    )
    paired_lean = statistics.median(
        p / r for p, r in zip(walls["pipetune"], walls["ray-lean"], strict=True)
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "small_task.json").write_text(
        json.dumps(
            {
                "task": {"trials": TRIALS, "epochs": EPOCHS, "samples": SAMPLES},
                "repeats": args.repeats,
                "wall_s": walls,
                "median_wall_s": median,
                "best_val_loss": bests,
                "load1": loads,
                "first_result_s": firsts,
                "phases_s": spans,
                "pipetune_vs_optuna": ratio_optuna,
                "pipetune_vs_optuna_paired": paired_optuna,
                "pipetune_vs_lean": ratio_lean,
                "pipetune_vs_lean_paired": paired_lean,
                "attached_vs_lean": median["pipetune-attached"] / median["ray-lean"],
                "attached_vs_optuna": median["pipetune-attached"] / median["optuna"],
                "attached_vs_pipetune": median["pipetune-attached"] / median["pipetune"],
            },
            indent=2,
        )
    )
    print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(
        f"{TRIALS} trials x {EPOCHS} epochs, MLP on 2,000/500 MNIST images, ASHA, "
        f"2 concurrent (Optuna: 1), process wall time, median of {args.repeats}"
    )
    print(f"{'variant':<18}{'wall s':>9}{'first result s':>16}{'best val_loss':>15}{'load1':>8}")
    for name in variants:
        print(
            f"{name:<18}{median[name]:>9.1f}{statistics.median(firsts[name]):>16.1f}{statistics.median(bests[name]):>15.4f}"
            f"{statistics.median(loads[name]):>8.2f}"
        )
    profiled = [name for name in variants if name.startswith("pipetune")]
    print("phases of the pipetune runs (`--profile`), median s")
    print(f"{'phase':<36}" + "".join(f"{name:>19}" for name in profiled))
    for label, _, _ in PHASES:
        cells = []
        for name in profiled:
            values = [phase[label] for phase in spans[name] if label in phase]
            cells.append(f"{statistics.median(values):>19.2f}" if values else f"{'-':>19}")
        print(f"{label:<36}" + "".join(cells))
    if args.baseline:
        paired_base = statistics.median(
            p / b for p, b in zip(walls["pipetune"], walls["pipetune-base"], strict=True)
        )
        print(
            f"pipetune/pipetune-base {median['pipetune'] / median['pipetune-base']:.2f} "
            f"(paired {paired_base:.2f})"
        )
    first_ratio = statistics.median(firsts["pipetune"]) / statistics.median(firsts["ray-lean"])
    print(f"time to first result, pipetune/ray-lean {first_ratio:.2f} (goal <= 1.5)")
    print(
        f"pipetune/optuna {ratio_optuna:.2f} (paired {paired_optuna:.2f}, goal <= 1.2), "
        f"pipetune/ray-lean {ratio_lean:.2f} (paired {paired_lean:.2f}, goal <= 0.8)"
    )
    attached = median["pipetune-attached"]
    paired = {
        other: statistics.median(
            a / o for a, o in zip(walls["pipetune-attached"], walls[other], strict=True)
        )
        for other in ("pipetune", "ray-lean", "optuna")
    }
    print(
        f"pipetune-attached (persistent local Ray, started once outside the timings)/pipetune "
        f"{attached / median['pipetune']:.2f} (paired {paired['pipetune']:.2f})"
    )
    print(
        f"pipetune-attached/optuna {attached / median['optuna']:.2f} (paired "
        f"{paired['optuna']:.2f}, goal <= 1.2), pipetune-attached/ray-lean "
        f"{attached / median['ray-lean']:.2f} (paired {paired['ray-lean']:.2f}, goal <= 0.8), "
        f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )


@contextlib.contextmanager
def persistent_ray(state: Path) -> Iterator[Path]:
    """A head started with `pipetune ray start` for the pipetune-attached variant, recorded in
    ``state``, stopped with `pipetune ray stop` (its own processes only) at the end."""
    env = {**clean_env(), "PIPETUNE_RAY_STATE_DIR": str(state)}
    command = pipetune_command()
    begun = time.perf_counter()
    subprocess.run([*command, "ray", "start", "--num-cpus", "2"], env=env, check=True, timeout=300)
    print(f"persistent local Ray started in {time.perf_counter() - begun:.1f} s (not timed)")
    try:
        yield state
    finally:
        subprocess.run([*command, "ray", "stop"], env=env, check=False, timeout=300)


if __name__ == "__main__":
    main()
