"""Write the batch script beside the experiment and hand it to ``sbatch``."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from pipetune._io import atomic_write_text
from pipetune.errors import PipetuneError

_SUBMITTED = re.compile(r"Submitted batch job (\d+)")


def write_script(text: str, path: str | Path) -> Path:
    """Write ``text`` atomically to ``path`` and make it executable by its owner."""
    target = atomic_write_text(path, text)
    target.chmod(0o750)
    return target


def parse_job_id(output: str) -> str:
    """The job id in sbatch's ``Submitted batch job N`` line."""
    match = _SUBMITTED.search(output)
    if match is None:
        last = output.strip().splitlines()[-1] if output.strip() else "nothing"
        raise PipetuneError(f"could not read a job id from sbatch's output: {last}")
    return match.group(1)


def find_sbatch() -> str:
    """The path of ``sbatch``; a PipetuneError when it is not on PATH."""
    sbatch = shutil.which("sbatch")
    if sbatch is None:
        raise PipetuneError(
            "sbatch is not on PATH: run this on a Slurm login node, or submit the script later"
        )
    return sbatch


def submit(script: str | Path, workdir: str | Path) -> str:
    """Run ``sbatch script`` in ``workdir``; return the job id."""
    sbatch = find_sbatch()
    done = subprocess.run(
        [sbatch, str(script)], cwd=str(workdir), capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        lines = (done.stderr or done.stdout).strip().splitlines()
        reason = lines[-1] if lines else f"exit status {done.returncode}"
        raise PipetuneError(f"sbatch refused the job: {reason}")
    return parse_job_id(done.stdout)
