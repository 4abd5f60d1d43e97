"""The rendered sbatch script: golden files for 1 and 3 nodes, with and without GPUs.

Refresh the golden files after an intended change with ``PIPETUNE_UPDATE_GOLDEN=1``.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from pipetune.cluster import SlurmJob, SlurmSettings, render_script

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("PIPETUNE_UPDATE_GOLDEN") == "1"


def make_job(nodes: int, gpus: int, **settings: object) -> SlurmJob:
    values: dict[str, object] = {"nodes": nodes, "gpus_per_node": gpus, **settings}
    parsed = SlurmSettings.parse(values)
    return SlurmJob(
        config="/project/configs/fashion.yaml",
        workdir="/project",
        storage_path="/project/runs",
        name="fashion-hpo",
        settings=parsed,
        setup_lines=tuple(parsed.setup),
        venv="/project/.venv",
    )


CASES = {
    "slurm_1node_cpu": make_job(1, 0),
    "slurm_1node_gpu": make_job(
        1, 1, cpus_per_task=8, time="02:00:00", partition="gpu", setup=["module load CUDA/12.4"]
    ),
    "slurm_3node_cpu": make_job(
        3,
        0,
        cpus_per_task=16,
        time="1-00:00:00",
        account="proj42",
        requeue=True,
        setup=["module load Python/3.11", "export OMP_NUM_THREADS=1"],
    ),
    "slurm_3node_gpu": make_job(
        3,
        4,
        cpus_per_task=32,
        time="12:00:00",
        partition="gpu",
        account="proj42",
        requeue=True,
        ray_temp_dir="/tmp/ray-hpo",
        sbatch_options=["--mem=0", "--constraint=a100&ib"],
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_script_matches_its_golden_file(name: str) -> None:
    text = render_script(CASES[name])
    path = GOLDEN / f"{name}.sh"
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"no golden file {path}: run with PIPETUNE_UPDATE_GOLDEN=1"
    assert text == path.read_text(encoding="utf-8"), (
        f"{name} changed; if intended, rerun with PIPETUNE_UPDATE_GOLDEN=1 and review the diff"
    )


@pytest.mark.parametrize("name", sorted(CASES))
def test_script_is_valid_bash(name: str, tmp_path: Path) -> None:
    path = tmp_path / "job.sh"
    path.write_text(render_script(CASES[name]), encoding="utf-8")
    checked = subprocess.run(["bash", "-n", str(path)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr


def directives(text: str) -> list[str]:
    lines = text.splitlines()
    return [line.removeprefix("#SBATCH ") for line in lines if line.startswith("#SBATCH")]


def test_directives_follow_the_settings() -> None:
    one = directives(render_script(CASES["slurm_1node_cpu"]))
    assert one == [
        "--job-name=fashion-hpo",
        "--nodes=1",
        "--ntasks-per-node=1",
        "--cpus-per-task=1",
        "--time=01:00:00",
        "--output=/project/runs/fashion-hpo/slurm-%j.out",
    ]
    many = directives(render_script(CASES["slurm_3node_gpu"]))
    for expected in (
        "--nodes=3",
        "--gpus-per-node=4",
        "--cpus-per-task=32",
        "--partition=gpu",
        "--account=proj42",
        "--requeue",
        "--signal=B:USR1@120",
        "--open-mode=append",
        "--mem=0",
        '--constraint="a100&ib"',
    ):
        assert expected in many


def test_requeue_traps_usr1_only_when_asked() -> None:
    plain = render_script(CASES["slurm_1node_cpu"])
    requeued = render_script(CASES["slurm_3node_cpu"])
    assert "REQUEUE=0" in plain and "REQUEUE=1" in requeued
    assert "--requeue" not in plain and "--signal" not in plain
    # the same body for both: the trap is armed by the REQUEUE variable
    assert 'if [ "$REQUEUE" = 1 ]; then\n  trap on_usr1 USR1' in requeued


def test_the_body_starts_stops_and_resumes_as_specified() -> None:
    text = render_script(CASES["slurm_3node_gpu"])
    for needle in (
        'scontrol show hostnames "$SLURM_JOB_NODELIST"',
        "hostname --ip-address",
        "ray start --head --block",
        "--include-dashboard=false",
        'ray start --block --address="$address"',
        "export RAY_AUTH_MODE=token",
        "probe wait-head",
        "probe wait-nodes",
        "probe can-resume",
        'tune_args=(--resume "$EXPERIMENT_DIR")',
        'pipetune tune "${tune_args[@]}" --address "$address" &',
        "trap on_exit EXIT",
        'scontrol requeue "$SLURM_JOB_ID"',
        'kill -USR1 "$tune_pid"',
    ):
        assert needle in text, needle
    # Ray is stopped by the PIDs of the steps this script started, never with `ray stop`
    assert "ray stop" not in text
    assert re.search(r"pkill|killall", text) is None


def test_default_temp_dir_is_per_job_and_short() -> None:
    text = render_script(CASES["slurm_1node_cpu"])
    assert "RAY_TEMP_DIR=''" in text
    assert 'RAY_TEMP_DIR="/tmp/pipetune-ray-$SLURM_JOB_ID"' in text
    assert "RAY_TEMP_DIR=/tmp/ray-hpo" in render_script(CASES["slurm_3node_gpu"])


def test_the_header_states_the_cpus_per_node_and_what_it_resumes() -> None:
    header = render_script(CASES["slurm_3node_gpu"]).split("#SBATCH", 1)[0]
    assert "Ray uses 32 CPU(s) and 4 GPU(s) on each of the 3 node(s)" in header
    assert "# Experiment folder: /project/runs/fashion-hpo\n" in header
    assert "the job resumes it instead of" in header and "finished ones too" in header
    default = render_script(CASES["slurm_1node_cpu"]).split("#SBATCH", 1)[0]
    assert "Ray uses 1 CPU(s) on each of the 1 node(s)" in default
    assert "it defaults to 1 CPU per node" in default
