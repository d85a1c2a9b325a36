"""Nested state (dicts, lists, numbers, arrays) split into JSON text and a flat dict of arrays, exactly.

``pack`` walks a value and returns its JSON form, moving every NumPy array (and lucidnet Tensor) into
``Packer.tensors`` under a dotted name built from its path (``"optimizer.state.3.exp_avg"``) and leaving
``{"__tensor__": name}`` in its place. What plain JSON would change is tagged so that ``unpack`` gives
back an equal value of the same type:

- tuples: ``{"__tuple__": [...]}`` (PyTorch-style ``betas``);
- dicts whose keys are not all strings (optimizer ``state`` is keyed by int): ``{"__dict__": [[k, v], ...]}``;
- NaN and infinities: ``{"__float__": "nan"}`` (strict JSON has none);
- NumPy scalars: ``{"__numpy__": ["float32", 0.5]}`` (exact: float16/32 widen to float64 losslessly).

Python ints of any size (the RNG state's 128-bit words) and floats (written with ``repr``, which
round-trips) are exact in JSON. Anything else (sets, functions, custom objects) is refused with an error
naming where it was found: no pickle.
"""
from __future__ import annotations

import json
import math
from collections import OrderedDict
from typing import Any, Mapping

import numpy as np

from ..tensor import Tensor
from .tensorfile import safetensors_dtype

__all__ = ["Packer", "unpack", "unpack_json"]

_TENSOR, _TUPLE, _DICT, _FLOAT, _NUMPY = "__tensor__", "__tuple__", "__dict__", "__float__", "__numpy__"
_TAGS = frozenset((_TENSOR, _TUPLE, _DICT, _FLOAT, _NUMPY))
_NONFINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}
_SCALAR_TYPES = {np.dtype(t).name: np.dtype(t).type for t in "? b B h H i I l L q Q e f d".split()}


def _float(x: float) -> Any:
    if math.isfinite(x):
        return x
    return {_FLOAT: "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")}


class Packer:
    """Collects the arrays of one or more packed values (``tensors``: name -> array, in order met).

    ``allow_arrays=False`` refuses arrays (for metadata that must stay pure JSON)."""

    def __init__(self, allow_arrays: bool = True):
        self.tensors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._names: dict[int, str] = {}  # id(array) -> name: one array met twice is stored once
        self._allow_arrays = allow_arrays

    def pack(self, obj: Any, path: str) -> Any:
        """The JSON-able form of ``obj``; ``path`` names it in errors and names its arrays."""
        if obj is None or isinstance(obj, bool):
            return obj if obj is None else bool(obj)
        if isinstance(obj, np.generic):  # before int/float: np.float64 is a float, and must stay np.float64
            return self._scalar(obj, path)
        if isinstance(obj, int):
            return int(obj)
        if isinstance(obj, float):
            return _float(float(obj))
        if isinstance(obj, str):
            return str(obj)
        if isinstance(obj, (np.ndarray, Tensor)):
            return {_TENSOR: self._array(obj.array if isinstance(obj, Tensor) else obj, path)}
        if isinstance(obj, Mapping):
            if all(isinstance(k, str) and k not in _TAGS for k in obj):
                return {k: self.pack(v, f"{path}.{k}") for k, v in obj.items()}
            return {_DICT: [[self.pack(k, f"{path}.<key {k!r}>"), self.pack(v, f"{path}.{k}")]
                            for k, v in obj.items()]}
        if isinstance(obj, list):
            return [self.pack(v, f"{path}.{i}") for i, v in enumerate(obj)]
        if isinstance(obj, tuple):
            return {_TUPLE: [self.pack(v, f"{path}.{i}") for i, v in enumerate(obj)]}
        kind = "a set (its order is not stable; use a sorted list)" if isinstance(obj, (set, frozenset)) \
            else f"a {type(obj).__module__}.{type(obj).__qualname__}"
        raise TypeError(f"cannot save {path!r}: it is {kind}. Checkpoints hold None, bool, int, float, str, "
                        "lists, tuples, dicts, NumPy arrays and scalars, and Tensors (no pickle)")

    def _scalar(self, x: np.generic, path: str) -> Any:
        dt = x.dtype
        if dt.kind == "b":
            return {_NUMPY: [dt.name, bool(x)]}
        if dt.kind in "iu":
            return {_NUMPY: [dt.name, int(x)]}
        if dt.kind == "f" and dt.itemsize <= 8:
            return {_NUMPY: [dt.name, _float(float(x))]}
        if dt.kind == "U":
            return str(x)
        raise TypeError(f"cannot save {path!r}: a NumPy scalar of dtype {dt} (bool, integer and float16/32/64 "
                        "scalars are saved; wrap others in an array)")

    def _array(self, arr: np.ndarray, path: str) -> str:
        if not self._allow_arrays:
            raise TypeError(f"cannot save {path!r}: arrays are not allowed here (metadata is JSON only)")
        name = self._names.get(id(arr))
        if name is not None:
            return name
        if safetensors_dtype(arr.dtype) is None:
            raise TypeError(f"cannot save {path!r}: an array of dtype {arr.dtype} (supported: bool, "
                            "(u)int8-64, float16/32/64, complex64)")
        name, k = path, 0
        while name in self.tensors:
            k += 1
            name = f"{path}#{k}"
        self.tensors[name] = arr
        self._names[id(arr)] = name
        return name


def unpack(obj: Any, tensors: Mapping[str, np.ndarray]) -> Any:
    """Invert ``Packer.pack``: the same value, arrays taken from ``tensors``.

    Raises ValueError for a reference to a missing tensor or a malformed tag."""
    if isinstance(obj, list):
        return [unpack(v, tensors) for v in obj]
    if not isinstance(obj, dict):
        return obj
    if len(obj) == 1:
        (tag, val), = obj.items()
        if tag == _TENSOR:
            if not isinstance(val, str) or val not in tensors:
                raise ValueError(f"the state refers to a tensor {val!r} that the file does not contain")
            return tensors[val]
        if tag == _TUPLE and isinstance(val, list):
            return tuple(unpack(v, tensors) for v in val)
        if tag == _DICT and isinstance(val, list) and all(isinstance(kv, list) and len(kv) == 2 for kv in val):
            return {unpack(k, tensors): unpack(v, tensors) for k, v in val}
        if tag == _FLOAT and val in _NONFINITE:
            return _NONFINITE[val]
        if tag == _NUMPY and isinstance(val, list) and len(val) == 2:
            dt, v = val
            if dt not in _SCALAR_TYPES:
                raise ValueError(f"malformed {tag} entry in the saved state: unknown dtype {dt!r:.50}")
            return _SCALAR_TYPES[dt](unpack(v, tensors))
        if tag in _TAGS:
            raise ValueError(f"malformed {tag} entry in the saved state: {val!r:.100}")
    return {k: unpack(v, tensors) for k, v in obj.items()}


def unpack_json(text: str, tensors: Mapping[str, np.ndarray]) -> Any:
    """``unpack`` of the JSON ``text``; ValueError for text that is not JSON or nests deeper than Python's
    recursion limit (a hostile file's ``[[[[...]]]]``)."""
    try:
        return unpack(json.loads(text), tensors)
    except RecursionError:
        raise ValueError("nested too deeply (past the recursion limit)") from None
