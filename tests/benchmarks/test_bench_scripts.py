"""The shell scripts shipped for machines we cannot test on here parse (bash -n)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

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
