"""Read and write IDX files (the format of MNIST and Fashion-MNIST), gzipped or raw."""

from __future__ import annotations

import gzip
import hashlib
import os
import zlib
from collections.abc import Collection
from pathlib import Path

import numpy as np

from pipetune._io import atomic_write_bytes
from pipetune.errors import PipetuneError

_GZIP_MAGIC = b"\x1f\x8b"

#: IDX type code -> big-endian numpy dtype.
IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}

_REFETCH = "delete it and let pipetune download it again, or replace it with a good copy"


class DataError(PipetuneError, ValueError):
    """A dataset file is missing, corrupt or not what was expected."""


def md5_hex(data: bytes) -> str:
    """Return the hexadecimal MD5 digest of ``data``."""
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def read_idx(
    path: str | os.PathLike[str], *, md5: str | Collection[str] | None = None
) -> np.ndarray:
    """Read an IDX file, gzipped or raw, into a writable native-endian numpy array.

    Gzip is recognised by the file's content, not its name. With ``md5`` (one checksum or
    several), the file passes when the MD5 of its bytes as stored, or of its decompressed IDX
    bytes, is one of them. Every problem raises :class:`DataError` with a one-line message.
    """
    path = Path(path)
    try:
        stored = path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot read it ({exc.strerror or exc})") from exc

    data = stored
    if stored[:2] == _GZIP_MAGIC:
        try:
            data = gzip.decompress(stored)
        except (OSError, EOFError, zlib.error) as exc:
            raise DataError(f"{path}: corrupt or truncated gzip data ({exc}); {_REFETCH}") from exc

    if md5 is not None:
        _check_md5(path, stored, data, md5)
    return _parse(path, data)


def _check_md5(path: Path, stored: bytes, data: bytes, md5: str | Collection[str]) -> None:
    wanted = [md5.lower()] if isinstance(md5, str) else [m.lower() for m in md5]
    got = md5_hex(stored)
    if got in wanted:
        return
    if data is not stored:
        got_raw = md5_hex(data)
        if got_raw in wanted:
            return
        got = f"{got} (decompressed {got_raw})"
    expected = " or ".join(wanted)
    raise DataError(f"{path}: MD5 checksum mismatch: expected {expected}, got {got}; {_REFETCH}")


def _parse(path: Path, data: bytes) -> np.ndarray:
    if len(data) < 4:
        raise DataError(
            f"{path}: too short for an IDX header: expected at least 4 bytes, got {len(data)}; "
            f"{_REFETCH}"
        )
    if data[0] != 0 or data[1] != 0:
        raise DataError(
            f"{path}: not an IDX file: expected the magic number to start with bytes 00 00, "
            f"got {data[:4].hex(' ')}; {_REFETCH}"
        )
    code, ndim = data[2], data[3]
    if code not in IDX_DTYPES:
        known = ", ".join(f"0x{c:02X}" for c in IDX_DTYPES)
        raise DataError(
            f"{path}: unknown IDX data type code 0x{code:02X}: expected one of {known}; {_REFETCH}"
        )
    if ndim == 0:
        raise DataError(
            f"{path}: IDX header declares 0 dimensions: expected at least 1; {_REFETCH}"
        )
    header_size = 4 + 4 * ndim
    if len(data) < header_size:
        raise DataError(
            f"{path}: truncated IDX header: expected {header_size} bytes for {ndim} dimensions, "
            f"got {len(data)}; {_REFETCH}"
        )
    shape = tuple(int(d) for d in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    dtype = IDX_DTYPES[code]
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    got = len(data) - header_size
    if got != expected:
        dims = "x".join(str(d) for d in shape)
        problem = "truncated" if got < expected else "has trailing bytes"
        raise DataError(
            f"{path}: data size does not match the shape {dims} of {dtype.name}: expected "
            f"{expected} bytes after the header, got {got} (the file is {problem}); {_REFETCH}"
        )
    flat = np.frombuffer(data, dtype=dtype, offset=header_size)
    # One copy that makes the array native-endian, writable and independent of ``data``.
    return flat.astype(dtype.newbyteorder("="), copy=True).reshape(shape)


def write_idx(
    path: str | os.PathLike[str], array: np.ndarray, *, compress: bool | None = None
) -> Path:
    """Write ``array`` as an IDX file, atomically; gzipped if ``compress`` (default: ``.gz`` name).

    Supported dtypes: uint8, int8, int16, int32, float32 and float64.
    """
    path = Path(path)
    array = np.asarray(array)
    codes = {dt.newbyteorder("="): code for code, dt in IDX_DTYPES.items()}
    code = codes.get(array.dtype.newbyteorder("="))
    if code is None:
        raise DataError(f"{path}: IDX cannot store dtype {array.dtype}")
    if not 1 <= array.ndim <= 255:
        raise DataError(f"{path}: IDX needs 1 to 255 dimensions, got {array.ndim}")
    header = bytes([0, 0, code, array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
    payload = header + np.ascontiguousarray(array, dtype=IDX_DTYPES[code]).tobytes()
    if compress is None:
        compress = path.suffix == ".gz"
    if compress:
        payload = gzip.compress(payload, mtime=0)
    atomic_write_bytes(path, payload)
    return path
