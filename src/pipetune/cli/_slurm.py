"""``pipetune slurm CONFIG``: render (and submit) one sbatch script that starts a Ray cluster
over the job's nodes and runs ``pipetune tune`` on it. Settings come from the config's
``slurm:`` section; these flags override them."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

# (flag, settings key, type, metavar, help)
_SETTINGS: list[tuple[str, str, type, str, str]] = [
    ("--nodes", "nodes", int, "N", "nodes of the job, one Ray node each (default 1)"),
    ("--gpus-per-node", "gpus_per_node", int, "G", "GPUs per node (default 0)"),
    ("--cpus-per-task", "cpus_per_task", int, "C", "CPUs per node given to Ray (default 1)"),
    ("--time", "time", str, "HH:MM:SS", "time limit, or D-HH:MM:SS (default 01:00:00)"),
    ("--partition", "partition", str, "P", "Slurm partition"),
    ("--account", "account", str, "A", "Slurm account"),
    ("--job-name", "job_name", str, "NAME", "job name (default: the experiment name)"),
    ("--venv", "venv", str, "PATH", "virtual environment to activate on the nodes"),
    ("--ray-temp-dir", "ray_temp_dir", str, "DIR", "Ray's temp dir on each node (short)"),
]


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "slurm",
        help="render and submit a multi-node Slurm job for `pipetune tune`",
        description=__doc__,
    )
    parser.add_argument("config", help="the YAML config file")
    for flag, key, kind, metavar, text in _SETTINGS:
        parser.add_argument(
            flag, dest=key, type=kind, default=None, metavar=metavar, help=f"{text} (slurm.{key})"
        )
    setup = parser.add_mutually_exclusive_group()
    setup.add_argument(
        "--setup",
        action="append",
        metavar="COMMAND",
        help="a shell line run first on the job, e.g. 'module load Python'; repeatable",
    )
    setup.add_argument("--setup-file", metavar="FILE", help="a file of setup lines")
    parser.add_argument(
        "--requeue",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="near the time limit stop gracefully and requeue; the next start resumes",
    )
    parser.add_argument(
        "--sbatch-option",
        action="append",
        dest="sbatch_options",
        metavar="OPTION",
        help="one more #SBATCH option, e.g. --mem=32G; repeatable",
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--dry-run", action="store_true", help="print the script, write nothing")
    mode.add_argument("--submit", action="store_true", help="write the script and sbatch it")
    parser.add_argument(
        "--output",
        metavar="PATH",
        help="where to write the script (default: <storage_path>/<name>/slurm_hpo.sh)",
    )
    parser.set_defaults(handler=run)


def _overrides(args: argparse.Namespace) -> tuple[dict[str, object], dict[str, str]]:
    values: dict[str, object] = {key: getattr(args, key) for _, key, _, _, _ in _SETTINGS}
    values["setup"] = args.setup
    values["setup_file"] = args.setup_file
    values["requeue"] = args.requeue
    values["sbatch_options"] = args.sbatch_options
    flags = {key: flag for flag, key, _, _, _ in _SETTINGS}
    flags.update(
        setup="--setup",
        setup_file="--setup-file",
        requeue="--requeue",
        sbatch_options="--sbatch-option",
    )
    return values, flags


def run(args: argparse.Namespace) -> int:
    from pipetune.cluster import find_sbatch, plan_job, render_script, submit, write_script
    from pipetune.experiment import holds_experiment

    values, flags = _overrides(args)
    job = plan_job(args.config, values, flags)
    text = render_script(job)
    if args.submit:
        find_sbatch()  # before writing anything
    if holds_experiment(Path(job.experiment_dir)):
        print(
            f"note: {job.experiment_dir} holds an experiment already: the job resumes it "
            "(a finished one runs nothing); pick another --name to start afresh",
            file=sys.stderr,
        )
    if args.dry_run:
        sys.stdout.write(text)
        return 0
    Path(job.log_dir).mkdir(parents=True, exist_ok=True)  # sbatch cannot create it
    path = write_script(text, Path(args.output).resolve() if args.output else job.default_script)
    print(f"wrote {path} (experiment: {job.experiment_dir})", file=sys.stderr)
    if not args.submit:
        print(f"submit it with: sbatch {path}", file=sys.stderr)
        return 0
    job_id = submit(path, job.workdir)
    print(
        f"submitted batch job {job_id}; its log: {job.log_dir}/slurm-{job_id}.out", file=sys.stderr
    )
    print(job_id)
    return 0
