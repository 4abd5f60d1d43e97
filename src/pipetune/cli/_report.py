"""``pipetune report EXPERIMENT_DIR``: report.html (and PNGs, report.md) of an experiment;
``pipetune report DIR1 DIR2 ... [-o compare.html]``: one page comparing several."""

from __future__ import annotations

import argparse

DEFAULT_FORMATS = ("html", "png")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "report", help="write an HTML report of an experiment folder", description=__doc__
    )
    parser.add_argument(
        "experiment_dirs",
        nargs="+",
        metavar="experiment_dir",
        help="the folder `pipetune tune` printed; two or more: compare them on one page",
    )
    parser.add_argument(
        "-o",
        "--output",
        default=None,
        help="with several folders: the comparison page to write (default: ./compare.html)",
    )
    parser.add_argument(
        "--format",
        dest="formats",
        action="append",
        choices=("html", "png", "md"),
        help="what to write; repeatable (default: html and png; md adds report.md and PNGs)",
    )
    parser.add_argument("--metric", default=None, help="metric to rank by (default: the tuned)")
    parser.add_argument("--mode", choices=("min", "max"), default=None, help="min or max")
    parser.add_argument("--open", action="store_true", help="open the report in a web browser")
    parser.add_argument("--all", action="store_true", help="list every trial, not the best 10")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from pipetune.errors import ConfigError
    from pipetune.report import load_experiment, print_summary, write_files

    if len(args.experiment_dirs) > 1:
        return _compare(args)
    if args.output is not None:
        raise ConfigError(
            "-o/--output names a comparison page: it needs two or more experiment folders",
            hint="drop -o (report.html is written into the folder) or pass more folders",
        )
    experiment = load_experiment(args.experiment_dirs[0], args.metric, args.mode)
    files = write_files(experiment, args.formats or DEFAULT_FORMATS)
    print_summary(experiment, None if args.all else 10)
    if files.pngs:
        print(f"figures: {len(files.pngs)} PNG(s) in {experiment.folder}")
    if files.markdown is not None and files.html is not None:
        print(f"markdown: {files.markdown}")
    print(f"report: {files.main}")
    if args.open:
        import webbrowser

        webbrowser.open(files.main.as_uri())
    return 0


def _compare(args: argparse.Namespace) -> int:
    from pipetune.errors import ConfigError
    from pipetune.report import COMPARE_FILE, write_compare

    if args.formats or args.all:
        raise ConfigError(
            "--format and --all apply to one experiment's report, not to a comparison",
            hint="drop them, or report one folder at a time",
        )
    page = write_compare(
        args.experiment_dirs, args.output or COMPARE_FILE, metric=args.metric, mode=args.mode
    ).resolve()
    print(f"comparison of {len(args.experiment_dirs)} experiments: {page}")
    if args.open:
        import webbrowser

        webbrowser.open(page.as_uri())
    return 0
