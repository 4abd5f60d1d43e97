"""Data layer: IDX files, the in-memory image dataset, MNIST-style getters and splitters."""

from pipetune.data._datasets import ImageClassificationDataset
from pipetune.data._getters import DATA_ENV, MNIST, FashionMNIST, IDXImageGetter
from pipetune.data._idx import DataError, read_idx, write_idx
from pipetune.data._split import RandomSplit

__all__ = [
    "DATA_ENV",
    "MNIST",
    "DataError",
    "FashionMNIST",
    "IDXImageGetter",
    "ImageClassificationDataset",
    "RandomSplit",
    "read_idx",
    "write_idx",
]
