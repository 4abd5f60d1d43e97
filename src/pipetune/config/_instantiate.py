"""Build objects declared as ``class_path``/``init_args`` (the seed's syntax) or ``_target_``.

Hydra's ``instantiate`` does the building. Before it runs, every declaration is located and
its arguments are bound to the target's signature, so that a mistake is reported with the
YAML key path of the user's file rather than Hydra's rewritten tree.
"""

from __future__ import annotations

import inspect
import logging
import re
import typing
from collections.abc import Callable
from typing import Any

from hydra.errors import InstantiationException
from hydra.utils import get_object, instantiate
from pydantic import TypeAdapter, ValidationError

from pipetune.config._safety import refusal, target_refusal
from pipetune.config._source import ConfigSource
from pipetune.errors import ConfigError, PipetuneError

CLASS_PATH = "class_path"
INIT_ARGS = "init_args"
TARGET = "_target_"
_HYDRA_KEYS = {TARGET, "_args_", "_partial_", "_recursive_", "_convert_"}


def dotted(key: str) -> str:
    """``steps[2].lr`` (OmegaConf's and Hydra's spelling) → ``steps.2.lr``."""
    return re.sub(r"\[(\d+)\]", r".\1", key).lstrip(".")


def is_declaration(node: Any) -> bool:
    return isinstance(node, dict) and (CLASS_PATH in node or TARGET in node)


def build(source: ConfigSource, resolved: Any, key_path: str = "") -> Any:
    """Instantiate every declaration in ``resolved`` (a plain, resolved container)."""
    path_map: dict[str, str] = {}
    args_paths: dict[str, str] = {}
    hydra_tree = _to_hydra(source, resolved, key_path, "", path_map, args_paths)
    try:
        return instantiate(hydra_tree, _convert_="all")
    except InstantiationException as exc:
        cause = exc.__cause__
        match = re.search(r"full_key: (\S+)", str(exc))
        location = path_map.get(dotted(match.group(1)), key_path) if match else key_path
        if isinstance(cause, ConfigError) and cause.file is None:
            # A component refused its arguments: point at the argument in the user's file.
            if cause.key_path:
                location = f"{args_paths.get(location, location)}.{cause.key_path}"
            raise source.error(cause.message, key_path=location, hint=cause.hint) from cause
        if isinstance(cause, PipetuneError):
            raise source.error(str(cause), key_path=location) from cause
        what = f"{type(cause).__name__}: {cause}" if cause else str(exc).splitlines()[0]
        target = re.search(r"target '([^']+)'", str(exc))
        name = target.group(1) if target else "the object"
        raise source.error(f"building {name} failed: {what}", key_path=location) from cause


def check(source: ConfigSource, resolved: Any, key_path: str = "") -> None:
    """Every check ``build`` makes before calling anything, without building anything."""
    _to_hydra(source, resolved, key_path, "", {}, {})


def _to_hydra(
    source: ConfigSource,
    node: Any,
    path: str,
    hydra_path: str,
    path_map: dict[str, str],
    args_paths: dict[str, str],
) -> Any:
    """Rewrite ``class_path``/``init_args`` to ``_target_`` form, checking each declaration."""
    path_map[hydra_path] = path

    def child(p: str, k: object) -> str:
        return f"{p}.{k}" if p else str(k)

    if isinstance(node, list):
        for i in range(len(node)):
            # OmegaConf spells the full key of a list item without a separator ("steps0").
            path_map[f"{hydra_path}{i}"] = child(path, i)
        return [
            _to_hydra(source, item, child(path, i), child(hydra_path, i), path_map, args_paths)
            for i, item in enumerate(node)
        ]
    if not isinstance(node, dict):
        return node
    if not is_declaration(node):
        return {
            k: _to_hydra(source, v, child(path, k), child(hydra_path, k), path_map, args_paths)
            for k, v in node.items()
        }
    if CLASS_PATH in node:
        extra = set(node) - {CLASS_PATH, INIT_ARGS}
        if extra:
            raise source.error(
                f"unexpected key(s) {sorted(extra)} beside class_path",
                key_path=child(path, sorted(extra)[0]),
                hint="constructor arguments go under 'init_args:'",
            )
        target_name = node[CLASS_PATH]
        args = node.get(INIT_ARGS) or {}
        args_path = child(path, INIT_ARGS)
        if not isinstance(args, dict):
            raise source.error(
                f"init_args must be a mapping of argument names, got {type(args).__name__}",
                key_path=args_path,
            )
        reserved = sorted(set(args) & _HYDRA_KEYS)
        if reserved:
            # Merged into the Hydra node they would replace its target: never checked.
            raise source.error(
                f"init_args may not hold Hydra's key(s) {reserved}",
                key_path=child(args_path, reserved[0]),
                hint="declare a nested object as its own argument with class_path: or _target_:",
            )
    else:
        target_name = node[TARGET]
        args = {k: v for k, v in node.items() if k not in _HYDRA_KEYS}
        args_path = path
    args_paths[path] = args_path
    target = locate(source, target_name, child(path, CLASS_PATH if CLASS_PATH in node else TARGET))
    if not node.get("_partial_"):
        _check_signature(source, target, target_name, node.get("_args_", []), args, args_path)
    built = {
        k: _to_hydra(source, v, child(args_path, k), child(hydra_path, k), path_map, args_paths)
        for k, v in args.items()
    }
    hydra_node = {k: v for k, v in node.items() if k in _HYDRA_KEYS}
    if isinstance(node.get("_args_"), list):  # positional args may hold declarations too
        hydra_node["_args_"] = _to_hydra(
            source,
            node["_args_"],
            child(path, "_args_"),
            child(hydra_path, "_args_"),
            path_map,
            args_paths,
        )
    hydra_node[TARGET] = target_name
    return {**hydra_node, **built}


def locate(source: ConfigSource, name: Any, key_path: str) -> Callable[..., Any]:
    """Import the target ``name`` once the instantiation policy allows it (never call it);
    a refusal or an import error is a ConfigError at ``key_path`` of ``source``."""
    if not isinstance(name, str) or not name:
        raise source.error(f"class path must be a dotted name, got {name!r}", key_path=key_path)
    refused = refusal(name)
    if refused:
        raise source.error(refused, key_path=key_path)
    hydra_log = logging.getLogger("hydra.utils")
    was_disabled, hydra_log.disabled = hydra_log.disabled, True  # we report it ourselves
    try:
        target = get_object(name)
    except Exception as exc:
        root: BaseException = exc
        while root.__cause__ is not None or root.__context__ is not None:
            root = root.__cause__ or root.__context__  # type: ignore[assignment]
        reason = f"{type(root).__name__}: {root}"
        raise source.error(
            f"cannot import '{name}': {reason}",
            key_path=key_path,
            hint="is the module importable from the working directory or the config's folder?",
        ) from None
    finally:
        hydra_log.disabled = was_disabled
    if not callable(target):
        raise source.error(f"'{name}' is not a class or function", key_path=key_path)
    refused = target_refusal(name, target)  # imported, never called yet
    if refused:
        raise source.error(refused, key_path=key_path)
    return target


def _check_signature(
    source: ConfigSource,
    target: Callable[..., Any],
    name: str,
    args: list[Any],
    kwargs: dict[str, Any],
    key_path: str,
) -> None:
    try:
        signature = inspect.signature(target)
    except (TypeError, ValueError):
        return  # builtins without a signature: let the call itself decide
    try:
        signature.bind(*args, **kwargs)
    except TypeError as exc:
        accepted = [
            p.name
            for p in signature.parameters.values()
            if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        ]
        bad = re.search(r"argument '([^']+)'", str(exc))
        where = f"{key_path}.{bad.group(1)}" if bad and bad.group(1) in kwargs else key_path
        raise source.error(
            f"wrong arguments for {name}: {exc}",
            key_path=where,
            hint=f"{name} accepts: {', '.join(accepted) or 'no arguments'}",
        ) from None
    _check_types(source, target, name, kwargs, key_path)


def _check_types(
    source: ConfigSource,
    target: Callable[..., Any],
    name: str,
    kwargs: dict[str, Any],
    key_path: str,
) -> None:
    """Validate YAML scalars against the target's type hints (pydantic, lax mode)."""
    function = target.__init__ if inspect.isclass(target) else target
    try:
        hints = typing.get_type_hints(function)
    except Exception:
        return  # unresolvable annotations: the call itself will tell
    for key, value in kwargs.items():
        if key not in hints or is_declaration(value) or isinstance(value, dict | list):
            continue
        try:
            adapter: TypeAdapter[Any] = TypeAdapter(hints[key])
        except Exception:
            continue  # a type pydantic cannot describe (a torch module, say)
        try:
            adapter.validate_python(value)
        except ValidationError as exc:
            expected = getattr(hints[key], "__name__", str(hints[key]))
            reason = exc.errors()[0].get("msg", "invalid value")
            raise source.error(
                f"{name} expects {key}: {expected}, got {value!r} ({reason})",
                key_path=f"{key_path}.{key}",
            ) from None
