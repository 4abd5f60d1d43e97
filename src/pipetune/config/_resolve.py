"""Resolve ``${...}`` interpolations into plain Python containers, with located errors."""

from __future__ import annotations

import re
from typing import Any

from omegaconf import DictConfig, ListConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from pipetune.config._instantiate import dotted
from pipetune.config._paths import has_path, suggest_paths
from pipetune.config._source import ConfigSource
from pipetune.errors import did_you_mean


def resolve(source: ConfigSource, key_path: str | None = None) -> Any:
    """The resolved, plain value at ``key_path`` (the whole config when None)."""
    node: Any = source.tree
    if key_path:
        if not has_path(source.tree, key_path):
            raise source.error(
                f"key '{key_path}' does not exist in the config",
                hint=_missing_key_hint(source, key_path),
            )
        node = _raw_node(source.tree, key_path)
    try:
        if isinstance(node, DictConfig | ListConfig):
            return OmegaConf.to_container(node, resolve=True)
        return OmegaConf.select(source.tree, key_path or "", throw_on_missing=True)
    except OmegaConfBaseException as exc:
        raise _located(source, exc) from None
    except RecursionError:  # a chain of ${a} -> ${b} -> ... a thousand links long
        raise source.error(
            "interpolations nest too deeply to resolve",
            key_path=key_path,
            hint="shorten the chain of ${...} references",
        ) from None


def _raw_node(tree: DictConfig, key_path: str) -> Any:
    node: Any = tree
    for part in key_path.split("."):
        node = node._get_node(int(part) if isinstance(node, ListConfig) else part)
    return node


def _located(source: ConfigSource, exc: OmegaConfBaseException) -> Exception:
    key = dotted(str(getattr(exc, "full_key", None) or "")) or None
    message = str(getattr(exc, "msg", None) or exc).splitlines()[0]
    if "RecursionError" in message:
        hint = "a chain of ${...} references is too long to follow; shorten it"
    elif "Recursive" in message or "recursion" in message.lower():
        hint = "an interpolation refers back to itself; break the cycle"
    elif "not found" in message or "Interpolation key" in message:
        missing = re.search(r"Interpolation key '([^']+)' not found", message)
        name = missing.group(1) if missing else ""
        # A ${...} names a variable: suggest keys at its own depth (top-level ones, mostly).
        close = suggest_paths(source.tree, name) if name else []
        suggestions = [s for s in close if s.count(".") == name.count(".")]
        hint = did_you_mean(suggestions, "'${{{}}}'".format) or (
            "define the variable at the top level of the config or fix the ${...} reference"
        )
    else:
        hint = None
    return source.error(f"cannot resolve interpolation: {message}", key_path=key, hint=hint)


def _missing_key_hint(source: ConfigSource, key_path: str) -> str:
    hint = did_you_mean(suggest_paths(source.tree, key_path))
    if hint:
        return hint
    top = [str(k) for k in source.tree]
    if not top:
        return f"the config is empty; declare '{key_path}:' in it"
    return "its top-level keys are: " + ", ".join(top)
