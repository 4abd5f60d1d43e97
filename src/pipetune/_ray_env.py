"""Environment defaults for Ray, set before anything imports ``ray.train``.

pipetune (and seed-style trainers that call ``ray.train.report``) use Ray Train's
session API, which Ray 2.5x+ "Train V2" turns into an error inside Tune trials and outside
any session. ``RAY_TRAIN_V2_ENABLED=0`` restores it; Ray copies the variable into every
trial process. A value the user set explicitly is kept.
"""

from __future__ import annotations

import os

DEFAULTS = {
    "RAY_TRAIN_V2_ENABLED": "0",
    "RAY_TRAIN_ENABLE_V2_MIGRATION_WARNINGS": "0",
    # Trials keep the user's working directory so relative paths work.
    "RAY_CHDIR_TO_TRIAL_DIR": "0",
    "MLFLOW_ALLOW_FILE_STORE": "true",
    # Ray's own console output engine: pipetune prints its own compact progress instead.
    "RAY_AIR_NEW_OUTPUT": "0",
    # Checkpoint-driven experiment snapshots are expected with per-epoch checkpoints.
    "TUNE_WARN_EXCESSIVE_EXPERIMENT_CHECKPOINT_SYNC_THRESHOLD_S": "0",
}


def apply_defaults() -> None:
    for key, value in DEFAULTS.items():
        os.environ.setdefault(key, value)
