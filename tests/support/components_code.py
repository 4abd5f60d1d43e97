"""Source text of small user components, written next to test configs."""

COMPONENTS = """
from pipetune.components import DataGetter, DataSplitter, Trainer


class ListGetter(DataGetter):
    def __init__(self, size: int, name: str | None = None) -> None:
        super().__init__(name)
        self.size = size

    def execute(self):
        return list(range(self.size))


class HalfSplitter(DataSplitter):
    def execute(self, dataset):
        cut = int(len(dataset) * self.train_proportion)
        return dataset[:cut], dataset[cut:], []


class RecordingTrainer(Trainer):
    def __init__(self, config: dict, epochs: int, optimizer=None, name: str | None = None) -> None:
        super().__init__(name)
        self.config = config
        self.epochs = epochs
        self.optimizer = optimizer

    def execute(self, train, validation, test):
        return {"config": self.config, "epochs": self.epochs, "n_train": len(train),
                "optimizer": self.optimizer}


class Optimizer:
    def __init__(self, lr: float, betas: list | None = None) -> None:
        self.lr = lr
        self.betas = betas
"""
