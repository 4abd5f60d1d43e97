"""``pipetune status EXPERIMENT_DIR``: the state of a running or finished experiment, read
from its folder alone (a SLURM job's folder from a login node); nothing is written."""

from __future__ import annotations

import argparse


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "status", help="print the state of an experiment from its folder", description=__doc__
    )
    parser.add_argument("experiment_dir", help="the folder `pipetune tune` printed")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from pipetune.report import experiment_status

    print("\n".join(experiment_status(args.experiment_dir).lines()))
    return 0
