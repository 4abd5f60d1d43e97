"""Apply ``override_keys`` to a config tree: only keys that exist may be overridden."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from pipetune.config._paths import has_path, suggest_paths
from pipetune.config._source import ConfigSource
from pipetune.errors import did_you_mean


def apply_overrides(source: ConfigSource, overrides: Mapping[str, Any] | None) -> ConfigSource:
    """A copy of ``source`` with each dotted key set to its value.

    A key that matches nothing is an error that names the closest existing paths: a new key
    would be silently ignored by the pipeline (the seed tutorial's learning-rate bug).
    """
    result = source.copy()
    for key, value in (overrides or {}).items():
        key = str(key)
        if not has_path(result.tree, key):
            hint = did_you_mean(suggest_paths(result.tree, key)) or (
                "use a dotted path such as 'pipeline.init_args.steps.2.init_args.epochs'"
            )
            raise source.error(
                f"override key '{key}' matches nothing in the config, so it would change nothing",
                hint=hint,
            )
        try:
            OmegaConf.update(result.tree, key, value, merge=False)
        except OmegaConfBaseException as exc:  # a malformed ${...} in the value, say
            message = str(getattr(exc, "msg", None) or exc).splitlines()[0]
            raise source.error(
                f"override {key}={value!r} is not a valid value: {message}",
                hint="write a reference as ${name}; escape a literal '${' as '\\${'",
            ) from None
    return result
