"""Small checks the batch script runs: ``python3 -m pipetune.cluster.probe COMMAND``.

free-ports N            print N free TCP ports
new-token               print a fresh Ray authentication token
ray-env                 print shell lines exporting pipetune's Ray defaults (unless set)
wait-head ADDR          wait until the Ray head accepts connections (exit 1 when it does not)
wait-nodes ADDR N       wait until the cluster has N alive nodes (exit 1 when it does not)
can-resume DIR          exit 0 when DIR holds a pipetune experiment with Tune state, 3 if not
"""

from __future__ import annotations

import argparse
import logging
import os
import secrets
import shlex
import signal
import socket
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

NO_STATE = 3


def _say(text: str) -> None:
    print(f"pipetune-slurm: {text}", file=sys.stderr, flush=True)


def free_ports(count: int) -> list[int]:
    """``count`` distinct ports that were free a moment ago (held together while chosen)."""
    sockets = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def ray_env_exports() -> list[str]:
    """Shell lines exporting pipetune's Ray defaults, each unless the shell already has it.

    Ray nodes started by ``ray start`` pass their environment on to the trial processes;
    these are the variables that pipetune sets for its own embedded Ray.
    """
    from pipetune._ray_env import DEFAULTS

    return [f'[ -n "${{{k}+set}}" ] || export {k}={shlex.quote(v)}' for k, v in DEFAULTS.items()]


def _split(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise SystemExit(f"pipetune-slurm: bad address {address!r}, expected HOST:PORT")
    return host, int(port)


def _dead(pids: Sequence[int]) -> int | None:
    """The first of ``pids`` that no longer runs (zombies count as ended)."""
    for pid in pids:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return pid
        except PermissionError:
            continue
        stat = Path(f"/proc/{pid}/stat")
        try:
            if stat.read_text().rsplit(")", 1)[1].split()[0] == "Z":
                return pid
        except (OSError, IndexError):
            continue
    return None


def wait_head(address: str, tries: int, interval: float, pids: Sequence[int] = ()) -> bool:
    """Whether ``address`` accepted a TCP connection within ``tries`` attempts."""
    host, port = _split(address)
    for attempt in range(1, tries + 1):
        gone = _dead(pids)
        if gone is not None:
            _say(f"the Ray head step (pid {gone}) ended before it answered; see its output")
            return False
        try:
            with socket.create_connection((host, port), timeout=min(interval, 5.0)):
                _say(f"the Ray head answers at {address} (attempt {attempt})")
                return True
        except OSError:
            time.sleep(interval)
    _say(f"the Ray head at {address} did not answer after {tries} attempts")
    return False


def _on_alarm(signum: int, frame: Any) -> None:
    raise TimeoutError


def wait_nodes(address: str, count: int, timeout: float, pids: Sequence[int] = ()) -> bool:
    """Whether the cluster at ``address`` had ``count`` alive nodes within ``timeout`` s."""
    import ray

    deadline = time.monotonic() + timeout
    signal.signal(signal.SIGALRM, _on_alarm)
    signal.alarm(max(1, int(timeout)))
    alive = 0
    try:
        ray.init(address=address, log_to_driver=False, logging_level=logging.ERROR)
        while True:
            alive = sum(1 for node in ray.nodes() if node.get("Alive"))
            if alive >= count:
                _say(f"the Ray cluster has {alive} node(s)")
                return True
            gone = _dead(pids)
            if gone is not None:
                _say(f"a Ray step (pid {gone}) ended; {alive} of {count} node(s) are up")
                return False
            if time.monotonic() > deadline:
                break
            time.sleep(1.0)
    except TimeoutError:
        pass
    except Exception as exc:  # a refused token, an unreachable head: say it in one line
        _say(f"cannot reach the Ray cluster at {address}: {type(exc).__name__}: {exc}")
        return False
    finally:
        signal.alarm(0)
        if ray.is_initialized():
            ray.shutdown()
    _say(f"only {alive} of {count} Ray node(s) joined within {timeout:g} s")
    return False


def can_resume(folder: str) -> bool:
    """Whether ``folder`` holds a pipetune experiment that Ray Tune can restore."""
    from pipetune.experiment import CONFIG_COPY, META_FILE

    path = Path(folder)
    if not (path / META_FILE).is_file() or not (path / CONFIG_COPY).is_file():
        return False
    from ray import tune

    return bool(tune.Tuner.can_restore(str(path.resolve())))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python3 -m pipetune.cluster.probe", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    ports = commands.add_parser("free-ports")
    ports.add_argument("count", type=int)
    commands.add_parser("new-token")
    commands.add_parser("ray-env")
    head = commands.add_parser("wait-head")
    head.add_argument("address")
    head.add_argument("--tries", type=int, default=60)
    head.add_argument("--interval", type=float, default=2.0)
    head.add_argument("--pid", type=int, action="append", default=[])
    nodes = commands.add_parser("wait-nodes")
    nodes.add_argument("address")
    nodes.add_argument("count", type=int)
    nodes.add_argument("--timeout", type=float, default=180.0)
    nodes.add_argument("--pid", type=int, action="append", default=[])
    resume = commands.add_parser("can-resume")
    resume.add_argument("folder")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "free-ports":
        print(*free_ports(args.count))
        return 0
    if args.command == "new-token":
        print(secrets.token_hex(32))
        return 0
    if args.command == "ray-env":
        print("\n".join(ray_env_exports()))
        return 0
    if args.command == "wait-head":
        return 0 if wait_head(args.address, args.tries, args.interval, args.pid) else 1
    if args.command == "wait-nodes":
        return 0 if wait_nodes(args.address, args.count, args.timeout, args.pid) else 1
    return 0 if can_resume(args.folder) else NO_STATE


if __name__ == "__main__":
    sys.exit(main())
