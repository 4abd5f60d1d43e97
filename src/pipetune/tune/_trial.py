"""What runs inside one trial: apply the sampled values, build the trainer step, train."""

from __future__ import annotations

import os
from typing import Any

from omegaconf import OmegaConf

from pipetune.config import ConfigSource, apply_overrides, build, resolve
from pipetune.parser import add_import_paths


def run_trial(
    config: dict[str, Any],
    *,
    tree: dict[str, Any],
    file: str | None,
    trainer_path: str,
    upstream: tuple[Any, ...],
    import_paths: list[str],
    checkpoint_every: int,
) -> None:
    """Train one sampled configuration on the shared upstream outputs.

    ``tree`` is the unresolved config; ``upstream`` the outputs of the steps before the
    trainer, read from the Ray object store (never re-read or re-parsed here).
    """
    add_import_paths(*import_paths)
    cpus = os.environ.get("OMP_NUM_THREADS")
    if cpus and cpus.isdigit():
        import torch

        torch.set_num_threads(max(1, int(cpus)))
    source = apply_overrides(ConfigSource(OmegaConf.create(tree), file), config)
    trainer = build(source, resolve(source, trainer_path), trainer_path)
    for callback in getattr(trainer, "callbacks", []):
        if type(callback).__name__ == "TuneReporter":
            callback.checkpoint_every = checkpoint_every
    args = upstream if isinstance(upstream, tuple) else (upstream,)
    trainer.execute(*args)
