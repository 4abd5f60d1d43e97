"""Before a resume: Ray Tune's state files in the experiment folder must be whole.

Tune writes its state atomically into a staging folder of the Ray session, then copies it
into the experiment folder with a plain (truncate and write) copy. A driver killed during
that copy leaves a state file cut short, and ``Tuner.restore`` then logs the failure and
silently restarts the whole experiment. So a cut file is put back from the killed session's
staging copy (left under Ray's temp folder) when an intact one is there, and the resume is
refused otherwise.
"""

from __future__ import annotations

import json
import os
import pickletools
import shutil
import tempfile
from pathlib import Path

from pipetune.errors import ConfigError

_JSON_STATE = ("experiment_state-*.json",)
_PICKLED_STATE = (
    "basic-variant-state-*.json",
    "search_gen_state-*.json",
    "searcher-state-*.pkl",
    "callback-states-*.pkl",
    "tuner.pkl",
)


def _whole(path: Path, pickled: bool) -> bool:
    """Whether ``path`` holds a complete JSON document or pickle (never unpickled here)."""
    try:
        data = path.read_bytes()
        if pickled:
            for _ in pickletools.genops(data):  # raises on a pickle cut short
                pass
        else:
            json.loads(data)
    except (OSError, ValueError):
        return False
    return bool(data)


def _ray_temp_dir() -> Path:
    try:
        from ray._common.utils import get_default_ray_temp_dir

        return Path(get_default_ray_temp_dir())
    except ImportError:  # pragma: no cover - another Ray layout
        return Path(os.environ.get("RAY_TMPDIR", tempfile.gettempdir())) / "ray"


def _staged_copy(folder: Path, name: str, pickled: bool) -> Path | None:
    """The newest intact copy of ``name`` in a Ray session's staging folder of this
    experiment (``session_*/artifacts/<time>/<experiment>/driver_artifacts``)."""
    pattern = f"session_*/artifacts/*/{folder.name}/driver_artifacts/{name}"
    copies = [p for p in _ray_temp_dir().glob(pattern) if _whole(p, pickled)]
    return max(copies, key=lambda p: p.stat().st_mtime) if copies else None


def repair_tune_state(folder: Path) -> list[str]:
    """Put back Tune state files cut short in ``folder``; return the names repaired.

    Raises ConfigError when a cut file has no intact copy left.
    """
    repaired = []
    for patterns, pickled in ((_JSON_STATE, False), (_PICKLED_STATE, True)):
        for pattern in patterns:
            for path in sorted(folder.glob(pattern)):
                if _whole(path, pickled):
                    continue
                copy = _staged_copy(folder, path.name, pickled)
                if copy is None:
                    raise ConfigError(
                        f"Ray Tune's state file '{path}' is cut short (the driver was killed "
                        "while Tune wrote it) and no intact copy was found",
                        hint="restore the file from a backup, or start the experiment anew",
                    )
                tmp = path.with_name(f".{path.name}.repair.tmp")
                shutil.copyfile(copy, tmp)
                os.replace(tmp, path)
                repaired.append(path.name)
    return repaired
