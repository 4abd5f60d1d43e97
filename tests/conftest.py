"""Fixtures shared by every test."""

from __future__ import annotations

import itertools
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATASETS = REPO_ROOT.parent / "shared" / "datasets"

_counter = itertools.count()


@pytest.fixture
def make_module(tmp_path: Path) -> Iterator[Callable[[str], str]]:
    """Write a uniquely named user module into tmp_path; return its import name."""
    names: list[str] = []

    def write(code: str, folder: Path | None = None) -> str:
        name = f"user_mod_{next(_counter)}"
        target = folder or tmp_path
        target.mkdir(parents=True, exist_ok=True)
        (target / f"{name}.py").write_text(textwrap.dedent(code))
        names.append(name)
        return name

    yield write
    for name in names:
        sys.modules.pop(name, None)


@pytest.fixture
def write_yaml(tmp_path: Path) -> Callable[[str], Path]:
    def write(text: str, name: str = "config.yaml", folder: Path | None = None) -> Path:
        path = (folder or tmp_path) / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
        return path

    return write


@pytest.fixture(scope="session")
def ray_local() -> Iterator[object]:
    """One embedded local Ray for the whole test session (loopback, no dashboard)."""
    import ray

    import pipetune  # noqa: F401  (sets Ray's environment defaults before ray.train loads)

    if not ray.is_initialized():
        ray.init(
            num_cpus=2,
            include_dashboard=False,
            _node_ip_address="127.0.0.1",
            log_to_driver=False,
            configure_logging=False,
        )
    yield ray
    ray.shutdown()


@pytest.fixture(scope="session", autouse=True)
def no_local_ray_head(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Tests never attach to a developer's `pipetune ray start` head: the record is looked
    for in a folder of this session (subprocesses inherit the variable)."""
    import os

    from pipetune.cluster._local import STATE_ENV

    saved = os.environ.get(STATE_ENV)
    os.environ[STATE_ENV] = str(tmp_path_factory.mktemp("ray-state"))
    yield
    if saved is None:
        os.environ.pop(STATE_ENV, None)
    else:
        os.environ[STATE_ENV] = saved
