"""The seed's import path for training settings:
``from pipetune.torch.config import TrainingConfiguration``."""

from pipetune.torch._config import LOSSES, OPTIMIZERS, TrainingConfiguration, register_optimizer

__all__ = ["LOSSES", "OPTIMIZERS", "TrainingConfiguration", "register_optimizer"]
