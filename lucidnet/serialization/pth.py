"""``load_pth``: read a PyTorch ``.pth``/``.pt`` state dict into NumPy arrays, without torch and without
running the file's pickle.

Both of ``torch.save``'s formats are read: the zip archive (``<name>/data.pkl`` + one raw entry per storage
in ``<name>/data/``, ``<name>/byteorder``), and the legacy stream (before torch 1.6, or
``_use_new_zipfile_serialization=False``): pickles of a magic number, a protocol version and the system
info, then the object, then the list of storage keys, then each storage as an int64 element count and its
raw bytes. The pickles are read by a restricted unpickler: the only globals it resolves are
``collections.OrderedDict``, torch's tensor-rebuild functions (``torch._utils._rebuild_tensor_v2``,
``_rebuild_tensor``, ``_rebuild_parameter``) and the ``torch.*Storage`` types, each mapped to a local
stand-in that records what to build; anything else (``os.system``, ``builtins.exec``, ...) is refused
before it is called. Tensors are built once the storages are read (with their offsets and strides), each
as a new array of its own. bfloat16, which NumPy lacks, is widened exactly to float32.

>>> import io, os, pickle, tempfile
>>> path = os.path.join(tempfile.mkdtemp(), "evil.pth")
>>> with open(path, "wb") as f:
...     f.write(b"\\x80\\x02cos\\nsystem\\nq\\x00.")
16
>>> load_pth(path)  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
lucidnet.serialization.pth.PthError: refusing to load ...evil.pth: it wants os.system; only state dicts of tensors are read
"""
from __future__ import annotations

import collections
import io
import math
import os
import pickle
import struct
import zipfile
import zlib
from typing import Any

import numpy as np

__all__ = ["PthError", "load_pth"]

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
LEGACY_PROTOCOL = 1001

# torch storage type -> NumPy dtype ("bfloat16": read as uint16 bits, widened to float32)
_STORAGE_DTYPES = {
    "FloatStorage": np.float32, "DoubleStorage": np.float64, "HalfStorage": np.float16,
    "BFloat16Storage": "bfloat16", "LongStorage": np.int64, "IntStorage": np.int32, "ShortStorage": np.int16,
    "CharStorage": np.int8, "ByteStorage": np.uint8, "BoolStorage": np.bool_,
    "ComplexFloatStorage": np.complex64, "ComplexDoubleStorage": np.complex128,
}


class PthError(ValueError):
    """A ``.pth`` file that is not read: not a torch file, truncated or corrupt, or asking for code to run.
    The message names the file."""


# ---- stand-ins for the few torch globals a state dict pickles ------------------------------------------

class _StorageType:
    """What ``torch.FloatStorage`` (etc.) unpickles to: the storage's element type."""

    def __init__(self, name: str):
        self.name = name
        dt = _STORAGE_DTYPES[name]
        self.bfloat16 = dt == "bfloat16"
        self.dtype = np.dtype(np.uint16 if self.bfloat16 else dt)


class _Storage:
    """A storage named in the pickle, filled with its data (a flat array) once that is read."""

    def __init__(self, key: str, stype: _StorageType, numel: int):
        self.key, self.stype, self.numel = key, stype, numel
        self.data: np.ndarray | None = None


class _StorageView:
    """A view into a storage (old files): ``numel`` elements from ``offset``."""

    def __init__(self, base: _Storage, offset: int, numel: int):
        self.base, self.offset, self.numel = base, offset, numel


class _TensorRef:
    """A tensor to build once its storage is read."""

    def __init__(self, storage, offset: int, size, stride):
        if not isinstance(storage, (_Storage, _StorageView)):
            raise pickle.UnpicklingError(f"a tensor is rebuilt from a {type(storage).__name__}, not a storage")
        self.storage, self.offset = storage, int(offset)
        self.size, self.stride = tuple(int(s) for s in size), tuple(int(s) for s in stride)
        if len(self.size) != len(self.stride):
            raise pickle.UnpicklingError(f"a tensor of size {self.size} has stride {self.stride}")


def _rebuild_tensor(storage, storage_offset, size, stride):
    return _TensorRef(storage, storage_offset, size, stride)


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False, backward_hooks=None,
                       metadata=None):
    return _TensorRef(storage, storage_offset, size, stride)


def _rebuild_parameter(data, requires_grad=False, backward_hooks=None):
    if not isinstance(data, _TensorRef):
        raise pickle.UnpicklingError(f"a parameter is rebuilt from a {type(data).__name__}, not a tensor")
    return data


_SAFE = {("collections", "OrderedDict"): collections.OrderedDict,
         ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,
         ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
         ("torch._utils", "_rebuild_parameter"): _rebuild_parameter}


class _Refused(Exception):
    def __init__(self, what: str):
        super().__init__(what)
        self.what = what


class _Unpickler(pickle._Unpickler):  # type: ignore[name-defined]
    """An unpickler that resolves only the globals of :data:`_SAFE` and the storage types, and records the
    storages that the persistent ids name. It is the pure-Python one: its memo is a dict, where the C
    unpickler's is an array grown to the largest index a ``LONG_BINPUT`` names (4 bytes in the file, gigabytes
    of memory)."""

    def __init__(self, data: bytes | io.BufferedIOBase, storages: dict[str, _Storage]):
        super().__init__(io.BytesIO(data) if isinstance(data, bytes) else data)
        self.storages = storages

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _SAFE:
            return _SAFE[(module, name)]
        if module == "torch" and name in _STORAGE_DTYPES:
            return _StorageType(name)
        raise _Refused(f"{module}.{name}")

    def persistent_load(self, pid: Any) -> Any:
        if not (isinstance(pid, tuple) and len(pid) >= 5 and pid[0] == "storage"
                and isinstance(pid[1], _StorageType)):
            raise pickle.UnpicklingError(f"unexpected persistent id {pid!r:.80}")
        stype, key, numel = pid[1], str(pid[2]), pid[4]
        if isinstance(numel, bool) or not isinstance(numel, int) or numel < 0:
            raise pickle.UnpicklingError(f"storage {key} has an element count of {numel!r}")
        storage = self.storages.get(key)
        if storage is None:
            storage = self.storages[key] = _Storage(key, stype, numel)
        view = pid[5] if len(pid) > 5 else None
        if view is not None:  # (view key, offset, numel): a storage view, written by very old versions
            return _StorageView(storage, int(view[1]), int(view[2]))
        return storage


# ---- reading ------------------------------------------------------------------------------------------

def load_pth(path: str | os.PathLike) -> dict[str, Any]:
    """The state dict that ``torch.save`` wrote to ``path``, tensors as NumPy arrays (their torch dtypes;
    bfloat16 as float32), in the file's order (an ``OrderedDict`` when the file holds one).

    Raises :class:`PthError` (naming the file) for a file that is not a torch file, is truncated or
    corrupt, or whose pickle names any global beyond a state dict's; nothing in the file is executed.
    """
    p = os.fspath(path)
    try:
        with open(p, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        raise FileNotFoundError(f"weights file {p!r} does not exist") from None
    try:
        if raw[:4] == b"PK\x03\x04":
            obj = _read_zip(raw)
        else:
            obj = _read_legacy(raw)
    except _Refused as e:
        raise PthError(f"refusing to load {p}: it wants {e.what}; only state dicts of tensors are read") from None
    except PthError as e:
        raise PthError(f"{p}: {e}") from None
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, KeyError, IndexError, AttributeError,
            struct.error, zipfile.BadZipFile, UnicodeDecodeError, OverflowError, MemoryError, RecursionError,
            NotImplementedError, RuntimeError, OSError, zlib.error) as e:  # the archive is in memory: no disk errors
        raise PthError(f"{p}: not a readable PyTorch file, truncated or corrupt ({type(e).__name__}: {e})") from None
    if not isinstance(obj, dict):
        raise PthError(f"{p}: holds a {type(obj).__name__}, not a state dict (a mapping of names to tensors)")
    return obj


def _read_legacy(raw: bytes) -> Any:
    f = io.BytesIO(raw)
    storages: dict[str, _Storage] = {}

    def load() -> Any:
        return _Unpickler(f, storages).load()

    magic = load()
    if magic != LEGACY_MAGIC:
        raise PthError("not a PyTorch file (neither a zip archive nor the legacy format's magic number)")
    protocol = load()
    if protocol != LEGACY_PROTOCOL:
        raise PthError(f"legacy format protocol {protocol!r}; only {LEGACY_PROTOCOL} is read")
    info = load()
    little = info.get("little_endian", True) if isinstance(info, dict) else True
    obj = load()
    keys = load()
    if not isinstance(keys, list) or set(map(str, keys)) != set(storages):
        raise PthError("the list of storage keys does not match the storages the state dict uses")
    for key in keys:
        s = storages[str(key)]
        head = f.read(8)
        if len(head) < 8:
            raise PthError(f"truncated: storage {key} ends before its size")
        (numel,) = struct.unpack("<q" if little else ">q", head)
        nbytes = numel * s.stype.dtype.itemsize
        buf = f.read(nbytes)
        if numel < 0 or len(buf) != nbytes:
            raise PthError(f"truncated: storage {key} has {len(buf)} of its {nbytes} bytes")
        s.data = _array(buf, s, little)
    return _build(obj)


def _read_zip(raw: bytes) -> Any:
    with zipfile.ZipFile(io.BytesIO(raw)) as z:
        names = z.namelist()
        pkl = [n for n in names if n.endswith("data.pkl") and n.count("/") == 1]
        if len(pkl) != 1:
            raise PthError("a zip archive without a single <name>/data.pkl: not a torch.save file")
        prefix = pkl[0][:-len("data.pkl")]
        little = True
        if prefix + "byteorder" in names:
            order = z.read(prefix + "byteorder").decode().strip()
            if order not in ("little", "big"):
                raise PthError(f"unknown byte order {order!r}")
            little = order == "little"
        storages: dict[str, _Storage] = {}
        obj = _Unpickler(_entry(z, pkl[0]), storages).load()
        for key, s in storages.items():
            entry = f"{prefix}data/{key}"
            if entry not in names:
                raise PthError(f"storage {key} is missing (no entry {entry})")
            need = s.numel * s.stype.dtype.itemsize
            buf = _entry(z, entry, need)
            if len(buf) < need:
                raise PthError(f"storage {key} has {len(buf)} bytes, expected {need}")
            s.data = _array(buf, s, little)
    return _build(obj)


MAX_RATIO = 100  # how much a zip entry of more than a MiB may expand (torch.save stores them uncompressed)


def _entry(z: zipfile.ZipFile, name: str, need: int | None = None) -> bytes:
    """The bytes of entry ``name`` (at most ``need`` of them), once its declared sizes are checked: a truncated
    entry or a zip bomb is refused before anything is decompressed."""
    info = z.getinfo(name)
    if info.file_size > max(MAX_RATIO * info.compress_size, 1 << 20):
        raise PthError(f"entry {name} would expand from {info.compress_size} to {info.file_size} bytes (more than "
                       f"{MAX_RATIO} times: a zip bomb?)")
    if need is not None and info.file_size < need:
        raise PthError(f"entry {name} has {info.file_size} bytes, expected {need}")
    with z.open(info) as f:
        return f.read(info.file_size if need is None else need)


def _array(buf: bytes, s: _Storage, little: bool) -> np.ndarray:
    dt = s.stype.dtype.newbyteorder("<" if little else ">")
    return np.frombuffer(buf, dtype=dt)


def _tensor(ref: _TensorRef) -> np.ndarray:
    st = ref.storage
    base, start = (st.base, st.offset) if isinstance(st, _StorageView) else (st, 0)
    flat = base.data
    if flat is None:
        raise PthError(f"storage {base.key} was never read")
    if isinstance(st, _StorageView):
        flat = flat[start:start + st.numel]
    size, stride, offset = ref.size, ref.stride, ref.offset
    if any(n < 0 for n in size) or offset < 0:
        raise PthError(f"a tensor of size {size} at offset {offset}")
    numel = math.prod(size)
    if numel > len(flat) and numel * flat.itemsize > 1 << 20:  # stride 0 repeats elements: a view, not data
        raise PthError(f"a tensor of size {size} repeats the {len(flat)} elements of its storage {base.key} (stride "
                       f"{stride}) to {numel} elements; save it with .contiguous()")
    if 0 not in size:
        last = offset + sum((n - 1) * abs(s) for n, s in zip(size, stride))
        if any(s < 0 for s in stride) or last >= len(flat):
            raise PthError(f"a tensor of size {size}, stride {stride} and offset {offset} reaches past its "
                           f"storage {base.key} of {len(flat)} elements")
        view = np.lib.stride_tricks.as_strided(flat[offset:], size, [s * flat.itemsize for s in stride])
    else:
        view = np.empty(size, dtype=flat.dtype)
    out = np.array(view, dtype=flat.dtype.newbyteorder("="))  # a copy of its own, native byte order
    if base.stype.bfloat16:
        out = (out.astype(np.uint32) << 16).view(np.float32)
    return out


def _build(obj: Any) -> Any:
    """``obj`` with every tensor reference replaced by its array (containers rebuilt, types kept)."""
    if isinstance(obj, _TensorRef):
        return _tensor(obj)
    if isinstance(obj, dict):
        out = type(obj)() if isinstance(obj, collections.OrderedDict) else {}
        for k, v in obj.items():
            out[k] = _build(v)
        return out
    if isinstance(obj, (list, tuple)):
        return type(obj)(_build(v) for v in obj)
    if isinstance(obj, (_Storage, _StorageView, _StorageType)):
        raise PthError("holds a bare storage, not a tensor")
    return obj
