"""``save`` / ``load``: a state dict (name -> array) as one safetensors file, with optional JSON metadata.

>>> import os, tempfile, numpy as np, lucidnet as ln
>>> path = os.path.join(tempfile.mkdtemp(), "weights.safetensors")
>>> ln.save({"w": np.ones((2, 3), np.float32), "b": ln.zeros(3)}, path, metadata={"epochs": 3})
>>> sd, meta = ln.load(path, return_metadata=True)
>>> list(sd), sd["w"].dtype, meta
(['w', 'b'], dtype('float32'), {'epochs': 3})
"""
from __future__ import annotations

import json
import os
from collections import OrderedDict
from typing import Any, Mapping

import numpy as np

from ..tensor import Tensor
from .tensorfile import CheckpointError, read, write
from .tree import Packer, unpack_json

__all__ = ["save", "load"]

KEY_FORMAT = "lucidnet.format"
KEY_VERSION = "lucidnet.format_version"
KEY_METADATA = "lucidnet.metadata"


def save(obj: Mapping[str, Any], path: str | os.PathLike, metadata: Mapping[str, Any] | None = None) -> None:
    """Write a state dict (``name -> NumPy array or Tensor``) to ``path`` as a safetensors file.

    ``metadata``: JSON-able values (numbers, strings, lists, dicts...) kept in the file's header; read
    them back with ``load(path, return_metadata=True)``. The file is written atomically: a crash leaves
    the previous file intact. Nothing is pickled. For a whole training state (optimizer, scheduler,
    epoch...) use ``lucidnet.serialization.save_checkpoint``.
    """
    if not isinstance(obj, Mapping):
        hint = " (pass model.state_dict())" if hasattr(obj, "state_dict") else ""
        raise TypeError(f"save: expected a mapping of names to arrays{hint}, got {type(obj).__name__}")
    arrays: OrderedDict[str, np.ndarray] = OrderedDict()
    for name, v in obj.items():
        if not isinstance(name, str):
            raise TypeError(f"save: names must be strings, got {name!r} ({type(name).__name__})")
        if isinstance(v, Tensor):
            v = v.array
        elif isinstance(v, np.generic):
            v = np.asarray(v)
        if not isinstance(v, np.ndarray):
            hint = "; for nested state use lucidnet.serialization.save_checkpoint" if isinstance(v, Mapping) else ""
            raise TypeError(f"save: {name!r} is a {type(v).__name__}; expected a NumPy array or Tensor{hint}")
        arrays[name] = v
    meta = {KEY_FORMAT: "state_dict", KEY_VERSION: "1"}
    if metadata is not None:
        if not isinstance(metadata, Mapping):
            raise TypeError(f"save: metadata must be a mapping, got {type(metadata).__name__}")
        packed = Packer(allow_arrays=False).pack(metadata, "metadata")
        meta[KEY_METADATA] = json.dumps(packed, separators=(",", ":"), allow_nan=False)
    write(path, arrays, meta)


def load(path: str | os.PathLike, *, return_metadata: bool = False):
    """Read a safetensors file: an ordered dict ``name -> NumPy array`` in the saved order, or
    ``(state_dict, metadata)`` with ``return_metadata=True``.

    Works on any safetensors file (the metadata of a file written by another tool is its raw
    ``str -> str`` header metadata). The SHA-256 that lucidnet stores is verified; a truncated,
    corrupted or foreign file raises ``CheckpointError`` naming the file and the problem.
    """
    arrays, meta = read(path)
    if not return_metadata:
        return arrays
    if KEY_METADATA in meta:
        try:
            metadata = unpack_json(meta[KEY_METADATA], {})
        except (ValueError, TypeError) as e:
            raise CheckpointError(f"{os.fspath(path)}: bad metadata ({e})") from None
    else:
        metadata = {k: v for k, v in meta.items() if not k.startswith("lucidnet.")}
    return arrays, metadata
