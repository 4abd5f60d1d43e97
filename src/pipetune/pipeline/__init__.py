"""Pipeline layer: the Component protocol, its roles and Pipeline."""

from pipetune.pipeline._component import (
    Component,
    DataGetter,
    DataProcessor,
    DataSplitter,
    Predictor,
    Saver,
    Trainer,
)
from pipetune.pipeline._pipeline import Pipeline

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
