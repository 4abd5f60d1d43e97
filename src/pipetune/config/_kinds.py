"""The kinds of class a config may build without an allow-list.

A target is built only if it is a class and one of these: a subclass of a pipetune role
(components, loggers, trainer callbacks and strategies, the training configuration), a
torch module (losses included), dataset, optimizer or LR scheduler, a plain container, or
any class defined in the user's own modules. Functions, methods and every other class
(``io.FileIO``, ``pathlib.Path``, ``logging.FileHandler``, ``socket.socket``) are refused:
they may touch files, processes or the network.

The bases are named, not imported: the config layer knows nothing of torch. A class can
only derive from ``torch.nn.Module`` once ``torch.nn`` is imported, so a base whose module
is not in ``sys.modules`` matches nothing.
"""

from __future__ import annotations

import collections
import inspect
import site
import sys
import sysconfig
from pathlib import Path
from typing import Any

_BASES = {
    "pipetune role": (
        "pipetune.pipeline.Component",
        "pipetune.loggers.Logger",
        "pipetune.torch.Callback",
        "pipetune.torch.Strategy",
        "pipetune.torch.TrainingConfiguration",
    ),
    "torch class": (
        "torch.nn.Module",
        "torch.utils.data.Dataset",
        "torch.optim.Optimizer",
        "torch.optim.lr_scheduler.LRScheduler",
        "torch.optim.lr_scheduler.ReduceLROnPlateau",
    ),
}

# In-memory containers, matched exactly (not their subclasses).
_CONTAINERS: tuple[type, ...] = (
    dict,
    list,
    tuple,
    set,
    frozenset,
    collections.OrderedDict,
    collections.Counter,
    collections.deque,
)

KINDS_TEXT = (
    "classes of pipetune roles, torch modules, datasets, optimizers and LR schedulers, "
    "plain containers and classes of your own modules"
)


def _base(dotted: str) -> type | None:
    module, _, attr = dotted.rpartition(".")
    found = getattr(sys.modules.get(module), attr, None)
    return found if isinstance(found, type) else None


def _library_folders() -> list[Path]:
    """Folders of the Python installation: the standard library and site-packages."""
    paths = sysconfig.get_paths()
    folders = [paths[k] for k in ("stdlib", "platstdlib", "purelib", "platlib") if k in paths]
    folders += site.getsitepackages()
    if site.ENABLE_USER_SITE:
        folders.append(site.getusersitepackages())
    # Any site-packages on sys.path (a Debian dist-packages, a --system-site-packages venv).
    folders += [p for p in sys.path if {"site-packages", "dist-packages"} & set(Path(p).parts)]
    return [Path(f).resolve() for f in folders if f]


def is_own_module(module_name: str) -> bool:
    """Whether ``module_name`` is the user's code: imported from a file outside the Python
    installation (next to the config, in the working directory, on PYTHONPATH), and not
    pipetune (whose classes count by role)."""
    if not module_name or module_name.partition(".")[0] in {"pipetune", *sys.stdlib_module_names}:
        return False
    file = getattr(sys.modules.get(module_name), "__file__", None)
    if not file:
        return False  # built in, frozen or a namespace package
    path = Path(file).resolve()
    return not any(path.is_relative_to(folder) for folder in _library_folders())


def kind_of(target: Any) -> str | None:
    """The kind that lets ``target`` be built, or None."""
    if not inspect.isclass(target):
        return None
    if any(target is c for c in _CONTAINERS):
        return "plain container"
    for kind, names in _BASES.items():
        bases = tuple(b for b in map(_base, names) if b is not None)
        try:
            if bases and issubclass(target, bases):
                return kind
        except TypeError:  # a metaclass that refuses the check
            return None
    if is_own_module(getattr(target, "__module__", "")):
        return "class of your own module"
    return None


def describe(target: Any) -> str:
    """``a function``, ``a class of no allowed kind``... for an error message."""
    if inspect.isclass(target):
        return "a class of no allowed kind"
    if inspect.isfunction(target):
        return "a function"
    if inspect.isbuiltin(target):
        return "a built-in function"
    if inspect.isroutine(target):
        return "a method"
    return f"a {type(target).__name__} object, not a class"
