"""The driver's output while trials run: lines per result and per trial (with the last and the
best value), the live table's "top N of M", the progress setting, retries (``max_failures``),
and the counts the live report is fed."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from pipetune.tune._callbacks import LiveTable, ProgressPrinter, progress_callbacks


def failed_trial(error_file: Path | None, checkpoint_iteration: int | None) -> SimpleNamespace:
    checkpoint = (
        None
        if checkpoint_iteration is None
        else SimpleNamespace(metrics={"training_iteration": checkpoint_iteration})
    )
    return SimpleNamespace(
        trial_id="abc_00001",
        latest_checkpoint_result=checkpoint,
        max_failures=2,
        num_failures=1,
        error_file=None if error_file is None else str(error_file),
    )


def test_a_retry_names_the_error_and_the_checkpoint(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    error_file = tmp_path / "error.txt"
    error_file.write_text(
        "Failure # 1 (occurred at 2026-11-27_23-59-50)\n"
        "Traceback (most recent call last):\n  ...\n"
        "ray.exceptions.ActorUnavailableError: The actor abc is unavailable\n\n"
    )
    ProgressPrinter("val_loss", 4).on_trial_recover(3, [], failed_trial(error_file, 2))
    assert capsys.readouterr().err == (
        "trial abc_00001 failed (ray.exceptions.ActorUnavailableError: The actor abc is "
        "unavailable); retry 1 of 2 from its checkpoint at iteration 2\n"
    )


def test_a_retry_without_checkpoint_or_error_file_starts_over(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    printer = ProgressPrinter("val_loss", 4)
    printer.on_trial_recover(3, [], failed_trial(tmp_path / "missing.txt", None))
    printer.on_trial_recover(3, [], failed_trial(None, None))
    lines = capsys.readouterr().err.splitlines()
    assert lines == ["trial abc_00001 failed (no error message); retry 1 of 2 from the start"] * 2
    assert printer.finished == 0  # a retry is not a finished trial


def trial(trial_id: str, status: str = "RUNNING", **last: object) -> SimpleNamespace:
    return SimpleNamespace(trial_id=trial_id, status=status, last_result=last)


def test_lines_name_the_result_the_trials_best_and_the_best_so_far(
    capsys: pytest.CaptureFixture[str],
) -> None:
    printer = ProgressPrinter("val_loss", 2, "min", per_result=True)
    a, b = trial("t_00000"), trial("t_00001")
    for who, iteration, value in [(a, 1, 0.5), (a, 2, 0.6), (b, 1, 0.4), (b, 2, float("nan"))]:
        printer.on_trial_result(0, [], who, {"training_iteration": iteration, "val_loss": value})
    printer.on_trial_complete(0, [], trial("t_00000", val_loss=0.6, training_iteration=2))
    lines = [line.split("] ", 1)[1] for line in capsys.readouterr().err.splitlines()]
    assert lines == [
        "trial t_00000 iter 1: val_loss 0.5 (trial best 0.5; best so far 0.5 by t_00000)",
        "trial t_00000 iter 2: val_loss 0.6 (trial best 0.5; best so far 0.5 by t_00000)",
        "trial t_00001 iter 1: val_loss 0.4 (trial best 0.4; best so far 0.4 by t_00001)",
        "trial t_00001 iter 2: val_loss nan (trial best 0.4; best so far 0.4 by t_00001)",
        "[1/2] trial t_00000 done: val_loss last 0.6, best 0.5 after 2 iteration(s)",
    ]


def test_each_line_starts_with_the_elapsed_time(capsys: pytest.CaptureFixture[str]) -> None:
    printer = ProgressPrinter("acc", 1, "max", per_result=True)
    printer._started -= 3725  # 1 h 2 min 5 s ago
    printer.on_trial_result(0, [], trial("t"), {"training_iteration": 1, "acc": 0.9})
    assert capsys.readouterr().err.startswith("[1:02:05] trial t iter 1: acc 0.9 ")


@pytest.mark.parametrize(
    ("progress", "kinds"),
    [
        ("lines", [ProgressPrinter]),
        ("table", [LiveTable]),
        ("quiet", []),
        ("auto", [ProgressPrinter]),
    ],
)
def test_progress_picks_the_output(progress: str, kinds: list[type]) -> None:
    chosen = progress_callbacks("val_loss", "min", 4, progress)  # stderr is no terminal here
    assert [type(c) for c in chosen] == kinds
    assert all(c.per_result for c in chosen if isinstance(c, ProgressPrinter))


def test_the_live_table_says_when_it_shows_only_the_top_rows() -> None:
    from rich.console import Console

    table = LiveTable("val_loss", "min", 14)
    for index in range(14):
        row = table.rows.setdefault(f"t_{index:05d}", {"status": "done"})
        row.update(iter=1, value=float(index), best=float(index))
    console = Console(width=100, record=True)
    console.print(table._render())
    text = console.export_text()
    assert "top 10 of 14" in text
    assert "val_loss last" in text and "t_00009" in text and "t_00010" not in text
    for index in range(4):
        del table.rows[f"t_{index + 10:05d}"]
    console = Console(width=100, record=True)
    console.print(table._render())
    assert "top" not in console.export_text()  # ten rows: nothing cut


def test_the_live_report_callback_counts_done_and_running_trials(tmp_path: Path) -> None:
    from pipetune.tune._live import LiveReportCallback, live_report_callbacks

    seen = []
    callback = LiveReportCallback(tmp_path, 5, every_s=1)
    callback._live = SimpleNamespace(
        update=lambda *a, **k: seen.append((a, k)),
        close=lambda: None,
        ready=lambda urgent: True,
        note_change=lambda urgent: None,
    )
    trials = [trial("a", "PENDING"), trial("b", "TERMINATED"), trial("c", "RUNNING")]
    callback.on_trial_start(0, trials, trials[0])  # Tune marks it RUNNING after the hook
    callback.on_trial_complete(0, trials, trials[2])  # ... and TERMINATED after this one
    assert [args for args, _ in seen] == [(1, 2, 5), (2, 1, 5)]
    assert [k["now"] for _, k in seen] == [False, True]
    assert seen[-1][1]["statuses"] == {"a": "RUNNING", "b": "TERMINATED", "c": "TERMINATED"}
    callback.on_trial_error(0, trials, trials[0])
    assert seen[-1][1]["statuses"]["a"] == "ERROR" and seen[-1][0] == (3, 0, 5)
    assert live_report_callbacks(tmp_path, 5, 0) == []


def test_the_live_report_callback_counts_once_per_render_not_per_hook(tmp_path: Path) -> None:
    """Counting reads every trial: hooks while the report is not ready only note a change;
    the counts are handed over at the first hook or step of Tune's loop once it is."""
    from ray.tune import Callback

    from pipetune.tune._live import LiveReportCallback

    assert "on_step_end" in vars(Callback)  # a hook Tune calls at every step of its loop
    seen: list[tuple] = []
    noted: list[bool] = []
    ready = [False]
    callback = LiveReportCallback(tmp_path, 4, every_s=1)
    callback._live = SimpleNamespace(
        update=lambda *a, **k: seen.append((a, k)),
        close=lambda: None,
        ready=lambda urgent: ready[0] and urgent,
        note_change=lambda urgent: noted.append(urgent),
    )
    trials = [trial(name, "RUNNING") for name in "abcd"]
    for _ in range(50):
        callback.on_trial_result(0, trials, trials[0], {})
    trials[1].status = "TERMINATED"
    callback.on_trial_complete(0, trials, trials[1])
    callback.on_step_end(1, trials)
    assert seen == []  # not ready: nothing counted, nothing handed over
    assert noted == [False] * 50 + [True]  # ... but the report knows a change is coming
    ready[0] = True  # ready for an urgent render only: a trial ended since the last counts
    callback.on_step_end(2, trials)
    assert [args for args, _ in seen] == [(1, 3, 4)] and seen[0][1]["now"] is True
    callback.on_step_end(3, trials)  # nothing changed since
    callback.on_trial_result(0, trials, trials[0], {})  # a result is not urgent
    assert len(seen) == 1


def test_the_report_imports_warm_up_once_every_trial_started_and_one_ended(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import pipetune.report
    from pipetune.tune._live import ReportImportWarmup

    calls: list[int] = []
    monkeypatch.setattr(pipetune.report, "import_in_background", lambda: calls.append(1))
    warmup = ReportImportWarmup(2)
    warmup.setup(total_num_samples=3)  # Tune's count wins
    trials = [trial(name, "RUNNING") for name in "abc"]
    warmup.on_trial_start(0, trials, trials[0])
    warmup.on_trial_start(0, trials, trials[1])
    warmup.on_trial_complete(0, trials, trials[0])  # a third trial is still to start
    assert calls == []
    warmup.on_trial_start(0, trials, trials[2])
    warmup.on_trial_error(0, trials, trials[1])  # every trial started, one slot is free
    assert calls == [1]


def test_importing_in_background_starts_one_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    from pipetune.report import _importance

    monkeypatch.setattr(_importance, "_warming", None)  # as in a fresh process
    _importance.import_in_background()
    first = _importance._warming
    _importance.import_in_background()
    assert first is not None and _importance._warming is first
    assert first.daemon and first.name == "pipetune-import-fanova"
    first.join(timeout=60)
    assert not first.is_alive()
