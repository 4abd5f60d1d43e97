"""One line for any exception that reaches the command: what failed, where, what to do.

A PipetuneError is bad input (exit 2) and already says all that. Anything else is a runtime
failure (exit 1): a file that cannot be written, memory or recursion exhausted, or a bug,
and the line says which, naming the file where the error knows it.
"""

from __future__ import annotations

import errno

EXIT_FAILURE = 1
EXIT_USAGE = 2

_OS_HINTS = {
    errno.ENOSPC: "free some space on that disk; files written before are intact",
    errno.EDQUOT: "free some of your disk quota; files written before are intact",
    errno.EACCES: "check the permissions of that path",
    errno.EPERM: "check the permissions of that path",
    errno.EROFS: "that file system is read-only; write somewhere else",
    errno.ENOENT: "check that the path exists",
    errno.EMFILE: "too many open files; raise `ulimit -n`",
}


def one_line(text: str) -> str:
    return " ".join(text.split())


def describe(exc: BaseException) -> str:
    """The user's line for ``exc`` (without the ``pipetune: error:`` prefix)."""
    if isinstance(exc, OSError):
        return _os_error(exc)
    if isinstance(exc, MemoryError):
        return (
            "out of memory (MemoryError); lower the batch size or the data limit, "
            "or run on a machine with more memory"
        )
    if isinstance(exc, RecursionError):
        return f"recursion too deep ({one_line(str(exc))}); {_DEBUG}"
    text = one_line(str(exc))
    return f"{type(exc).__name__}: {text}; {_DEBUG}" if text else f"{type(exc).__name__}; {_DEBUG}"


_DEBUG = "rerun with --debug for the traceback"


def _os_error(exc: OSError) -> str:
    reason = exc.strerror or one_line(str(exc)) or type(exc).__name__
    where = f" '{exc.filename}'" if exc.filename else ""
    if exc.filename2:
        where += f" -> '{exc.filename2}'"
    code = f"[Errno {exc.errno}] " if exc.errno else ""
    hint = _OS_HINTS.get(exc.errno or 0, _DEBUG)
    return f"{code}{reason}:{where} ({hint})" if where else f"{code}{reason} ({hint})"
