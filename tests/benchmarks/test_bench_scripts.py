"""The shell scripts shipped for machines we cannot test on here parse (bash -n); the
time-to-target benchmark's arithmetic, and its --check in tiny mode."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = [
    ROOT / "benchmarks" / "gpu_check.sh",
    ROOT / "examples" / "fashion-mnist" / "slurm_hpo.sh",
]


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_script_parses(script: Path) -> None:
    assert script.exists(), f"{script} is missing"
    result = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_gpu_check_explains_a_missing_gpu(tmp_path: Path) -> None:
    """Without nvidia-smi the GPU check stops at once with one clear message."""
    script = ROOT / "benchmarks" / "gpu_check.sh"
    if shutil.which("nvidia-smi"):
        pytest.skip("an NVIDIA GPU is present: the script would run for real")
    result = subprocess.run(
        ["bash", str(script)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        timeout=60,
    )
    assert result.returncode != 0
    assert "nvidia-smi" in (result.stderr + result.stdout)


def _time_to_target() -> Any:
    """benchmarks/time_to_target.py as a module (it is a script, not a package)."""
    path = ROOT / "benchmarks" / "time_to_target.py"
    spec = importlib.util.spec_from_file_location("time_to_target_under_test", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_time_to_target_counts_trial_seconds_up_to_the_first_hit() -> None:
    ttt = _time_to_target()
    # (wall s, trial s, epoch s, val_accuracy) in the order the driver received them
    points = [(1.0, 2.0, 1.0, 0.5), (2.0, 3.0, 2.0, 0.9), (2.5, 4.0, 3.0, 0.95), (3, 1, 1, 0.1)]
    hit = {"reached": True, "wall_s": 2.0, "trial_s": 5.0, "epoch_s": 3.0}
    assert ttt.to_target(points, 0.9) == hit
    missed = {"reached": False, "wall_s": 3.0, "trial_s": 10.0, "epoch_s": 7.0}
    assert ttt.to_target(points, 0.99) == missed


def test_time_to_target_ratios_are_paired_by_seed() -> None:
    ttt = _time_to_target()

    def run(variant: str, seed: int, trial_s: float) -> dict[str, Any]:
        return {
            "variant": variant,
            "seed": seed,
            "trial_s": trial_s,
            "wall_s": trial_s / 2,
            "reached": True,
            "epochs_run": 1,
        }

    runs = [run("seed", 0, 10.0), run("seed", 1, 100.0), run("x", 0, 5.0), run("x", 1, 10.0)]
    ratio = ttt.summarise(runs, ["seed", "x"])["x"]["ratio_trial_s"]
    assert ratio["per_seed"] == [0.5, 0.1]  # a ratio of medians would say 7.5 / 55
    assert (ratio["min"], ratio["median"], ratio["max"]) == (0.1, 0.3, 0.5)


def test_time_to_target_oracle_pays_one_epoch_per_configuration_before_the_hit() -> None:
    ttt = _time_to_target()
    # (trial, iteration, trial-seconds, epoch-seconds, val_accuracy) as received; 3 epochs
    rows = [
        ["t_00000", 1, 4.0, 1.0, 0.5],
        ["t_00001", 1, 3.0, 1.0, 0.6],
        ["t_00000", 2, 1.0, 1.0, 0.5],
        ["t_00001", 2, 2.0, 1.0, 0.9],  # the hit: 3 + 2 of its own
        ["t_00000", 3, 1.0, 1.0, 0.5],  # t_00000 ran to the end without reaching it
    ]
    assert ttt.oracle_bound(rows, 0.9, epochs=3) == 4.0 + 3.0 + 2.0
    # A trial still running when the run stopped might have been the good one: its
    # seconds so far, after one epoch of every trial made before it, bound it from below.
    rows.append(["t_00002", 1, 0.5, 0.5, 0.1])
    assert ttt.oracle_bound(rows, 0.9, epochs=3) == 4.0 + 3.0 + 0.5
    seed_run = {"variant": "seed", "reached": True, "trial_s": 15.0, "results": rows}
    other = {**seed_run, "variant": "defaults"}
    assert ttt.oracle_ratios([seed_run, other], 0.9, epochs=3) == [7.5 / 15.0]


def test_time_to_target_names_the_current_defaults() -> None:
    """The benchmark's "defaults" variant is whatever TuneSettings picks, named as such."""
    from pipetune.tune._algorithms import _split
    from pipetune.tune._settings import TuneSettings

    ttt = _time_to_target()
    assert ttt.VARIANTS["defaults"] == {}
    scheduler = _split(TuneSettings().scheduler, "fifo")[0]
    search = _split(TuneSettings().search_alg, "random")[0]
    name = ttt.default_names()
    assert name.startswith(scheduler) and name.endswith(f"+ {search}"), name


@pytest.mark.data
def test_time_to_target_check_runs_in_tiny_mode(tmp_path: Path) -> None:
    """--check --tiny trains 3 random configurations for 2 epochs on 1,000 samples: the
    benchmark's YAML, model and data build (no Ray: seconds)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "time_to_target.py"), "--check", "--tiny"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    if result.stdout.startswith("skipped:"):
        pytest.skip(result.stdout.strip())
    assert "reachability: 800 train / 200 validation samples, 2 epochs" in result.stdout
    assert result.stdout.count("\n") >= 5


def test_small_task_reads_the_phases_that_profile_prints() -> None:
    from pipetune._timeline import Timeline

    spec = importlib.util.spec_from_file_location(
        "small_task", ROOT / "benchmarks" / "small_task.py"
    )
    assert spec is not None and spec.loader is not None
    small = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(small)
    timeline = Timeline()
    at = {"checks passed, pipeline built": 3.0, "Ray started": 7.5, "Tuner built": 8.0}
    at |= {"first trial started": 11.0, "trials done": 19.0, "summary printed": 19.25}
    timeline.marks = [(name, seconds) for name, seconds in at.items()]
    spans = small.phases(timeline.format(), wall=20.0)
    assert spans == {
        "imports and checks": 3.0,
        "Ray start": 4.5,
        "Tuner -> first trial started": 3.0,
        "first trial started -> trials done": 8.0,
        "summary printed -> exit": 0.75,
    }
    del timeline.marks[1]  # an older pipetune without a mark: that span is left out
    assert "Ray start" not in small.phases(timeline.format(), wall=20.0)


def test_the_resnet_benchmark_model_has_torchvision_resnet18s_parameters() -> None:
    """resnet_memory.py's ResNet-18 stands in for torchvision's resnet18(num_classes=10)
    with a 1-channel conv1 (the itwinai tutorial's model): same parameter count, and
    Fashion-MNIST-sized batches in, 10 logits out."""
    import torch

    spec = importlib.util.spec_from_file_location(
        "resnet18", ROOT / "benchmarks" / "resnet18" / "resnet18.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    model = module.ResNet18()
    assert sum(p.numel() for p in model.parameters()) == module.ResNet18.PARAMETERS == 11_175_370
    assert tuple(model(torch.zeros(2, 1, 28, 28)).shape) == (2, 10)
    shapes = [tuple(p.shape) for name, p in model.named_parameters() if name.endswith("weight")]
    assert shapes[0] == (64, 1, 7, 7) and shapes[-1] == (10, 512)
