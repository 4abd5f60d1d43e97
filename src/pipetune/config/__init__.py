"""Config layer: YAML load, overrides, interpolation, instantiation.

It knows nothing of Ray or torch.
"""

from pipetune.config._instantiate import build, check, is_declaration, locate
from pipetune.config._overrides import apply_overrides
from pipetune.config._paths import has_path, iter_paths, suggest_paths
from pipetune.config._resolve import resolve
from pipetune.config._source import ConfigSource, load_config

__all__ = [
    "ConfigSource",
    "apply_overrides",
    "build",
    "check",
    "has_path",
    "is_declaration",
    "iter_paths",
    "load_config",
    "locate",
    "resolve",
    "suggest_paths",
]
