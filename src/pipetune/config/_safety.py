"""Which dotted names a config may instantiate.

Always refused, even when allowed by a prefix: names that run commands, evaluate code or
delete files. With an allow-list (``--allow-module`` or ``PIPETUNE_ALLOWED_MODULES``,
comma-separated prefixes), every other target must start with an allowed prefix;
``pipetune`` is always allowed.
"""

from __future__ import annotations

import os

ALLOWED_ENV = "PIPETUNE_ALLOWED_MODULES"

_DANGEROUS_PREFIXES = (
    "os.system",
    "os.popen",
    "os.exec",
    "os.spawn",
    "os.fork",
    "os.kill",
    "os.remove",
    "os.unlink",
    "os.rmdir",
    "os.removedirs",
    "os.rename",
    "os.replace",
    "os.chmod",
    "os.chown",
    "subprocess",
    "shutil.rmtree",
    "shutil.move",
    "pty",
    "ctypes",
    "marshal",
    "pickle",
    "importlib",
    "runpy",
    "code.",
    "codeop",
    "socket",
    "builtins.eval",
    "builtins.exec",
    "builtins.compile",
    "builtins.__import__",
    "builtins.open",
    "builtins.getattr",
    "builtins.setattr",
    "eval",
    "exec",
    "compile",
    "__import__",
    "posix.system",
    "nt.system",
)


def allowed_prefixes() -> list[str]:
    raw = os.environ.get(ALLOWED_ENV, "")
    return [p.strip() for p in raw.split(",") if p.strip()]


def _matches(name: str, prefix: str) -> bool:
    prefix = prefix.rstrip(".")
    return name == prefix or name.startswith(prefix + ".") or name.startswith(prefix + "_")


def refusal(name: str) -> str | None:
    """Why ``name`` may not be instantiated, or None when it may."""
    for prefix in _DANGEROUS_PREFIXES:
        if name == prefix.rstrip(".") or name.startswith(prefix):
            return (
                f"'{name}' can run commands or code and is never instantiated from a config; "
                "wrap what you need in a component class of your own module"
            )
    allowed = allowed_prefixes()
    if allowed and not any(_matches(name, p) for p in [*allowed, "pipetune"]):
        return (
            f"'{name}' is outside the allowed modules ({', '.join(allowed)}); "
            f"add its module with --allow-module or {ALLOWED_ENV}"
        )
    return None
