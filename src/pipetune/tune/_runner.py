"""Assemble and run an experiment: one YAML file → Ray Tune Tuner → results on disk."""

from __future__ import annotations

import contextlib
import copy
import json
import logging
import os
import signal
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from pipetune._io import atomic_write_text
from pipetune._ray_env import DEFAULTS as RAY_DEFAULTS
from pipetune._ray_env import enable_token_auth_for
from pipetune._seed import SEED_RESULT
from pipetune.config import ConfigSource, apply_overrides, load_config, resolve
from pipetune.errors import ConfigError, PipetuneError
from pipetune.experiment import (
    CONFIG_COPY,
    FINISHED,
    LOCK_FILE,
    META_FILE,
    ExperimentLock,
    Status,
    holds_experiment,
    move_aside,
    read_results,
    read_state,
)
from pipetune.parser import ConfigParser, add_import_paths
from pipetune.pipeline import Trainer
from pipetune.tune._algorithms import make_scheduler, make_search_alg, scheduler_entry
from pipetune.tune._checks import (
    check_effective_overrides,
    check_resources,
    check_trial_count,
    node_resources,
)
from pipetune.tune._repair import repair_tune_state
from pipetune.tune._results import (
    best_row,
    grid_trials,
    persisted_statuses,
    trial_rows,
    write_best_config,
    write_results,
)
from pipetune.tune._settings import Resources, TuneSettings
from pipetune.tune._space import build_search_space, grid_size
from pipetune.tune._trial import DIVERGED_DIR, TRAIN_LOOP_CONFIG, ddp_trainable, run_trial

__all__ = ["CONFIG_COPY", "META_FILE", "Experiment", "ExperimentOutcome", "resume_experiment"]


@dataclass
class ExperimentOutcome:
    """What an experiment left behind."""

    path: Path
    rows: list[dict[str, Any]]
    best: dict[str, Any] | None
    failed: int = 0
    unfinished: int = 0
    budget_reached: bool = False
    settings: TuneSettings | None = field(default=None, repr=False)
    #: the signal that ended the run early (SIGINT, SIGTERM), if any
    interrupted_by: int | None = None
    #: False when a resume found the experiment finished and ran nothing
    ran: bool = True

    @property
    def resume_command(self) -> str:
        return f"pipetune tune --resume {self.path}"


def load_settings(
    source: ConfigSource, tune_overrides: Mapping[str, Any] | None = None
) -> TuneSettings:
    """The ``tune:`` section with command-line settings merged in."""
    return _parse_settings(source, effective_tune_section(source, tune_overrides), tune_overrides)


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


def _parse_settings(
    source: ConfigSource, raw: dict[str, Any], tune_overrides: Mapping[str, Any] | None
) -> TuneSettings:
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


def _split_overrides(overrides: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    pipeline = {k: v for k, v in overrides.items() if not k.startswith("tune.")}
    tune = {k.removeprefix("tune."): v for k, v in overrides.items() if k.startswith("tune.")}
    return pipeline, tune


def user_modules(folders: list[str]) -> list[str]:
    """The Python modules and packages directly inside ``folders`` (the config's folder)."""
    found: list[str] = []
    for folder in map(Path, folders):
        for path in sorted(folder.glob("*.py")):
            found.append(str(path))
        for init in sorted(folder.glob("*/__init__.py")):
            found.append(str(init.parent))
    return found


def _start_ray(address: str | None, import_paths: list[str]) -> bool:
    """Start an embedded local Ray, or attach to ``address``; return whether we started it."""
    import ray

    if ray.is_initialized():
        return False
    env = {"PYTHONPATH": os.pathsep.join([*import_paths, os.environ.get("PYTHONPATH", "")])}
    # Nodes started with `ray start` do not inherit this process's environment.
    env.update({key: os.environ[key] for key in RAY_DEFAULTS if key in os.environ})
    common: dict[str, Any] = {
        "runtime_env": {"env_vars": env},
        "log_to_driver": False,
        "configure_logging": False,
    }
    if address:
        # Nodes of a cluster may not share this file system: ship the user's modules.
        modules = user_modules(import_paths[1:])
        if modules:
            common["runtime_env"]["py_modules"] = modules
        enable_token_auth_for(address)
        ray.init(address=address, **common)
    else:
        # address="local": always a fresh embedded Ray, never one found on the machine.
        ray.init(address="local", include_dashboard=False, _node_ip_address="127.0.0.1", **common)
    return True


def _resources(settings: TuneSettings) -> tuple[dict[str, float], int]:
    import ray

    nodes = node_resources(ray.nodes())
    request: Resources
    if settings.resources_per_trial == "auto":
        gpus = max((n.get("GPU", 0) for n in nodes), default=0)
        cpus = max((n.get("CPU", 0) for n in nodes), default=1)
        if gpus >= 1:
            request = Resources(cpu=max(1, int(cpus // gpus)), gpu=1, workers=1)
        else:
            request = Resources(cpu=1, gpu=0, workers=1)
    else:
        request = settings.resources_per_trial
    as_dict = {"cpu": request.cpu, "gpu": request.gpu}
    check_resources(as_dict, request.workers, nodes)
    return as_dict, request.workers


@contextlib.contextmanager
def _fit_environment() -> Iterator[None]:
    """Tune settings read from the driver's environment at fit time, restored afterwards."""
    settings = {
        # Tune's automatic JSON/CSV/TensorBoard loggers cost time per result; pipetune
        # writes its own history.jsonl and results.csv.
        "TUNE_DISABLE_AUTO_CALLBACK_LOGGERS": "1",
        # Ray's own check raises on the first result without the metric, before the
        # stopper can turn it into the PipetuneError that names the reported ones.
        "TUNE_DISABLE_STRICT_METRIC_CHECKING": "1",
    }
    saved = {key: os.environ.get(key) for key in settings}
    for key, value in settings.items():
        os.environ.setdefault(key, value)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


@contextlib.contextmanager
def _stop_on_signals() -> Iterator[list[int]]:
    """SIGTERM (SLURM's preemption and ``scancel``) stops the run the way Ctrl+C does: Tune
    ends the trials, saves its state, and the results are written; the list yielded holds
    the signal received. (Ray's own handler would abort the driver, losing the summary.)"""
    received: list[int] = []

    def on_signal(signum: int, frame: Any) -> None:
        received.append(signum)
        # Tune's SIGINT handler (installed inside fit) asks the run to stop gracefully.
        handler = signal.getsignal(signal.SIGINT)
        if callable(handler) and handler is not on_signal:
            handler(signal.SIGINT, frame)

    previous = signal.signal(signal.SIGTERM, on_signal)
    try:
        yield received
    finally:
        signal.signal(signal.SIGTERM, previous)


def _remaining(budget: float | None, started: float) -> float | None:
    """What is left of ``budget`` seconds since ``started`` (a sliver when none is: Tune
    then ends the experiment at its first step)."""
    if budget is None:
        return None
    return max(budget - (time.monotonic() - started), 0.001)


def check_resources_locally(settings: TuneSettings) -> None:
    """Before an embedded Ray starts: refuse requests this machine can never satisfy."""
    if settings.resources_per_trial == "auto":
        return
    import torch

    machine = {"CPU": float(os.cpu_count() or 1), "GPU": float(torch.cuda.device_count())}
    request = settings.resources_per_trial
    check_resources({"cpu": request.cpu, "gpu": request.gpu}, request.workers, [machine])


def _trainer_index(pipeline: Any) -> int:
    steps = list(pipeline)
    for index, step in enumerate(steps):
        if isinstance(step, Trainer):
            return index
    return len(steps) - 1


class Experiment:
    """One ``pipetune tune``: a config, its settings, and the folder it writes to."""

    def __init__(
        self,
        config: str | Path | Mapping[str, Any],
        overrides: Mapping[str, Any] | None = None,
        tune_overrides: Mapping[str, Any] | None = None,
        search_space: Mapping[str, Any] | None = None,
    ) -> None:
        pipeline_overrides, from_dotted = _split_overrides(dict(overrides or {}))
        self.parser = ConfigParser(config, pipeline_overrides)
        self.source = self.parser.source
        # CLI flags arrive as None when not given; they must not erase `-o tune.X=...` values
        given = {k: v for k, v in dict(tune_overrides or {}).items() if v is not None}
        merged = {**from_dotted, **given}
        self.tune_section = effective_tune_section(self.source, merged)
        if search_space is not None:
            self.tune_section["search_space"] = dict(search_space)
        self.settings = _parse_settings(self.source, copy.deepcopy(self.tune_section), merged)
        space = dict(search_space) if search_space is not None else self.settings.search_space
        with self._located():
            self.param_space = build_search_space(space)
            check_trial_count(
                self.settings.num_samples, grid_size(self.param_space), self.settings.max_trials
            )
        self.import_paths = [os.getcwd()] + (
            [str(self.source.folder)] if self.source.folder else []
        )
        self.path = self._experiment_folder()
        self.trainer_path: str | None = None  # set when the trials are prepared

    def _experiment_folder(self) -> Path:
        """``storage_path/name``, which must not lead out of storage_path (a symlink may)."""
        storage = Path(self.settings.storage_path).resolve()
        path = storage / (self.settings.name or self._default_name())
        if not path.resolve().is_relative_to(storage):
            raise self.source.error(
                f"the experiment folder '{path}' leads to '{path.resolve()}', outside "
                f"storage_path '{storage}'",
                key_path="tune.name",
                hint="pick another --name, or remove the symbolic link",
            )
        return path

    def _default_name(self) -> str:
        stem = Path(self.source.file).stem if self.source.file else "experiment"
        return f"{stem}-{time.strftime('%Y%m%d-%H%M%S')}"

    def validate(self) -> tuple[Any, int]:
        """Every check that needs no Ray: searched keys, the whole pipeline, scheduler and
        search algorithm. Returns (the built pipeline, the trainer's index)."""
        key = self.settings.pipeline
        check_effective_overrides(self.source, key, self.param_space)
        pipeline = self.parser.parse_pipeline(key)
        index = _trainer_index(pipeline)
        epochs = int(getattr(pipeline[index], "epochs", 0) or 0)
        budget = int(self.settings.stop.get("training_iteration", 0) or epochs or 100)
        s = self.settings
        with self._located():  # built now, so that a bad name fails before Ray starts
            self.scheduler = make_scheduler(s.scheduler, budget)
            self.search_alg = make_search_alg(s.search_alg, s.seed, s.max_concurrent_trials)
        return pipeline, index

    @contextlib.contextmanager
    def _located(self) -> Iterator[None]:
        """Name the config file (and line) in a tune-layer ConfigError that lacks them."""
        try:
            yield
        except ConfigError as exc:
            if exc.file is not None:
                raise
            raise self.source.error(exc.message, key_path=exc.key_path, hint=exc.hint) from None

    def _prepare_trials(self, pipeline: Any, index: int) -> tuple[Any, str]:
        """Run the upstream steps once; return (their outputs, the trainer's key path)."""
        upstream = pipeline.run((), 0, index) if index > 0 else ()
        self.trainer_path = self.parser.step_path(index, self.settings.pipeline)
        return upstream, self.trainer_path

    def _trainable(self, upstream: Any, trainer_path: str) -> tuple[Any, dict[str, Any]]:
        """The Tune trainable and the param space to hand the Tuner with it."""
        from ray import tune

        resources, workers = _resources(self.settings)
        static: dict[str, Any] = {
            "tree": OmegaConf.to_container(self.source.tree, resolve=False),
            "file": self.source.file,
            "trainer_path": trainer_path,
            "import_paths": self.import_paths,
            "working_dir": self.import_paths[0],  # the driver's, kept by --resume
            "checkpoint_every": self.settings.checkpoint_every,
            "experiment_dir": str(self.path),
        }
        upstream = upstream if isinstance(upstream, tuple) else (upstream,)
        if workers > 1:
            return ddp_trainable(static, upstream, workers, resources), {
                TRAIN_LOOP_CONFIG: self.param_space
            }
        with_data = tune.with_parameters(run_trial, upstream=upstream, **static)
        return tune.with_resources(with_data, resources), self.param_space

    def _refuse_existing_experiment(self) -> None:
        """A new experiment never writes into an old one: its results would be mixed up."""
        if holds_experiment(self.path):
            raise self.source.error(
                f"'{self.path}' already holds an experiment",
                key_path="tune.name",
                hint=f"continue it with `pipetune tune --resume {self.path}`, start it over "
                "with --restart (the old folder is moved aside), or pick another --name",
            )

    def _write_meta(self) -> None:
        """Save what the experiment is: the config with every override and the effective
        ``tune:`` section (command-line settings, search space, name and storage path)."""
        self.path.mkdir(parents=True, exist_ok=True)
        tree = self.source.copy().tree
        section = {**self.tune_section, "name": self.path.name}
        section["storage_path"] = str(self.path.parent)
        tree["tune"] = OmegaConf.create(section)
        atomic_write_text(self.path / CONFIG_COPY, OmegaConf.to_yaml(tree))
        meta = {
            "config_file": self.source.file,
            "import_paths": self.import_paths,
            "metric": self.settings.metric,
            "mode": self.settings.mode.value,
        }
        atomic_write_text(self.path / META_FILE, json.dumps(meta, indent=2))

    def restart(self) -> Path | None:
        """Move an experiment already in this folder aside (``<name>.old-<time>``), so that
        this one starts over under the same name; return where it went (None: nothing was
        there). A folder in use by a running driver is refused, as for a resume."""
        if not holds_experiment(self.path):
            return None
        log = logging.getLogger(__name__)
        with ExperimentLock(self.path, warn=lambda text: log.warning("%s", text)):
            aside = move_aside(self.path)  # our lock file goes with it
        (aside / LOCK_FILE).unlink(missing_ok=True)
        return aside

    def _check_resumable(self) -> None:
        """A resume needs Tune's snapshot; without one Tune would start the experiment anew
        over the old results, so refuse before anything is touched."""
        for name in repair_tune_state(self.path):
            logging.getLogger(__name__).warning(
                "%s was cut short by a killed driver; restored its staged copy", name
            )
        state = read_state(self.path)
        if not state.readable:
            what = "an unreadable" if state.path else "no"
            raise ConfigError(
                f"'{self.path}' has {what} Ray Tune state (experiment_state-*.json), so it "
                "cannot be resumed; its results stay as they are",
                hint="start it over with `pipetune tune CONFIG --restart` (the old folder is "
                "moved aside) or under another --name",
            )

    def _finished_outcome(self, retry_errored: bool) -> ExperimentOutcome | None:
        """The outcome of an experiment that has nothing left to run, read from its folder
        (so a resume of it changes nothing), or None when a trial is still to run."""
        rows = read_results(self.path)
        if rows is None or len(rows) < self._expected_trials():
            return None
        statuses = [Status.of(row.get("status")) for row in rows]
        if any(status not in FINISHED for status in statuses):
            return None
        if retry_errored and Status.ERROR in statuses:
            return None
        if any(Status.of(v) not in FINISHED for v in read_state(self.path).statuses().values()):
            return None
        s = self.settings
        best = best_row(rows, s.metric, s.mode.value)
        failed = statuses.count(Status.ERROR)
        return ExperimentOutcome(self.path, rows, best, failed, 0, settings=s, ran=False)

    def run(
        self,
        address: str | None = None,
        resume: bool = False,
        retry_errored: bool = False,
        announce: Callable[[str], None] | None = None,
    ) -> ExperimentOutcome:
        """Validate, start (or attach to) Ray, run every trial, write the results.

        ``announce`` receives the experiment folder once every check has passed.
        ``tune.time_budget_s`` counts from here: checks, Ray's start, the upstream steps and
        the creation of trials all spend it.
        """
        run_started = time.monotonic()
        pipeline, index = self.validate()
        if not address:
            with self._located():
                check_resources_locally(self.settings)
        log = logging.getLogger(__name__)
        with ExperimentLock(self.path, warn=lambda text: log.warning("%s", text)):
            if resume:
                self._check_resumable()
                finished = self._finished_outcome(retry_errored)
                if finished is not None:
                    return finished
            else:
                self._refuse_existing_experiment()
            if announce is not None:
                announce(str(self.path))
            return self._run_trials(pipeline, index, address, resume, retry_errored, run_started)

    def _run_trials(
        self,
        pipeline: Any,
        index: int,
        address: str | None,
        resume: bool,
        retry_errored: bool,
        run_started: float,
    ) -> ExperimentOutcome:
        import ray  # only now: a config mistake is reported without waiting for Ray
        from ray import tune

        from pipetune.tune._callbacks import (
            HistoryRecorder,
            MetricContractStopper,
            ended_trials,
            progress_callbacks,
        )

        started = _start_ray(address, self.import_paths)
        try:
            upstream, trainer_path = self._prepare_trials(pipeline, index)
            trainable, param_space = self._trainable(upstream, trainer_path)
            s = self.settings
            stopper = MetricContractStopper(s.metric, s.stop)
            # Per-trial result files are off (lean mode); pipetune keeps its own history.
            # ("Failed to fetch metrics ..." comes from ExperimentAnalysis, not ResultGrid;
            # a restore reads them too, so this comes first.)
            for name in ("ray.tune.result_grid", "ray.tune.analysis.experiment_analysis"):
                logging.getLogger(name).setLevel(logging.CRITICAL)
            # Trials that had ended before this run (a resume does not run them again).
            ended_before = {
                trial_id
                for trial_id, status in persisted_statuses(self.path).items()
                if Status.of(status) in (Status.TERMINATED, Status.ERROR)
            }
            if resume:
                if not tune.Tuner.can_restore(str(self.path)):
                    raise ConfigError(
                        f"'{self.path}' is not a pipetune experiment folder (no Tune state)",
                        hint="pass the folder that `pipetune tune` printed",
                    )
                tuner = tune.Tuner.restore(
                    str(self.path),
                    trainable=trainable,
                    resume_unfinished=True,
                    resume_errored=False,
                    restart_errored=retry_errored,
                    param_space=param_space,
                )
            else:
                self._write_meta()
                tuner = tune.Tuner(
                    trainable,
                    param_space=param_space,
                    tune_config=tune.TuneConfig(
                        metric=s.metric,
                        mode=s.mode.value,
                        num_samples=s.num_samples,
                        scheduler=self.scheduler,
                        search_alg=self.search_alg,
                        # make_search_alg applies the cap (given here, Tune warns and drops it)
                        max_concurrent_trials=None,
                        time_budget_s=_remaining(s.time_budget_s, run_started),
                        reuse_actors=True,
                    ),
                    run_config=tune.RunConfig(
                        name=self.path.name,
                        storage_path=str(self.path.parent),
                        stop=stopper,
                        failure_config=tune.FailureConfig(max_failures=s.max_failures),
                        # The scheduler's entry says if it needs them all (PBT exploits them).
                        checkpoint_config=tune.CheckpointConfig(
                            num_to_keep=None
                            if scheduler_entry(s.scheduler).keeps_all_checkpoints
                            else 2
                        ),
                        callbacks=[
                            HistoryRecorder(self.path),
                            *progress_callbacks(s.metric, s.mode.value, self._expected_trials()),
                        ],
                        verbose=0,
                    ),
                )
            with _fit_environment(), _stop_on_signals() as received:
                result_grid = tuner.fit()
            elapsed = time.monotonic() - run_started
            ended = ended_trials(self.path)
            if stopper.missing is None and not resume and not stopper.checked:
                # No trial reported anything: fail if one of them ended without reporting
                # (rather than diverging or failing before its first report).
                diverged = {p.stem for p in (self.path / DIVERGED_DIR).glob("*.txt")}
                errored = {t.trial_id for t in grid_trials(result_grid) if t.error_file}
                if (ended or set()) - diverged - errored:
                    stopper.missing = []
            if stopper.missing is not None:
                raise PipetuneError(
                    f"the trainer never reported metric '{s.metric}'; it reported: "
                    f"{', '.join(stopper.missing) or 'nothing'} (set tune.metric to one of "
                    "them or report it from the trainer)"
                )
            outcome = self._finish(result_grid, None if ended is None else ended | ended_before)
            limit = s.time_budget_s
            outcome.budget_reached = bool(limit and elapsed >= limit and outcome.unfinished)
            outcome.interrupted_by = received[0] if received else None
            return outcome
        finally:
            if started:
                import ray

                ray.shutdown()

    def _finish(self, result_grid: Any, ended: set[str] | None = None) -> ExperimentOutcome:
        s = self.settings
        rows = trial_rows(result_grid, self.path, s.metric, s.mode.value, ended)
        write_results(rows, self.path)
        best = best_row(rows, s.metric, s.mode.value)
        if best is not None:
            best_values = {
                k.removeprefix("config/"): v for k, v in best.items() if k.startswith("config/")
            }
            write_best_config(
                self.source,
                best_values,
                self.path,
                seed=best.get(SEED_RESULT),  # pinned, so that pipetune run reproduces the trial
                trainer_path=self.trainer_path,
            )
        failed = sum(1 for r in rows if Status.of(r["status"]) == Status.ERROR)
        unfinished = sum(1 for r in rows if Status.of(r["status"]) not in FINISHED)
        unfinished += max(0, self._expected_trials() - len(rows))
        return ExperimentOutcome(self.path, rows, best, failed, unfinished, settings=s)

    def _expected_trials(self) -> int:
        return self.settings.num_samples * grid_size(self.param_space)


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


__all__ = ["Experiment", "ExperimentOutcome", "apply_overrides", "resume_experiment"]
