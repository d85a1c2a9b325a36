"""Safetensors files, encoded and decoded by the ``safetensors`` package, with what lucidnet adds on top.

The format (https://github.com/huggingface/safetensors): 8 bytes giving the header length N, N bytes of
JSON (``{name: {"dtype", "shape", "data_offsets"}, "__metadata__": {str: str}}``), then the tensor bytes.
No pickle is involved, so loading a file runs no code. lucidnet adds, in the metadata:

- ``lucidnet.sha256``: a SHA-256 of every tensor's name, dtype, shape and bytes and of the metadata,
  verified by ``read``, so silently corrupted bytes are found, not loaded;
- ``lucidnet.order``: the tensors' order (safetensors sorts them), so ``read`` returns them as saved.

``write`` goes through ``atomic.atomic_path`` (a crash leaves the old file; a failed write, say a full disk,
is an ``OSError`` naming the file, with nothing left behind). ``read`` checks the framing
itself (header length, JSON, file size) so that a truncated or foreign file gets a message giving the
sizes, and turns every error of the package into a ``CheckpointError`` naming the file.

The ``safetensors`` package (a dependency of lucidnet) is imported when a
file is read or written.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
from collections import OrderedDict
from typing import Any, Mapping

import numpy as np

from .atomic import atomic_path

__all__ = ["CheckpointError", "DIGEST_KEY", "ORDER_KEY", "read", "write", "safetensors_dtype"]

DIGEST_KEY = "lucidnet.sha256"
ORDER_KEY = "lucidnet.order"
MAX_HEADER = 100_000_000  # the safetensors package refuses larger headers

# The dtypes of the format that NumPy holds (safetensors.numpy's set), little-endian as in the file.
_DTYPES = {"BOOL": np.dtype("bool"), "U8": np.dtype("uint8"), "I8": np.dtype("int8"),
           "U16": np.dtype("<u2"), "I16": np.dtype("<i2"), "U32": np.dtype("<u4"), "I32": np.dtype("<i4"),
           "U64": np.dtype("<u8"), "I64": np.dtype("<i8"), "F16": np.dtype("<f2"), "F32": np.dtype("<f4"),
           "F64": np.dtype("<f8"), "C64": np.dtype("<c8")}
_CODES = {dt.newbyteorder("="): code for code, dt in _DTYPES.items()}


class CheckpointError(ValueError):
    """A file that cannot be loaded: not a safetensors file, truncated, corrupted, or not matching the
    model it is loaded into. The message names the file and what is wrong."""


def safetensors_dtype(dtype: np.dtype) -> str | None:
    """The safetensors code of a NumPy dtype (``"F32"``), or None when the format cannot hold it."""
    return _CODES.get(np.dtype(dtype).newbyteorder("="))


def _safetensors() -> Any:
    """The ``safetensors`` package, or an ImportError that says how to install it."""
    try:
        import safetensors
        import safetensors.numpy
    except ImportError as e:
        raise ImportError('lucidnet saves and loads files with the safetensors package, which is not installed: '
                          'pip install safetensors') from e
    return safetensors


def _digest(arrays: Mapping[str, np.ndarray], metadata: Mapping[str, str]) -> str:
    """SHA-256 over the metadata, each tensor's name, dtype and shape, then its bytes (by name, so the
    digest does not depend on the layout in the file)."""
    names = sorted(arrays)
    desc = {"metadata": sorted((k, v) for k, v in metadata.items() if k != DIGEST_KEY),
            "tensors": [[n, safetensors_dtype(arrays[n].dtype), list(arrays[n].shape)] for n in names]}
    h = hashlib.sha256(json.dumps(desc, separators=(",", ":")).encode())
    for n in names:
        h.update(arrays[n].reshape(-1).view(np.uint8))  # C-contiguous: a flat byte view, no copy
    return h.hexdigest()


def write(path: str | os.PathLike, tensors: Mapping[str, np.ndarray], metadata: Mapping[str, str]) -> None:
    """Write ``tensors`` (NumPy arrays of a dtype ``safetensors_dtype`` knows) and ``metadata`` to ``path``
    as a safetensors file, atomically, with the lucidnet digest and order added to the metadata."""
    st = _safetensors()
    arrays: dict[str, np.ndarray] = {}
    for name, arr in tensors.items():
        if not isinstance(name, str) or name == "__metadata__":
            raise ValueError(f"safetensors: invalid tensor name {name!r} (a string other than '__metadata__')")
        code = safetensors_dtype(arr.dtype)
        if code is None:
            raise TypeError(f"safetensors: tensor {name!r} has dtype {arr.dtype}, which the format cannot hold "
                            f"(supported: bool, (u)int8-64, float16/32/64, complex64)")
        # safetensors reads the memory behind the pointer: it must be C-contiguous and little-endian
        arrays[name] = np.asarray(arr, dtype=_DTYPES[code], order="C")  # copies only when needed; keeps 0-d
    meta = {str(k): str(v) for k, v in metadata.items() if k not in (DIGEST_KEY, ORDER_KEY)}
    meta[ORDER_KEY] = json.dumps(list(arrays), separators=(",", ":"))
    meta[DIGEST_KEY] = _digest(arrays, meta)
    with atomic_path(path) as tmp:
        try:
            st.numpy.save_file(arrays, tmp, metadata=meta)
        except st.SafetensorError as e:  # an I/O error of the Rust writer: an OSError again (disk full, too large)
            code = re.search(r"os error (\d+)", str(e))
            if code is None:
                raise
            raise OSError(int(code.group(1)), os.strerror(int(code.group(1)))) from e
        with open(tmp, "rb") as f:
            n = int.from_bytes(f.read(8), "little")
        if n > MAX_HEADER:  # safetensors writes it, but would not read it back
            raise ValueError(f"safetensors: the header would be {n} bytes, more than the format's limit of "
                             f"{MAX_HEADER}; store large data as arrays, not in metadata")


def _check_framing(f, size: int) -> dict:
    """The JSON header of the open file ``f`` of ``size`` bytes, once the header length, the JSON and the
    file size are checked (with messages giving the sizes, where safetensors would only say 'invalid')."""
    if size == 0:
        raise ValueError("empty file (0 bytes), not a safetensors file")
    if size < 8:
        raise ValueError(f"not a safetensors file: {size} bytes, too short for the 8-byte header length")
    n = int.from_bytes(f.read(8), "little")
    if n > MAX_HEADER:
        raise ValueError(f"not a safetensors file, or a corrupted one: its first 8 bytes give a header length "
                         f"of {n} bytes (the format allows at most {MAX_HEADER})")
    if 8 + n > size:
        raise ValueError(f"truncated: the header alone needs {8 + n} bytes, the file has {size}")
    try:
        header = json.loads(f.read(n).decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise ValueError(f"bad header: not valid JSON ({e})") from None
    except RecursionError:
        raise ValueError("bad header: its JSON nests too deeply") from None
    if not isinstance(header, dict):
        raise ValueError("bad header: not a JSON object")
    end = 0  # where the data should end: the largest data_offsets (safetensors checks the rest)
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        try:
            code, (_, stop) = entry["dtype"], entry["data_offsets"]
        except (TypeError, KeyError, ValueError):
            return header  # malformed: safetensors says how
        if isinstance(code, str) and code not in _DTYPES:
            raise ValueError(f"tensor {name!r} has dtype {code!r}, which lucidnet cannot load "
                             f"(supported: {', '.join(_DTYPES)})")
        if type(stop) is not int:
            return header
        end = max(end, stop)
    expected = 8 + n + end
    if size < expected:
        raise ValueError(f"truncated: expected {expected} bytes, found {size}")
    if size > expected:
        raise ValueError(f"expected {expected} bytes, found {size} ({size - expected} bytes after the last tensor)")
    return header


_HINTS = {"invalid offset": "data_offsets must cover the data in order, without gaps or overlaps",
          "invalid shape, data type, or offset": "the data_offsets of a tensor do not span the bytes that its "
                                                 "shape and dtype need"}


def _explain(e: Exception) -> str:
    """A safetensors error as the detail of ours: its message, without the generic prefix, and a hint."""
    msg = str(e).removeprefix("Error while deserializing header: ").removeprefix("Error while deserializing: ")
    hint = next((h for fragment, h in _HINTS.items() if fragment in msg), None)
    return f"{msg} ({hint})" if hint else msg


def _owned(arr: np.ndarray) -> np.ndarray:
    """``arr`` if it is writable, aligned and alone in its memory (safetensors gives each tensor its own
    bytearray), else a copy: never a read-only view, nor one of a memory-mapped file that may change."""
    root = arr
    while isinstance(root, np.ndarray) and root.base is not None:
        root = root.base
    if isinstance(root, memoryview):
        root = root.obj
    ok = arr.flags.writeable and arr.flags.aligned and isinstance(root, (np.ndarray, bytearray))
    return arr if ok else np.array(arr)  # np.array: a plain ndarray, also from a np.memmap


def _order(meta: Mapping[str, str], header: Mapping, names: list[str]) -> list[str]:
    """The saved order: ``lucidnet.order`` if written, else the order of the file's own header."""
    if ORDER_KEY in meta:
        try:
            order = json.loads(meta[ORDER_KEY])
        except (ValueError, RecursionError):
            order = None
        if not (isinstance(order, list) and all(isinstance(k, str) for k in order)
                and sorted(order) == sorted(names)):
            raise ValueError(f"bad header: {ORDER_KEY} does not list the tensors of the file")
        return order
    order = [k for k in header if k != "__metadata__"]
    return order if sorted(order) == sorted(names) else names


def _verify(arrays: Mapping[str, np.ndarray], meta: Mapping[str, str]) -> None:
    stored = meta.get(DIGEST_KEY)
    if stored is None:
        if any(k.startswith("lucidnet.") for k in meta):
            raise ValueError(f"bad header: the {DIGEST_KEY} checksum that lucidnet writes is missing")
        return  # written by another tool: nothing to check against
    actual = _digest(arrays, meta)
    if actual != stored:
        raise ValueError(f"checksum mismatch: the file was corrupted or modified after it was written "
                         f"(stored sha256 {stored[:16]}..., computed {actual[:16]}...)")


def read(path: str | os.PathLike) -> tuple[OrderedDict[str, np.ndarray], dict[str, str]]:
    """``(arrays, metadata)`` from a safetensors file, in the saved order, checksum verified when present.

    Each array is writable and has its own memory. Raises ``CheckpointError`` naming the file for
    anything malformed, ``FileNotFoundError`` when it does not exist.
    """
    st = _safetensors()
    try:
        with open(path, "rb") as f:
            header = _check_framing(f, os.fstat(f.fileno()).st_size)
        try:
            with st.safe_open(os.fspath(path), framework="np") as f:
                meta = f.metadata() or {}
                arrays = {name: _owned(f.get_tensor(name)) for name in f.keys()}
        except st.SafetensorError as e:
            raise ValueError(f"bad header: {_explain(e)}") from None
        _verify(arrays, meta)
        arrays = OrderedDict((name, arrays[name]) for name in _order(meta, header, list(arrays)))
    except ValueError as e:
        raise CheckpointError(f"{os.fspath(path)}: {e}") from None
    return arrays, meta
