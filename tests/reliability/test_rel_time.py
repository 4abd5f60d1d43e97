"""Issue 7, point 5: a time budget ends the experiment cleanly (exit 0, results written); an
interrupt (SIGINT, as Ctrl+C sends) stops the trials, writes results and report, prints the
resume command and exits 130."""

from __future__ import annotations

import contextlib
import io
import os
import signal
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from processes import session_processes
from rel_toy import (
    read_history,
    read_results,
    snapshot,
    start_tune,
    tracked,
    wait_for,
    write_config,
)

from pipetune.cli.main import main
from pipetune.tune import Experiment, ExperimentOutcome

pytestmark = [pytest.mark.ray, pytest.mark.slow]

EPOCHS = 1000  # at 0.5 s each: far beyond any budget here
BUDGET_S = 8


@pytest.fixture
def module_writer(tmp_path: Path) -> Iterator[Callable[[str, Path], str]]:
    names: list[str] = []

    def make_module(code: str, where: Path) -> str:
        name = f"rel_time_toy_{os.getpid()}_{len(names)}"
        (where / f"{name}.py").write_text(textwrap.dedent(code))
        names.append(name)
        return name

    yield make_module
    for name in names:
        sys.modules.pop(name, None)


def slow_config(make_module: Callable[[str, Path], str], folder: Path, **tune: Any) -> Path:
    return write_config(
        make_module,
        folder,
        epochs=EPOCHS,
        callbacks=[{"name": "Pause", "args": {"seconds": 0.5}}],
        num_samples=2,
        **tune,
    )


def test_time_budget_ends_the_experiment_cleanly(
    ray_local: object,
    module_writer: Callable[[str, Path], str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = slow_config(module_writer, tmp_path, time_budget_s=BUDGET_S)
    outcomes: list[ExperimentOutcome] = []
    real_run = Experiment.run

    def run(self: Experiment, *args: Any, **kwargs: Any) -> ExperimentOutcome:
        outcomes.append(real_run(self, *args, **kwargs))
        return outcomes[-1]

    monkeypatch.setattr(Experiment, "run", run)
    err = io.StringIO()
    started = time.monotonic()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        returncode = main(["tune", str(config)])
    elapsed = time.monotonic() - started

    assert returncode == 0, err.getvalue()[-3000:]
    assert f"time budget of {BUDGET_S} s reached; 2 trial(s) did not finish" in err.getvalue()
    (outcome,) = outcomes
    assert outcome.budget_reached
    assert outcome.unfinished == 2 and outcome.failed == 0
    rows = read_results(outcome.path)
    assert [r["status"] for r in rows] == ["STOPPED", "STOPPED"], rows
    assert all(int(r["iterations"] or 0) < EPOCHS for r in rows)
    assert elapsed < 150, f"the budget did not end the experiment ({elapsed:.0f} s)"


def test_sigint_stops_the_trials_and_prints_the_resume_command(
    module_writer: Callable[[str, Path], str], tmp_path: Path
) -> None:
    config = slow_config(module_writer, tmp_path)
    folder = tmp_path / "runs" / "exp"
    log = tmp_path / "tune.log"
    with tracked() as started:
        driver = start_tune([str(config)], tmp_path, log)
        started.append(driver)
        # both trials run (none is left waiting to be created)
        wait_for(
            lambda: len({r["trial_id"] for r in read_history(folder)}) == 2,
            driver,
            log,
            240,
            "both trials to report",
        )
        driver.send_signal(signal.SIGINT)  # Ctrl+C
        returncode = driver.wait(timeout=180)
        output = log.read_text()
        assert returncode == 130, output[-3000:]
        assert f"continue with: pipetune tune --resume {folder}" in output
        # the trials stopped: nothing of the run's Ray is left
        deadline = time.monotonic() + 30
        while session_processes(driver.pid) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert session_processes(driver.pid) == []

    rows = read_results(folder)
    assert [r["status"] for r in rows] == ["STOPPED", "STOPPED"], rows
    assert all(0 < int(r["iterations"]) < EPOCHS for r in rows)
    assert (folder / "report.html").exists()
    assert (folder / "best_config.yaml").exists()
    # Tune's saved state still has them running: a resume continues them
    assert {t["status"] for t in snapshot(folder).values()} <= {"RUNNING", "PAUSED", "PENDING"}
