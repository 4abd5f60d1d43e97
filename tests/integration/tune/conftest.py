"""Fixtures of the tune integration tests."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
from processes import kill_session


@pytest.fixture
def drivers() -> Iterator[list[subprocess.Popen[Any]]]:
    """`pipetune tune` processes a test started (each in a session of its own): their
    sessions never outlive it."""
    processes: list[subprocess.Popen[Any]] = []
    yield processes
    for process in processes:
        kill_session(process.pid)
        process.wait()
