"""run_trial on a reused actor: the previous trial's freed memory goes back before building."""

from __future__ import annotations

from typing import Any

import pytest

from pipetune.tune import _trial


class _Stop(Exception):
    pass


def test_a_trial_releases_freed_memory_before_it_builds_its_trainer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[str] = []
    monkeypatch.setattr(_trial, "prepare_trial_memory", lambda: calls.append("release"))

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
            upstream=(),
            import_paths=[],
            checkpoint_every=0,
        )
    assert calls == ["release", "build"]
