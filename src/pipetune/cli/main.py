"""The ``pipetune`` command: thin sub-commands over the library."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import traceback
from collections.abc import Sequence
from typing import NoReturn

from pipetune import __version__
from pipetune._reaper import WATCHER
from pipetune.cli import _ray, _report, _run, _slurm, _status, _tune
from pipetune.cli._failure import EXIT_FAILURE, EXIT_USAGE, describe, one_line
from pipetune.config._safety import ALLOWED_ENV
from pipetune.errors import PipetuneError


class _Parser(argparse.ArgumentParser):
    """Command-line mistakes are one line too, like every other error (exit 2)."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"pipetune: error: {message} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="pipetune",
        description="Run YAML-declared PyTorch pipelines and tune them on Ray Tune.",
    )
    parser.add_argument("--version", action="version", version=f"pipetune {__version__}")
    parser.add_argument(
        "--debug", action="store_true", help="show the full traceback when an error occurs"
    )
    parser.add_argument(
        "--allow-module",
        action="append",
        metavar="PREFIX",
        help="only instantiate classes under these module prefixes (repeatable; "
        "also PIPETUNE_ALLOWED_MODULES)",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _run.add_parser(subparsers)
    _tune.add_parser(subparsers)
    _slurm.add_parser(subparsers)
    _report.add_parser(subparsers)
    _status.add_parser(subparsers)
    _ray.add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns its exit status (in-process: tests, notebooks)."""
    return _dispatch(argv)[0]


def console() -> NoReturn:
    """The ``pipetune`` executable.

    A command that sets ``exit_promptly`` (``tune``: its files are written atomically before
    it returns) ends the process at once: the interpreter's teardown of torch and Ray
    (seconds) holds nothing the user is waiting for, and the embedded Ray it started is
    ended by the watcher of ``pipetune._reaper`` as the process goes, all its processes at
    once, instead of one after another through ``ray.shutdown()``.
    """
    args = build_parser().parse_args()
    if getattr(args, "exit_promptly", False):
        WATCHER.ends_with_process = True  # its embedded Ray ends with this process
    status = _handle(args)
    if getattr(args, "exit_promptly", False):
        sys.stdout.flush()
        sys.stderr.flush()
        logging.shutdown()
        os._exit(status)
    sys.exit(status)


def _dispatch(argv: Sequence[str] | None) -> tuple[int, argparse.Namespace]:
    parser = build_parser()
    args = parser.parse_args(argv)
    return _handle(args), args


def _handle(args: argparse.Namespace) -> int:
    saved_allow_list = os.environ.get(ALLOWED_ENV)
    if args.allow_module:
        os.environ[ALLOWED_ENV] = ",".join(filter(None, [saved_allow_list, *args.allow_module]))
    try:
        return int(args.handler(args))
    except KeyboardInterrupt:
        print("pipetune: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # every error is one line; the traceback only with --debug
        if args.debug:
            traceback.print_exc()
        if isinstance(exc, PipetuneError):
            print(f"pipetune: error: {one_line(str(exc))}", file=sys.stderr)
            return EXIT_USAGE
        print(f"pipetune: error: {describe(exc)}", file=sys.stderr)
        return EXIT_FAILURE
    finally:  # main() may run in-process (tests, notebooks): leave the environment as found
        if saved_allow_list is None:
            os.environ.pop(ALLOWED_ENV, None)
        else:
            os.environ[ALLOWED_ENV] = saved_allow_list


if __name__ == "__main__":
    console()
