"""Ray's environment as pipetune needs it, for processes that import pipetune.

The defaults themselves (``RAY_TRAIN_V2_ENABLED=0`` and the rest) live in the top-level
module ``_pipetune_startup``, which ``pipetune.pth`` runs when Python starts, before any
``import ray``; importing pipetune applies them again for interpreters that skipped the
``.pth`` (``python -S``, a source tree on ``PYTHONPATH``). This module adds what needs more
than ``os``: token authentication towards a cluster address given after Ray was imported,
and a warning when ``ray.train`` was imported with Train V2 before the defaults applied.
"""

from __future__ import annotations

import contextlib
import os
import sys
import warnings

from _pipetune_startup import DEFAULTS
from _pipetune_startup import apply_defaults as apply_startup_defaults
from _pipetune_startup import enable_token_auth_for as _enable_token_auth_for

__all__ = [
    "DEFAULTS",
    "PipetuneWarning",
    "apply_defaults",
    "enable_token_auth_for",
    "refresh_auth_mode",
]


class PipetuneWarning(UserWarning):
    """Something pipetune cannot fix for you but you should know before it fails."""


def apply_defaults() -> None:
    enable_token_auth_for(os.environ.get("RAY_ADDRESS"))
    apply_startup_defaults()
    _warn_if_train_v2_imported()


def enable_token_auth_for(address: str | None) -> None:
    """Token mode towards ``address`` (see ``_pipetune_startup.enable_token_auth_for``), also
    in a process that has imported Ray already: Ray caches the mode, so refresh it the way
    Ray does itself when it turns token mode on."""
    if _enable_token_auth_for(address):
        refresh_auth_mode()


def refresh_auth_mode() -> None:
    """Make a process that has imported Ray read ``RAY_AUTH_MODE`` and its token from the
    environment again (Ray caches both; a process without Ray has nothing to refresh)."""
    raylet = sys.modules.get("ray._raylet")
    if raylet is None:
        return
    with contextlib.suppress(Exception):  # Ray's cached settings (private, hence guarded)
        raylet.Config.initialize("")
        raylet.AuthenticationTokenLoader.instance().reset_cache()


def _warn_if_train_v2_imported() -> None:
    """``ray.train`` imported before the defaults applied (no ``pipetune.pth``) keeps Train V2:
    the seed's ``ray.train.RunConfig(stop=...)`` and ``ray.train.report`` in trials raise."""
    if "ray.train.v2.api.config" not in sys.modules:
        return  # ray.train not imported yet, or imported with V1 (it loads V2's API only for V2)
    if os.environ.get("RAY_TRAIN_V2_ENABLED", "").strip().lower() in ("1", "true"):
        return  # the user asked for Train V2
    warnings.warn(
        "ray.train was imported before pipetune's Ray defaults applied, so it runs Ray Train "
        "V2 (ray.train.RunConfig(stop=...) and ray.train.report in Tune trials raise); "
        "pipetune.pth did not run in this interpreter: reinstall pipetune "
        "(pip install pipetune), or import pipetune before ray, or export "
        "RAY_TRAIN_V2_ENABLED=0",
        PipetuneWarning,
        stacklevel=2,
    )
