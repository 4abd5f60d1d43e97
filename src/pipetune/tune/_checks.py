"""Checks that run before any trial: effective overrides and satisfiable resources."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pipetune.config import ConfigSource, apply_overrides, has_path, resolve, suggest_paths
from pipetune.errors import ConfigError, did_you_mean
from pipetune.tune._conditions import context


def _two_samples(domain: Any) -> tuple[Any, Any] | None:
    """Two different values the search may give this key, or None when it has one value."""
    if isinstance(domain, dict) and "grid_search" in domain:
        values = list(domain["grid_search"])
    elif hasattr(domain, "categories"):
        values = list(domain.categories)
    elif hasattr(domain, "sample"):
        first = domain.sample()
        for _ in range(50):
            second = domain.sample()
            if second != first:
                return first, second
        return None
    else:
        return None
    distinct = [v for i, v in enumerate(values) if v not in values[:i]]
    return (distinct[0], distinct[1]) if len(distinct) > 1 else None


def check_effective_overrides(
    source: ConfigSource, pipeline_key: str, param_space: Mapping[str, Any]
) -> None:
    """Refuse a search key that changes nothing the pipeline receives.

    The config is resolved with two different samples of each key; when the pipeline's
    resolved config is identical, the key is dead (the seed tutorial's learning-rate bug).
    A conditional key is checked with its parents set so that its condition holds.
    """
    domains = getattr(param_space, "domains", param_space)
    conditions = getattr(param_space, "conditions", {})
    for key, domain in domains.items():
        if not has_path(source.tree, key):
            close = [p for p in suggest_paths(source.tree, key) if not p.startswith("tune.")]
            raise source.error(
                f"search key '{key}' is not a key of the config",
                key_path=f"tune.search_space.{key}",
                hint=did_you_mean(close)
                or "name a key the pipeline reads, e.g. a variable used as ${...}",
            )
        samples = _two_samples(domain)
        if samples is None:
            continue
        holding = context(conditions, key)
        first, second = (
            resolve(apply_overrides(source, {**holding, key: value}), pipeline_key)
            for value in samples
        )
        if first == second:
            where = (
                f"no '${{{key}}}' inside '{pipeline_key}' reads it"
                if "." not in key
                else f"'{key}' lies outside the pipeline '{pipeline_key}'"
            )
            raise source.error(
                f"search key '{key}' changes nothing the pipeline receives: {where}",
                key_path=f"tune.search_space.{key}",
                hint="search the key the trainer reads, e.g. the variable used as ${...}",
            )


def node_resources(nodes: list[dict[str, Any]]) -> list[dict[str, float]]:
    return [
        {k: float(v) for k, v in node.get("Resources", {}).items()}
        for node in nodes
        if node.get("Alive", True)
    ]


def check_resources(
    request: Mapping[str, float], workers: int, nodes: list[dict[str, float]]
) -> None:
    """Refuse a request no node can ever satisfy (trials would stay PENDING forever)."""
    cpu, gpu = request.get("cpu", 1), request.get("gpu", 0)
    if workers > 1 and 0 < gpu < 1:
        raise ConfigError(
            f"fractional GPUs ({gpu}) cannot be combined with DDP ({workers} workers)",
            key_path="tune.resources_per_trial",
            hint="use gpu: 1 per worker, or workers: 1",
        )
    total_cpu = sum(n.get("CPU", 0) for n in nodes)
    if workers > 1 and total_cpu < cpu * workers:
        raise ConfigError(
            f"a DDP trial needs {workers} workers x cpu={cpu:g} = {cpu * workers:g} CPUs, "
            f"the cluster has {total_cpu:g}; trials would stay PENDING forever",
            key_path="tune.resources_per_trial",
            hint="lower workers or cpu, or attach to a bigger cluster with --address",
        )
    fits = [n for n in nodes if n.get("CPU", 0) >= cpu and n.get("GPU", 0) >= gpu]
    if not fits:
        largest = max(nodes, key=lambda n: (n.get("GPU", 0), n.get("CPU", 0)), default={})
        raise ConfigError(
            f"no node can run a trial needing cpu={cpu:g}, gpu={gpu:g}: the largest node has "
            f"cpu={largest.get('CPU', 0):g}, gpu={largest.get('GPU', 0):g}; trials would stay "
            "PENDING forever",
            key_path="tune.resources_per_trial",
            hint="lower resources_per_trial or attach to a bigger cluster with --address",
        )


def check_trial_count(num_samples: int, grid_points: int, limit: int) -> None:
    """Refuse a search larger than ``tune.max_trials``: Tune would spend its time (and the
    driver its memory) creating trials that never run."""
    total = num_samples * grid_points
    if total > limit:
        raise ConfigError(
            f"the search has {total:,} trials ({grid_points:,} grid points × num_samples "
            f"{num_samples:,}), over tune.max_trials = {limit:,}",
            key_path="tune.search_space" if grid_points > 1 else "tune.num_samples",
            hint="search fewer values, or raise tune.max_trials if you mean it",
        )
