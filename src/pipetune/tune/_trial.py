"""What runs inside one trial: apply the sampled values, build the trainer step, train."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from pipetune._io import atomic_write_text
from pipetune.config import ConfigSource, apply_overrides, build, resolve
from pipetune.parser import add_import_paths
from pipetune.torch import DivergedError


def run_trial(
    config: dict[str, Any],
    *,
    tree: dict[str, Any],
    file: str | None,
    trainer_path: str,
    upstream: tuple[Any, ...],
    import_paths: list[str],
    checkpoint_every: int,
    experiment_dir: str | None = None,
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
    try:
        trainer.execute(*args)
    except DivergedError as exc:
        # A diverged trial ends cleanly: the bad value was never reported, so schedulers and
        # search algorithms never see it; the driver marks the trial "DIVERGED".
        if experiment_dir is not None:
            from ray import tune

            trial_id = tune.get_context().get_trial_id() or "unknown"
            atomic_write_text(Path(experiment_dir) / DIVERGED_DIR / f"{trial_id}.txt", str(exc))
        else:
            raise


DIVERGED_DIR = "diverged"
