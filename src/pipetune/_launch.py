"""Launchers: what runs a fit on several processes (a strategy with ``workers`` > 1).

The trainer looks its launcher up here by the strategy's name and imports none itself: the
integration that starts processes registers one. ``import pipetune`` registers Ray Train's
for ``ddp`` as ``"pipetune.tune._ddp:fit_with_ray_train"``, imported on first use, so a
one-process fit never imports Ray.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from pipetune.errors import ConfigError

#: ``(trainer, train_dataset, validation_dataset, test_dataset) -> final metrics``; the
#: launcher leaves the trained weights in ``trainer.model``.
Launcher = Callable[..., dict[str, float]]

_LAUNCHERS: dict[str, Launcher | str] = {}


def register_launcher(strategy: str, launcher: Launcher | str) -> None:
    """Run fits of the strategy named ``strategy`` with several workers through ``launcher``.

    ``launcher`` is a callable ``(trainer, train, validation, test) -> metrics`` that leaves
    the final weights in ``trainer.model``, or ``"module:function"``, imported on first use.
    """
    _LAUNCHERS[strategy.lower()] = launcher


def launcher_for(strategy: str, workers: int) -> Launcher:
    """The launcher registered for ``strategy``; a one-line error when there is none."""
    launcher = _LAUNCHERS.get(strategy.lower())
    if launcher is None:
        raise ConfigError(
            f"strategy {strategy!r} with {workers} workers has no launcher "
            "(nothing registered to start its processes)",
            key_path="strategy",
            hint="use strategy: ddp (DDP through Ray Train), or register one with "
            "pipetune.torch.register_launcher",
        )
    if isinstance(launcher, str):
        module, _, name = launcher.partition(":")
        launcher = getattr(importlib.import_module(module), name)
        _LAUNCHERS[strategy.lower()] = launcher
    return launcher
