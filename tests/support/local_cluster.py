"""A multi-node Ray cluster on this machine for tests: one `ray start --head` and one
`ray start` per extra node, one CPU each, token authentication, private temp folders.

Every process of the cluster carries ``PIPETUNE_TEST_TAG=<tag>`` in its environment (Ray
passes a node's environment on to its raylet and workers), and every process of worker node
``name`` also ``PIPETUNE_TEST_NODE=<name>``: a test can find, and stop, exactly the processes
of its own cluster or of one node, by PID, never by name.

`ray start` replaces 127.0.0.1 by this machine's address (Ray wants nodes other machines
can reach), so the nodes register under that address; the per-cluster token keeps every
other client out.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from processes import live_processes

from pipetune.cluster import probe

BIN = Path(sys.executable).parent


@dataclass
class LocalCluster:
    address: str
    env: dict[str, str]  # what a client (a driver) needs: the token, no node marker
    root: Path
    tag: str
    nodes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def processes(self, node: str | None = None) -> list[int]:
        """PIDs of this cluster's live processes, or of worker node ``node`` only."""
        needles = [f"PIPETUNE_TEST_TAG={self.tag}".encode()]
        if node is not None:
            needles.append(f"PIPETUNE_TEST_NODE={node}".encode())

        def tagged(entry: Path, _: list[str]) -> bool:
            environ = (entry / "environ").read_bytes().split(b"\0")
            return all(needle in environ for needle in needles)

        return live_processes(tagged)

    def crash_node(self, node: str, timeout: float = 30.0) -> list[int]:
        """SIGKILL every process of worker node ``node`` at once (a power cut: nothing runs on
        its way out); return the PIDs killed."""
        killed: list[int] = []
        deadline = time.monotonic() + timeout
        while pids := self.processes(node):
            if time.monotonic() > deadline:
                raise AssertionError(f"processes of node {node} survived SIGKILL: {pids}")
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            killed += [pid for pid in pids if pid not in killed]
            time.sleep(0.2)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.nodes[node].wait(timeout=5)  # reap its `ray start`
        return killed


def _ray_start(
    args: list[str], env: Mapping[str, str], log: Path, cwd: Path | None = None
) -> subprocess.Popen[bytes]:
    common = ["--block", "--num-gpus=0", "--dashboard-agent-listen-port=0", "--disable-usage-stats"]
    with log.open("w") as handle:
        return subprocess.Popen(
            [str(BIN / "ray"), "start", *args, *common],
            env=dict(env),
            cwd=cwd,
            stdout=handle,
            stderr=handle,
        )


def _stop(processes: Sequence[subprocess.Popen[bytes]], timeout: float = 60) -> None:
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)  # `ray start --block` drains and stops its node
    deadline = time.monotonic() + timeout
    for process in processes:
        try:
            process.wait(timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextlib.contextmanager
def local_cluster(
    workers: Sequence[str] = ("node2",),
    head_env: Mapping[str, str] | None = None,
    *,
    base_env: Mapping[str, str] | None = None,
    own_token: bool = True,
    head_cpus: int = 1,
    cwd: Path | None = None,
) -> Iterator[LocalCluster]:
    """A head and one worker node per name in ``workers``; each worker node offers the custom
    resource ``{name: 1}``. ``head_env`` adds variables to the head's environment only (Ray
    settings such as health-check periods). Stops only its own processes, and checks that
    none outlives it.

    The nodes start from ``base_env`` (default: this process's environment) in ``cwd``. With
    ``own_token`` each node and client gets a fresh token through the environment; without
    it, authentication is Ray's own rule (token mode when the environment's
    ``$HOME/.ray/auth_token`` exists) and ``cluster.env`` says ``RAY_AUTH_MODE=token`` only
    for the test's own probes. The head's temp folder is ``<root>/ray``, so a client with
    ``RAY_TMPDIR=<root>`` finds this cluster with ``address="auto"``.
    """
    root = Path(tempfile.mkdtemp(prefix="ptc-", dir="/tmp"))  # short: Ray's socket paths
    tag = f"ptc-{uuid.uuid4().hex[:12]}"
    source = os.environ if base_env is None else base_env
    env = {k: v for k, v in source.items() if not k.startswith("RAY_ADDRESS")}
    env["PIPETUNE_TEST_TAG"] = tag
    if own_token:
        # a fresh token for this cluster: the nodes and every client read it from the env
        env.update(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=secrets.token_hex(32))
    port, client_port = probe.free_ports(2)
    cluster = LocalCluster(f"127.0.0.1:{port}", {**env, "RAY_AUTH_MODE": "token"}, root, tag)
    try:
        head_args = ["--head", "--node-ip-address=127.0.0.1", f"--port={port}"]
        head_args += [f"--ray-client-server-port={client_port}", f"--num-cpus={head_cpus}"]
        head_args += [f"--temp-dir={root}/ray", "--include-dashboard=false"]
        head = _ray_start(head_args, {**env, **(head_env or {})}, root / "head.log", cwd)
        cluster.nodes["head"] = head
        assert probe.wait_head(cluster.address, tries=90, interval=1, pids=[head.pid]), (
            root / "head.log"
        ).read_text()
        for name in workers:
            args = [f"--address={cluster.address}", "--num-cpus=1", f'--resources={{"{name}": 1}}']
            args += [f"--temp-dir={root}/{name}"]
            node_env = {**env, "PIPETUNE_TEST_NODE": name}
            cluster.nodes[name] = _ray_start(args, node_env, root / f"{name}.log", cwd)
        pids = [option for p in cluster.nodes.values() for option in ("--pid", str(p.pid))]
        count = str(len(cluster.nodes))
        wait = ["-m", "pipetune.cluster.probe", "wait-nodes", cluster.address, count]
        waited = subprocess.run(
            [sys.executable, *wait, "--timeout", "150", *pids],
            env=cluster.env,
            capture_output=True,
            text=True,
            timeout=200,
        )
        assert waited.returncode == 0, waited.stderr
        yield cluster
    finally:
        # Worker nodes first, the head (GCS) last: a process that loses the GCS first waits
        # for it to come back (a minute) before it exits.
        _stop([process for name, process in cluster.nodes.items() if name != "head"])
        _stop([process for name, process in cluster.nodes.items() if name == "head"])
        # Workers and raylet children exit shortly after their `ray start`: on a loaded
        # machine that takes seconds, so give them a bounded grace period.
        deadline = time.monotonic() + 60
        while (leftovers := cluster.processes()) and time.monotonic() < deadline:
            time.sleep(0.5)
        described = [_describe(pid) for pid in leftovers]
        for pid in leftovers:  # processes of this cluster only (tagged through its env)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        shutil.rmtree(root, ignore_errors=True)
        assert not leftovers, f"Ray processes outlived their `ray start` by 60 s: {described}"


def _describe(pid: int) -> str:
    """``pid``, its state and command line (for a message)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except (OSError, IndexError):
        return f"{pid} (gone)"
    return f"{pid} [{state}] {command.strip()[:200]}"
