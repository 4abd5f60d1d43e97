"""Quoting of user values for the two readers of a batch script: bash and sbatch."""

from __future__ import annotations

import re
import shlex

# sbatch reads an `#SBATCH` line with its own small parser: double quotes group, a
# backslash escapes the next character, and single quotes are literal characters. Values
# made only of these characters need no quoting for either reader.
_SBATCH_SAFE = re.compile(r"[A-Za-z0-9_@%+=:,./-]+")


def sh(value: str | int) -> str:
    """``value`` as one bash word that expands to exactly itself (``shlex.quote``)."""
    text = str(value)
    if "\x00" in text:
        raise ValueError("a shell value cannot hold a NUL character")
    return shlex.quote(text)


def sbatch(value: str | int) -> str:
    """``value`` for an ``#SBATCH`` line: bare when safe, else in double quotes for sbatch.

    The line is a comment to bash, so nothing in it can run; this keeps sbatch from
    splitting or truncating (at ``#``) an unusual value.
    """
    text = str(value)
    if "\n" in text or "\r" in text or "\x00" in text:
        raise ValueError("an #SBATCH value cannot span lines")
    if _SBATCH_SAFE.fullmatch(text):
        return text
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def sbatch_path(path: str) -> str:
    """A file name for ``--output``: ``%`` doubled so sbatch keeps it literal."""
    return path.replace("%", "%%")
