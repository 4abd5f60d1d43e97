"""Issue 7, point 2: the driver is killed (SIGKILL, so nothing runs on its way out) at several
moments of an experiment; `pipetune tune --resume DIR` then finishes it: trials finished
before the kill keep their results and are not run again, unfinished ones continue from
their last checkpoint, and results.csv ends with exactly num_samples rows.

"Finished before the kill" and "last checkpoint" are what Tune's newest experiment snapshot
says: the state a resume starts from (the snapshot may lag history.jsonl by a result).
"""

from __future__ import annotations

import collections
import contextlib
import io
import pickle
import shutil
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from processes import kill_session, session_processes
from rel_toy import (
    history_lines,
    read_history,
    read_results,
    snapshot,
    start_tune,
    tracked,
    wait_for,
    write_config,
)

from pipetune.cli.main import main
from pipetune.errors import ConfigError
from pipetune.tune._repair import repair_tune_state

TRIALS = 3
EPOCHS = 3
ROWS = TRIALS * EPOCHS

# kill once this many history rows exist
MOMENTS = {"after-the-first-result": 1, "midway": ROWS // 2 + 1, "near-the-end": ROWS - 1}


def state_to_resume(folder: Path, scratch: Path) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """Tune's snapshot as the resume will read it: state files the kill cut short are put
    back first (on a copy, so that the resume meets them cut and repairs them itself)."""
    copy = scratch / folder.name
    copy.mkdir(parents=True)
    for path in folder.iterdir():
        if path.is_file():
            shutil.copyfile(path, copy / path.name)
    repaired = repair_tune_state(copy)
    return snapshot(copy), repaired


@pytest.mark.ray
@pytest.mark.slow
@pytest.mark.parametrize("rows_at_kill", MOMENTS.values(), ids=MOMENTS.keys())
def test_resume_after_sigkill(
    ray_local: object,
    tmp_path: Path,
    make_module: Callable[..., str],
    monkeypatch: pytest.MonkeyPatch,
    rows_at_kill: int,
) -> None:
    config = write_config(
        make_module,
        tmp_path,
        epochs=EPOCHS,
        callbacks=[{"name": "Pause", "args": {"seconds": 0.6}}],
        num_samples=TRIALS,
        max_concurrent_trials=2,
    )
    folder = tmp_path / "runs" / "exp"
    log = tmp_path / "first.log"
    with tracked() as started:
        driver = start_tune([str(config)], tmp_path, log)
        started.append(driver)
        wait_for(lambda: history_lines(folder) >= rows_at_kill, driver, log, 240, "the moment")
        kill_session(driver.pid)
        assert driver.wait(timeout=30) == -signal.SIGKILL
        assert session_processes(driver.pid) == []

    before = read_history(folder)
    state, repaired = state_to_resume(folder, tmp_path / "copy")
    assert state, "Tune saved no experiment state before the kill"
    assert not (folder / "results.csv").exists()
    finished = {tid for tid, t in state.items() if t["status"] == "TERMINATED"}
    last_value = {row["trial_id"]: row["val_loss"] for row in before}
    rows_before = collections.Counter(row["trial_id"] for row in before)

    # the resume runs in this process, on the shared local Ray (one Ray start less)
    monkeypatch.chdir(tmp_path)
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        returncode = main(["tune", "--resume", str(folder)])
    assert returncode == 0, out.getvalue()[-4000:]

    rows = {r["trial_id"]: r for r in read_results(folder)}
    assert len(rows) == TRIALS, rows
    assert {r["status"] for r in rows.values()} == {"TERMINATED"}, rows
    assert all(int(r["iterations"]) == EPOCHS for r in rows.values())

    after = read_history(folder)
    new_rows = after[len(before) :]
    assert after[: len(before)] == before, "history.jsonl was rewritten"
    for trial_id in finished:
        # kept its results, not run again
        assert not [r for r in new_rows if r["trial_id"] == trial_id], f"{trial_id} ran again"
        assert float(rows[trial_id]["val_loss"]) == last_value[trial_id]
        assert rows_before[trial_id] == EPOCHS
    resumed_from_checkpoint = []
    for trial_id in rows:
        if trial_id in finished:
            continue
        checkpoint = state.get(trial_id, {}).get("checkpoint_iteration") or 0
        # continues right after its last checkpoint (from scratch when it had none; with
        # nothing left to run when that checkpoint was its last epoch)
        again = [r["training_iteration"] for r in new_rows if r["trial_id"] == trial_id]
        assert again == list(range(checkpoint + 1, EPOCHS + 1)), (trial_id, checkpoint)
        if checkpoint:
            resumed_from_checkpoint.append(trial_id)
    print(
        f"killed at {len(before)} rows: finished {len(finished)}, "
        f"resumed from a checkpoint {len(resumed_from_checkpoint)}, state files cut: {repaired}"
    )
    if rows_at_kill > 1:
        assert finished or resumed_from_checkpoint, "the kill came before anything to keep"


# -- Tune's state files cut short by the kill -------------------------------------------------
# Tune stages its state atomically in the Ray session's folder, then copies it into the
# experiment folder with a plain copy: a kill during that copy leaves a file cut short, and
# Tune's restore then silently restarts the whole experiment. Seen in the test above.

STATE = "basic-variant-state-2026-01-01_00-00-00.json"


def cut_state(folder: Path) -> bytes:
    whole = pickle.dumps({"_counter": 3, "_finished": False, "payload": list(range(100))})
    folder.mkdir(parents=True)
    (folder / STATE).write_bytes(whole[: len(whole) // 2])
    (folder / "experiment_state-2026-01-01_00-00-00.json").write_text('{"trial_data": []}')
    return whole


def test_a_state_file_cut_by_the_kill_is_put_back_from_the_staged_copy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "runs" / "exp"
    whole = cut_state(folder)
    monkeypatch.setenv("RAY_TMPDIR", str(tmp_path / "raytmp"))
    staged = tmp_path / "raytmp" / "ray" / "session_1_2" / "artifacts" / "t0" / "exp"
    (staged / "driver_artifacts").mkdir(parents=True)
    (staged / "driver_artifacts" / STATE).write_bytes(whole)

    assert repair_tune_state(folder) == [STATE]
    assert (folder / STATE).read_bytes() == whole
    assert sorted(p.name for p in folder.iterdir()) == [
        STATE,
        "experiment_state-2026-01-01_00-00-00.json",
    ]
    assert repair_tune_state(folder) == []


def test_a_state_file_cut_by_the_kill_without_a_copy_refuses_the_resume(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "runs" / "exp"
    cut_state(folder)
    monkeypatch.setenv("RAY_TMPDIR", str(tmp_path / "raytmp"))
    with pytest.raises(ConfigError, match="is cut short"):
        repair_tune_state(folder)
