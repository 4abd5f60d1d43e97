"""Seeds: a trainer step is built, and trains, under the seed of its ``config``.

The model of a trainer step is an argument of the step, so it is built when the step is
built, long before ``fit()``. Seeding in ``fit()`` alone leaves the initial weights to
whatever the random state was at build time. So whoever builds a step (``pipetune run``,
the Python API, a Tune trial, each DDP worker of a trial) first seeds torch, numpy and
``random`` with the step's declared seed (``config.seed`` in its arguments), then builds it;
``fit()`` seeds again before the data order and dropout draw anything. The same seed and
the same resolved step therefore give the same weights and the same metrics, whatever ran
before the step was built or executed.

This module imports neither torch nor Ray at import time.
"""

from __future__ import annotations

import hashlib
import random
import secrets
from collections.abc import Mapping
from typing import Any, TypeGuard

#: The argument of a trainer step that holds its training settings, and the seed's key in it.
CONFIG_ARG = "config"
SEED_KEY = "seed"
#: The key of the trainer's seed in every report to Tune, and the column of results.csv.
SEED_RESULT = "seed"

#: Seeds are drawn from [0, SEED_LIMIT): valid for torch, numpy and ``random`` alike.
SEED_LIMIT = 2**31


def seed_everything(seed: int) -> None:
    """Seed python's ``random``, numpy's global generator and torch (every device)."""
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)  # CPU and every CUDA device


def _arguments(node: Mapping[str, Any]) -> Mapping[str, Any]:
    """The arguments of a declaration (``class_path``/``init_args`` or ``_target_`` form)."""
    if "class_path" in node:
        args = node.get("init_args")
        return args if isinstance(args, Mapping) else {}
    return node


def _is_declaration(node: Any) -> TypeGuard[Mapping[str, Any]]:
    return isinstance(node, Mapping) and ("class_path" in node or "_target_" in node)


def declared_seed(node: Any) -> int | None:
    """The seed a resolved step declaration sets in its ``config`` (None when it sets none).

    ``config`` may be a mapping of settings or itself a declaration (a TrainingConfiguration
    subclass with ``init_args``).
    """
    if not _is_declaration(node):
        return None
    config = _arguments(node).get(CONFIG_ARG)
    if _is_declaration(config):
        config = _arguments(config)
    if not isinstance(config, Mapping):
        return None
    seed = config.get(SEED_KEY)
    if isinstance(seed, bool) or not isinstance(seed, int):
        return None
    return seed


def seed_key_path(node: Any, key_path: str) -> str | None:
    """Where the seed of the step declared by ``node`` at ``key_path`` goes in the config
    tree (``<step>.init_args.config.seed``); None when ``node`` declares no object."""
    if not _is_declaration(node):
        return None
    prefix = f"{key_path}.init_args" if "class_path" in node else key_path
    config = _arguments(node).get(CONFIG_ARG)
    if _is_declaration(config):
        inner = "init_args." if "class_path" in config else ""
        return f"{prefix}.{CONFIG_ARG}.{inner}{SEED_KEY}"
    return f"{prefix}.{CONFIG_ARG}.{SEED_KEY}"


def trial_seed(trial_id: str | None) -> int:
    """The seed of a trial whose config sets none: derived from its id, so every attempt
    of the trial (retries, resume) and every DDP worker of it draws the same one."""
    if not trial_id:
        return secrets.randbelow(SEED_LIMIT)
    digest = hashlib.sha256(trial_id.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % SEED_LIMIT


def pin_seed(tree: Any, step_path: str, seed: int) -> bool:
    """Write ``seed`` into the config of the step at ``step_path`` of the unresolved config
    ``tree`` (an OmegaConf DictConfig), unless the step already resolves to that seed.

    An interpolation on the way (``config: ${train_config}``) is replaced by its resolved
    value first, so pinning the seed keeps every other setting. Returns whether it wrote.
    """
    from omegaconf import DictConfig, ListConfig, OmegaConf

    step = OmegaConf.select(tree, step_path)
    resolved = OmegaConf.to_container(step, resolve=True) if step is not None else None
    if declared_seed(resolved) == seed:
        return False
    path = seed_key_path(resolved, step_path)
    if path is None:
        return False
    parts = path.split(".")
    node: Any = tree
    for part in parts[:-1]:
        key: Any = int(part) if isinstance(node, ListConfig) else part
        if not isinstance(node, DictConfig | ListConfig):
            return False
        if isinstance(node, DictConfig) and key not in node:
            break  # OmegaConf.update creates the rest
        if OmegaConf.is_interpolation(node, key):
            node[key] = OmegaConf.to_container(node[key], resolve=True)
        node = node[key]
    OmegaConf.update(tree, path, seed, merge=True)
    return True
