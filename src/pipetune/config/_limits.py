"""Limits on YAML input, so that a hostile or broken file is refused rather than hanging.

* size: a config file is read only up to ``PIPETUNE_MAX_CONFIG_BYTES`` (1 MiB by default);
* depth: nesting deeper than ``MAX_DEPTH`` levels is refused while composing (OmegaConf and
  Hydra recurse once or more per level and hit Python's recursion limit near 100);
* aliases: a document that expands to more than ``MAX_NODES`` nodes once every alias is
  followed is refused before anything is built from it ("billion laughs": nine levels of
  ten aliases grow a few hundred bytes into 10⁹ nodes). OmegaConf needs about 0.1 ms per
  node, so the cap also bounds loading time to seconds.
"""

from __future__ import annotations

import os
from typing import Any

import yaml

from pipetune.errors import ConfigError

MAX_BYTES_ENV = "PIPETUNE_MAX_CONFIG_BYTES"
DEFAULT_MAX_BYTES = 1024 * 1024
MAX_DEPTH = 50
MAX_NODES = 100_000


def max_config_bytes() -> int:
    raw = os.environ.get(MAX_BYTES_ENV, "").strip()
    if not raw:
        return DEFAULT_MAX_BYTES
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{MAX_BYTES_ENV} must be a whole number of bytes, got {raw!r}") from None
    if value < 1:
        raise ConfigError(f"{MAX_BYTES_ENV} must be at least 1, got {value}")
    return value


class _DepthLimitedLoader(yaml.SafeLoader):
    """SafeLoader whose composer refuses to nest deeper than MAX_DEPTH."""

    depth = 0
    where: str | None = None

    def compose_node(self, parent: Any, index: Any) -> Any:
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                mark = self.peek_event().start_mark
                raise ConfigError(
                    f"the YAML nests deeper than {MAX_DEPTH} levels",
                    file=self.where,
                    line=mark.line + 1,
                    hint="flatten the structure; a pipeline config needs a dozen levels at most",
                )
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


def compose(text: str, where: str | None = None) -> yaml.Node | None:
    """The YAML node graph of ``text``, refused when too deep or too large once expanded.

    Syntax errors propagate as ``yaml.YAMLError``; limits raise ConfigError naming ``where``.
    """
    loader = _DepthLimitedLoader(text)
    loader.where = where
    try:
        root = loader.get_single_node()
    finally:
        loader.dispose()
    if root is not None:
        _check_expansion(root, where)
    return root


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _check_expansion(root: yaml.Node, where: str | None) -> None:
    """Count the nodes of the document with every alias expanded, without expanding it."""
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        if id(node) in sizes:
            continue
        children = _children(node)
        if not children_done:
            open_nodes.add(id(node))
            stack.append((node, True))
            for child in children:
                if id(child) in open_nodes:
                    raise ConfigError(
                        "a YAML alias refers to a node that contains it (an endless structure)",
                        file=where,
                        line=child.start_mark.line + 1,
                        hint="an alias (*name) may only repeat a node defined before it",
                    )
                if id(child) not in sizes:
                    stack.append((child, False))
            continue
        open_nodes.discard(id(node))
        sizes[id(node)] = 1 + sum(sizes[id(c)] for c in children)
    total = sizes[id(root)]
    if total > MAX_NODES:
        raise ConfigError(
            f"the YAML expands to {total:,} nodes once its aliases are followed, "
            f"over the limit of {MAX_NODES:,}",
            file=where,
            hint="repeat fewer aliases (*name), or split the file",
        )
