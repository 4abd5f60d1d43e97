"""The seed's component roles: ``from pipetune.components import Trainer``."""

from pipetune.pipeline import (
    Component,
    DataGetter,
    DataProcessor,
    DataSplitter,
    Pipeline,
    Predictor,
    Saver,
    Trainer,
)

__all__ = [
    "Component",
    "DataGetter",
    "DataProcessor",
    "DataSplitter",
    "Pipeline",
    "Predictor",
    "Saver",
    "Trainer",
]
