"""Issue 7, point 7: a corpus of broken configs and command lines, each refused in one line.

Every case of ``tests/corpus/cases.yaml`` runs ``pipetune`` with a fresh copy of
``tests/corpus`` as its working directory (``{dir}`` in the case's arguments), ``HOME`` and
``PIPETUNE_DATA`` pointing at empty folders, and must:

* exit with status 2;
* print exactly one stderr line, starting with ``pipetune: error: `` and containing every
  expected substring (what is wrong, where: file and key path, how to fix it);
* print no traceback;
* write nothing: the copy of the corpus, ``HOME`` and ``PIPETUNE_DATA`` stay as they were;
* start no Ray (no new ``session_*_<pid>`` folder of this process in Ray's temp folder).

Speed: a ``pipetune tune`` process spends 4-8 s importing Ray and torch before it reads the
config, so one process per case would take minutes on a small machine. Every case therefore
runs in-process through ``pipetune.cli.main.main`` (imports paid once), and the cases marked
``subprocess: true`` run again as real ``python -m pipetune.cli.main`` processes, where the
exit status, the stream contents and the absence of a traceback are those a user sees.

In-process, Ray cannot start: ``ray.init`` raises ``RayWouldStart`` and ``ray.is_initialized``
answers False (so a Ray that another test started in this process is not reused either).
A case that reaches Ray therefore fails at once, without running trials. A ``pipetune run``
case must not even import Ray; that is checked while no earlier test has imported it (run
this file alone, or the run cases before the tune ones, as the manifest orders them).

The metric-contract case (a trainer that never reports ``tune.metric``) needs running trials,
hence Ray; it is left to tests/integration/tune/test_tune_experiments.py.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from pipetune.cli.main import main
from pipetune.config._safety import ALLOWED_ENV

CORPUS = Path(__file__).resolve().parents[1] / "corpus"
CASES: list[dict[str, Any]] = yaml.safe_load((CORPUS / "cases.yaml").read_text(encoding="utf-8"))
PREFIX = "pipetune: error: "


class RayWouldStart(BaseException):
    """Raised by the patched ``ray.init``: a BaseException so that no handler swallows it."""


def _params(cases: list[dict[str, Any]]) -> list[Any]:
    params = []
    for case in cases:
        marks = []
        if case.get("xfail"):
            marks.append(pytest.mark.xfail(strict=True, reason=case["xfail"]))
        params.append(pytest.param(case, id=case["id"], marks=marks))
    return params


# -- the sandbox of one case -----------------------------------------------------------------


def _snapshot(folder: Path) -> dict[str, bytes | None]:
    """Every path under ``folder`` with its content (None for folders)."""
    return {
        str(p.relative_to(folder)): None if p.is_dir() else p.read_bytes()
        for p in sorted(folder.rglob("*"))
    }


def _ray_sessions(pid: int, since: float = 0.0) -> set[Path]:
    """Ray session folders a driver with process id ``pid`` created (``session_<date>_<pid>``).

    ``since`` (a ``time.time()``) drops folders named for an earlier time: process ids wrap
    (32768 here) in a long test run, so an earlier process with this pid may have left one.
    """
    roots = {os.environ.get("RAY_TMPDIR"), os.environ.get("TMPDIR"), "/tmp", tempfile.gettempdir()}
    found: set[Path] = set()
    for root in filter(None, roots):
        for session in Path(root, "ray").glob(f"session_*_{pid}"):
            stamp = session.name.removeprefix("session_").rsplit("_", 1)[0]
            started = datetime.strptime(stamp, "%Y-%m-%d_%H-%M-%S_%f").timestamp()
            if started >= since - 1.0:
                found.add(session)
    return found


class Sandbox:
    """A copy of the corpus, an empty HOME and an empty data folder."""

    def __init__(self, tmp_path: Path) -> None:
        self.dir = tmp_path / "corpus"
        shutil.copytree(CORPUS, self.dir, ignore=shutil.ignore_patterns("__pycache__"))
        self.home = tmp_path / "home"
        self.data = tmp_path / "data"
        self.home.mkdir()
        self.data.mkdir()
        self.before = {p: _snapshot(p) for p in (self.dir, self.home, self.data)}

    def args(self, case: dict[str, Any]) -> list[str]:
        return [str(a).replace("{dir}", str(self.dir)) for a in case["args"]]

    def assert_untouched(self) -> None:
        for folder, before in self.before.items():
            after = _snapshot(folder)
            added = sorted(set(after) - set(before))
            assert after == before, f"{folder} changed; new: {added}"


def assert_refused(case: dict[str, Any], status: int | None, out: str, err: str) -> None:
    shown = f"--- stdout ---\n{out}--- stderr ---\n{err}"
    assert "Traceback" not in out + err, shown
    assert status == 2, f"exit status {status}, not 2\n{shown}"
    lines = err.splitlines()
    assert len(lines) == 1, f"stderr must be one line, got {len(lines)}\n{shown}"
    line = lines[0]
    assert line.startswith(PREFIX), shown
    missing = [s for s in case["expect"] if s not in line]
    assert not missing, f"the error line lacks {missing}:\n{line}"


# -- in-process: every case ------------------------------------------------------------------


@pytest.fixture
def sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Sandbox]:
    box = Sandbox(tmp_path)
    monkeypatch.chdir(box.dir)
    monkeypatch.setenv("HOME", str(box.home))
    monkeypatch.setenv("PIPETUNE_DATA", str(box.data))
    monkeypatch.delenv(ALLOWED_ENV, raising=False)  # --allow-module writes it: restored after
    monkeypatch.setattr(sys, "path", list(sys.path))  # the parser prepends the config's folder
    yield box
    for name, module in list(sys.modules.items()):  # user modules imported from the copy
        if str(getattr(module, "__file__", None) or "").startswith(str(tmp_path)):
            del sys.modules[name]


def _command(args: list[str]) -> str:
    """The sub-command of a command line (after the global options)."""
    words = iter(args)
    for word in words:
        if word == "--allow-module":
            next(words, None)
        elif not word.startswith("-"):
            return word
    return ""


def _guard_ray(monkeypatch: pytest.MonkeyPatch) -> None:
    import ray

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise RayWouldStart

    monkeypatch.setattr(ray, "init", refuse)
    monkeypatch.setattr(ray, "is_initialized", lambda: False)


def run_in_process(
    case: dict[str, Any],
    box: Sandbox,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> tuple[int | None, str, str]:
    for key, value in (case.get("env") or {}).items():
        monkeypatch.setenv(key, str(value))
    is_run = _command(case["args"]) == "run"
    ray_was_imported = "ray" in sys.modules
    if not is_run or ray_was_imported:
        _guard_ray(monkeypatch)
    sessions = _ray_sessions(os.getpid())
    status: int | None
    try:
        status = main(box.args(case))
    except SystemExit as exc:  # argparse refusing the command line
        status = exc.code if isinstance(exc.code, int) else 1
    except RayWouldStart:
        pytest.fail("Ray would have started: every check must run before Ray does")
    except Exception as exc:
        pytest.fail(f"uncaught {type(exc).__name__} (the user sees a traceback): {exc}")
    out, err = capsys.readouterr()
    if is_run and not ray_was_imported:
        assert "ray" not in sys.modules, "`pipetune run` imported Ray"
    assert _ray_sessions(os.getpid()) == sessions, "a Ray session was started"
    return status, out, err


@pytest.mark.parametrize("case", _params(CASES))
def test_refused_in_one_line(
    case: dict[str, Any],
    sandbox: Sandbox,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, out, err = run_in_process(case, sandbox, monkeypatch, capsys)
    assert_refused(case, status, out, err)
    sandbox.assert_untouched()


# -- real processes: a few cases -------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("case", _params([c for c in CASES if c.get("subprocess")]))
def test_refused_by_the_command(case: dict[str, Any], tmp_path: Path) -> None:
    box = Sandbox(tmp_path)
    env = {k: v for k, v in os.environ.items() if k != ALLOWED_ENV}
    env.update({"HOME": str(box.home), "PIPETUNE_DATA": str(box.data)})
    env.update({k: str(v) for k, v in (case.get("env") or {}).items()})
    launched = time.time()
    process = subprocess.Popen(
        [sys.executable, "-m", "pipetune.cli.main", *box.args(case)],
        cwd=box.dir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    out, err = process.communicate(timeout=120)
    assert_refused(case, process.returncode, out, err)
    box.assert_untouched()
    assert not _ray_sessions(process.pid, since=launched), "a Ray session was started"


# -- the corpus itself -----------------------------------------------------------------------


def test_manifest_is_well_formed() -> None:
    ids = [c["id"] for c in CASES]
    assert len(ids) >= 40
    assert len(set(ids)) == len(ids), "duplicate case ids"
    known = {"id", "args", "expect", "env", "subprocess", "xfail"}
    for case in CASES:
        assert set(case) <= known, case["id"]
        assert case["expect"] and all(isinstance(s, str) for s in case["expect"]), case["id"]
    used = {Path(a).name for c in CASES for a in c["args"] if str(a).startswith("{dir}/")}
    files = {p.name for p in CORPUS.glob("*.yaml")} - {"cases.yaml"}
    assert files <= used, f"corpus files no case uses: {sorted(files - used)}"


def test_the_baseline_config_passes_every_check(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """valid.yaml, which the command-line cases break with flags, reaches Ray untouched.

    So those cases fail for the flag they pass, and the Ray guard is what stops a config
    that passes every check.
    """
    from pipetune.parser import ConfigParser

    ConfigParser("valid.yaml").parse_pipeline()  # `pipetune run` would then execute it
    _guard_ray(monkeypatch)
    with pytest.raises(RayWouldStart):
        main(["tune", "valid.yaml"])
    assert "pipetune: error" not in capsys.readouterr().err
    sandbox.assert_untouched()
