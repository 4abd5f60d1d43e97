"""A user module next to the corpus configs: its own classes may be built, its functions and
what it merely imports may not (tests/corpus/cases.yaml, the hostile_user_* cases)."""

import shutil
from shutil import copyfile

__all__ = ["copyfile", "shutil", "wipe"]


def wipe(path: str) -> None:
    """A function of the user's own: refused unless its module is listed."""
    with open(path, "w"):
        pass
