"""Ray's environment defaults for pipetune, applied when Python starts.

``site-packages/pipetune.pth`` imports this module in every Python process of the
environment pipetune is installed in: a driver that imports ``ray`` before pipetune (the seed
tutorial's ``hpo.py``), a ``ray start`` node and the workers it spawns. Ray reads some of
these variables when ``ray.train`` is first imported, so setting them from ``import pipetune``
would be too late. A value already in the environment is kept, so a user's explicit
``RAY_TRAIN_V2_ENABLED=1`` wins. This module imports nothing but ``os``: it runs at every
interpreter start.
"""

import os

DEFAULTS = {
    # Ray 2.5x+ "Train V2" makes ``ray.train.report`` inside Tune trials and
    # ``ray.train.RunConfig(stop=...)`` raise; the seed's code uses both.
    "RAY_TRAIN_V2_ENABLED": "0",
    "RAY_TRAIN_ENABLE_V2_MIGRATION_WARNINGS": "0",
    # Trials keep the user's working directory so relative paths (``config.yaml``) work.
    "RAY_CHDIR_TO_TRIAL_DIR": "0",
    "MLFLOW_ALLOW_FILE_STORE": "true",
    # Ray's own console output engine: pipetune prints its own compact progress instead.
    "RAY_AIR_NEW_OUTPUT": "0",
    # Checkpoint-driven experiment snapshots are expected with per-epoch checkpoints.
    "TUNE_WARN_EXCESSIVE_EXPERIMENT_CHECKPOINT_SYNC_THRESHOLD_S": "0",
}


AUTH_MODE = "RAY_AUTH_MODE"


def apply_defaults() -> None:
    """Set each default that the environment does not set already."""
    for key, value in DEFAULTS.items():
        os.environ.setdefault(key, value)
    enable_token_auth_for(os.environ.get("RAY_ADDRESS"))


def enable_token_auth_for(address: str | None) -> bool:
    """Turn Ray's token mode on for a client of an explicit cluster ``address`` when this user
    has a token; return whether it did.

    Ray sends its token (``~/.ray/auth_token``) to a cluster it finds itself
    (``address="auto"`` with no ``RAY_ADDRESS``) but not to an address it is given, so a
    driver with ``RAY_ADDRESS`` set cannot attach to a ``ray start`` cluster that uses token
    authentication. A client in token mode still attaches to a cluster without
    authentication, so this is safe; an explicit ``RAY_AUTH_MODE`` is kept. Ray reads the
    mode when it is imported, hence here.
    """
    if not address or address in ("auto", "local") or AUTH_MODE in os.environ:
        return False
    has_token = any(os.environ.get(name) for name in ("RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH"))
    if not (has_token or os.path.isfile(os.path.expanduser("~/.ray/auth_token"))):
        return False
    os.environ[AUTH_MODE] = "token"
    return True


apply_defaults()
