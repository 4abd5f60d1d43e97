"""The ``tune:`` section of a config, as a typed model (misspelt keys are errors)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import PurePosixPath
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from pipetune._mode import Mode
from pipetune._validation import invalid
from pipetune.config import ConfigSource, resolve
from pipetune.errors import ConfigError


class Resources(BaseModel):
    """Resources of one trial: CPUs, GPUs (fractions allowed) and DDP workers."""

    model_config = ConfigDict(extra="forbid")

    cpu: float = Field(1, gt=0, description="CPUs per trial (per worker with workers > 1)")
    gpu: float = Field(0, ge=0, description="GPUs per trial; fractions pack trials on a GPU")
    workers: int = Field(1, ge=1, description="DDP workers per trial (through Ray Train)")


class Constraint(BaseModel):
    """A bound on a reported metric: a trial outside it is infeasible."""

    model_config = ConfigDict(extra="forbid")

    metric: str = Field(description="a metric the trainer reports")
    min: float | None = Field(None, description="feasible when the metric is at least this")
    max: float | None = Field(None, description="feasible when the metric is at most this")

    def violation(self, value: float) -> float:
        """How far ``value`` is outside the bounds (0 or less: feasible), Optuna's sign."""
        over = value - self.max if self.max is not None else -float("inf")
        under = self.min - value if self.min is not None else -float("inf")
        return max(over, under)


class TuneSettings(BaseModel):
    """Every key of the ``tune:`` section. Any of them can be overridden on the CLI."""

    model_config = ConfigDict(extra="forbid")

    pipeline: str = Field("training_pipeline", description="key of the pipeline to tune")
    metric: str | list[str] = Field(
        "val_loss",
        description="the reported metric to optimise, or a list of them for a multi-objective "
        "search (`[val_loss, n_params]`: results.csv marks the Pareto-optimal trials, "
        "`pareto/` holds their configs; the first metric picks best_config.yaml and the "
        "progress lines' best)",
    )
    mode: Mode | list[Mode] = Field(
        Mode.MIN, description="min or max; with a list of metrics, a list as long"
    )
    constraints: list[Constraint] = Field(
        default_factory=list,
        description="[{metric: NAME, max: VALUE}, {metric: NAME, min: VALUE}, ...]: a trial "
        "whose final NAME breaks one is infeasible (results.csv `feasible: False`), never best "
        "nor Pareto-optimal; optuna's samplers also get them (`constraints_func`)",
    )
    num_samples: int = Field(8, ge=1, description="trials (per grid point with grid_search)")
    search_space: dict[str, Any] = Field(
        default_factory=dict,
        description="config path → {type: ..., ...}; an entry with `when: {KEY: VALUE or "
        "[VALUES]}` is searched only when the choice or grid_search KEY has one of the values "
        "(else the trial keeps the config's value)",
    )
    points_to_evaluate: list[dict[str, Any]] = Field(
        default_factory=list,
        description="[{config path: value, ...}, ...] run first, in order (each counts as one "
        "of num_samples; keys left out are sampled)",
    )
    warm_start: str | None = Field(
        None,
        description="an earlier experiment folder: its finished trials are handed to the "
        "search algorithm (optuna) as evaluated points before any sampling; its searched "
        "keys must be this search space's",
    )
    scheduler: str | dict[str, Any] | None = Field(
        "asha",
        description="a registered name (see Schedulers), {type: NAME, ...}, "
        "or a class of your own: {class_path: ..., init_args: ...}",
    )
    search_alg: str | dict[str, Any] | None = Field(
        "random",
        description="a registered name (see Search algorithms), {type: NAME, ...}, "
        "or a class of your own: {class_path: ..., init_args: ...}",
    )
    stop: dict[str, float] = Field(
        default_factory=dict, description="stop a trial when a result reaches these values"
    )
    resources_per_trial: Literal["auto"] | Resources = Field(
        "auto", description="'auto' or {cpu: 2, gpu: 0.5, workers: 1}"
    )
    max_concurrent_trials: int | None = Field(None, ge=1, description="cap on parallel trials")
    max_failures: int = Field(0, ge=0, description="retries of a failing trial")
    storage_path: str = Field("runs", description="folder holding experiments")
    name: str | None = Field(None, description="experiment folder name (default: derived)")
    seed: int | None = Field(None, description="seed of the search algorithm")
    time_budget_s: float | None = Field(
        None, gt=0, description="end the experiment this many seconds after it starts"
    )
    max_trials: int = Field(
        10_000, ge=1, description="refuse a search of more trials (grid points × num_samples)"
    )
    checkpoint_every: int = Field(1, ge=0, description="epochs between trial checkpoints")
    progress: Literal["auto", "lines", "table", "quiet"] = Field(
        "auto",
        description="what the driver prints while trials run: 'lines' (one line per result), "
        "'table' (a live table), 'quiet' (nothing until the summary); 'auto': a table on a "
        "terminal, lines otherwise",
    )
    report_every_s: float = Field(
        5.0,
        ge=0,
        description="seconds between rewrites of report.html while the experiment runs (also "
        "soon after each trial's end); each page is rendered in a niced child process, at "
        "most a fifth of the time; 0: written only at the end",
    )

    @field_validator("mode", mode="before")
    @classmethod
    def _mode(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [Mode.of(v.lower()) if isinstance(v, str) else v for v in value]
        return Mode.of(value.lower()) if isinstance(value, str) else value

    @property
    def metrics(self) -> list[str]:
        """Every objective, in the given order (one for a single-objective search)."""
        return list(self.metric) if isinstance(self.metric, list) else [self.metric]

    @property
    def modes(self) -> list[Mode]:
        """The mode of each objective."""
        return list(self.mode) if isinstance(self.mode, list) else [self.mode]

    @property
    def first_metric(self) -> str:
        """The first objective: best_config.yaml's, the progress lines' and Tune's metric."""
        return self.metrics[0]

    @property
    def first_mode(self) -> Mode:
        return self.modes[0]

    @property
    def multi_objective(self) -> bool:
        return len(self.metrics) > 1

    def _check_objectives(self) -> None:
        """Cross-key checks pydantic's per-field validation cannot make."""
        metrics, modes = self.metrics, self.modes
        if isinstance(self.metric, list) != isinstance(self.mode, list) or len(metrics) != len(
            modes
        ):
            raise ConfigError(
                f"tune.metric names {len(metrics)} metric(s) but tune.mode gives "
                f"{len(modes)} mode(s)",
                key_path="tune.mode",
                hint=f"give one mode per metric, e.g. mode: [{', '.join(['min'] * len(metrics))}]",
            )
        if not metrics or any(not m.strip() for m in metrics):
            raise ConfigError("tune.metric needs at least one metric name", key_path="tune.metric")
        if len(set(metrics)) != len(metrics):
            raise ConfigError(
                "tune.metric names a metric twice",
                key_path="tune.metric",
                hint="list each objective once",
            )
        for index, constraint in enumerate(self.constraints):
            where = f"tune.constraints.{index}"
            if not constraint.metric.strip():
                raise ConfigError("a constraint needs a metric name", key_path=f"{where}.metric")
            if constraint.min is None and constraint.max is None:
                raise ConfigError(
                    f"the constraint on '{constraint.metric}' has neither min nor max",
                    key_path=where,
                    hint="give min: VALUE, max: VALUE or both",
                )
            if (
                constraint.min is not None
                and constraint.max is not None
                and constraint.min > constraint.max
            ):
                raise ConfigError(
                    f"the constraint on '{constraint.metric}' has min {constraint.min:g} above "
                    f"max {constraint.max:g}: no trial could be feasible",
                    key_path=where,
                    hint="swap min and max",
                )

    @field_validator("name")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        if value is None:
            return value
        parts = PurePosixPath(value).parts
        if not value.strip() or "\0" in value or value.startswith(("/", "~")) or not parts:
            raise ValueError("name must be a folder name, or a relative path below storage_path")
        if ".." in parts or all(part == "." for part in parts):
            raise ValueError("name must stay below storage_path: no '..' and not '.'")
        return value

    @field_validator("storage_path")
    @classmethod
    def _storage_path(cls, value: str) -> str:
        if not value.strip() or "\0" in value:
            raise ValueError("storage_path must be a folder")
        if ".." in PurePosixPath(value).parts:
            raise ValueError("storage_path may not climb with '..'; give an absolute path instead")
        return value

    @field_validator("warm_start")
    @classmethod
    def _warm_start(cls, value: str | None) -> str | None:
        if value is not None and (not value.strip() or "\0" in value):
            raise ValueError("warm_start must be an experiment folder")
        return value

    @classmethod
    def parse(cls, raw: Any, file: str | None = None) -> TuneSettings:
        """Validate the ``tune:`` mapping; errors name the key path."""
        if raw is None:
            raw = {}
        if not isinstance(raw, dict):
            raise ConfigError(
                f"'tune' must be a mapping, got {type(raw).__name__}", file=file, key_path="tune"
            )
        try:
            settings = cls(**raw)
        except ValidationError as exc:
            problem = invalid(exc, cls)
            key = f"tune.{problem.key}" if problem.key else "tune"
            if problem.unknown:
                valid = ", ".join(problem.valid)
                raise ConfigError(
                    f"unknown setting '{key}'", file=file, key_path=key, hint=f"valid: {valid}"
                ) from None
            raise ConfigError(problem.got, file=file, key_path=key) from None
        if isinstance(settings.metric, list) and len(settings.metric) == 1:
            # a list of one is the single objective it names: everything stays as today
            settings.metric = settings.metric[0]
            if isinstance(settings.mode, list) and len(settings.mode) == 1:
                settings.mode = settings.mode[0]
        try:
            settings._check_objectives()
        except ConfigError as exc:
            raise ConfigError(
                exc.message, file=file, key_path=exc.key_path, hint=exc.hint
            ) from None
        return settings


# -- loading: the file's tune: section merged with the command line --------------------


def load_settings(
    source: ConfigSource, tune_overrides: Mapping[str, Any] | None = None
) -> TuneSettings:
    """The ``tune:`` section with command-line settings merged in."""
    return parse_settings(source, effective_tune_section(source, tune_overrides), tune_overrides)


def effective_tune_section(
    source: ConfigSource, tune_overrides: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The ``tune:`` mapping as it runs: the file's, with every command-line value merged in
    (what the experiment folder saves, so a resume sees exactly what ran)."""
    raw = resolve(source, "tune") if "tune" in source.tree else {}
    if raw is not None and not isinstance(raw, dict):
        raise source.error(
            f"'tune' must be a mapping of settings, got {raw!r}",
            key_path="tune",
            hint="write tune: followed by indented keys such as metric: and search_space:",
        )
    raw = dict(raw or {})
    for key, value in (tune_overrides or {}).items():
        if value is None:
            continue
        *parents, leaf = key.split(".")
        node = raw
        for part in parents:  # "resources_per_trial.cpu" sets one field of a mapping
            current = node.get(part)
            if isinstance(current, str) and part in ("scheduler", "search_alg"):
                node[part] = {"type": current}  # "asha" + grace_period → {type: asha, ...}
            elif not isinstance(current, dict):
                node[part] = {}
            node = node[part]
        node[leaf] = value
    return raw


def parse_settings(
    source: ConfigSource, raw: dict[str, Any], tune_overrides: Mapping[str, Any] | None
) -> TuneSettings:
    """``raw`` (an effective ``tune:`` mapping) as TuneSettings; an error names the file and
    line, or says the bad value came from the command line."""
    from_cli = {k for k, v in (tune_overrides or {}).items() if v is not None}
    try:
        return TuneSettings.parse(raw)
    except ConfigError as exc:
        key = (exc.key_path or "tune").removeprefix("tune.")
        if any(key == k or key.startswith(k + ".") for k in from_cli):
            # The bad value came from the command line, not from the file.
            raise ConfigError(
                f"{exc.message} (from the command line)", key_path=exc.key_path, hint=exc.hint
            ) from None
        raise source.error(exc.message, key_path=exc.key_path, hint=exc.hint) from None


def split_overrides(overrides: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``-o`` overrides split into the pipeline's and the ``tune.*`` ones (prefix removed)."""
    pipeline = {k: v for k, v in overrides.items() if not k.startswith("tune.")}
    tune = {k.removeprefix("tune."): v for k, v in overrides.items() if k.startswith("tune.")}
    return pipeline, tune
