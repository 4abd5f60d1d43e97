"""What runs inside one trial: apply the sampled values, build the trainer step, train."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from omegaconf import OmegaConf

from pipetune._io import atomic_write_text
from pipetune._memory import prepare_trial_memory
from pipetune._seed import declared_seed, trial_seed
from pipetune._session import current_trial_id
from pipetune.config import ConfigSource, apply_overrides, resolve
from pipetune.parser import add_import_paths, build_step
from pipetune.torch import DDPStrategy, DivergedError, TorchTrainer
from pipetune.tune._conditions import active_values
from pipetune.tune._metrics import checked_reports
from pipetune.tune._reporter import TuneReporter


@dataclass(frozen=True)
class StoredUpstream:
    """The outputs of the steps before the trainer, in Ray's object store: each trial
    fetches its copy itself, once its process's memory is prepared (see :func:`run_trial`)."""

    ref: Any  # a ray.ObjectRef of the tuple of outputs

    def fetch(self) -> tuple[Any, ...]:
        import ray

        return tuple(ray.get(self.ref))


def run_trial(
    config: dict[str, Any],
    *,
    tree: dict[str, Any],
    file: str | None,
    trainer_path: str,
    upstream: StoredUpstream | tuple[Any, ...],
    import_paths: list[str],
    checkpoint_every: int,
    experiment_dir: str | None = None,
    metric: str | list[str] | None = None,
    ddp_workers: int = 1,
    working_dir: str | None = None,
) -> None:
    """Train one sampled configuration on the shared upstream outputs.

    ``tree`` is the unresolved config; ``upstream`` the outputs of the steps before the
    trainer, read from the Ray object store (never re-read or re-parsed here) after the
    memory is prepared: what is alive then is frozen for the process's later collections,
    and the trial's own copy of the data must not be.
    ``working_dir``: where ``pipetune tune`` ran; relative paths of the config (logger
    folders, data folders) resolve against it wherever it exists (shared file systems),
    whatever folder the Ray worker process started in.
    """
    # A reused actor still holds the previous trial's freed pages: give them back first,
    # and keep one step's working set from being returned and re-faulted every step.
    prepare_trial_memory()
    if isinstance(upstream, StoredUpstream):
        upstream = upstream.fetch()
    if working_dir and os.path.isdir(working_dir):
        os.chdir(working_dir)
    add_import_paths(*import_paths)
    config = active_values(config)  # an inactive conditional key keeps the config's value
    cpus = os.environ.get("OMP_NUM_THREADS")
    if cpus and cpus.isdigit():
        torch.set_num_threads(max(1, int(cpus)))
    source = apply_overrides(ConfigSource(OmegaConf.create(tree), file), config)
    trainer = build_trial_trainer(source, trainer_path)
    if ddp_workers > 1 and not isinstance(getattr(trainer, "strategy", None), DDPStrategy):
        trainer.strategy = DDPStrategy(workers=ddp_workers)
    add_reporter(trainer, checkpoint_every)
    args = upstream if isinstance(upstream, tuple) else (upstream,)
    try:
        with checked_reports(metric):  # a metric that is not a number fails the trial
            trainer.execute(*args)
    except DivergedError as exc:
        # A diverged trial ends cleanly: the bad value was never reported, so schedulers and
        # search algorithms never see it; the driver marks the trial "DIVERGED".
        if experiment_dir is not None:
            trial_id = current_trial_id() or os.environ.get("TUNE_TRIAL_ID", "x")
            atomic_write_text(Path(experiment_dir) / DIVERGED_DIR / f"{trial_id}.txt", str(exc))
        else:
            raise


DIVERGED_DIR = "diverged"


def add_reporter(trainer: Any, checkpoint_every: int) -> None:
    """Connect the trial's trainer to Tune: a :class:`TuneReporter` checkpointing every
    ``checkpoint_every`` epochs (the config's own reporter, if it has one, takes that
    setting). A trainer that is no TorchTrainer reports by itself (``ray.train.report``)."""
    reporters = [cb for cb in getattr(trainer, "callbacks", []) if isinstance(cb, TuneReporter)]
    for reporter in reporters:
        reporter.checkpoint_every = checkpoint_every
    if not reporters and isinstance(trainer, TorchTrainer):
        trainer.add_callback(TuneReporter(checkpoint_every=checkpoint_every))


def build_trial_trainer(source: ConfigSource, trainer_path: str) -> Any:
    """The trial's trainer step, built the way ``pipetune run`` builds it (``build_step``).

    A trainer whose config sets no seed trains under one drawn for this trial (from its
    id: the same on every attempt and every DDP worker), written into its ``config.seed``:
    the trainer reports it, results.csv records it and best_config.yaml pins it, so
    ``pipetune run best_config.yaml`` builds and trains exactly as this trial did.
    """
    resolved = resolve(source, trainer_path)
    drawn = None
    if declared_seed(resolved) is None:
        drawn = trial_seed(current_trial_id() or os.environ.get("TUNE_TRIAL_ID"))
    trainer = build_step(source, resolved, trainer_path, seed=drawn)
    config: Any = getattr(trainer, "config", None)
    if drawn is not None and getattr(config, "seed", False) is None:
        config.seed = drawn
    return trainer


TRAIN_LOOP_CONFIG = "train_loop_config"
_STATIC = "__pipetune__"


def _ddp_worker(config: dict[str, Any]) -> None:
    """One Ray Train worker of a DDP trial: the same trial code, on a shard of the data."""
    config = dict(config)
    static = config.pop(_STATIC)
    run_trial(config, **static)


def ddp_trainable(
    static: dict[str, Any], upstream: tuple[Any, ...], workers: int, resources: dict[str, float]
) -> Any:
    """A Ray Train TorchTrainer running each trial on ``workers`` DDP processes.

    Tune reserves the workers' resources per trial; the sampled values arrive in
    ``train_loop_config`` beside pipetune's static arguments.
    """
    import ray
    from ray.train import ScalingConfig
    from ray.train.torch import TorchTrainer as RayTorchTrainer

    per_worker = {"CPU": resources.get("cpu", 1)}
    if resources.get("gpu"):
        per_worker["GPU"] = resources["gpu"]
    static = {**static, "upstream": StoredUpstream(ray.put(upstream)), "ddp_workers": workers}
    return RayTorchTrainer(
        _ddp_worker,
        train_loop_config={_STATIC: static},
        scaling_config=ScalingConfig(
            num_workers=workers,
            use_gpu=bool(resources.get("gpu")),
            resources_per_worker=per_worker,
            trainer_resources={"CPU": 0},
        ),
    )
