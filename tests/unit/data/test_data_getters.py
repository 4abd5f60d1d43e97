"""MNIST and FashionMNIST getters on tiny synthetic IDX files; never touches the network."""

from __future__ import annotations

import gzip
import hashlib
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from pipetune.data import (
    DATA_ENV,
    MNIST,
    DataError,
    FashionMNIST,
    ImageClassificationDataset,
    write_idx,
)
from pipetune.errors import ConfigError

DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
NAMES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def make_files(folder: Path, n_train: int = 12, n_test: int = 5, gz: bool = True) -> Path:
    """Write the four IDX files of a tiny MNIST-like dataset into ``folder``."""
    rng = np.random.default_rng(0)
    suffix = ".gz" if gz else ""
    for part, n in (("train", n_train), ("test", n_test)):
        images, labels = NAMES[part]
        pixels = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        pixels[:, 0, 0] = np.arange(n)  # tag each sample with its position
        write_idx(folder / f"{images}{suffix}", pixels)
        write_idx(folder / f"{labels}{suffix}", (np.arange(n) % 10).astype(np.uint8))
    return folder


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No $PIPETUNE_DATA, an empty home, no system folders, and no network."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv(DATA_ENV, raising=False)
    monkeypatch.setattr(FashionMNIST, "system_dirs", ())

    real_urlopen = urllib.request.urlopen

    def local_only(url: str, *args: Any, **kwargs: Any) -> Any:
        if not url.startswith("file://"):
            raise AssertionError(f"a test tried to reach the network: {url}")
        return real_urlopen(url, *args, **kwargs)

    monkeypatch.setattr("urllib.request.urlopen", local_only)
    return home


def first_pixel(ds: ImageClassificationDataset) -> list[int]:
    return ds.images[:, 0, 0, 0].tolist()


@pytest.mark.parametrize("getter", [MNIST, FashionMNIST])
def test_reads_files_in_data_dir(tmp_path: Path, getter: type[MNIST]) -> None:
    make_files(tmp_path / "d")
    ds = getter(data_dir=str(tmp_path / "d"), verify=False, download=False).execute()
    assert isinstance(ds, ImageClassificationDataset)
    assert len(ds) == 12
    assert ds.images.shape == (12, 1, 28, 28)
    assert ds.targets.dtype == torch.int64
    assert ds.num_classes == 10
    assert ds.classes is not None and len(ds.classes) == 10
    assert (ds.mean, ds.std) == (getter.default_mean, getter.default_std)


def test_uncompressed_names_and_subfolder(tmp_path: Path) -> None:
    make_files(tmp_path / "d" / "fashion-mnist", gz=False)
    ds = FashionMNIST(data_dir=str(tmp_path / "d"), verify=False, download=False).execute()
    assert len(ds) == 12


def test_splits_and_limit(tmp_path: Path) -> None:
    make_files(tmp_path)
    common: dict[str, Any] = {"data_dir": str(tmp_path), "verify": False, "download": False}
    assert len(MNIST(split="test", **common).execute()) == 5
    assert len(MNIST(train=False, **common).execute()) == 5
    assert len(MNIST(train=True, **common).execute()) == 12
    both = MNIST(split="all", **common).execute()
    assert first_pixel(both) == list(range(12)) + list(range(5))
    limited = MNIST(split="all", limit=3, **common).execute()
    assert first_pixel(limited) == [0, 1, 2]
    assert len(MNIST(limit=100, **common).execute()) == 12
    ds = MNIST(mean=0.5, std=0.25, **common).execute()
    image, _ = ds[0]
    expected = (ds.images[0].float() / 255 - 0.5) / 0.25
    torch.testing.assert_close(image, expected)


def test_only_the_needed_files(tmp_path: Path) -> None:
    make_files(tmp_path)
    for name in NAMES["train"]:
        (tmp_path / f"{name}.gz").unlink()
    ds = MNIST(data_dir=str(tmp_path), split="test", verify=False, download=False).execute()
    assert len(ds) == 5
    with pytest.raises(DataError, match="MNIST files not found"):
        MNIST(data_dir=str(tmp_path), verify=False, download=False).execute()


def test_env_var_and_its_subfolder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_files(tmp_path / "env" / "mnist", n_train=7)
    make_files(tmp_path / "env", n_train=4)
    monkeypatch.setenv(DATA_ENV, str(tmp_path / "env"))
    assert len(FashionMNIST(verify=False, download=False).execute()) == 4  # the folder itself
    (tmp_path / "env" / "train-images-idx3-ubyte.gz").unlink()
    assert len(MNIST(verify=False, download=False).execute()) == 7  # then its subfolder


def test_data_dir_comes_before_env_var_and_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, isolated: Path
) -> None:
    make_files(tmp_path / "dir", n_train=3)
    make_files(tmp_path / "env", n_train=4)
    make_files(isolated / ".cache" / "pipetune" / "mnist", n_train=6)
    monkeypatch.setenv(DATA_ENV, str(tmp_path / "env"))
    common: dict[str, Any] = {"verify": False, "download": False}
    assert len(MNIST(data_dir=str(tmp_path / "dir"), **common).execute()) == 3
    assert len(MNIST(**common).execute()) == 4
    monkeypatch.delenv(DATA_ENV)
    assert len(MNIST(**common).execute()) == 6


def test_system_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_files(tmp_path / "debian", n_train=9)
    monkeypatch.setattr(FashionMNIST, "system_dirs", (str(tmp_path / "debian"),))
    assert len(FashionMNIST(verify=False, download=False).execute()) == 9


def checksums_of(folder: Path) -> dict[str, tuple[str, str]]:
    sums = {}
    for names in NAMES.values():
        for name in names:
            packed = (folder / f"{name}.gz").read_bytes()
            sums[name] = (
                hashlib.md5(packed).hexdigest(),
                hashlib.md5(gzip.decompress(packed)).hexdigest(),
            )
    return sums


def test_verify_accepts_official_or_decompressed_md5(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_files(tmp_path)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(MNIST, "checksums", checksums_of(tmp_path))
        assert len(MNIST(data_dir=str(tmp_path), download=False).execute()) == 12
        # A re-compressed copy (like Debian's) has another .gz MD5 but the same IDX bytes.
        name = "train-images-idx3-ubyte.gz"
        raw = gzip.decompress((tmp_path / name).read_bytes())
        (tmp_path / name).write_bytes(gzip.compress(raw, compresslevel=1, mtime=12345))
        assert len(MNIST(data_dir=str(tmp_path), download=False).execute()) == 12
    # The real checksums reject the synthetic files.
    with pytest.raises(DataError, match="MD5 checksum mismatch: expected f68b3c2d"):
        MNIST(data_dir=str(tmp_path), download=False).execute()


def test_all_places_named_when_nothing_found(tmp_path: Path, isolated: Path) -> None:
    env = tmp_path / "env"
    env.mkdir()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(DATA_ENV, str(env))
        mp.setattr(FashionMNIST, "system_dirs", ("/usr/share/datasets/fashion-mnist",))
        if DEBIAN_DIR.exists():
            pytest.skip("dataset-fashion-mnist is installed here")
        (tmp_path / "mine").mkdir()
        with pytest.raises(DataError) as info:
            FashionMNIST(data_dir=str(tmp_path / "mine"), download=False).execute()
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("Fashion-MNIST files not found")
    assert "train-images-idx3-ubyte[.gz]" in message
    for place in (
        tmp_path / "mine",
        tmp_path / "mine" / "fashion-mnist",
        env,
        env / "fashion-mnist",
        isolated / ".cache" / "pipetune" / "fashion-mnist",
        DEBIAN_DIR,
    ):
        assert str(place) in message
    assert "download is off" in message
    assert "pass data_dir:" in message
    assert DATA_ENV in message
    assert "apt-get install dataset-fashion-mnist" in message


def test_download_through_injected_mirror(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, isolated: Path
) -> None:
    """The download code path, with file:// mirrors standing in for the network."""
    served = make_files(tmp_path / "served")
    monkeypatch.setattr(MNIST, "checksums", checksums_of(served))
    broken = tmp_path / "broken"
    broken.mkdir()
    for name in NAMES["train"] + NAMES["test"]:
        (broken / f"{name}.gz").write_bytes(b"not the file")
    mirrors = (broken.as_uri() + "/", (tmp_path / "missing").as_uri() + "/", served.as_uri() + "/")
    monkeypatch.setattr(MNIST, "mirrors", mirrors)
    calls: list[str] = []
    local_urlopen = urllib.request.urlopen  # the fixture's: file:// URLs only

    def counting_urlopen(url: str, *args: Any, **kwargs: Any) -> Any:
        calls.append(url)
        return local_urlopen(url, *args, **kwargs)

    monkeypatch.setattr("urllib.request.urlopen", counting_urlopen)
    ds = MNIST(split="all").execute()
    assert len(ds) == 17
    cache = isolated / ".cache" / "pipetune" / "mnist"
    assert sorted(p.name for p in cache.iterdir()) == sorted(
        f"{n}.gz" for n in NAMES["train"] + NAMES["test"]
    )  # checked files renamed into place; no temporary file left
    assert len(calls) == 12  # three mirrors tried per file
    calls.clear()
    assert len(MNIST(split="all").execute()) == 17
    assert calls == []  # found in the cache the second time


def test_download_failure_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(MNIST, "mirrors", ((tmp_path / "missing").as_uri() + "/",))
    (tmp_path / "target").mkdir()
    with pytest.raises(
        DataError, match=r"MNIST files not found .*; download failed: file:///"
    ) as info:
        MNIST(data_dir=str(tmp_path / "target")).execute()
    assert "to fix it, pass data_dir:" in str(info.value)
    assert list((tmp_path / "target").iterdir()) == []


@pytest.mark.parametrize(
    ("kwargs", "key"),
    [
        ({"split": "validation"}, "split"),
        ({"limit": -1}, "limit"),
        ({"limit": 1.5}, "limit"),
        ({"std": 0.0}, "std"),
        ({"train": False, "split": "test"}, "train"),
    ],
)
def test_bad_arguments(kwargs: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigError) as info:
        MNIST(**kwargs)
    assert info.value.key_path == key


def test_missing_data_dir_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist") as info:
        FashionMNIST(data_dir=str(tmp_path / "typo"))
    assert info.value.key_path == "data_dir"
    assert str(tmp_path / "typo") in str(info.value)


def test_relative_data_dir_is_made_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_files(tmp_path / "rel")
    monkeypatch.chdir(tmp_path)
    getter = MNIST(data_dir="rel", verify=False, download=False)
    assert getter.data_dir == str(tmp_path / "rel")
    monkeypatch.chdir("/")  # as in a Ray Tune trial's own working directory
    assert len(getter.execute()) == 12
