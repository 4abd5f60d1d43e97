"""ImageClassificationDataset: items, batches, DataLoader, views and pickling."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from pipetune.data import DataError, ImageClassificationDataset


def make(n: int = 10, **kwargs: object) -> ImageClassificationDataset:
    images = np.arange(n * 28 * 28, dtype=np.int64).reshape(n, 28, 28) % 256
    images[:, 0, 0] = np.arange(n)
    return ImageClassificationDataset(images.astype(np.uint8), np.arange(n) % 4, **kwargs)  # type: ignore[arg-type]


def test_shapes_and_types() -> None:
    ds = make(mean=0.5, std=0.25)
    assert len(ds) == 10
    assert ds.images.shape == (10, 1, 28, 28) and ds.images.dtype == torch.uint8
    assert ds.targets.dtype == torch.int64
    assert ds.num_classes == 4
    assert ds.image_shape == (1, 28, 28)
    image, label = ds[3]
    assert image.shape == (1, 28, 28) and image.dtype == torch.float32
    assert label.dtype == torch.int64 and int(label) == 3
    torch.testing.assert_close(image, (ds.images[3].float() / 255 - 0.5) / 0.25)
    torch.testing.assert_close(ds[-1][0], ds[9][0])
    with pytest.raises(IndexError):
        ds[10]


def test_get_batch_and_getitems_agree_with_getitem() -> None:
    ds = make(mean=0.1, std=0.3)
    images, labels = ds.get_batch([4, 0, 7])
    assert images.shape == (3, 1, 28, 28) and labels.tolist() == [0, 0, 3]
    items = ds.__getitems__([4, 0, 7])
    assert len(items) == 3
    for (image, label), i in zip(items, [4, 0, 7], strict=True):
        torch.testing.assert_close(image, ds[i][0])
        assert int(label) == int(ds[i][1])


def test_data_loader_batches() -> None:
    ds = make(10, mean=0.5, std=0.5)
    batches = list(DataLoader(ds, batch_size=4))
    assert [b[0].shape[0] for b in batches] == [4, 4, 2]
    images, labels = batches[0]
    assert images.dtype == torch.float32 and images.shape == (4, 1, 28, 28)
    assert labels.dtype == torch.int64 and labels.tolist() == [0, 1, 2, 3]
    assert float(images.min()) >= -1.0 and float(images.max()) <= 1.0


def test_subset_is_a_view_and_composes() -> None:
    ds = make(10)
    view = ds.subset([9, 2, 5, 7])
    assert len(view) == 4
    assert view._data[0] is ds._data[0]  # shares the tensor
    assert view.images[:, 0, 0, 0].tolist() == [9, 2, 5, 7]
    assert view.targets.tolist() == [1, 2, 1, 3]
    inner = view.subset(torch.tensor([3, 0]))
    assert inner.images[:, 0, 0, 0].tolist() == [7, 9]
    assert int(inner[0][1]) == 3
    assert inner.get_batch([1])[1].tolist() == [1]
    assert len(ds.subset([])) == 0
    with pytest.raises(IndexError):
        ds.subset([10])


def test_pickling_keeps_only_the_views_samples() -> None:
    ds = make(200)
    view = ds.subset(range(0, 200, 50))
    restored = pickle.loads(pickle.dumps(view))
    assert len(restored) == 4
    assert restored._data[2] is None
    assert restored.images[:, 0, 0, 0].tolist() == [0, 50, 100, 150]
    assert len(pickle.dumps(view)) < len(pickle.dumps(ds)) / 10
    torch.testing.assert_close(restored[1][0], ds[50][0])
    assert (restored.mean, restored.std, restored.num_classes) == (ds.mean, ds.std, 4)


def test_rejects_bad_arrays() -> None:
    with pytest.raises(DataError, match="images must be uint8"):
        ImageClassificationDataset(np.zeros((2, 3, 3), dtype=np.float32), np.zeros(2))
    with pytest.raises(DataError, match=r"labels must have shape \(2,\)"):
        ImageClassificationDataset(np.zeros((2, 3, 3), dtype=np.uint8), np.zeros(3, dtype=int))
    with pytest.raises(DataError, match="labels must be integers"):
        ImageClassificationDataset(np.zeros((2, 3, 3), dtype=np.uint8), np.zeros(2))
    with pytest.raises(DataError, match=r"images must have shape \(N, H, W\)"):
        ImageClassificationDataset(np.zeros((2, 3), dtype=np.uint8), np.zeros(2, dtype=int))
    with pytest.raises(DataError, match="std must be positive"):
        make(std=0.0)


def test_classes_set_num_classes() -> None:
    ds = make(classes=["a", "b", "c", "d", "e"])
    assert ds.num_classes == 5 and ds.classes == ("a", "b", "c", "d", "e")
