"""Tune layer: search spaces from YAML, Tuner assembly, resources, resume and results; the
Ray integration of the trainer (``TuneReporter``, DDP through Ray Train)."""

from pipetune.tune._reporter import TuneReporter
from pipetune.tune._runner import Experiment, ExperimentOutcome, resume_experiment
from pipetune.tune._settings import Resources, TuneSettings
from pipetune.tune._space import SpaceType, build_search_space

__all__ = [
    "Experiment",
    "ExperimentOutcome",
    "Resources",
    "SpaceType",
    "TuneReporter",
    "TuneSettings",
    "build_search_space",
    "resume_experiment",
]
