"""Run experiments on clusters: a Ray cluster inside a Slurm job, rendered as one script.

``pipetune slurm CONFIG`` renders the script (see :func:`render_script`); the script runs
``python3 -m pipetune.cluster.probe`` for its checks and ``pipetune tune --address``.
"""

from pipetune.cluster._job import SCRIPT_NAME, SlurmJob, plan_job
from pipetune.cluster._script import render_script
from pipetune.cluster._settings import SlurmSettings, time_limit_seconds
from pipetune.cluster._submit import find_sbatch, parse_job_id, submit, write_script

__all__ = [
    "SCRIPT_NAME",
    "SlurmJob",
    "SlurmSettings",
    "find_sbatch",
    "parse_job_id",
    "plan_job",
    "render_script",
    "submit",
    "time_limit_seconds",
    "write_script",
]
