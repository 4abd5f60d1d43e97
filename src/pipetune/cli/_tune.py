"""``pipetune tune CONFIG``: hyperparameter search on Ray Tune, driven by the config's ``tune:``."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from pipetune.cli._common import parse_assignments
from pipetune.cli._failure import EXIT_FAILURE, describe
from pipetune.experiment import REPORT_FILE

if TYPE_CHECKING:
    from pipetune.cluster._local import LocalHead
    from pipetune.tune import ExperimentOutcome, TuneSettings

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
    (
        "--warm-start",
        str,
        "an earlier experiment folder whose finished trials the search learns from",
    ),
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
        "--address",
        default=None,
        help="attach to a running Ray cluster (auto or HOST:PORT); without it, to the head of "
        "`pipetune ray start` while one runs, else a Ray of its own is started",
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
    parser.add_argument(
        "--all", action="store_true", help="list every trial in the summary, not the best 10"
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="print the phase breakdown at the end (seconds since the command started)",
    )
    parser.set_defaults(handler=run, exit_promptly=True)


def run(args: argparse.Namespace) -> int:
    from pipetune.errors import ConfigError
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
    reports: list[_ReportWriter] = []

    def deliver(outcome: ExperimentOutcome) -> None:
        """The answer first: printed before Ray is let go, the report written meanwhile."""
        _print_results(outcome, experiment.settings, None if args.all else 10)
        experiment.timeline.mark("summary printed")
        if not outcome.ran:  # a resume of a finished experiment: nothing new to report
            print("the experiment had finished; nothing was run", file=sys.stderr)
        reports.append(_ReportWriter(outcome, lambda: experiment.timeline.mark("report written")))

    outcome = experiment.run(
        args.address,
        head=None if args.address else _local_head(),
        resume=bool(args.resume),
        retry_errored=args.retry_errored,
        announce=lambda path: print(f"experiment: {path}", file=sys.stderr),
        deliver=deliver,
    )
    settings = experiment.settings
    report_failed = reports[0].finish() if reports else False
    if args.profile:
        print(experiment.timeline.format(), file=sys.stderr)
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


def _local_head() -> LocalHead | None:
    """The persistent local Ray of `pipetune ray start`, when one runs (one line says so)."""
    from pipetune.cluster._local import live_head

    head = live_head(note=lambda line: print(line, file=sys.stderr))
    if head is not None:
        print(
            f"attached to the local Ray at {head.address} (`pipetune ray start`); "
            "stop it with `pipetune ray stop`",
            file=sys.stderr,
        )
    return head


def _print_results(outcome: ExperimentOutcome, settings: TuneSettings, limit: int | None) -> None:
    from pipetune.experiment import space_labels
    from pipetune.tune import print_summary

    labels = space_labels(settings.search_space)
    metric, mode = settings.first_metric, settings.first_mode.value
    print_summary(outcome.rows, metric, mode, limit, labels, settings.metrics[1:])
    if settings.constraints:
        infeasible = sum(1 for r in outcome.rows if r.get("feasible") is False)
        print(f"infeasible trials (tune.constraints): {infeasible} of {len(outcome.rows)}")
    if settings.multi_objective:
        front = sum(1 for r in outcome.rows if r.get("pareto") is True)
        print(
            f"Pareto front over {', '.join(settings.metrics)}: {front} trial(s), "
            f"configs in {outcome.path / 'pareto'}"
        )
    if outcome.best is not None:
        which = " (of the Pareto front)" if settings.multi_objective else ""
        print(f"best {metric}{which}: {outcome.best[f'best_{metric}']:.4g}")
        print(f"best config: {outcome.path / 'best_config.yaml'}")
    print(f"results: {outcome.path / 'results.csv'}")
    sys.stdout.flush()


class _ReportWriter:
    """report.html written in a thread of its own, started once the results are on disk, so
    that the report's rendering overlaps whatever Ray still does (a shutdown when attached to
    a head or a cluster); :meth:`finish` waits for it."""

    def __init__(self, outcome: ExperimentOutcome, written: Callable[[], None]) -> None:
        self.path = outcome.path
        self.written = written
        self.report = outcome.path / REPORT_FILE
        self.error: BaseException | None = None
        self._thread: threading.Thread | None = None
        if outcome.ran or not self.report.exists():
            self._thread = threading.Thread(target=self._write, name="pipetune-report")
            self._thread.start()

    def _write(self) -> None:
        from pipetune.report import write_report

        try:
            self.report = write_report(self.path)
            self.written()
        except BaseException as exc:  # handed to finish(), in the main thread
            self.error = exc

    def finish(self) -> bool:
        """Wait for the report, print where it is (or why not); True when the disk refused it."""
        from pipetune.errors import PipetuneError

        if self._thread is not None:
            self._thread.join()
        if isinstance(self.error, PipetuneError):
            print(f"report not written: {self.error}", file=sys.stderr)
        elif isinstance(self.error, OSError):  # a full disk: the results were written first
            print(
                f"pipetune: error: report not written: {describe(self.error)}; results.csv and "
                f"best_config.yaml are complete; write it later with `pipetune report {self.path}`",
                file=sys.stderr,
            )
            return True
        elif self.error is not None:
            raise self.error
        else:
            print(f"report: {self.report}")
        return False
