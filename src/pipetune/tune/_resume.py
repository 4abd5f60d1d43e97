"""``pipetune tune --resume DIR``: the Experiment rebuilt from what its folder saved."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from pipetune.config import load_config
from pipetune.errors import ConfigError
from pipetune.experiment import CONFIG_COPY, META_FILE
from pipetune.parser import add_import_paths
from pipetune.tune._runner import Experiment


def _read_meta(path: Path) -> dict[str, Any]:
    """``pipetune_meta.json``, refused in one line when cut short or not pipetune's."""
    damaged = "the experiment folder is damaged; start a new experiment with --name"
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"not UTF-8 text (byte {exc.start})", file=str(path), hint=damaged
        ) from None
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"not valid JSON: {exc.msg}", file=str(path), line=exc.lineno, hint=damaged
        ) from None
    paths = meta.get("import_paths", []) if isinstance(meta, dict) else None
    if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
        raise ConfigError(
            "not pipetune's metadata (a mapping with a list of import_paths)",
            file=str(path),
            hint=damaged,
        )
    return meta


def resume_experiment(folder: str | Path) -> Experiment:
    """An Experiment rebuilt from the copy of its config saved in ``folder``."""
    folder = Path(folder).resolve()
    meta_path = folder / META_FILE
    if not folder.is_dir():
        raise ConfigError(
            f"experiment folder '{folder}' does not exist",
            hint="pass the folder that `pipetune tune` printed, e.g. runs/<name>",
        )
    if not meta_path.exists() or not (folder / CONFIG_COPY).exists():
        raise ConfigError(
            f"'{folder}' is not a pipetune experiment folder (no {META_FILE})",
            hint="pass the folder that `pipetune tune` printed, e.g. runs/<name>",
        )
    meta = _read_meta(meta_path)
    add_import_paths(*meta.get("import_paths", []))
    source = load_config(folder / CONFIG_COPY)
    experiment = Experiment(
        OmegaConf.to_container(source.tree, resolve=False),  # type: ignore[arg-type]
        tune_overrides={"name": folder.name, "storage_path": str(folder.parent)},
    )
    experiment.source.file = str(folder / CONFIG_COPY)
    experiment.import_paths = meta.get("import_paths", experiment.import_paths)
    experiment.path = folder
    return experiment
