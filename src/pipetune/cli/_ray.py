"""``pipetune ray start|status|stop``: a persistent local Ray that ``pipetune tune`` attaches
to while it runs, so that no experiment pays Ray's start and stop (opt in)."""

from __future__ import annotations

import argparse

_STOP_HINT = "stop it with `pipetune ray stop`"


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "ray", help="start, check or stop a persistent local Ray", description=__doc__
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    start = actions.add_parser("start", help="start a Ray head on 127.0.0.1 and record it")
    start.add_argument(
        "--num-cpus", type=int, default=None, help="CPUs the head offers (default: this machine's)"
    )
    start.set_defaults(handler=_start)
    actions.add_parser("status", help="print the recorded head and whether it runs").set_defaults(
        handler=_status
    )
    actions.add_parser("stop", help="stop the recorded head (its processes only)").set_defaults(
        handler=_stop
    )


def _start(args: argparse.Namespace) -> int:
    from pipetune.cluster._local import record_path, start_head

    head = start_head(args.num_cpus)
    print(f"local Ray started at {head.address} ({head.cpus} CPUs, PID {head.pid})")
    print(f"`pipetune tune` attaches to it while it runs (record: {record_path()}); {_STOP_HINT}")
    return 0


def _status(args: argparse.Namespace) -> int:
    from pipetune.cluster._local import RecordProblem, answers, read_record, record_path

    try:
        head = read_record()
    except RecordProblem as problem:
        print(problem)
        return 1
    if head is None:
        print(f"no local Ray is recorded ({record_path()}); start one with `pipetune ray start`")
        return 1
    state = "runs" if answers(head.address) else "does not answer"
    print(f"local Ray at {head.address} {state} ({head.cpus} CPUs, PID {head.pid}, log {head.log})")
    return 0 if state == "runs" else 1


def _stop(args: argparse.Namespace) -> int:
    from pipetune.cluster._local import stop_head

    print(stop_head())
    return 0
