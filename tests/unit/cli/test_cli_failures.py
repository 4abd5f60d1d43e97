"""Issue 15, point 3: any exception reaches the user as one line (exit 1 for runtime
failures), the traceback only with --debug, and files written before stay intact."""

from __future__ import annotations

import errno
from pathlib import Path
from typing import Any

import pytest

from pipetune._timeline import Timeline
from pipetune.cli import _tune
from pipetune.cli.main import main
from pipetune.tune import TuneSettings

FAILING = """
import errno

from pipetune.components import Trainer


class Failing(Trainer):
    def __init__(self, kind: str, name: str | None = None) -> None:
        super().__init__(name)
        self.kind = kind

    def execute(self):
        if self.kind == "memory":
            raise MemoryError()
        if self.kind == "disk":
            raise OSError(errno.ENOSPC, "No space left on device", "/data/out/weights.pt")
        if self.kind == "recursion":
            raise RecursionError("maximum recursion depth exceeded")
        raise RuntimeError("first line\\nsecond line")
"""

CONFIG = """
training_pipeline:
  class_path: pipetune.Pipeline
  init_args:
    steps:
      - class_path: {mod}.Failing
        init_args: {{kind: {kind}}}
"""


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        (
            "memory",
            "out of memory (MemoryError); lower the batch size or the data limit, or run on a "
            "machine with more memory",
        ),
        (
            "disk",
            "[Errno 28] No space left on device: '/data/out/weights.pt' (free some space on "
            "that disk; files written before are intact)",
        ),
        (
            "recursion",
            "recursion too deep (maximum recursion depth exceeded); rerun with --debug for the "
            "traceback",
        ),
        ("bug", "RuntimeError: first line second line; rerun with --debug for the traceback"),
    ],
)
def test_a_runtime_failure_is_one_line_and_exit_1(
    kind: str,
    expected: str,
    make_module: Any,
    write_yaml: Any,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    module = make_module(FAILING, folder=tmp_path)
    path = write_yaml(CONFIG.format(mod=module, kind=kind))
    assert main(["run", str(path)]) == 1
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    assert captured.err.splitlines() == [f"pipetune: error: {expected}"]


def test_debug_shows_the_traceback(
    make_module: Any, write_yaml: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    module = make_module(FAILING, folder=tmp_path)
    path = write_yaml(CONFIG.format(mod=module, kind="memory"))
    assert main(["--debug", "run", str(path)]) == 1
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err
    assert err.splitlines()[-1].startswith("pipetune: error: out of memory")


class _Outcome:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.rows: list[dict[str, Any]] = []
        self.best = None
        self.failed = self.unfinished = 0
        self.budget_reached = False
        self.ran = True
        self.interrupted_by = None
        self.resume_command = f"pipetune tune --resume {path}"


class _Experiment:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.settings = TuneSettings.parse({"metric": "val_loss", "mode": "min"})
        self.timeline = Timeline()

    def run(self, *args: Any, deliver: Any = None, **kwargs: Any) -> _Outcome:
        outcome = _Outcome(self.path)
        if deliver is not None:  # as the real one: the outcome, before Ray shuts down
            deliver(outcome)
        return outcome


def test_a_full_disk_while_writing_the_report_keeps_the_results(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The experiment's results are written before its report; ENOSPC then costs only the
    report: one line naming the file and what to do, exit 1, results.csv intact."""
    import pipetune.report
    import pipetune.tune

    folder = tmp_path / "exp"
    folder.mkdir()
    (folder / "results.csv").write_text("trial_id,status\na,TERMINATED\n")
    (folder / "best_config.yaml").write_text("lr: 0.1\n")
    before = {p.name: p.read_bytes() for p in folder.iterdir()}

    def full_disk(path: Any) -> Path:
        raise OSError(errno.ENOSPC, "No space left on device", str(folder / "report.html"))

    monkeypatch.setattr(pipetune.tune, "Experiment", lambda *a, **k: _Experiment(folder))
    monkeypatch.setattr(pipetune.report, "write_report", full_disk)
    monkeypatch.setattr(_tune, "print_summary", lambda *a: None, raising=False)
    monkeypatch.setattr("pipetune.tune._results.print_summary", lambda *a: None)
    assert main(["tune", "config.yaml"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err == [
        f"pipetune: error: report not written: [Errno 28] No space left on device: "
        f"'{folder / 'report.html'}' (free some space on that disk; files written before are "
        f"intact); results.csv and best_config.yaml are complete; write it later with "
        f"`pipetune report {folder}`"
    ]
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
