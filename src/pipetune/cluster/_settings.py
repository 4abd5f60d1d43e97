"""The ``slurm:`` section of a config (and the ``pipetune slurm`` flags), as a typed model."""

from __future__ import annotations

import re
from typing import Any

from omegaconf import OmegaConf
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from pipetune._validation import invalid
from pipetune.config import ConfigSource
from pipetune.errors import ConfigError

_TIME = re.compile(r"(?:(?P<days>\d+)-)?(?P<hours>\d+):(?P<minutes>\d{2}):(?P<seconds>\d{2})")
# Characters that would end a line of the script (or that bash cannot hold) are refused in
# every value; setup commands may span lines and use tabs.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_SETUP_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
# Unix socket paths are limited to 107 bytes; Ray adds ~60 characters under its temp dir.
MAX_TEMP_DIR = 48


def time_limit_seconds(text: str) -> int:
    """``[D-]HH:MM:SS`` → seconds; ValueError when malformed."""
    match = _TIME.fullmatch(text)
    if match is None:
        raise ValueError(f"time must look like HH:MM:SS or D-HH:MM:SS, got {text!r}")
    days, hours = int(match["days"] or 0), int(match["hours"])
    minutes, seconds = int(match["minutes"]), int(match["seconds"])
    if minutes > 59 or seconds > 59 or (match["days"] is not None and hours > 23):
        raise ValueError(f"time {text!r} has a field out of range")
    total = ((days * 24 + hours) * 60 + minutes) * 60 + seconds
    if total <= 0:
        raise ValueError("time must be longer than 0")
    return total


class SlurmSettings(BaseModel):
    """Every key of the ``slurm:`` section; ``pipetune slurm`` flags override them."""

    model_config = ConfigDict(extra="forbid")

    nodes: int = Field(1, ge=1, strict=True, description="nodes of the job (one Ray node each)")
    gpus_per_node: int = Field(0, ge=0, strict=True, description="GPUs per node")
    cpus_per_task: int = Field(1, ge=1, strict=True, description="CPUs per node for Ray")
    time: str = Field("01:00:00", description="time limit, HH:MM:SS or D-HH:MM:SS")
    partition: str | None = Field(None, description="Slurm partition")
    account: str | None = Field(None, description="Slurm account")
    job_name: str | None = Field(None, description="job name (default: the experiment name)")
    setup: list[str] = Field(
        default_factory=list, description="shell lines run first (a string or a list)"
    )
    setup_file: str | None = Field(None, description="a file whose lines are the setup")
    venv: str | None = Field(None, description="virtual environment to activate")
    requeue: bool = Field(False, description="stop gracefully and requeue before the limit")
    requeue_grace_s: int = Field(
        120, ge=30, strict=True, description="seconds before the limit that Slurm warns"
    )
    ray_temp_dir: str | None = Field(
        None, description="Ray's temp dir on every node (default /tmp/pipetune-ray-JOBID)"
    )
    startup_timeout_s: int = Field(
        180, ge=10, strict=True, description="seconds allowed for the Ray head and the nodes"
    )
    sbatch_options: list[str] = Field(
        default_factory=list, description="more #SBATCH options, e.g. --mem=32G"
    )

    @field_validator("setup", mode="before")
    @classmethod
    def _setup_lines(cls, value: Any) -> Any:
        if value is None:
            return []
        if isinstance(value, str):
            return [value]
        return value

    @field_validator("setup")
    @classmethod
    def _setup_text(cls, value: list[str]) -> list[str]:
        for line in value:
            if _SETUP_CONTROL.search(line):
                raise ValueError("setup lines may not hold control characters")
        return value

    @field_validator("time")
    @classmethod
    def _time(cls, value: str) -> str:
        time_limit_seconds(value)
        return value

    @field_validator("partition", "account", "job_name", "venv", "setup_file", "ray_temp_dir")
    @classmethod
    def _one_line(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.strip():
            raise ValueError("must not be empty")
        if _CONTROL.search(value):
            raise ValueError("must not hold control characters (newlines, tabs, ...)")
        return value

    @field_validator("ray_temp_dir")
    @classmethod
    def _temp_dir(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.startswith("/"):
            raise ValueError("ray_temp_dir must be an absolute path")
        if len(value) > MAX_TEMP_DIR:
            raise ValueError(
                f"ray_temp_dir must be at most {MAX_TEMP_DIR} characters: Ray's Unix socket "
                "paths under it are limited to 107"
            )
        return value

    @field_validator("sbatch_options")
    @classmethod
    def _options(cls, value: list[str]) -> list[str]:
        for option in value:
            if not option.startswith("--") or len(option) < 3:
                raise ValueError(f"sbatch options start with '--', got {option!r}")
            if _CONTROL.search(option):
                raise ValueError("sbatch options must not hold control characters")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> SlurmSettings:
        if self.setup and self.setup_file:
            raise ValueError("give setup or setup_file, not both")
        if self.requeue and time_limit_seconds(self.time) <= self.requeue_grace_s + 60:
            raise ValueError(
                f"with requeue, time ({self.time}) must exceed requeue_grace_s "
                f"({self.requeue_grace_s} s) by more than a minute"
            )
        return self

    @classmethod
    def parse(
        cls,
        raw: Any,
        source: ConfigSource | None = None,
        flags: dict[str, str] | None = None,
    ) -> SlurmSettings:
        """Validate the merged settings; ``flags`` maps keys set on the command line to flags.

        An error names the flag when the value came from the command line, otherwise the
        config file, the ``slurm.<key>`` path and its line.
        """
        source = source or ConfigSource(OmegaConf.create({}))
        if raw is None:
            raw = {}
        if not isinstance(raw, dict):
            raise source.error(f"'slurm' must be a mapping, got {type(raw).__name__}", "slurm")
        try:
            return cls(**raw)
        except ValidationError as exc:
            raise _located(exc, source, flags or {}) from None


def _located(exc: ValidationError, source: ConfigSource, flags: dict[str, str]) -> ConfigError:
    problem = invalid(exc, SlurmSettings)
    key = problem.key.split(".")[0]
    if problem.unknown:
        valid = ", ".join(problem.valid)
        return source.error(f"unknown setting 'slurm.{key}'", f"slurm.{key}", f"valid: {valid}")
    message = problem.got if key and not problem.from_validator else problem.message
    if key in flags:
        return ConfigError(f"{flags[key]}: {message}")
    return source.error(message, ".".join(["slurm", *filter(None, [problem.key])]))
