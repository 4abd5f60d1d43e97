"""Tune layer: search spaces from YAML, Tuner assembly, resources, resume and results."""

from pipetune.tune._runner import Experiment, ExperimentOutcome, resume_experiment
from pipetune.tune._settings import Resources, TuneSettings
from pipetune.tune._space import SpaceType, build_search_space

__all__ = [
    "Experiment",
    "ExperimentOutcome",
    "Resources",
    "SpaceType",
    "TuneSettings",
    "build_search_space",
    "resume_experiment",
]
