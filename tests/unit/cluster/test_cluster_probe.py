"""`python3 -m pipetune.cluster.probe`: the checks the batch script runs (no Ray needed)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipetune._ray_env import DEFAULTS
from pipetune.cluster import probe


def test_free_ports_are_distinct_and_bindable() -> None:
    ports = probe.free_ports(3)
    assert len(set(ports)) == 3
    for port in ports:
        with socket.socket() as sock:
            sock.bind(("", port))


def test_ray_env_lines_keep_values_already_set() -> None:
    lines = "\n".join(probe.ray_env_exports())
    key, value = next(iter(DEFAULTS.items()))
    program = f'{lines}\nprintf "%s|%s" "${key}" "$RAY_CHDIR_TO_TRIAL_DIR"'
    env = {"PATH": "/usr/bin:/bin", "RAY_CHDIR_TO_TRIAL_DIR": "kept"}
    done = subprocess.run(["bash", "-c", program], env=env, capture_output=True, text=True)
    assert done.stdout == f"{value}|kept"


def test_wait_head_sees_a_listening_port() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        address = f"127.0.0.1:{server.getsockname()[1]}"
        assert probe.wait_head(address, tries=3, interval=0.1)


def test_wait_head_gives_up_after_its_tries(capsys: pytest.CaptureFixture[str]) -> None:
    port = probe.free_ports(1)[0]
    started = time.monotonic()
    assert not probe.wait_head(f"127.0.0.1:{port}", tries=3, interval=0.1)
    assert time.monotonic() - started < 5
    assert "did not answer after 3 attempts" in capsys.readouterr().err


def test_wait_head_stops_when_the_head_step_died(capsys: pytest.CaptureFixture[str]) -> None:
    ended = subprocess.Popen(["true"])
    ended.wait()
    port = probe.free_ports(1)[0]
    started = time.monotonic()
    assert not probe.wait_head(f"127.0.0.1:{port}", tries=100, interval=1, pids=[ended.pid])
    assert time.monotonic() - started < 2
    assert f"(pid {ended.pid}) ended before it answered" in capsys.readouterr().err


def test_command_line(tmp_path: Path) -> None:
    cli = [sys.executable, "-m", "pipetune.cluster.probe"]
    token = subprocess.run([*cli, "new-token"], capture_output=True, text=True, check=True)
    assert len(token.stdout.strip()) == 64
    ports = subprocess.run([*cli, "free-ports", "2"], capture_output=True, text=True, check=True)
    assert len(ports.stdout.split()) == 2
    resume = subprocess.run([*cli, "can-resume", str(tmp_path)], capture_output=True)
    assert resume.returncode == probe.NO_STATE
    bad = subprocess.run([*cli, "wait-head", "nohost", "--tries", "1"], capture_output=True)
    assert bad.returncode != 0 and b"bad address" in bad.stderr


def test_can_resume_needs_pipetune_files_and_tune_state(tmp_path: Path) -> None:
    assert not probe.can_resume(str(tmp_path))
    (tmp_path / "pipetune_meta.json").write_text("{}")
    (tmp_path / "pipetune_config.yaml").write_text("a: 1\n")
    assert not probe.can_resume(str(tmp_path))  # no experiment_state-*.json from Tune
