"""Tune layer: search spaces from YAML, Tuner assembly, resources, resume and results."""

from pipetune.tune._results import print_summary
from pipetune.tune._resume import resume_experiment
from pipetune.tune._runner import Experiment, ExperimentOutcome
from pipetune.tune._settings import Resources, TuneSettings, load_settings
from pipetune.tune._space import SpaceType, build_search_space

__all__ = [
    "Experiment",
    "ExperimentOutcome",
    "Resources",
    "SpaceType",
    "TuneSettings",
    "build_search_space",
    "load_settings",
    "print_summary",
    "resume_experiment",
]
