"""Render the sbatch script of a :class:`SlurmJob`: directives, settings block, fixed body.

Every user value reaches bash once, in the settings block, through ``shlex.quote``; the body
only reads those variables. ``#SBATCH`` lines are comments to bash and get sbatch's quoting.
"""

from __future__ import annotations

import re

from pipetune.cluster._body import BODY
from pipetune.cluster._job import SlurmJob
from pipetune.cluster._quote import sbatch, sbatch_path, sh
from pipetune.errors import ConfigError

SETTINGS_END = "# --- end of settings ---"
STOP_TIMEOUT_S = 60
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _directives(job: SlurmJob) -> list[str]:
    s = job.settings
    lines = [
        f"--job-name={sbatch(job.job_name)}",
        f"--nodes={s.nodes}",
        "--ntasks-per-node=1",
        f"--cpus-per-task={s.cpus_per_task}",
    ]
    if s.gpus_per_node:
        lines.append(f"--gpus-per-node={s.gpus_per_node}")
    lines.append(f"--time={sbatch(s.time)}")
    if s.partition:
        lines.append(f"--partition={sbatch(s.partition)}")
    if s.account:
        lines.append(f"--account={sbatch(s.account)}")
    lines.append(f"--output={sbatch(sbatch_path(job.log_dir) + '/slurm-%j.out')}")
    if s.requeue:
        lines += ["--open-mode=append", "--requeue", f"--signal=B:USR1@{s.requeue_grace_s}"]
    for option in s.sbatch_options:
        key, equals, value = option.partition("=")
        lines.append(f"{sbatch(key)}={sbatch(value)}" if equals else sbatch(option))
    return [f"#SBATCH {line}" for line in lines]


def _settings_block(job: SlurmJob) -> list[str]:
    s = job.settings
    values: list[tuple[str, str | int]] = [
        ("CONFIG", job.config),
        ("WORKDIR", job.workdir),
        ("STORAGE_PATH", job.storage_path),
        ("EXPERIMENT_NAME", job.name),
        ("EXPERIMENT_DIR", job.experiment_dir),
        ("CPUS_PER_TASK", s.cpus_per_task),
        ("GPUS_PER_NODE", s.gpus_per_node),
        ("REQUEUE", int(s.requeue)),
        ("VENV", job.venv or ""),
        ("SETUP", "\n".join(job.setup_lines)),
        ("RAY_TEMP_DIR", s.ray_temp_dir or ""),
        ("STARTUP_TIMEOUT_S", s.startup_timeout_s),
        ("STOP_TIMEOUT_S", STOP_TIMEOUT_S),
    ]
    return [f"{name}={sh(value)}" for name, value in values]


def _check_paths(job: SlurmJob) -> None:
    for label, value in [
        ("config path", job.config),
        ("working directory", job.workdir),
        ("storage path", job.storage_path),
        ("experiment name", job.name),
        ("venv", job.venv or ""),
    ]:
        if _CONTROL.search(value):
            raise ConfigError(f"the {label} {value!r} holds a control character (newline, tab...)")


def render_script(job: SlurmJob) -> str:
    """The whole batch script for ``job``."""
    _check_paths(job)
    s = job.settings
    gpus = f" and {s.gpus_per_node} GPU(s)" if s.gpus_per_node else ""
    header = [
        "#!/bin/bash",
        "# A Ray cluster over this Slurm allocation, running one pipetune experiment.",
        "# Rendered by pipetune slurm; submit it with sbatch.",
        f"# Ray uses {s.cpus_per_task} CPU(s){gpus} on each of the {s.nodes} node(s): all the",
        "# trials get (slurm.cpus_per_task or --cpus-per-task; it defaults to 1 CPU per node).",
        f"# Experiment folder: {sh(job.experiment_dir)}",  # quoted, as in the settings
        "# When it holds an earlier run's Tune state (this job requeued, a resubmission, or",
        "# any experiment of that name, finished ones too), the job resumes it instead of",
        "# starting anew; a finished one runs nothing. Pick another --name to start afresh.",
    ]
    settings = [
        "set -euo pipefail",
        "",
        "# --- settings (rendered by pipetune slurm; every value is shell-quoted) ---",
        *_settings_block(job),
        SETTINGS_END,
    ]
    return "\n".join([*header, *_directives(job), "", *settings]) + "\n" + BODY
