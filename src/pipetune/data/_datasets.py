"""An in-memory image classification dataset that normalises whole batches at once."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from pipetune.data._idx import DataError

Indices = Sequence[int] | torch.Tensor | np.ndarray


class ImageClassificationDataset(Dataset[tuple[torch.Tensor, torch.Tensor]]):
    """Images kept as one uint8 tensor (N, C, H, W) with int64 labels.

    Items and batches come out as float32 ``(x / 255 - mean) / std``, computed on the fly, and
    int64 labels. ``__getitems__`` serves a DataLoader batch with one ``index_select``;
    :meth:`get_batch` returns the stacked ``(images, labels)`` directly. :meth:`subset` gives a
    view that shares the tensors; pickling one (as Ray and spawned workers do) first turns it
    into a copy of just its own samples (see :meth:`compact`).

    Args:
        images: uint8 array or tensor, (N, H, W) (a channel dimension is added) or (N, C, H, W).
        labels: integer class labels, (N,).
        mean: subtracted after scaling to [0, 1].
        std: divides after subtracting the mean; must be positive.
        classes: class names, index = label.
        num_classes: number of classes; defaults to ``len(classes)`` or ``max(label) + 1``.
    """

    def __init__(
        self,
        images: np.ndarray | torch.Tensor,
        labels: np.ndarray | torch.Tensor,
        *,
        mean: float = 0.0,
        std: float = 1.0,
        classes: Sequence[str] | None = None,
        num_classes: int | None = None,
    ) -> None:
        image_tensor = torch.as_tensor(images)
        label_tensor = torch.as_tensor(labels)
        if image_tensor.dtype != torch.uint8:
            raise DataError(f"images must be uint8, got {image_tensor.dtype}")
        if image_tensor.dim() == 3:
            image_tensor = image_tensor.unsqueeze(1)
        if image_tensor.dim() != 4:
            raise DataError(
                f"images must have shape (N, H, W) or (N, C, H, W), got {tuple(image_tensor.shape)}"
            )
        if label_tensor.dim() != 1 or label_tensor.shape[0] != image_tensor.shape[0]:
            raise DataError(
                f"labels must have shape ({image_tensor.shape[0]},) to match the images, "
                f"got {tuple(label_tensor.shape)}"
            )
        if label_tensor.dtype.is_floating_point or label_tensor.dtype == torch.bool:
            raise DataError(f"labels must be integers, got {label_tensor.dtype}")
        if not std > 0:
            raise DataError(f"std must be positive, got {std!r}")
        labels_int64 = label_tensor.to(torch.int64).contiguous()
        # (images, labels, index into them or None): one attribute, swapped as a whole.
        self._data: tuple[torch.Tensor, torch.Tensor, torch.Tensor | None] = (
            image_tensor.contiguous(),
            labels_int64,
            None,
        )
        self.mean = float(mean)
        self.std = float(std)
        self.classes: tuple[str, ...] | None = tuple(classes) if classes is not None else None
        if num_classes is None:
            if self.classes is not None:
                num_classes = len(self.classes)
            else:
                num_classes = int(labels_int64.max()) + 1 if len(labels_int64) else 0
        self.num_classes = int(num_classes)

    # --- views -----------------------------------------------------------------------------

    @property
    def images(self) -> torch.Tensor:
        """The uint8 images of this dataset, (N, C, H, W) (a copy when it is a subset view)."""
        images, _, index = self._data
        return images if index is None else images.index_select(0, index)

    @property
    def targets(self) -> torch.Tensor:
        """The int64 labels of this dataset, (N,) (a copy when it is a subset view)."""
        _, labels, index = self._data
        return labels if index is None else labels.index_select(0, index)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """(C, H, W) of one image."""
        c, h, w = self._data[0].shape[1:]
        return (int(c), int(h), int(w))

    def subset(self, indices: Indices) -> ImageClassificationDataset:
        """Return a view on the samples at ``indices`` (positions in this dataset)."""
        index = torch.as_tensor(np.asarray(indices) if isinstance(indices, Sequence) else indices)
        index = index.to(torch.int64).reshape(-1)
        n = len(self)
        if index.numel() and (int(index.min()) < 0 or int(index.max()) >= n):
            raise IndexError(
                f"subset indices must lie in [0, {n}), got {int(index.min())}..{int(index.max())}"
            )
        images, labels, own = self._data
        view = object.__new__(ImageClassificationDataset)
        view.__dict__.update(self.__dict__)
        view._data = (images, labels, index if own is None else own.index_select(0, index))
        return view

    def compact(self) -> ImageClassificationDataset:
        """Make this dataset own copies of just its samples (a view stops sharing); return it.

        Pickling compacts first, so that a pickled view holds only its own samples.
        """
        if self._data[2] is not None:
            self._data = (self.images, self.targets, None)
        return self

    def __getstate__(self) -> dict[str, Any]:
        # Compacting in place (rather than into temporaries) keeps the new tensors alive,
        # which torch.multiprocessing's shared-memory pickling needs.
        self.compact()
        return dict(self.__dict__)

    # --- access ----------------------------------------------------------------------------

    def __len__(self) -> int:
        images, _, index = self._data
        return int(images.shape[0] if index is None else index.shape[0])

    def _normalise(self, images: torch.Tensor) -> torch.Tensor:
        out = images.to(torch.float32).div_(255.0)
        if self.mean != 0.0:
            out.sub_(self.mean)
        if self.std != 1.0:
            out.div_(self.std)
        return out

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        n = len(self)
        i = int(i)
        if not -n <= i < n:
            raise IndexError(f"index {i} is out of range for a dataset of {n} samples")
        images, labels, index = self._data
        j = i % n if index is None else int(index[i])
        return self._normalise(images[j]), labels[j]

    def get_batch(self, indices: Indices) -> tuple[torch.Tensor, torch.Tensor]:
        """Return ``(images, labels)`` for ``indices``: float32 (B, C, H, W) and int64 (B,)."""
        images, labels, own = self._data
        index = torch.as_tensor(indices, dtype=torch.int64)
        if own is not None:
            index = own.index_select(0, index)
        return self._normalise(images.index_select(0, index)), labels.index_select(0, index)

    def __getitems__(self, indices: list[int]) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Fetch a DataLoader batch: one gather and normalisation, then per-sample views.

        torch's map-style fetcher passes the result to ``collate_fn``; the default one stacks
        the ``(image, label)`` pairs into ``(B, C, H, W)`` and ``(B,)`` tensors.
        """
        images, labels = self.get_batch(indices)
        return list(zip(images.unbind(0), labels.unbind(0), strict=True))

    def __repr__(self) -> str:
        c, h, w = self.image_shape
        return (
            f"{type(self).__name__}(n={len(self)}, image_shape=({c}, {h}, {w}), "
            f"num_classes={self.num_classes}, mean={self.mean:g}, std={self.std:g})"
        )
