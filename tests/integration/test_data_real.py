"""The getters on the real MNIST and Fashion-MNIST files in ../shared/datasets."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch.utils.data import DataLoader

from pipetune.data import MNIST, FashionMNIST, IDXImageGetter, RandomSplit, read_idx

SHARED_DATASETS = Path(__file__).resolve().parents[2].parent / "shared" / "datasets"

MNIST_TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
MNIST_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]

pytestmark = pytest.mark.data


@pytest.fixture(scope="module")
def shared() -> Path:
    if not (SHARED_DATASETS / "mnist").is_dir() or not (SHARED_DATASETS / "fashion-mnist").is_dir():
        pytest.skip(f"the real datasets are not in {SHARED_DATASETS}")
    return SHARED_DATASETS


@pytest.fixture(autouse=True)
def no_download(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a test tried to reach the network")

    monkeypatch.setattr("urllib.request.urlopen", refuse)


def counts(labels: torch.Tensor) -> list[int]:
    return torch.bincount(labels, minlength=10).tolist()


@pytest.mark.parametrize("getter", [MNIST, FashionMNIST])
def test_file_checksums_match(shared: Path, getter: type[IDXImageGetter]) -> None:
    for name, (gz_md5, _) in getter.checksums.items():
        read_idx(shared / getter.dataset_name / f"{name}.gz", md5=gz_md5)


def test_mnist_train_and_test(shared: Path) -> None:
    train = MNIST(data_dir=str(shared), download=False).execute()
    assert train.images.shape == (60000, 1, 28, 28)
    assert train.targets.shape == (60000,)
    assert counts(train.targets) == MNIST_TRAIN_COUNTS
    test = MNIST(data_dir=str(shared), split="test", download=False).execute()
    assert test.images.shape == (10000, 1, 28, 28)
    assert counts(test.targets) == MNIST_TEST_COUNTS


def test_fashion_mnist_all(shared: Path) -> None:
    everything = FashionMNIST(data_dir=str(shared), split="all", download=False).execute()
    assert len(everything) == 70000
    assert counts(everything.targets[:60000]) == [6000] * 10
    assert counts(everything.targets[60000:]) == [1000] * 10
    assert everything.classes is not None and everything.classes[9] == "Ankle boot"


@pytest.mark.parametrize("getter", [MNIST, FashionMNIST])
def test_default_normalisation_matches_the_training_set(
    shared: Path, getter: type[IDXImageGetter]
) -> None:
    train = getter(data_dir=str(shared), download=False).execute()
    scaled = train.images.float() / 255
    assert abs(float(scaled.mean()) - getter.default_mean) < 1e-3
    assert abs(float(scaled.std()) - getter.default_std) < 1e-3


def test_found_through_env_var(shared: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIPETUNE_DATA", str(shared))
    ds = FashionMNIST(split="test", limit=500, download=False).execute()
    assert ds.images.shape == (500, 1, 28, 28)


def test_data_loader_yields_normalised_float_batches(shared: Path) -> None:
    train = FashionMNIST(data_dir=str(shared), download=False).execute()
    part, validation, _ = RandomSplit(0.8, 0.2, seed=0).execute(train)
    assert (len(part), len(validation)) == (48000, 12000)
    loader = DataLoader(part, batch_size=256, shuffle=True)
    total = 0
    sums = torch.zeros(2, dtype=torch.float64)
    for images, labels in loader:
        assert images.dtype == torch.float32
        assert images.shape[1:] == (1, 28, 28)
        assert labels.dtype == torch.int64
        total += labels.numel()
        sums += torch.stack([images.double().sum(), images.double().pow(2).sum()])
    assert total == 48000
    pixels = total * 28 * 28
    mean = float(sums[0]) / pixels
    std = (float(sums[1]) / pixels - mean**2) ** 0.5
    assert abs(mean) < 0.02
    assert abs(std - 1.0) < 0.02
