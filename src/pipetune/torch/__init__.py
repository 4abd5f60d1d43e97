"""Torch layer: TorchTrainer, TrainingConfiguration, strategies and callbacks; no Ray.

The seed's import paths are public modules too: ``pipetune.torch.trainer``,
``pipetune.torch.config`` and ``pipetune.torch.distributed``. The Tune reporter and DDP
through Ray Train live in the tune layer (``pipetune.tune.TuneReporter``); a fit of several
workers runs through the launcher registered for its strategy (``register_launcher``).
"""

from pipetune._launch import register_launcher
from pipetune.torch._callbacks import (
    Callback,
    DivergedError,
    EarlyStopping,
    MetricHistory,
    ModelCheckpoint,
    NaNGuard,
)
from pipetune.torch._config import LOSSES, OPTIMIZERS, TrainingConfiguration, register_optimizer
from pipetune.torch._progress import EpochProgressBar
from pipetune.torch._strategy import (
    DDPStrategy,
    DeepSpeedStrategy,
    HorovodStrategy,
    Strategy,
    make_strategy,
)
from pipetune.torch._trainer import TorchTrainer

__all__ = [
    "LOSSES",
    "OPTIMIZERS",
    "Callback",
    "DDPStrategy",
    "DeepSpeedStrategy",
    "DivergedError",
    "EarlyStopping",
    "EpochProgressBar",
    "HorovodStrategy",
    "MetricHistory",
    "ModelCheckpoint",
    "NaNGuard",
    "Strategy",
    "TorchTrainer",
    "TrainingConfiguration",
    "make_strategy",
    "register_launcher",
    "register_optimizer",
]
