"""run_trial: the memory is prepared (a reused actor's freed pages go back, start-up objects are
frozen) before the trial fetches its data and builds its trainer."""

from __future__ import annotations

from typing import Any

import pytest

from pipetune.tune import _trial


class _Stop(Exception):
    pass


def _run_until_build(
    monkeypatch: pytest.MonkeyPatch, calls: list[str], prepared: str, upstream: Any
) -> None:
    """run_trial with its memory preparation and trainer build recorded in ``calls``; it
    stops at the build."""
    monkeypatch.setattr(_trial, "prepare_trial_memory", lambda: calls.append(prepared))

    def build(*_args: Any) -> Any:
        calls.append("build")
        raise _Stop

    monkeypatch.setattr(_trial, "build_trial_trainer", build)
    with pytest.raises(_Stop):
        _trial.run_trial(
            {},
            tree={"trainer": {}},
            file=None,
            trainer_path="trainer",
            upstream=upstream,
            import_paths=[],
            checkpoint_every=0,
        )


def test_a_trial_releases_freed_memory_before_it_builds_its_trainer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[str] = []
    _run_until_build(monkeypatch, calls, "release", upstream=())
    assert calls == ["release", "build"]


def test_a_trial_fetches_its_data_after_its_memory_is_prepared(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """What is alive when the memory is prepared is frozen for the process's later
    collections: the trial's copy of the upstream outputs must come after."""
    calls: list[str] = []

    class Stored(_trial.StoredUpstream):
        def fetch(self) -> tuple[Any, ...]:
            calls.append("fetch")
            return ("data",)

    _run_until_build(monkeypatch, calls, "prepare", upstream=Stored(ref=None))
    assert calls == ["prepare", "fetch", "build"]
