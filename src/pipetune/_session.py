"""Where this process runs: inside a Ray Tune trial (or a Ray Train worker) or not.

The helpers answer without importing Ray: a process that never imported it runs no trial.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from pipetune.errors import PipetuneError


def ray_session() -> Any:
    """The active Ray Tune/Train session, or None."""
    if "ray" not in sys.modules:
        return None  # no Ray in this process, so no session
    try:
        from ray.train._internal.session import get_session
    except ImportError:
        return None
    return get_session()


def current_trial_id() -> str | None:
    """The id of the Tune trial this process works for (as in results.csv), or None."""
    session = ray_session()
    trial_info = getattr(session, "trial_info", None)
    trial_id = getattr(trial_info, "id", None)
    return str(trial_id) if trial_id else None


def train_v2_refusal(error: BaseException) -> PipetuneError | None:
    """pipetune's one line for Ray Train V2 refusing a seed-style ``ray.train.report`` (or
    another ``ray.train`` call) inside a Tune trial, or None for any other error.

    Ray raises a ``DeprecationWarning`` naming the call; the cause is this worker's
    environment, which pipetune cannot change once ``ray.train`` is imported.
    """
    text = str(error)
    if not (isinstance(error, DeprecationWarning) and "ray.train" in text and "Tune" in text):
        return None
    value = os.environ.get("RAY_TRAIN_V2_ENABLED", "unset")
    return PipetuneError(
        f"Ray Train V2 is on in this Ray worker (RAY_TRAIN_V2_ENABLED={value}), and it refuses "
        "ray.train calls inside a Ray Tune trial; set RAY_TRAIN_V2_ENABLED=0 (or leave it "
        "unset, pipetune's default) where the driver runs and where the `ray start` nodes "
        "were started, or report with ray.tune.report"
    )
