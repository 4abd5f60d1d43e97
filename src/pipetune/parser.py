"""The seed's Python API: ``ConfigParser(config, override_keys).parse_pipeline(...)``, and
itwinai's later ``ConfigParser(config).build_from_config(override_keys=..., ...)``."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, ListConfig, OmegaConf

from pipetune._seed import declared_seed, seed_everything
from pipetune.config import (
    ConfigSource,
    apply_overrides,
    build,
    check,
    has_path,
    is_declaration,
    load_config,
    resolve,
)
from pipetune.pipeline import Component, Pipeline

DEFAULT_PIPELINE_KEY = "training_pipeline"


def build_step(source: ConfigSource, resolved: Any, key_path: str, seed: int | None = None) -> Any:
    """Build one pipeline step under its seed: the one its ``config.seed`` declares, else
    ``seed`` (None: no seeding). torch, numpy and ``random`` are seeded just before the
    step and the objects in its arguments (the trainer's model) are built, so the same
    seed gives the same initial weights wherever and whenever the step is built."""
    declared = declared_seed(resolved)
    if declared is not None:
        seed = declared
    if seed is not None:
        seed_everything(seed)
    return build(source, resolved, key_path)


def add_import_paths(*folders: Path | str | None) -> None:
    """Put ``folders`` on ``sys.path`` (first) so user modules next to a config import."""
    for folder in folders:
        if folder is None:
            continue
        text = str(Path(folder).resolve())
        if text not in sys.path:
            sys.path.insert(0, text)


class ConfigParser:
    """Parse a YAML pipeline config, with ``override_keys`` applied before interpolation.

    ``override_keys`` maps dotted key paths (``"a.b.0.c"``) or top-level names
    (``"batch_size"``) to values. Every key must exist in the config: a new key would be
    silently ignored, so it is an error naming the closest existing paths.
    """

    def __init__(
        self,
        config: str | Path | Mapping[str, Any] | DictConfig,
        override_keys: Mapping[str, Any] | None = None,
    ) -> None:
        base = load_config(config)
        add_import_paths(os.getcwd(), base.folder)
        self.source: ConfigSource = apply_overrides(base, override_keys)

    @property
    def config(self) -> dict[str, Any]:
        """The whole config, overrides applied and interpolations resolved."""
        resolved = resolve(self.source)
        assert isinstance(resolved, dict)
        return resolved

    def parse_pipeline(
        self, pipeline_nested_key: str = DEFAULT_PIPELINE_KEY, verbose: bool = False
    ) -> Pipeline:
        """Build the pipeline declared at ``pipeline_nested_key``."""
        resolved = resolve(self.source, pipeline_nested_key)
        if verbose:
            print(f"Assembled pipeline '{pipeline_nested_key}':")
            print(OmegaConf.to_yaml(OmegaConf.create({pipeline_nested_key: resolved})))
        if not (is_declaration(resolved) or isinstance(resolved, list | dict)):
            raise self.source.error(
                "a pipeline must be declared with class_path/_target_ or be a list of steps",
                key_path=pipeline_nested_key,
            )
        built = self._build_pipeline(resolved, pipeline_nested_key)
        if isinstance(built, Component):
            if not isinstance(built, Pipeline):
                return Pipeline([built])
            return built
        return Pipeline(built)

    def _build_pipeline(self, resolved: Any, key_path: str) -> Any:
        """Build the steps one by one, in order, each under its own seed (``build_step``),
        then the pipeline around them. The whole tree is checked before anything is built."""
        check(self.source, resolved, key_path)
        steps: Any
        if isinstance(resolved, list | dict) and not is_declaration(resolved):
            steps, steps_path = resolved, key_path
        elif resolved.get("_recursive_") is False:
            return build(self.source, resolved, key_path)  # the pipeline builds its steps
        elif "class_path" in resolved:
            steps = (resolved.get("init_args") or {}).get("steps")
            steps_path = f"{key_path}.init_args.steps"
        else:
            steps, steps_path = resolved.get("steps"), f"{key_path}.steps"
        if isinstance(steps, list):
            built: Any = [
                build_step(self.source, step, f"{steps_path}.{i}") for i, step in enumerate(steps)
            ]
        elif isinstance(steps, dict):
            built = {k: build_step(self.source, v, f"{steps_path}.{k}") for k, v in steps.items()}
        else:
            return build(self.source, resolved, key_path)  # no steps: the pipeline says why
        if steps_path == key_path:
            return built
        if "class_path" in resolved:
            init_args = {**resolved["init_args"], "steps": built}
            return build(self.source, {**resolved, "init_args": init_args}, key_path)
        return build(self.source, {**resolved, "steps": built}, key_path)

    def build_from_config(
        self,
        pipeline_nested_key: str = DEFAULT_PIPELINE_KEY,
        override_keys: Mapping[str, Any] | None = None,
        verbose: bool = False,
    ) -> Pipeline:
        """itwinai's later spelling: overrides given here, on top of the constructor's."""
        if override_keys:
            self.source = apply_overrides(self.source, override_keys)
        return self.parse_pipeline(pipeline_nested_key=pipeline_nested_key, verbose=verbose)

    def parse_step(
        self,
        step_idx: int | str,
        pipeline_nested_key: str = DEFAULT_PIPELINE_KEY,
        verbose: bool = False,
    ) -> Any:
        """Build only step ``step_idx`` (an index, or a name when steps is a mapping)."""
        path = self.step_path(step_idx, pipeline_nested_key)
        resolved = resolve(self.source, path)
        if verbose:
            print(OmegaConf.to_yaml(OmegaConf.create({path: resolved})))
        return build_step(self.source, resolved, path)

    def step_path(
        self, step_idx: int | str, pipeline_nested_key: str = DEFAULT_PIPELINE_KEY
    ) -> str:
        """The key path of step ``step_idx`` in either declaration style (or a bare list)."""
        candidates = [f"{pipeline_nested_key}.init_args.steps", f"{pipeline_nested_key}.steps"]
        if isinstance(self.source.tree.get(pipeline_nested_key), ListConfig):
            candidates.append(pipeline_nested_key)
        for steps in candidates:
            if has_path(self.source.tree, steps):
                path = f"{steps}.{step_idx}"
                if not has_path(self.source.tree, path):
                    raise self.source.error(f"pipeline has no step {step_idx!r}", key_path=steps)
                return path
        raise self.source.error(
            "no 'steps' found under this pipeline", key_path=pipeline_nested_key
        )
