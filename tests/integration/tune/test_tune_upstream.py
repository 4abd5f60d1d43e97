"""The upstream outputs reach a trial as a reference it fetches itself (pipetune.tune._trial)."""

from __future__ import annotations

from typing import Any

import pytest

from pipetune.tune import _trial


@pytest.mark.ray
def test_tune_hands_the_stored_reference_to_the_trial_unfetched(ray_local: Any) -> None:
    """tune.with_parameters fetches its arguments before the trial runs: the reference
    inside StoredUpstream must reach the trial as it is, for the trial to fetch later."""
    import ray
    from ray import tune

    received: list[Any] = []

    def trial(config: dict[str, Any], upstream: Any) -> None:
        received.append(upstream)

    stored = _trial.StoredUpstream(ray.put(("a", 1)))
    tune.with_parameters(trial, upstream=stored)({})
    assert isinstance(received[0], _trial.StoredUpstream)
    assert received[0].fetch() == ("a", 1)
