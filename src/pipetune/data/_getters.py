"""Data getters for MNIST and Fashion-MNIST: find the IDX files, or download them."""

from __future__ import annotations

import hashlib
import os
import urllib.request
from pathlib import Path
from typing import ClassVar, Literal

import numpy as np

from pipetune._io import atomic_open
from pipetune.data._datasets import ImageClassificationDataset
from pipetune.data._idx import DataError, read_idx
from pipetune.errors import ConfigError
from pipetune.pipeline import DataGetter

Split = Literal["train", "test", "all"]

#: Environment variable naming a folder that holds datasets (or their sub-folders).
DATA_ENV = "PIPETUNE_DATA"

_FILES: dict[str, tuple[str, str]] = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
_DOWNLOAD_TIMEOUT_S = 60.0


class IDXImageGetter(DataGetter):
    """Base of the getters of MNIST-style datasets (four IDX files, 28x28 uint8 images).

    A subclass sets ``dataset_name``, ``title``, ``mirrors``, ``checksums``, ``classes``,
    ``default_mean`` and ``default_std`` (and optionally ``system_dirs``).

    The files are looked up, gzipped (``.gz``) or not, in this order: ``data_dir`` and
    ``data_dir/<dataset_name>``; ``$PIPETUNE_DATA`` and ``$PIPETUNE_DATA/<dataset_name>``;
    ``~/.cache/pipetune/<dataset_name>``; then ``system_dirs``. When no folder holds them and
    ``download`` is true, the official files are downloaded into ``data_dir`` (or the cache
    folder), checksum verified, through a temporary file renamed into place.

    Args:
        data_dir: a folder to look in first, and to download into (a relative path is taken
            from the working directory when the getter is built).
        split: ``"train"`` (60,000 samples), ``"test"`` (10,000) or ``"all"`` (train then
            test, 70,000; split it with a DataSplitter).
        limit: keep only the first ``limit`` samples (for fast tests and smoke runs).
        download: download the files when no folder holds them.
        verify: check each file's MD5 against the official checksums.
        mean: normalisation mean; ``None`` means the dataset's training-set mean.
        std: normalisation standard deviation; ``None`` means the training-set value.
        train: shorthand for ``split``: true means ``"train"``, false ``"test"``.
        name: the component's name.
    """

    dataset_name: ClassVar[str]
    title: ClassVar[str]
    #: Base URLs tried in order; a file's URL is ``base + file name + ".gz"``.
    mirrors: ClassVar[tuple[str, ...]]
    #: File name (without ``.gz``) -> (MD5 of the official ``.gz``, MD5 of the raw IDX bytes).
    checksums: ClassVar[dict[str, tuple[str, str]]]
    classes: ClassVar[tuple[str, ...]]
    default_mean: ClassVar[float]
    default_std: ClassVar[float]
    system_dirs: ClassVar[tuple[str, ...]] = ()
    #: Printed when no folder holds the files: how a user can provide them.
    install_hint: ClassVar[str] = ""

    def __init__(
        self,
        data_dir: str | None = None,
        split: Split = "train",
        limit: int | None = None,
        download: bool = True,
        verify: bool = True,
        mean: float | None = None,
        std: float | None = None,
        train: bool | None = None,
        name: str | None = None,
    ) -> None:
        super().__init__(name)
        if split not in ("train", "test", "all"):
            raise ConfigError(
                f"split must be 'train', 'test' or 'all', got {split!r}", key_path="split"
            )
        if train is not None:
            if split != "train":
                raise ConfigError(
                    f"give either train or split, not both (got split: {split!r})",
                    key_path="train",
                )
            split = "train" if train else "test"
        if limit is not None and (
            isinstance(limit, bool) or not isinstance(limit, int) or limit < 0
        ):
            raise ConfigError(
                f"limit must be a non-negative integer or null, got {limit!r}", key_path="limit"
            )
        if std is not None and not std > 0:
            raise ConfigError(f"std must be positive, got {std!r}", key_path="std")
        # Absolute now: Ray Tune runs trials in other working directories.
        self.data_dir = os.path.abspath(os.path.expanduser(data_dir)) if data_dir else None
        if self.data_dir is not None and not os.path.isdir(self.data_dir):
            # A mistyped folder is an error, not a silent download somewhere else.
            raise ConfigError(
                f"data_dir '{self.data_dir}' does not exist",
                key_path="data_dir",
                hint="create it (downloads go there) or fix the path",
            )
        self.split: Split = split
        self.limit = limit
        self.download = download
        self.verify = verify
        self.mean = self.default_mean if mean is None else float(mean)
        self.std = self.default_std if std is None else float(std)

    # --- locating ------------------------------------------------------------------------

    def file_names(self) -> list[str]:
        """The IDX file names (without ``.gz``) the chosen split needs."""
        parts = ["train", "test"] if self.split == "all" else [self.split]
        return [name for part in parts for name in _FILES[part]]

    def candidate_dirs(self) -> list[Path]:
        """The folders searched for the files, in order, without duplicates."""
        dirs: list[Path] = []
        if self.data_dir:
            root = Path(self.data_dir)
            dirs += [root, root / self.dataset_name]
        env = os.environ.get(DATA_ENV)
        if env:
            root = Path(env).expanduser()
            dirs += [root, root / self.dataset_name]
        dirs.append(self.cache_dir())
        dirs += [Path(d) for d in self.system_dirs]
        unique: list[Path] = []
        for d in dirs:
            if d not in unique:
                unique.append(d)
        return unique

    def cache_dir(self) -> Path:
        """``~/.cache/pipetune/<dataset_name>``."""
        return Path.home() / ".cache" / "pipetune" / self.dataset_name

    def download_dir(self) -> Path:
        """Where downloads go: ``data_dir`` when given, else the cache folder."""
        return Path(self.data_dir) if self.data_dir else self.cache_dir()

    @staticmethod
    def _find_in(folder: Path, names: list[str]) -> dict[str, Path] | None:
        found: dict[str, Path] = {}
        for name in names:
            for candidate in (folder / f"{name}.gz", folder / name):
                if candidate.is_file():
                    found[name] = candidate
                    break
            else:
                return None
        return found

    def locate(self) -> dict[str, Path]:
        """Return file name -> path of every needed file, downloading them if need be."""
        names = self.file_names()
        tried = self.candidate_dirs()
        for folder in tried:
            found = self._find_in(folder, names)
            if found is not None:
                return found
        if not self.download:
            outcome = "download is off (download: false)"
        else:
            try:
                return self._download_all(names)
            except DataError as exc:
                outcome = f"download failed: {exc}"
        wanted = ", ".join(f"{n}[.gz]" for n in names)
        places = ", ".join(str(d) for d in tried)
        if not os.environ.get(DATA_ENV):
            places += f" (${DATA_ENV} is not set)"
        hint = f"pass data_dir: to a folder that holds them, or set {DATA_ENV}"
        if self.install_hint:
            hint = f"{hint}, or {self.install_hint}"
        raise DataError(
            f"{self.title} files not found ({wanted}); looked in: {places}; {outcome}; "
            f"to fix it, {hint}"
        )

    # --- downloading ---------------------------------------------------------------------

    def _download_all(self, names: list[str]) -> dict[str, Path]:
        target = self.download_dir()
        try:
            target.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DataError(f"cannot create {target} ({exc.strerror or exc})") from exc
        found: dict[str, Path] = {}
        for name in names:
            present = self._find_in(target, [name])
            if present is not None:
                found.update(present)
                continue
            path = target / f"{name}.gz"
            self._download_file(f"{name}.gz", path, self.checksums[name][0])
            found[name] = path
        return found

    def _download_file(self, file_name: str, path: Path, md5: str) -> None:
        errors: list[str] = []
        for base in self.mirrors:
            url = base + file_name
            try:
                _fetch_url(url, path, md5)
                return
            except DataError as exc:
                errors.append(str(exc))
        raise DataError("; ".join(errors) or f"no mirror is configured for {file_name}")

    # --- loading -------------------------------------------------------------------------

    def _read(self, path: Path, name: str) -> np.ndarray:
        md5 = self.checksums[name] if self.verify else None
        return read_idx(path, md5=md5)

    def _load_part(self, files: dict[str, Path], part: str) -> tuple[np.ndarray, np.ndarray]:
        image_name, label_name = _FILES[part]
        images = self._read(files[image_name], image_name)
        labels = self._read(files[label_name], label_name)
        if images.ndim != 3 or images.dtype != np.uint8:
            raise DataError(
                f"{files[image_name]}: expected uint8 images of shape (N, H, W), got "
                f"{images.dtype} {images.shape}; delete it and let pipetune download it again"
            )
        if labels.ndim != 1 or labels.shape[0] != images.shape[0]:
            raise DataError(
                f"{files[label_name]}: expected {images.shape[0]} labels to match "
                f"{files[image_name].name}, got shape {labels.shape}; "
                "delete it and let pipetune download it again"
            )
        if labels.size and (int(labels.min()) < 0 or int(labels.max()) >= len(self.classes)):
            raise DataError(
                f"{files[label_name]}: expected labels in [0, {len(self.classes)}), got "
                f"{int(labels.min())}..{int(labels.max())}; "
                "delete it and let pipetune download it again"
            )
        return images, labels

    def execute(self) -> ImageClassificationDataset:
        """Find (or download) the files and return the chosen split as one dataset."""
        files = self.locate()
        parts = ["train", "test"] if self.split == "all" else [self.split]
        loaded = [self._load_part(files, part) for part in parts]
        if len(loaded) == 1:
            images, labels = loaded[0]
        else:
            images = np.concatenate([im for im, _ in loaded])
            labels = np.concatenate([lb for _, lb in loaded])
        if self.limit is not None and self.limit < len(labels):
            # Copies, so that the dataset (and its pickles) hold only the kept samples.
            images = images[: self.limit].copy()
            labels = labels[: self.limit].copy()
        return ImageClassificationDataset(
            images,
            labels,
            mean=self.mean,
            std=self.std,
            classes=self.classes,
            num_classes=len(self.classes),
        )

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(name={self.name!r}, split={self.split!r}, "
            f"data_dir={self.data_dir!r}, limit={self.limit!r})"
        )


def _fetch_url(url: str, path: Path, md5: str) -> None:
    """Download ``url`` to ``path`` through a temporary file; check its MD5 before renaming."""
    try:
        with (
            atomic_open(path, "wb", suffix=".part") as out,
            urllib.request.urlopen(url, timeout=_DOWNLOAD_TIMEOUT_S) as response,
        ):
            digest = hashlib.md5(usedforsecurity=False)
            while chunk := response.read(1 << 20):
                digest.update(chunk)
                out.write(chunk)
            if digest.hexdigest() != md5:
                raise DataError(
                    f"{url}: MD5 checksum mismatch: expected {md5}, got {digest.hexdigest()}"
                )
    except DataError:
        raise
    except (OSError, ValueError) as exc:  # URLError and HTTPError are OSErrors
        reason = getattr(exc, "reason", None) or exc
        raise DataError(f"{url}: {reason}") from exc


class MNIST(IDXImageGetter):
    """The MNIST handwritten digits (10 classes, 28x28 grayscale).

    See :class:`IDXImageGetter` for the arguments and where the files are looked for.
    Downloads come from a well-known mirror of the original files.
    """

    dataset_name = "mnist"
    title = "MNIST"
    mirrors = (
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
    )
    checksums: ClassVar[dict[str, tuple[str, str]]] = {
        "train-images-idx3-ubyte": (
            "f68b3c2dcbeaaa9fbdd348bbdeb94873",
            "6bbc9ace898e44ae57da46a324031adb",
        ),
        "train-labels-idx1-ubyte": (
            "d53e105ee54ea40749a09fcbcd1e9432",
            "a25bea736e30d166cdddb491f175f624",
        ),
        "t10k-images-idx3-ubyte": (
            "9fb629c4189551a2d022fa330f9573f3",
            "2646ac647ad5339dbf082846283269ea",
        ),
        "t10k-labels-idx1-ubyte": (
            "ec29112dd5afa0611ce80d1b7f02629c",
            "27ae3e4e09519cfbb04c329615203637",
        ),
    }
    classes = tuple(str(digit) for digit in range(10))
    default_mean = 0.1307
    default_std = 0.3081


class FashionMNIST(IDXImageGetter):
    """Zalando's Fashion-MNIST (10 clothing classes, 28x28 grayscale).

    See :class:`IDXImageGetter` for the arguments and where the files are looked for; it also
    finds Debian's ``dataset-fashion-mnist`` package under ``/usr/share/datasets``. Downloads
    come from the official hosting.
    """

    dataset_name = "fashion-mnist"
    title = "Fashion-MNIST"
    mirrors = ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",)
    checksums: ClassVar[dict[str, tuple[str, str]]] = {
        "train-images-idx3-ubyte": (
            "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
            "f4a8712d7a061bf5bd6d2ca38dc4d50a",
        ),
        "train-labels-idx1-ubyte": (
            "25c81989df183df01b3e8a0aad5dffbe",
            "9018921c3c673c538a1fc5bad174d6f9",
        ),
        "t10k-images-idx3-ubyte": (
            "bef4ecab320f06d8554ea6380940ec79",
            "8181f5470baa50b63fa0f6fddb340f0a",
        ),
        "t10k-labels-idx1-ubyte": (
            "bb300cfdad3c16e7a12a480ee83cd310",
            "15d484375f8d13e6eb1aabb0c3f46965",
        ),
    }
    classes = (
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    )
    default_mean = 0.2860
    default_std = 0.3530
    system_dirs = ("/usr/share/datasets/fashion-mnist",)
    install_hint = "run `apt-get install dataset-fashion-mnist`"
