"""Issue 7, point 1: a failing trial is retried from its last checkpoint (max_failures); one
that always fails ends ERROR with its exception's last line; the others run to the end; the
command exits 1.

One experiment (`pipetune tune` in this process, on the shared local Ray): a 3-point grid on
the learning rate, 3 epochs, max_failures 1. Every trial raises at the start of its 2nd
epoch once; the trial with learning rate 0.03 raises there on every attempt.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rel_toy import read_history, read_results, write_config

from pipetune.cli.main import main

pytestmark = [pytest.mark.ray, pytest.mark.slow]

EPOCHS = 3
GOOD = [0.01, 0.02]
ALWAYS = 0.03
LAST_LINE = f"bad learning rate {ALWAYS} (always)"


@pytest.fixture(scope="module")
def failing_run(ray_local: object, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    folder = tmp_path_factory.mktemp("failing")
    names: list[str] = []

    def make_module(code: str, where: Path) -> str:
        name = f"rel_failure_toy_{os.getpid()}"
        (where / f"{name}.py").write_text(textwrap.dedent(code))
        names.append(name)
        return name

    faults = folder / "faults"
    config = write_config(
        make_module,
        folder,
        epochs=EPOCHS,
        callbacks=[
            {
                "name": "Faults",
                "args": {"folder": str(faults), "fail_epoch": 1, "always_lr": ALWAYS},
            }
        ],
        num_samples=1,
        search_alg="grid",
        search_space={"learning_rate": {"type": "grid_search", "values": [*GOOD, ALWAYS]}},
        max_failures=1,
    )
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        returncode = main(["tune", str(config)])
    exp = folder / "runs" / "exp"
    rows = {float(r["config/learning_rate"]): r for r in read_results(exp)}
    yield {
        "returncode": returncode,
        "stdout": out.getvalue(),
        "stderr": err.getvalue(),
        "folder": exp,
        "rows": rows,
        "faults": faults,
    }
    for name in names:
        sys.modules.pop(name, None)


def starts(run: dict[str, Any], lr: float) -> list[int]:
    """The epoch each attempt of the trial with learning rate ``lr`` started at."""
    trial_id = run["rows"][lr]["trial_id"]
    return [int(x) for x in (run["faults"] / f"{trial_id}.starts").read_text().split()]


def iterations(run: dict[str, Any], lr: float) -> list[int]:
    trial_id = run["rows"][lr]["trial_id"]
    return [
        r["training_iteration"] for r in read_history(run["folder"]) if r["trial_id"] == trial_id
    ]


def test_a_failed_trial_is_retried_from_its_last_checkpoint(failing_run: dict) -> None:
    for lr in GOOD:
        row = failing_run["rows"][lr]
        assert row["status"] == "TERMINATED", row
        assert int(row["iterations"]) == EPOCHS
        assert row["error"] == ""
        # the 2nd attempt started at epoch 1 (restored from the epoch-0 checkpoint) ...
        assert starts(failing_run, lr) == [0, 1]
        # ... so Tune saw each epoch once: no restart at iteration 1
        assert iterations(failing_run, lr) == [1, 2, 3]
        # the driver said so
        trial_id = failing_run["rows"][lr]["trial_id"]
        assert (
            f"trial {trial_id} failed (RuntimeError: transient failure (the retry should "
            "succeed)); retry 1 of 1 from its checkpoint at iteration 1\n"
        ) in failing_run["stderr"]


def test_a_trial_that_always_fails_ends_error_with_the_last_line(failing_run: dict) -> None:
    row = failing_run["rows"][ALWAYS]
    assert row["status"] == "ERROR"
    assert row["error"] == LAST_LINE
    assert starts(failing_run, ALWAYS) == [0, 1]  # retried once (max_failures: 1), then given up
    assert iterations(failing_run, ALWAYS) == [1]
    report = (failing_run["folder"] / "report.html").read_text()
    assert LAST_LINE in report


def test_the_other_trials_ran_to_the_end_and_the_exit_status_is_1(failing_run: dict) -> None:
    statuses = sorted(r["status"] for r in failing_run["rows"].values())
    assert statuses == ["ERROR", "TERMINATED", "TERMINATED"]
    assert (failing_run["folder"] / "best_config.yaml").exists()
    assert failing_run["returncode"] == 1, failing_run["stderr"][-3000:]
    assert "1 trial(s) failed; see the error column" in failing_run["stderr"]
