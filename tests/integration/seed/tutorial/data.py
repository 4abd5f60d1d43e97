"""The tutorial's data.py, in the seed's style: a getter and a splitter on pipetune's roles.

The seed downloads Fashion-MNIST through torchvision; this replica makes a small synthetic
image set instead (two classes told apart by brightness), so the test needs no download.
"""

from typing import Tuple

import torch
from torch.utils.data import Dataset, TensorDataset, random_split

from pipetune.components import DataGetter, DataSplitter


class ToyImagesGetter(DataGetter):
    def __init__(self, samples: int = 96) -> None:
        super().__init__()
        self.samples = samples

    def execute(self) -> Dataset:
        """Return one dataset of 1×8×8 images with labels 0/1."""
        print("Loading toy dataset...")
        generator = torch.Generator().manual_seed(0)
        labels = torch.randint(0, 2, (self.samples,), generator=generator)
        images = torch.randn(self.samples, 1, 8, 8, generator=generator) + labels.view(-1, 1, 1, 1)
        print("Loading complete!")
        return TensorDataset(images, labels)


class ToyImagesSplitter(DataSplitter):
    def __init__(
        self,
        train_proportion: float,
        validation_proportion: float,
        test_proportion: float = 0.0,
        name: str | None = None,
    ) -> None:
        super().__init__(train_proportion, validation_proportion, test_proportion, name)

    def execute(self, dataset: Dataset) -> Tuple[Dataset, Dataset, Dataset]:
        """Split the dataset into train, validation, and test sets."""
        print("Splitting dataset...")
        total_size = len(dataset)
        train_size = int(self.train_proportion * total_size)
        validation_size = int(self.validation_proportion * total_size)
        test_size = total_size - train_size - validation_size
        train_dataset, validation_dataset, test_dataset = random_split(
            dataset, [train_size, validation_size, test_size]
        )
        print("Splitting complete!")
        return train_dataset, validation_dataset, test_dataset
