"""read_idx and write_idx on small IDX files written by hand."""

from __future__ import annotations

import gzip
import hashlib
import struct
from pathlib import Path

import numpy as np
import pytest

from pipetune.data import DataError, read_idx, write_idx
from pipetune.errors import PipetuneError


def idx_bytes(array: np.ndarray, code: int) -> bytes:
    header = struct.pack(">BBBB", 0, 0, code, array.ndim)
    header += struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


@pytest.fixture
def images() -> np.ndarray:
    return np.arange(3 * 4 * 5, dtype=np.uint8).reshape(3, 4, 5)


def test_reads_raw_uint8(tmp_path: Path, images: np.ndarray) -> None:
    path = tmp_path / "images-idx3-ubyte"
    path.write_bytes(idx_bytes(images, 0x08))
    got = read_idx(path)
    assert got.dtype == np.uint8
    assert got.shape == (3, 4, 5)
    np.testing.assert_array_equal(got, images)
    assert got.flags.writeable


def test_reads_gzipped(tmp_path: Path, images: np.ndarray) -> None:
    path = tmp_path / "images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(idx_bytes(images, 0x08)))
    np.testing.assert_array_equal(read_idx(str(path)), images)


@pytest.mark.parametrize(
    ("code", "dtype"),
    [(0x09, np.int8), (0x0B, np.int16), (0x0C, np.int32), (0x0D, np.float32), (0x0E, np.float64)],
)
def test_reads_every_dtype_big_endian(tmp_path: Path, code: int, dtype: type) -> None:
    array: np.ndarray = (np.arange(6).reshape(2, 3) - 3).astype(dtype)
    path = tmp_path / "values.idx"
    path.write_bytes(idx_bytes(array, code))
    got = read_idx(path)
    assert got.dtype == np.dtype(dtype)
    assert got.dtype.isnative
    np.testing.assert_array_equal(got, array)


def test_labels_one_dimension(tmp_path: Path) -> None:
    labels = np.array([3, 1, 4, 1, 5], dtype=np.uint8)
    path = tmp_path / "labels-idx1-ubyte"
    path.write_bytes(idx_bytes(labels, 0x08))
    np.testing.assert_array_equal(read_idx(path), labels)


def test_bad_magic(tmp_path: Path, images: np.ndarray) -> None:
    path = tmp_path / "bad.idx"
    path.write_bytes(b"\x01\x02" + idx_bytes(images, 0x08)[2:])
    with pytest.raises(DataError, match=r"bad\.idx: not an IDX file: expected .*00 00, got 01 02"):
        read_idx(path)


def test_wrong_dtype_code(tmp_path: Path, images: np.ndarray) -> None:
    path = tmp_path / "bad.idx"
    path.write_bytes(idx_bytes(images, 0x0A))
    with pytest.raises(DataError, match=r"unknown IDX data type code 0x0A: expected one of 0x08"):
        read_idx(path)


def test_truncated_data(tmp_path: Path, images: np.ndarray) -> None:
    path = tmp_path / "short.idx.gz"
    path.write_bytes(gzip.compress(idx_bytes(images, 0x08)[:-7]))
    with pytest.raises(
        DataError,
        match=r"short\.idx\.gz: data size does not match the shape 3x4x5 of uint8: "
        r"expected 60 bytes after the header, got 53 \(the file is truncated\); "
        r"delete it and let pipetune download it again",
    ):
        read_idx(path)


def test_trailing_bytes(tmp_path: Path, images: np.ndarray) -> None:
    path = tmp_path / "long.idx"
    path.write_bytes(idx_bytes(images, 0x08) + b"\x00")
    with pytest.raises(DataError, match=r"expected 60 bytes after the header, got 61"):
        read_idx(path)


def test_truncated_header(tmp_path: Path, images: np.ndarray) -> None:
    path = tmp_path / "header.idx"
    path.write_bytes(idx_bytes(images, 0x08)[:9])
    with pytest.raises(DataError, match=r"truncated IDX header: expected 16 bytes"):
        read_idx(path)
    path.write_bytes(b"\x00\x00")
    with pytest.raises(DataError, match=r"too short for an IDX header"):
        read_idx(path)


def test_zero_dimensions(tmp_path: Path) -> None:
    path = tmp_path / "scalar.idx"
    path.write_bytes(b"\x00\x00\x08\x00")
    with pytest.raises(DataError, match=r"0 dimensions: expected at least 1"):
        read_idx(path)


def test_corrupt_gzip(tmp_path: Path, images: np.ndarray) -> None:
    path = tmp_path / "broken.gz"
    path.write_bytes(gzip.compress(idx_bytes(images, 0x08))[:-10])
    with pytest.raises(DataError, match=r"broken\.gz: corrupt or truncated gzip data"):
        read_idx(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"nothing\.idx: no such file"):
        read_idx(tmp_path / "nothing.idx")


def test_md5_of_stored_or_decompressed_bytes(tmp_path: Path, images: np.ndarray) -> None:
    raw = idx_bytes(images, 0x08)
    packed = gzip.compress(raw)
    path = tmp_path / "images.gz"
    path.write_bytes(packed)
    md5_packed = hashlib.md5(packed).hexdigest()
    md5_raw = hashlib.md5(raw).hexdigest()
    np.testing.assert_array_equal(read_idx(path, md5=md5_packed), images)
    np.testing.assert_array_equal(read_idx(path, md5=md5_raw.upper()), images)
    np.testing.assert_array_equal(read_idx(path, md5=("0" * 32, md5_raw)), images)


def test_wrong_md5(tmp_path: Path, images: np.ndarray) -> None:
    path = tmp_path / "images-idx3-ubyte"
    path.write_bytes(idx_bytes(images, 0x08))
    actual = hashlib.md5(path.read_bytes()).hexdigest()
    with pytest.raises(
        DataError,
        match=rf"images-idx3-ubyte: MD5 checksum mismatch: expected {'0' * 32}, got {actual}; "
        r"delete it and let pipetune download it again",
    ):
        read_idx(path, md5="0" * 32)


def test_data_error_is_a_pipetune_and_value_error() -> None:
    assert issubclass(DataError, PipetuneError)
    assert issubclass(DataError, ValueError)


@pytest.mark.parametrize("name", ["roundtrip.idx", "roundtrip.idx.gz"])
@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
def test_write_idx_round_trip(tmp_path: Path, name: str, dtype: type) -> None:
    array: np.ndarray = (np.arange(24).reshape(2, 3, 4) - 5).astype(dtype)
    path = write_idx(tmp_path / name, array)
    assert (path.read_bytes()[:2] == b"\x1f\x8b") == name.endswith(".gz")
    np.testing.assert_array_equal(read_idx(path), array)
    assert [p.name for p in tmp_path.iterdir()] == [name]  # no temporary file is left behind


def test_write_idx_rejects_unsupported_dtype(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="cannot store dtype int64"):
        write_idx(tmp_path / "x.idx", np.zeros(3, dtype=np.int64))
