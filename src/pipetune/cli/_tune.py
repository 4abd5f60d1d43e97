"""``pipetune tune CONFIG``: hyperparameter search on Ray Tune, driven by the config's ``tune:``."""

from __future__ import annotations

import argparse
import signal
import sys

from pipetune.cli._common import parse_assignments
from pipetune.cli._failure import EXIT_FAILURE, describe
from pipetune.experiment import REPORT_FILE

_SETTINGS = [
    ("--pipeline", str, "key of the pipeline to tune"),
    ("--metric", str, "metric to optimise"),
    ("--mode", str, "min or max"),
    ("--num-samples", int, "number of trials"),
    ("--scheduler", str, "%(names)s"),  # the registry's names, read when help is shown
    ("--search-alg", str, "%(names)s"),
    ("--max-concurrent-trials", int, "cap on parallel trials"),
    ("--max-failures", int, "retries of a failing trial"),
    ("--storage-path", str, "folder holding experiments"),
    ("--name", str, "experiment folder name"),
    ("--seed", int, "seed of the search algorithm"),
    ("--time-budget-s", float, "end the experiment after this many seconds"),
    ("--progress", str, "lines, table or quiet (default: a table on a terminal, lines otherwise)"),
]


class _Names:
    """The names of a registry of pipetune.tune, read only when the help is formatted
    (importing pipetune.tune imports torch: seconds every command would pay)."""

    def __init__(self, registry: str) -> None:
        self.registry = registry

    def __str__(self) -> str:
        from pipetune.tune import _algorithms

        return ", ".join(getattr(_algorithms, self.registry))


_REGISTRIES = {"--scheduler": "SCHEDULERS", "--search-alg": "SEARCH_ALGS"}


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "tune", help="search hyperparameters on Ray Tune", description=__doc__
    )
    parser.add_argument("config", nargs="?", help="the YAML config file (omit with --resume)")
    parser.add_argument(
        "-o",
        "--override",
        action="append",
        metavar="KEY=VALUE",
        help="override a config key; tune.* keys set tune settings; repeatable",
    )
    for flag, kind, text in _SETTINGS:
        action = parser.add_argument(
            flag, type=kind, default=None, help=f"{text} (tune.{flag[2:].replace('-', '_')})"
        )
        if flag in _REGISTRIES:
            action.names = _Names(_REGISTRIES[flag])
    parser.add_argument(
        "--address", default=None, help="attach to a running Ray cluster (auto or HOST:PORT)"
    )
    parser.add_argument("--resume", metavar="EXPERIMENT_DIR", help="continue an experiment")
    parser.add_argument(
        "--retry-errored", action="store_true", help="with --resume, rerun errored trials too"
    )
    parser.add_argument(
        "--restart",
        action="store_true",
        help="start over: move an experiment already in the folder aside (<name>.old-<time>)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from pipetune.errors import ConfigError, PipetuneError
    from pipetune.tune import Experiment, resume_experiment

    if args.resume:
        experiment = resume_experiment(args.resume)
    elif args.config:
        from_flags = {
            flag[2:].replace("-", "_"): getattr(args, flag[2:].replace("-", "_"))
            for flag, _, _ in _SETTINGS
        }
        experiment = Experiment(args.config, parse_assignments(args.override), from_flags)
    else:
        raise ConfigError("give a CONFIG file, or --resume EXPERIMENT_DIR")
    if args.restart:
        if args.resume:
            raise ConfigError(
                "--restart starts over and --resume continues: give one of them",
                hint="start over with `pipetune tune CONFIG --restart`",
            )
        aside = experiment.restart()
        if aside is not None:
            print(f"moved the old experiment aside: {aside}", file=sys.stderr)
    outcome = experiment.run(
        args.address,
        resume=bool(args.resume),
        retry_errored=args.retry_errored,
        announce=lambda path: print(f"experiment: {path}", file=sys.stderr),
    )
    from pipetune.tune import print_summary

    settings = experiment.settings
    print_summary(outcome.rows, settings.metric, settings.mode.value)
    if outcome.best is not None:
        print(f"best {settings.metric}: {outcome.best[f'best_{settings.metric}']:.4g}")
        print(f"best config: {outcome.path / 'best_config.yaml'}")
    print(f"results: {outcome.path / 'results.csv'}")
    report_failed = False
    report = outcome.path / REPORT_FILE
    try:
        from pipetune.report import write_report

        if not outcome.ran:  # a resume of a finished experiment: nothing new to report
            print("the experiment had finished; nothing was run", file=sys.stderr)
        if outcome.ran or not report.exists():
            report = write_report(outcome.path)
        print(f"report: {report}")
    except PipetuneError as exc:
        print(f"report not written: {exc}", file=sys.stderr)
    except OSError as exc:  # a full disk: results.csv and best_config.yaml were written first
        print(
            f"pipetune: error: report not written: {describe(exc)}; results.csv and "
            f"best_config.yaml are complete; write it later with `pipetune report {outcome.path}`",
            file=sys.stderr,
        )
        report_failed = True
    if outcome.budget_reached:
        # Tune marks the trials it stops at the budget TERMINATED: a resume would not run
        # them again, so no resume command is offered.
        print(
            f"time budget of {settings.time_budget_s:g} s reached; {outcome.unfinished} trial(s) "
            "did not finish (stopped by the budget: STOPPED in results.csv, or never started)",
            file=sys.stderr,
        )
    elif outcome.unfinished:
        print(
            f"{outcome.unfinished} trial(s) did not finish; continue with: "
            f"{outcome.resume_command}",
            file=sys.stderr,
        )
        if outcome.failed:
            return 1
        return 128 + (outcome.interrupted_by or signal.SIGINT)
    if outcome.failed:
        print(f"{outcome.failed} trial(s) failed; see the error column", file=sys.stderr)
        return 1
    return EXIT_FAILURE if report_failed else 0
