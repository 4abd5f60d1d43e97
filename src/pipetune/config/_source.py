"""Load a YAML file or a dict into an OmegaConf tree that remembers where each key came from."""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from omegaconf import DictConfig, ListConfig, OmegaConf
from omegaconf.errors import GrammarParseError, OmegaConfBaseException

from pipetune.config._limits import MAX_BYTES_ENV, compose, max_config_bytes
from pipetune.errors import ConfigError


@dataclass
class ConfigSource:
    """An unresolved config tree, with the file it came from and the line of each key path."""

    tree: DictConfig
    file: str | None = None
    lines: dict[str, int] = field(default_factory=dict)

    @property
    def folder(self) -> Path | None:
        return Path(self.file).resolve().parent if self.file else None

    def error(
        self, message: str, key_path: str | None = None, hint: str | None = None
    ) -> ConfigError:
        """A ConfigError that names this source's file, the key path and its line."""
        line = self.line_of(key_path) if key_path else None
        return ConfigError(message, file=self.file, key_path=key_path, line=line, hint=hint)

    def line_of(self, key_path: str) -> int | None:
        """The line of ``key_path``, or of its closest ancestor that has one."""
        parts = key_path.split(".")
        while parts:
            line = self.lines.get(".".join(parts))
            if line is not None:
                return line
            parts.pop()
        return None

    def copy(self) -> ConfigSource:
        return ConfigSource(copy.deepcopy(self.tree), self.file, self.lines)


def load_config(config: str | Path | Mapping[str, Any] | DictConfig) -> ConfigSource:
    """Load ``config`` (a YAML path, a dict or a DictConfig) without resolving interpolations.

    The caller's dict is never mutated: the tree is a deep copy.
    """
    if isinstance(config, DictConfig):
        return ConfigSource(copy.deepcopy(config))
    if isinstance(config, Mapping):
        try:
            return ConfigSource(OmegaConf.create(copy.deepcopy(dict(config))))
        except OmegaConfBaseException as exc:
            raise ConfigError(f"cannot build a config from this dict: {exc}") from None
    return _load_file(Path(config))


def _load_file(path: Path) -> ConfigSource:
    name = str(path)
    if not path.is_file():
        if path.exists():
            raise ConfigError(
                "the config is not a regular file", file=name, hint="pass a .yaml file"
            )
        raise ConfigError(
            "config file not found", file=name, hint="check the path and the working directory"
        )
    text = _decode(_read_limited(path, name), name)
    try:
        root = compose(text, name)
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, name) from None
    if isinstance(root, yaml.ScalarNode):  # OmegaConf asserts on a bare scalar
        raise ConfigError(
            f"the top level must be a mapping of keys, got the value {root.value!r}",
            file=name,
            line=root.start_mark.line + 1,
            hint="put the pipeline under a key, e.g. 'training_pipeline:'",
        )
    lines = _line_map(root, name)
    try:
        tree = OmegaConf.create(text) if text.strip() else OmegaConf.create({})
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, name) from None
    except OmegaConfBaseException as exc:
        raise _omegaconf_error(exc, name, lines) from None
    if not isinstance(tree, DictConfig):
        kind = "list" if isinstance(tree, ListConfig) else type(tree).__name__
        raise ConfigError(
            f"the top level must be a mapping of keys, got a {kind}",
            file=name,
            line=1,
            hint="put the pipeline under a key, e.g. 'training_pipeline:'",
        )
    return ConfigSource(tree, name, lines)


def _omegaconf_error(exc: OmegaConfBaseException, file: str, lines: dict[str, int]) -> ConfigError:
    """OmegaConf refuses a value while loading (a malformed ``${...}``): locate it."""
    full_key = getattr(exc, "full_key", None)
    key = re.sub(r"\[(\d+)\]", r".\1", str(full_key)).lstrip(".") if full_key else None
    message = str(getattr(exc, "msg", None) or exc).splitlines()[0]
    if isinstance(exc, GrammarParseError):
        return ConfigError(
            f"malformed interpolation {getattr(exc, 'value', None)!r}: {message}",
            file=file,
            key_path=key,
            line=lines.get(key) if key else None,
            hint="write a reference as ${name} or ${a.b}; escape a literal '${' as '\\${'",
        )
    return ConfigError(
        f"invalid config: {message}", file=file, key_path=key, line=lines.get(key) if key else None
    )


def _yaml_error(exc: yaml.YAMLError, file: str) -> ConfigError:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    if "\\t" in problem or "tab" in problem:
        hint = "indent with spaces, YAML forbids tabs"
    elif "constructor for the tag" in problem:
        hint = "YAML is loaded safely: Python tags are not allowed, use class_path/_target_"
    else:
        hint = None
    return ConfigError(
        f"malformed YAML: {problem}",
        file=file,
        line=mark.line + 1 if mark is not None else None,
        hint=hint,
    )


def _read_limited(path: Path, name: str) -> bytes:
    """The file's bytes, refused past the size limit (read no further: /dev/zero never ends)."""
    limit = max_config_bytes()
    try:
        with path.open("rb") as handle:
            data = handle.read(limit + 1)
    except OSError as exc:
        raise ConfigError(f"cannot read the config: {exc.strerror}", file=name) from None
    if len(data) > limit:
        size = path.stat().st_size
        shown = f"{size / 2**20:.1f} MiB" if size >= 2**20 else f"{size:,} bytes"
        shown = shown if size > limit else f"more than {limit:,} bytes"  # /proc files say 0
        raise ConfigError(
            f"the config file is {shown}, over the limit of {limit:,} bytes",
            file=name,
            hint=f"a config is a few KiB; if this one is meant to be large, raise {MAX_BYTES_ENV}",
        )
    return data


def _decode(data: bytes, name: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"the config is not UTF-8 text: byte 0x{data[exc.start]:02x} at offset {exc.start}",
            file=name,
            line=data[: exc.start].count(b"\n") + 1,
            hint="save the file as UTF-8",
        ) from None


def _line_map(root: yaml.Node | None, file: str) -> dict[str, int]:
    """Map every key path of the YAML node graph to its 1-based line; refuse duplicate keys."""
    lines: dict[str, int] = {}

    def walk(node: yaml.Node, path: str) -> None:
        if isinstance(node, yaml.MappingNode):
            seen: set[str] = set()
            for key_node, value_node in node.value:
                key = str(key_node.value)
                child = f"{path}.{key}" if path else key
                if key in seen:
                    raise ConfigError(
                        f"duplicate key '{key}'",
                        file=file,
                        key_path=child,
                        line=key_node.start_mark.line + 1,
                        hint="each key may appear once per mapping; remove one of them",
                    )
                seen.add(key)
                lines[child] = key_node.start_mark.line + 1
                walk(value_node, child)
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                child = f"{path}.{index}" if path else str(index)
                lines[child] = item.start_mark.line + 1
                walk(item, child)

    if root is not None:
        walk(root, "")
    return lines
