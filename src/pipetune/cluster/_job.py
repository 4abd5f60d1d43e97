"""What one Slurm job runs: the config, its experiment folder and the ``slurm`` settings."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipetune.cluster._settings import SlurmSettings
from pipetune.config import ConfigSource, load_config, resolve
from pipetune.errors import ConfigError

SCRIPT_NAME = "slurm_hpo.sh"


@dataclass(frozen=True)
class SlurmJob:
    """Everything the batch script needs, with every path absolute."""

    config: str
    workdir: str
    storage_path: str
    name: str
    settings: SlurmSettings
    setup_lines: tuple[str, ...] = ()
    venv: str | None = None

    @property
    def experiment_dir(self) -> str:
        return f"{self.storage_path.rstrip('/')}/{self.name}"

    @property
    def job_name(self) -> str:
        return self.settings.job_name or self.name

    @property
    def log_dir(self) -> str:
        """Where Slurm writes the job's output (``slurm-<jobid>.out``)."""
        return self.experiment_dir

    @property
    def default_script(self) -> Path:
        return Path(self.experiment_dir) / SCRIPT_NAME


def slurm_section(source: ConfigSource) -> dict[str, Any]:
    raw = resolve(source, "slurm") if "slurm" in source.tree else {}
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise source.error(f"'slurm' must be a mapping, got {type(raw).__name__}", "slurm")
    return dict(raw)


def merge(
    section: Mapping[str, Any], overrides: Mapping[str, Any]
) -> tuple[dict[str, Any], set[str]]:
    """The ``slurm:`` section with command-line values laid over it; return the set keys.

    A setup given on the command line replaces the config's setup of either kind.
    """
    merged = dict(section)
    given = {k for k, v in overrides.items() if v is not None}
    if given & {"setup", "setup_file"}:
        merged.pop("setup", None)
        merged.pop("setup_file", None)
    merged.update({k: overrides[k] for k in given})
    return merged, given


def _setup_lines(settings: SlurmSettings, cwd: Path) -> tuple[str, ...]:
    if not settings.setup_file:
        return tuple(settings.setup)
    path = (cwd / settings.setup_file).resolve()
    if not path.is_file():
        raise ConfigError(f"setup file '{path}' not found", key_path="slurm.setup_file")
    text = path.read_text(encoding="utf-8")
    if "\x00" in text or "\r" in text:
        raise ConfigError(f"setup file '{path}' holds NUL or CR characters")
    return tuple(text.rstrip("\n").splitlines())


def _venv(settings: SlurmSettings, cwd: Path) -> str | None:
    if not settings.venv:
        return None
    path = (cwd / os.path.expanduser(settings.venv)).resolve()
    if not (path / "bin" / "activate").is_file():
        raise ConfigError(
            f"'{path}' is not a virtual environment (no bin/activate)", key_path="slurm.venv"
        )
    return str(path)


def plan_job(
    config: str | Path,
    overrides: Mapping[str, Any] | None = None,
    flags: Mapping[str, str] | None = None,
    cwd: str | Path | None = None,
) -> SlurmJob:
    """Read ``config``'s ``tune:`` and ``slurm:`` sections; ``overrides`` win over the latter.

    ``flags`` names the command-line flag of each override, for error messages.
    """
    from pipetune.tune import load_settings  # the tune layer: only when planning

    where = Path(cwd or os.getcwd()).resolve()
    path = (where / config).resolve()
    source = load_config(path)
    merged, given = merge(slurm_section(source), dict(overrides or {}))
    names = {k: v for k, v in (flags or {}).items() if k in given}
    settings = SlurmSettings.parse(merged, source, names)
    tune = load_settings(source)
    return SlurmJob(
        config=str(path),
        workdir=str(where),
        storage_path=str((where / os.path.expanduser(tune.storage_path)).resolve()),
        name=tune.name or path.stem,
        settings=settings,
        setup_lines=_setup_lines(settings, where),
        venv=_venv(settings, where),
    )
