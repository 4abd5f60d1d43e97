"""Assemble and run an experiment: one YAML file → Ray Tune Tuner → results on disk."""

from __future__ import annotations

import contextlib
import copy
import json
import logging
import os
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from omegaconf import OmegaConf

from pipetune._io import atomic_write_text
from pipetune._memory import release_freed_memory
from pipetune._seed import SEED_RESULT
from pipetune._timeline import Timeline
from pipetune.errors import ConfigError
from pipetune.experiment import (
    BEST_CONFIG_FILE,
    CONFIG_COPY,
    FINISHED,
    LOCK_FILE,
    META_FILE,
    PARETO_DIR,
    ExperimentLock,
    Status,
    holds_experiment,
    move_aside,
    read_results,
    read_state,
)
from pipetune.parser import ConfigParser
from pipetune.pipeline import Trainer
from pipetune.tune._algorithms import make_scheduler, scheduler_entry
from pipetune.tune._checks import (
    check_effective_overrides,
    check_trial_count,
)
from pipetune.tune._ray import (
    attached_ray,
    check_resources_locally,
    fit_environment,
    left_running,
    stop_on_signals,
    trial_resources,
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
from pipetune.tune._search import make_search, origin_count, scheduler_spec
from pipetune.tune._settings import (
    TuneSettings,
    effective_tune_section,
    parse_settings,
    split_overrides,
)
from pipetune.tune._space import build_search_space, grid_size
from pipetune.tune._trial import (
    DIVERGED_DIR,
    TRAIN_LOOP_CONFIG,
    StoredUpstream,
    ddp_trainable,
    run_trial,
)

if TYPE_CHECKING:
    from pipetune.cluster._local import LocalHead

__all__ = ["Experiment", "ExperimentOutcome"]


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


def _remaining(budget: float | None, started: float) -> float | None:
    """What is left of ``budget`` seconds since ``started`` (a sliver when none is: Tune
    then ends the experiment at its first step)."""
    if budget is None:
        return None
    return max(budget - (time.monotonic() - started), 0.001)


def _warn(text: str) -> None:
    logging.getLogger(__name__).warning("%s", text)


def _quiet_result_loggers() -> None:
    """Per-trial result files are off (lean mode; pipetune keeps its own history), so Ray's
    readers of them ("Failed to fetch metrics ...", from ExperimentAnalysis) only make noise."""
    for name in ("ray.tune.result_grid", "ray.tune.analysis.experiment_analysis"):
        logging.getLogger(name).setLevel(logging.CRITICAL)


def _errored(result_grid: Any) -> set[str]:
    return {trial.trial_id for trial in grid_trials(result_grid) if trial.error_file}


def _trainer_index(pipeline: Any) -> int:
    steps = list(pipeline)
    for index, step in enumerate(steps):
        if isinstance(step, Trainer):
            return index
    return len(steps) - 1


class Experiment:
    """One ``pipetune tune``: a config, its settings, and the folder it writes to."""

    _started_at: float = 0.0  # when run() began: tune.time_budget_s counts from it

    def __init__(
        self,
        config: str | Path | Mapping[str, Any],
        overrides: Mapping[str, Any] | None = None,
        tune_overrides: Mapping[str, Any] | None = None,
        search_space: Mapping[str, Any] | None = None,
    ) -> None:
        pipeline_overrides, from_dotted = split_overrides(dict(overrides or {}))
        self.parser = ConfigParser(config, pipeline_overrides)
        self.source = self.parser.source
        # CLI flags arrive as None when not given; they must not erase `-o tune.X=...` values
        given = {k: v for k, v in dict(tune_overrides or {}).items() if v is not None}
        merged = {**from_dotted, **given}
        self.tune_section = effective_tune_section(self.source, merged)
        if search_space is not None:
            self.tune_section["search_space"] = dict(search_space)
        self.settings = parse_settings(self.source, copy.deepcopy(self.tune_section), merged)
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
        self.timeline = Timeline()  # the phases of run(), for --profile
        self.timeline.mark("config and settings loaded (imports included)")

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
            self.scheduler_spec = scheduler_spec(s)  # fifo by default with several metrics
            self.scheduler = make_scheduler(self.scheduler_spec, budget)
            self.search_alg, self.tuner_space = make_search(s, self.param_space)
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
        import ray
        from ray import tune

        resources, workers = trial_resources(self.settings)
        static: dict[str, Any] = {
            "tree": OmegaConf.to_container(self.source.tree, resolve=False),
            "file": self.source.file,
            "trainer_path": trainer_path,
            "import_paths": self.import_paths,
            "working_dir": self.import_paths[0],  # the driver's, kept by --resume
            "checkpoint_every": self.settings.checkpoint_every,
            "experiment_dir": str(self.path),
            "metric": self._checked_metrics(),
        }
        upstream = upstream if isinstance(upstream, tuple) else (upstream,)
        if workers > 1:
            return ddp_trainable(static, upstream, workers, resources), {
                TRAIN_LOOP_CONFIG: self.tuner_space
            }
        # with_parameters would fetch the data before the trial runs: the trial fetches it
        stored = StoredUpstream(ray.put(upstream))
        with_data = tune.with_parameters(run_trial, upstream=stored, **static)
        return tune.with_resources(with_data, resources), self.tuner_space

    def _checked_metrics(self) -> list[str]:
        """Every metric a trial must report as a number: objectives, then constrained ones."""
        s = self.settings
        return list(dict.fromkeys([*s.metrics, *(c.metric for c in s.constraints)]))

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
        meta: dict[str, Any] = {
            "config_file": self.source.file,
            "import_paths": self.import_paths,
            # the first objective: what a reader of one metric (report, compare) shows
            "metric": self.settings.first_metric,
            "mode": self.settings.first_mode.value,
        }
        if self.settings.multi_objective:
            meta["metrics"] = self.settings.metrics
            meta["modes"] = [m.value for m in self.settings.modes]
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
        best = best_row(rows, s.first_metric, s.first_mode.value)
        failed = statuses.count(Status.ERROR)
        return ExperimentOutcome(self.path, rows, best, failed, 0, settings=s, ran=False)

    def run(
        self,
        address: str | None = None,
        resume: bool = False,
        retry_errored: bool = False,
        announce: Callable[[str], None] | None = None,
        deliver: Callable[[ExperimentOutcome], None] | None = None,
        head: LocalHead | None = None,
    ) -> ExperimentOutcome:
        """Validate, take the folder, start (or attach to) Ray, run the trials, write results.

        ``head``: a persistent local Ray (``pipetune ray start``) to attach to instead of
        starting one (``address`` wins when both are given).

        ``announce`` receives the experiment folder once every check has passed;
        ``deliver`` the outcome as soon as the results are on disk, before Ray is shut down
        (the user gets the answer while Ray takes its seconds to stop; the ``pipetune``
        executable leaves an embedded Ray to its watcher instead: ``left_running``).
        ``tune.time_budget_s`` counts from here: checks, Ray's start, the upstream steps and
        the creation of trials all spend it.
        """
        self._started_at = started_at = time.monotonic()
        mark = self.timeline.mark
        pipeline, index = self.validate()
        mark("checks passed, pipeline built")
        if address:
            head = None
        elif head is None:
            with self._located():
                check_resources_locally(self.settings)
        with ExperimentLock(self.path, warn=_warn):
            if resume:
                self._check_resumable()
                finished = self._finished_outcome(retry_errored)
                if finished is not None:  # nothing left to run: the folder stays as it is
                    if deliver is not None:
                        deliver(finished)
                    return finished
            else:
                self._refuse_existing_experiment()
            if announce is not None:
                announce(str(self.path))
            with attached_ray(address, self.import_paths, head):  # Ray is imported only now
                from pipetune.tune._callbacks import ended_trials

                mark("Ray started")
                # After Ray's start, not beside it: its start draws from Python's global
                # `random` (ports), and a step drawing from it too would get other values
                # on each run, depending on how the two threads interleaved.
                upstream, trainer_path = self._prepare_trials(pipeline, index)
                del pipeline  # built to be checked: the trials build their own trainer and model
                mark("upstream steps run")
                trainable, param_space = self._trainable(upstream, trainer_path)
                del upstream  # the trials read it from Ray's object store
                release_freed_memory()  # the checked pipeline's model and the data's copies
                ended_before = self._ended_trials()
                _quiet_result_loggers()  # before a restore, which reads them too
                tuner, stopper = self._tuner(trainable, param_space, resume, retry_errored)
                mark("Tuner built")
                with fit_environment(), stop_on_signals() as received:
                    result_grid = tuner.fit()
                mark("trials done")
                ended = ended_trials(self.path)
                stopper.enforce(ended or set(), self._diverged(), _errored(result_grid), resume)
                outcome = self._finish(result_grid, None if ended is None else ended | ended_before)
                limit, elapsed = self.settings.time_budget_s, time.monotonic() - started_at
                outcome.budget_reached = bool(limit and elapsed >= limit and outcome.unfinished)
                outcome.interrupted_by = received[0] if received else None
                mark("results written")
                if deliver is not None:
                    deliver(outcome)
        mark("Ray left to end with the process" if left_running(address, head) else "Ray shut down")
        return outcome

    def _ended_trials(self) -> set[str]:
        """Trials that had ended before this run (a resume does not run them again)."""
        ended = (Status.TERMINATED, Status.ERROR)
        statuses = persisted_statuses(self.path)
        return {trial for trial, status in statuses.items() if Status.of(status) in ended}

    def _diverged(self) -> set[str]:
        return {path.stem for path in (self.path / DIVERGED_DIR).glob("*.txt")}

    def _tuner(
        self, trainable: Any, param_space: dict[str, Any], resume: bool, retry_errored: bool
    ) -> tuple[Any, Any]:
        """Ray Tune's Tuner for this experiment (restored from its folder on a resume), and
        the stopper that enforces the metric contract."""
        from ray import tune

        from pipetune.tune._contract import MetricContractStopper

        s = self.settings
        stopper = MetricContractStopper(
            s.metrics, s.stop, constrained=[c.metric for c in s.constraints]
        )
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
            return tuner, stopper
        self._write_meta()
        tune_config = tune.TuneConfig(
            # Tune takes one metric (its scheduler and ResultGrid's best): the first; the
            # search algorithm got them all (make_search)
            metric=s.first_metric,
            mode=s.first_mode.value,
            num_samples=s.num_samples,
            scheduler=self.scheduler,
            search_alg=self.search_alg,
            # make_search_alg applies the cap (given here, Tune warns and drops it)
            max_concurrent_trials=None,
            time_budget_s=_remaining(s.time_budget_s, self._started_at),
            reuse_actors=True,
        )
        run_config = tune.RunConfig(
            name=self.path.name,
            storage_path=str(self.path.parent),
            stop=stopper,
            failure_config=tune.FailureConfig(max_failures=s.max_failures),
            # The scheduler's entry says if it needs them all (PBT exploits them).
            checkpoint_config=tune.CheckpointConfig(
                num_to_keep=None
                if scheduler_entry(self.scheduler_spec).keeps_all_checkpoints
                else 2
            ),
            callbacks=self._callbacks(),
            verbose=0,
        )
        tuner = tune.Tuner(
            trainable, param_space=param_space, tune_config=tune_config, run_config=run_config
        )
        return tuner, stopper

    def _callbacks(self) -> list[Any]:
        """The driver's Tune callbacks: history, timeline, progress output, live report."""
        from pipetune.tune._callbacks import HistoryRecorder, progress_callbacks
        from pipetune.tune._live import ReportImportWarmup, live_report_callbacks
        from pipetune.tune._timing import TimelineMarks

        s, expected = self.settings, self._expected_trials()
        return [
            HistoryRecorder(self.path),
            TimelineMarks(self.timeline),
            # several metrics: the progress lines' best is the first one's
            *progress_callbacks(s.first_metric, s.first_mode.value, expected, s.progress),
            *live_report_callbacks(self.path, expected, s.report_every_s),
            ReportImportWarmup(expected),
        ]

    def _finish(self, result_grid: Any, ended: set[str] | None = None) -> ExperimentOutcome:
        s = self.settings
        metric = s.metrics if s.multi_objective else s.first_metric
        mode = [m.value for m in s.modes] if s.multi_objective else s.first_mode.value
        rows = trial_rows(
            result_grid, self.path, metric, mode, ended, origin_count(s), s.constraints
        )
        write_results(rows, self.path)
        best = best_row(rows, s.first_metric, s.first_mode.value)
        if best is not None:
            self._write_config(best, BEST_CONFIG_FILE)
        if s.multi_objective:
            pareto = self.path / PARETO_DIR
            for stale in pareto.glob("*.yaml"):  # a resume's front replaces the last one's
                stale.unlink()
            for row in rows:
                if row.get("pareto") is True:
                    self._write_config(row, f"{PARETO_DIR}/{row['trial_id']}.yaml")
        failed = sum(1 for r in rows if Status.of(r["status"]) == Status.ERROR)
        unfinished = sum(1 for r in rows if Status.of(r["status"]) not in FINISHED)
        unfinished += max(0, self._expected_trials() - len(rows))
        return ExperimentOutcome(self.path, rows, best, failed, unfinished, settings=s)

    def _write_config(self, row: Mapping[str, Any], name: str) -> Path:
        """The config with ``row``'s values: runnable with ``pipetune run``."""
        values = {k.removeprefix("config/"): v for k, v in row.items() if k.startswith("config/")}
        return write_best_config(
            self.source,
            values,
            self.path,
            seed=row.get(SEED_RESULT),  # pinned, so that pipetune run reproduces the trial
            trainer_path=self.trainer_path,
            name=name,
        )

    def _expected_trials(self) -> int:
        return self.settings.num_samples * grid_size(self.param_space)
