"""Loggers for metrics, text and hyperparameters: console, CSV, MLflow and TensorBoard.

``import pipetune.loggers`` imports neither mlflow nor tensorboard; each logger imports its
backend when its context is created.
"""

from pipetune.loggers._base import LOG_KINDS, Logger
from pipetune.loggers._collection import LoggersCollection
from pipetune.loggers._console import ConsoleLogger
from pipetune.loggers._csv import CSVLogger
from pipetune.loggers._mlflow import MLFlowLogger
from pipetune.loggers._tensorboard import TensorBoardLogger

__all__ = [
    "LOG_KINDS",
    "CSVLogger",
    "ConsoleLogger",
    "Logger",
    "LoggersCollection",
    "MLFlowLogger",
    "TensorBoardLogger",
]
