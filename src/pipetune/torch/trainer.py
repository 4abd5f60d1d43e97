"""The seed's import path for the trainer: ``from pipetune.torch.trainer import TorchTrainer``."""

from pipetune.torch._trainer import TorchTrainer

__all__ = ["TorchTrainer"]
