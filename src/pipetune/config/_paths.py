"""Dotted key paths into a config tree: ``a.b.0.c`` (list indices allowed)."""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from typing import Any

from omegaconf import DictConfig, ListConfig


def iter_paths(node: Any, prefix: str = "") -> Iterator[str]:
    """Every key path of ``node``, parents before children, without resolving interpolations."""
    if isinstance(node, DictConfig):
        for key in node:
            path = f"{prefix}.{key!s}" if prefix else str(key)
            yield path
            yield from iter_paths(node._get_node(key), path)
    elif isinstance(node, ListConfig):
        for index in range(len(node)):
            path = f"{prefix}.{index}" if prefix else str(index)
            yield path
            yield from iter_paths(node._get_node(index), path)


def has_path(tree: DictConfig, path: str) -> bool:
    """Whether ``path`` names an existing key (interpolations are not followed)."""
    node: Any = tree
    for part in path.split("."):
        if isinstance(node, DictConfig):
            if part not in node:
                return False
            node = node._get_node(part)
        elif isinstance(node, ListConfig):
            if not part.lstrip("-").isdigit() or not -len(node) <= int(part) < len(node):
                return False
            node = node._get_node(int(part))
        else:
            return False
    return True


# Names that mean the same hyperparameter in different codebases (the seed's bug was
# overriding `optim_lr` while the YAML read `${learning_rate}`).
_ALIASES = [
    {"lr", "optim_lr", "learning_rate", "learningrate"},
    {"bs", "batch_size", "batchsize"},
    {"epochs", "num_epochs", "max_epochs", "n_epochs"},
    {"wd", "weight_decay"},
]


def _aliases(leaf: str) -> set[str]:
    return next((group - {leaf} for group in _ALIASES if leaf.lower() in group), set())


def suggest_paths(tree: DictConfig, path: str, limit: int = 3) -> list[str]:
    """Existing paths close to ``path``: same last key first, then similar spellings."""
    paths = [p for p in iter_paths(tree)]
    leaf = path.rsplit(".", 1)[-1]
    same_leaf = [p for p in paths if p.rsplit(".", 1)[-1] == leaf and p != path]
    aliases = _aliases(leaf)
    same_leaf += [p for p in paths if p.rsplit(".", 1)[-1].lower() in aliases]
    leaves = {p.rsplit(".", 1)[-1]: p for p in paths}
    similar_leaf = [leaves[k] for k in difflib.get_close_matches(leaf, list(leaves), n=limit)]
    # A whole path is compared with paths as deep as it: 'trainig_pipeline' should suggest
    # 'training_pipeline', not 'training_pipeline.init_args'.
    depth = path.count(".")
    same_depth = [p for p in paths if p.count(".") == depth]
    similar_path = difflib.get_close_matches(path, same_depth, n=limit)
    ordered: list[str] = []
    # Similar last keys elsewhere only when no path at the same depth is close.
    for candidate in [*same_leaf, *(similar_path or similar_leaf)]:
        if candidate not in ordered:
            ordered.append(candidate)
    return ordered[:limit]
