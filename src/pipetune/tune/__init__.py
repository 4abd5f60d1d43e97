"""Tune layer: search spaces from YAML, Tuner assembly, resources, resume and results; the
Ray integration of the trainer (``TuneReporter``, DDP through Ray Train)."""

from pipetune.tune._algorithms import (
    SCHEDULERS,
    SEARCH_ALGS,
    SchedulerEntry,
    SearchAlgEntry,
    register_scheduler,
    register_search_alg,
)
from pipetune.tune._reporter import TuneReporter
from pipetune.tune._results import print_summary
from pipetune.tune._resume import resume_experiment
from pipetune.tune._runner import Experiment, ExperimentOutcome
from pipetune.tune._settings import Constraint, Resources, TuneSettings, load_settings
from pipetune.tune._space import SpaceType, build_search_space

__all__ = [
    "SCHEDULERS",
    "SEARCH_ALGS",
    "Constraint",
    "Experiment",
    "ExperimentOutcome",
    "Resources",
    "SchedulerEntry",
    "SearchAlgEntry",
    "SpaceType",
    "TuneReporter",
    "TuneSettings",
    "build_search_space",
    "load_settings",
    "print_summary",
    "register_scheduler",
    "register_search_alg",
    "resume_experiment",
]
