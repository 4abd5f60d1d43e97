"""Tune layer: search spaces from YAML, Tuner assembly, resources, resume and results."""

from pipetune.tune._algorithms import (
    SCHEDULERS,
    SEARCH_ALGS,
    SchedulerEntry,
    SearchAlgEntry,
    register_scheduler,
    register_search_alg,
)
from pipetune.tune._runner import Experiment, ExperimentOutcome, resume_experiment
from pipetune.tune._settings import Resources, TuneSettings
from pipetune.tune._space import SpaceType, build_search_space

__all__ = [
    "SCHEDULERS",
    "SEARCH_ALGS",
    "Experiment",
    "ExperimentOutcome",
    "Resources",
    "SchedulerEntry",
    "SearchAlgEntry",
    "SpaceType",
    "TuneSettings",
    "build_search_space",
    "register_scheduler",
    "register_search_alg",
    "resume_experiment",
]
