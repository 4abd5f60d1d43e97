"""Where this process runs: inside a Ray Tune trial (or a Ray Train worker) or not.

Both helpers answer without importing Ray: a process that never imported it runs no trial.
"""

from __future__ import annotations

import sys
from typing import Any


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
