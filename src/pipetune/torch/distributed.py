"""The seed's import path for strategies: ``from pipetune.torch.distributed import ...``.

``DDPStrategy`` (itwinai's ``TorchDDPStrategy``) and ``Strategy`` (itwinai's
``NonDistributedStrategy``) run. ``DeepSpeedStrategy`` and ``HorovodStrategy`` exist so that a
seed-style trainer's ``isinstance(self.strategy, DeepSpeedStrategy)`` works, but building
one (``strategy: deepspeed`` in a config) is refused with one line naming what runs.
"""

from pipetune.torch._strategy import (
    SUPPORTED_STRATEGIES,
    DDPStrategy,
    DeepSpeedStrategy,
    HorovodStrategy,
    Strategy,
    make_strategy,
)

#: itwinai's names for the same classes.
TorchDDPStrategy = DDPStrategy
NonDistributedStrategy = Strategy

__all__ = [
    "SUPPORTED_STRATEGIES",
    "DDPStrategy",
    "DeepSpeedStrategy",
    "HorovodStrategy",
    "NonDistributedStrategy",
    "Strategy",
    "TorchDDPStrategy",
    "make_strategy",
]
