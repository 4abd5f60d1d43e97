"""``pipetune run CONFIG``: parse and execute one pipeline."""

from __future__ import annotations

import argparse
import sys

from pipetune.cli._common import parse_assignments
from pipetune.parser import DEFAULT_PIPELINE_KEY, ConfigParser
from pipetune.pipeline import Pipeline


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "run", help="run one pipeline from a YAML config", description=__doc__
    )
    parser.add_argument("config", help="the YAML config file")
    parser.add_argument(
        "--pipeline",
        default=DEFAULT_PIPELINE_KEY,
        help=f"key of the pipeline in the config (default: {DEFAULT_PIPELINE_KEY})",
    )
    parser.add_argument(
        "-o",
        "--override",
        action="append",
        metavar="KEY=VALUE",
        help="override a config key (dotted path, list indices allowed); repeatable",
    )
    parser.add_argument(
        "--verbose", action="store_true", help="print the assembled pipeline config first"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    overrides = parse_assignments(args.override)
    parser = ConfigParser(config=args.config, override_keys=overrides)
    pipeline = parser.parse_pipeline(pipeline_nested_key=args.pipeline, verbose=args.verbose)
    if sys.stdout.isatty():
        _add_progress_bars(pipeline)
    pipeline.execute()
    return 0


def _add_progress_bars(pipeline: Pipeline) -> None:
    """A progress bar per epoch for every TorchTrainer of the pipeline (terminals only)."""
    from pipetune.torch import EpochProgressBar, TorchTrainer

    for step in pipeline:
        if isinstance(step, TorchTrainer):
            step.callbacks.append(EpochProgressBar())
