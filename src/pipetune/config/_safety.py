"""Which targets a config may build: decided before any target is called.

Two checks, both before Hydra calls anything:

* ``refusal(name)``, before the target is imported: the never-list (names that run commands
  or code, delete files, or act when imported) and, with an allow-list (``--allow-module``
  or ``PIPETUNE_ALLOWED_MODULES``, comma-separated prefixes), the prefixes.
* ``target_refusal(name, target)``, once the target is imported but not called: the
  never-list again on the object's real name (``mymodule.os.system`` is ``posix.system``),
  then the allow-list's prefixes on its defining module, or, without a list, its kind
  (``_kinds.py``).
"""

from __future__ import annotations

import os
from typing import Any

from pipetune.config._kinds import KINDS_TEXT, describe, kind_of

ALLOWED_ENV = "PIPETUNE_ALLOWED_MODULES"

# Whole modules (and everything under them).
_NEVER_MODULES = (
    # processes and commands
    "subprocess",
    "_posixsubprocess",
    "pty",
    "multiprocessing",
    "asyncio.subprocess",
    "signal",
    "webbrowser",
    # code from text, bytes or other files
    "ctypes",
    "marshal",
    "pickle",
    "_pickle",
    "shelve",
    "dill",
    "cloudpickle",
    "joblib",
    "importlib",
    "runpy",
    "code",
    "codeop",
    "pdb",
    "bdb",
    "timeit",
    "trace",
    "profile",
    "cProfile",
    "doctest",
    "hydra.utils",  # instantiate/call would build targets that were never checked
    "torch.hub",
    "torch.package",
    "torch.utils.cpp_extension",
    # the network
    "socket",
    "_socket",
    # modules that act when imported
    "antigravity",
    "this",
    "__hello__",
    "__phello__",
    "turtle",
    "tkinter",
)

# Single names, or families of names ("os.exec" covers os.execv, os.execlp, ...).
_OS_FAMILIES = (
    "system",
    "popen",
    "exec",
    "spawn",
    "posix_spawn",
    "fork",
    "kill",
    "remove",
    "unlink",
    "rmdir",
    "removedirs",
    "rename",
    "replace",
    "chmod",
    "chown",
    "lchown",
    "truncate",
)
_NEVER_FAMILIES = (
    *(f"{module}.{name}" for module in ("os", "posix", "nt") for name in _OS_FAMILIES),
    "shutil.rmtree",
    "shutil.move",
    "torch.load",
    "torch.jit.load",
    "numpy.load",
    "pandas.read_pickle",
    "yaml.load",
    "yaml.unsafe_load",
    "yaml.full_load",
)
_BUILTINS = ("eval", "exec", "compile", "__import__", "open", "getattr", "setattr", "delattr")
_NEVER_NAMES = (*_BUILTINS, *(f"builtins.{name}" for name in (*_BUILTINS, "breakpoint")))


def allowed_prefixes() -> list[str]:
    raw = os.environ.get(ALLOWED_ENV, "")
    return [p.strip() for p in raw.split(",") if p.strip()]


def _matches(name: str, prefix: str) -> bool:
    prefix = prefix.rstrip(".")
    return name == prefix or name.startswith(prefix + ".") or name.startswith(prefix + "_")


def _never(name: str) -> bool:
    return (
        name in _NEVER_NAMES
        or any(name == m or name.startswith(m + ".") for m in _NEVER_MODULES)
        or any(name.startswith(f) for f in _NEVER_FAMILIES)
    )


def _never_message(name: str, real: str | None = None) -> str:
    that = f" (that is '{real}')" if real and real != name else ""
    return (
        f"'{name}'{that} can run commands or code, or delete files, and is never "
        "instantiated from a config; wrap what you need in a component class of your own module"
    )


def _outside_message(name: str, allowed: list[str]) -> str:
    return (
        f"'{name}' is outside the allowed modules ({', '.join(allowed)}); "
        f"add its module with --allow-module or {ALLOWED_ENV}"
    )


def real_name(target: Any) -> str:
    """Where ``target`` is defined: ``posix.system`` for ``os.system``."""
    module = getattr(target, "__module__", None) or "?"
    return f"{module}.{getattr(target, '__qualname__', None) or getattr(target, '__name__', '?')}"


def refusal(name: str) -> str | None:
    """Why ``name`` may not even be imported, or None when it may."""
    if _never(name):
        return _never_message(name)
    allowed = allowed_prefixes()
    if allowed and not any(_matches(name, p) for p in [*allowed, "pipetune"]):
        return _outside_message(name, allowed)
    return None


def target_refusal(name: str, target: Any) -> str | None:
    """Why the imported ``target`` of ``name`` may not be called, or None when it may."""
    real = real_name(target)
    if _never(real):
        return _never_message(name, real)
    allowed = allowed_prefixes()
    module = getattr(target, "__module__", None) or ""
    listed = [p for p in allowed if p.rstrip(".") != "pipetune"]
    if any(_matches(name, p) for p in listed):
        # Listed explicitly: anything defined under a listed prefix, functions too; a name
        # that only re-exports something from elsewhere (mylab.shutil.copy) is not.
        if any(_matches(module, p) for p in [*listed, "pipetune"]):
            return None
        return (
            f"'{name}' is defined in '{module}', outside the allowed modules "
            f"({', '.join(allowed)}); add '{module}' with --allow-module or {ALLOWED_ENV}"
        )
    if kind_of(target) is None:
        return (
            f"'{name}' is {describe(target)}, and a config builds only {KINDS_TEXT} "
            f"(to build it, name its module with --allow-module or {ALLOWED_ENV}; "
            "then only the listed modules and pipetune's roles are built)"
        )
    return None
