"""Issue 15, point 6: property-based fuzzing of the YAML loader, the override parser and the
search-space builder. Whatever the input, ``pipetune`` ends with one stderr line and exit
status 2, or succeeds; the library raises ConfigError or returns. Never a traceback, a
hang or another exception.

The number of examples is bounded for CI (``PIPETUNE_FUZZ_EXAMPLES``, 60 by default per
property); hypothesis keeps the failing examples it found in its database and replays them.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipetune.cli.main import main
from pipetune.config import load_config
from pipetune.config._safety import ALLOWED_ENV
from pipetune.errors import ConfigError
from pipetune.tune import SpaceType, build_search_space

CORPUS = Path(__file__).resolve().parents[1] / "corpus"
EXAMPLES = int(os.environ.get("PIPETUNE_FUZZ_EXAMPLES", "60"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


class RayWouldStart(BaseException):
    """Every check passed: ``pipetune tune`` would now start Ray (a success here)."""


@pytest.fixture
def sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    import ray

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise RayWouldStart

    monkeypatch.setattr(ray, "init", refuse)
    monkeypatch.setattr(ray, "is_initialized", lambda: False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PIPETUNE_DATA", str(tmp_path / "no-data"))
    monkeypatch.delenv(ALLOWED_ENV, raising=False)
    monkeypatch.setattr(sys, "path", list(sys.path))
    shutil.copy(CORPUS / "valid.yaml", tmp_path / "valid.yaml")
    return tmp_path


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int | None, str]:
    try:
        status: int | None = main(args)
    except RayWouldStart:
        status = 0
    except SystemExit as exc:  # argparse refusing the command line itself
        status = exc.code if isinstance(exc.code, int) else 1
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err, err
    return status, err


def assert_one_line_or_success(status: int | None, err: str) -> None:
    if status == 0:
        return
    assert status == 2, f"exit {status}: {err}"
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("pipetune: error: "), err


# -- the YAML loader ---------------------------------------------------------------------------

_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=12),
    st.sampled_from(["${a}", "${b.c}", "${", "${oc.env:HOME}", "class_path", "_target_"]),
)
_TREES = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.sampled_from(["a", "b", "c", "tune", "training_pipeline"]), inner),
    ),
    max_leaves=20,
)
_YAML_ALPHABET = [*list("ab: -[]{},&*!|>'\"#%@`\n\t.0123456789$~?"), "\x00", "é", "\ufeff"]
_YAML_TEXT = st.one_of(
    st.text(alphabet=_YAML_ALPHABET, max_size=120),
    _TREES.map(lambda tree: yaml.safe_dump(tree, allow_unicode=True)),
    st.tuples(_TREES, st.text(alphabet=_YAML_ALPHABET, max_size=8), st.integers(0, 200)).map(
        lambda t: (lambda s: s[: t[2]] + t[1] + s[t[2] :])(yaml.safe_dump(t[0]))
    ),
)


@FUZZ
@given(text=_YAML_TEXT)
def test_any_yaml_text_loads_or_is_refused(text: str, tmp_path_factory: Any) -> None:
    path = tmp_path_factory.mktemp("yaml") / "config.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    with contextlib.suppress(ConfigError):
        load_config(path)


@FUZZ
@given(data=st.binary(max_size=200))
def test_any_bytes_load_or_are_refused(data: bytes, tmp_path_factory: Any) -> None:
    path = tmp_path_factory.mktemp("bytes") / "config.yaml"
    path.write_bytes(data)
    with contextlib.suppress(ConfigError):
        load_config(path)


@FUZZ
@given(text=_YAML_TEXT)
def test_pipetune_run_on_any_yaml_is_one_line(
    text: str, sandbox: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = sandbox / "fuzzed.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    before = sorted(p.name for p in sandbox.iterdir())
    assert_one_line_or_success(*run_cli(["run", str(path)], capsys))
    assert sorted(p.name for p in sandbox.iterdir()) == before


# -- the override parser -----------------------------------------------------------------------

_KEYS = st.one_of(
    st.sampled_from(
        [
            "batch_size",
            "learning_rate",
            "epochs",
            "training_pipeline.init_args.steps.0.init_args.limit",
            "training_pipeline.init_args.steps.5",
            "tune.num_samples",
            "tune.scheduler",
            "tune.scheduler.grace_period",
            "tune.search_space.learning_rate.lower",
            "tune.name",
            "tune.storage_path",
            "tune.max_trials",
        ]
    ),
    st.text(alphabet=list("abc._0123-[]"), max_size=12),
)
_VALUES = st.one_of(st.text(alphabet=_YAML_ALPHABET, max_size=30), _SCALARS.map(str))


@FUZZ
@given(pairs=st.lists(st.tuples(_KEYS, _VALUES), min_size=1, max_size=3))
def test_pipetune_tune_with_any_overrides_is_one_line(
    pairs: list[tuple[str, str]], sandbox: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["tune", "valid.yaml"]
    for key, value in pairs:
        args += ["-o", f"{key}={value}"]
    before = sorted(p.name for p in sandbox.iterdir())
    assert_one_line_or_success(*run_cli(args, capsys))
    assert sorted(p.name for p in sandbox.iterdir()) == before


# -- the search-space builder ------------------------------------------------------------------

_NUMBERS = st.one_of(
    st.integers(-(10**30), 10**30), st.floats(), st.booleans(), st.none(), st.text(max_size=4)
)
_SPECS = st.fixed_dictionaries(
    {"type": st.one_of(st.sampled_from([t.value for t in SpaceType]), st.text(max_size=6))},
    optional={
        "lower": _NUMBERS,
        "upper": _NUMBERS,
        "q": _NUMBERS,
        "base": _NUMBERS,
        "mean": _NUMBERS,
        "sd": _NUMBERS,
        "categories": st.one_of(st.lists(_SCALARS, max_size=4), _SCALARS),
        "values": st.one_of(st.lists(_SCALARS, max_size=4), _SCALARS),
        "extra": _SCALARS,
    },
)


@FUZZ
@given(space=st.dictionaries(st.text(max_size=8), st.one_of(_SPECS, _SCALARS), max_size=3))
def test_any_search_space_builds_or_is_refused(space: dict[str, Any]) -> None:
    try:
        result = build_search_space(space)
    except ConfigError:
        return
    assert set(result) == {str(k) for k in space}
