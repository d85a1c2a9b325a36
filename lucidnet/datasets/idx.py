"""The IDX file format of MNIST and Fashion-MNIST, plain or gzip-compressed (``.gz``).

An IDX file is a 4-byte magic number ``0x00 0x00 TT NN`` (TT: element type, NN: number of dimensions),
NN big-endian uint32 sizes, then the elements in C order, big-endian. ``read_idx`` checks every part
and raises ``DatasetError`` naming the file and the fault (bad magic, truncated data, trailing data,
bad gzip) instead of returning garbage.

>>> import numpy as np, tempfile, os
>>> path = os.path.join(tempfile.mkdtemp(), "x-idx2-ubyte.gz")
>>> write_idx(path, np.arange(6, dtype=np.uint8).reshape(2, 3))
>>> read_idx(path).tolist()
[[0, 1, 2], [3, 4, 5]]
"""
from __future__ import annotations

import gzip
import math
import os
import struct
import zlib
from pathlib import Path

import numpy as np

from ..serialization.atomic import atomic_write
from .errors import DatasetError

__all__ = ["read_idx", "write_idx"]

_CODE_TO_DTYPE = {0x08: np.dtype(">u1"), 0x09: np.dtype(">i1"), 0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"),
                  0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}
_DTYPE_TO_CODE = {dt.newbyteorder("="): code for code, dt in _CODE_TO_DTYPE.items()}


HEADER_MAX = 4 + 4 * 255  # the magic number and up to 255 dimension sizes
DEFLATE_MAX = 1032        # gzip expands its input at most this many times


def _read_bytes(path: Path, limit: int) -> bytes:
    """The first ``limit`` bytes of the file's content (decompressed for ``.gz``)."""
    try:
        if path.name.endswith(".gz"):
            with gzip.open(path, "rb") as f:
                return f.read(limit)
        with open(path, "rb") as f:
            return f.read(limit)
    except FileNotFoundError:
        raise DatasetError(f"{path}: file not found") from None
    except EOFError as e:
        raise DatasetError(f"{path}: truncated gzip file (the compressed stream ends early: {e})") from None
    except (gzip.BadGzipFile, zlib.error) as e:
        raise DatasetError(f"{path}: not a valid gzip file ({e})") from None
    except OSError as e:
        raise DatasetError(f"{path}: cannot be read ({e})") from None


def read_idx(path: str | os.PathLike, ndim: int | None = None, dtype: np.dtype | str | None = None) -> np.ndarray:
    """The array stored in an IDX file (``.gz``: gzip-compressed), in native byte order, writable.

    ``ndim`` / ``dtype``: what the caller expects; anything else is a ``DatasetError``.
    """
    path = Path(path)
    raw = _read_bytes(path, HEADER_MAX)
    if len(raw) < 4:
        raise DatasetError(f"{path}: too short for an IDX header ({len(raw)} bytes)")
    code, nd = raw[2], raw[3]
    if raw[:2] != b"\0\0" or code not in _CODE_TO_DTYPE or nd == 0:
        raise DatasetError(f"{path}: bad magic number 0x{raw[:4].hex()}; an IDX file starts with 0x0000TTNN "
                           "(TT: type code 08/09/0b/0c/0d/0e, NN: number of dimensions)")
    file_dtype = _CODE_TO_DTYPE[code]
    if ndim is not None and nd != ndim:
        raise DatasetError(f"{path}: expected an IDX file with {ndim} dimension(s), the magic number "
                           f"0x{raw[:4].hex()} says {nd}")
    if dtype is not None and file_dtype.newbyteorder("=") != np.dtype(dtype):
        raise DatasetError(f"{path}: expected elements of type {np.dtype(dtype)}, the magic number "
                           f"0x{raw[:4].hex()} says {file_dtype.newbyteorder('=')}")
    head = 4 + 4 * nd
    if len(raw) < head:
        raise DatasetError(f"{path}: truncated header: {nd} dimension sizes need {head} bytes, the file has "
                           f"{len(raw)}")
    shape = struct.unpack(f">{nd}I", raw[4:head])
    want = math.prod(shape) * file_dtype.itemsize  # Python ints: no overflow
    if math.prod(n for n in shape if n) * file_dtype.itemsize >= 2 ** 62:
        raise DatasetError(f"{path}: the header declares shape {shape}, too large for any array (corrupt header)")
    stored, gz = path.stat().st_size, path.name.endswith(".gz")
    if gz and head + want > DEFLATE_MAX * stored:  # refused before decompressing anything
        raise DatasetError(f"{path}: truncated data: the header declares shape {shape} ({want} bytes of data), more "
                           f"than a gzip file of {stored} bytes can hold")
    if not gz and head + want > stored:  # refused before reading (or allocating) anything
        raw = raw[:stored]
    elif head + want >= len(raw):
        raw = _read_bytes(path, head + want + 1)  # one byte more: is there trailing data?
    have = len(raw) - head if gz else stored - head
    if have < want:
        n_items = have / max(want // max(shape[0], 1), 1)
        raise DatasetError(f"{path}: truncated data: the header declares shape {shape} ({want} bytes of data), "
                           f"the file holds {have} bytes (about {n_items:.1f} of {shape[0]} items)")
    if have > want:
        extra = (len(_read_bytes(path, -1)) if gz else stored) - head - want
        raise DatasetError(f"{path}: {extra} bytes of trailing data after the {shape[0]} items of shape "
                           f"{shape[1:]} that the header declares (wrong item count in the header, or corrupt file)")
    out = np.frombuffer(raw, dtype=file_dtype, offset=head, count=math.prod(shape)).reshape(shape)
    return out.astype(file_dtype.newbyteorder("="))  # a writable, native-order copy


def write_idx(path: str | os.PathLike, array: np.ndarray, compresslevel: int = 9) -> None:
    """Write ``array`` as an IDX file (gzip-compressed when ``path`` ends in ``.gz``), atomically.

    The gzip header has no file name and time 0, so the same array always gives the same bytes.
    """
    path = Path(path)
    arr = np.asarray(array)
    code = _DTYPE_TO_CODE.get(arr.dtype.newbyteorder("="))
    if code is None:
        raise ValueError(f"write_idx: dtype {arr.dtype} has no IDX type code "
                         f"(supported: {sorted(str(d) for d in _DTYPE_TO_CODE)})")
    if arr.ndim == 0 or arr.ndim > 255:
        raise ValueError(f"write_idx: expected an array with 1 to 255 dimensions, got {arr.ndim}")
    header = bytes([0, 0, code, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape)
    body = header + np.ascontiguousarray(arr, dtype=_CODE_TO_DTYPE[code]).tobytes()
    if path.name.endswith(".gz"):
        body = gzip.compress(body, compresslevel=compresslevel, mtime=0)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, [body])
