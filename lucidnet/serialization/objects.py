"""PyTorch's ``torch.save(obj, f)`` and ``torch.load(f)``, without pickle: ``lucidnet.save`` / ``lucidnet.load``.

``obj`` is a state dict (name -> Tensor or array), or any nest of dicts, lists, tuples, numbers, strings,
None, NumPy arrays and Tensors: a checkpoint such as ``{"epoch": 3, "model_state_dict": ...,
"optimizer_state_dict": ..., "loss": 0.2}``. ``f`` is a path or a binary file object. The file is
safetensors: a plain state dict stays readable by any safetensors tool; a nest keeps its structure as JSON
in the header (``serialization.tree``). Nothing is ever unpickled, so loading an untrusted file runs no code;
a model object itself (``torch.save(model)``) cannot be saved: save its ``state_dict()``. ``load`` gives
Tensors where arrays were saved, as PyTorch does.

>>> import io, lucidnet as ln
>>> buf = io.BytesIO()
>>> ln.save({"epoch": 3, "weights": {"w": ln.ones(2)}, "betas": (0.9, 0.999)}, buf)
>>> _ = buf.seek(0)
>>> ln.load(buf)
{'epoch': 3, 'weights': {'w': tensor([1., 1.])}, 'betas': (0.9, 0.999)}
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections import OrderedDict
from typing import Any, Mapping

import numpy as np

from ..tensor import Tensor
from . import statedict
from .tensorfile import CheckpointError, read, write
from .tree import Packer, unpack_json

__all__ = ["save", "load"]

KEY_OBJECT = "lucidnet.object"  # the JSON of a saved nest (absent for a plain state dict)


def _is_state_dict(obj: Any) -> bool:
    return isinstance(obj, Mapping) and all(isinstance(k, str) and isinstance(v, (Tensor, np.ndarray))
                                            for k, v in obj.items())


def _write(obj: Any, path: str, metadata: Mapping[str, Any] | None) -> None:
    if _is_state_dict(obj):
        statedict.save(obj, path, metadata=metadata)
        return
    if metadata is not None:
        raise ValueError("save: metadata= goes with a state dict (name -> tensor); put it inside the object "
                         "you save instead")
    if hasattr(obj, "state_dict") and not isinstance(obj, Mapping):
        raise TypeError(f"save: cannot save a {type(obj).__name__} object itself (lucidnet never pickles); save "
                        f"its state_dict() and load it into a new {type(obj).__name__}")
    packer = Packer()
    tree = packer.pack(obj, "obj")
    write(path, packer.tensors, {KEY_OBJECT: json.dumps(tree, separators=(",", ":"), allow_nan=False)})


def save(obj: Any, f: Any, metadata: Mapping[str, Any] | None = None) -> None:
    """Save ``obj`` (a state dict, or a nest of containers, numbers, strings and tensors) to ``f`` (a path,
    written atomically, or a binary file object). ``metadata``: JSON-able header values of a state dict."""
    if isinstance(f, (str, os.PathLike)):
        _write(obj, os.fspath(f), metadata)
        return
    if not hasattr(f, "write"):
        raise TypeError(f"save: expected a path or a binary file object, got {type(f).__name__}")
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "object.safetensors")
        _write(obj, path, metadata)
        with open(path, "rb") as src:
            shutil.copyfileobj(src, f)


def _tensors(obj: Any) -> Any:
    if isinstance(obj, np.ndarray):
        return Tensor._make(obj, None)
    if isinstance(obj, OrderedDict):
        return OrderedDict((k, _tensors(v)) for k, v in obj.items())
    if isinstance(obj, dict):
        return {k: _tensors(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_tensors(v) for v in obj]
    if isinstance(obj, tuple):
        return tuple(_tensors(v) for v in obj)
    return obj


def _read(path: str, return_metadata: bool) -> Any:
    if return_metadata:
        arrays, metadata = statedict.load(path, return_metadata=True)
        return _tensors(arrays), metadata
    arrays, meta = read(path)
    if KEY_OBJECT not in meta:
        return _tensors(arrays)
    try:
        obj = unpack_json(meta[KEY_OBJECT], arrays)
    except (ValueError, TypeError) as e:
        raise CheckpointError(f"{path}: the saved object is malformed ({e})") from None
    return _tensors(obj)


def load(f: Any, map_location: Any = None, weights_only: bool | None = None, *, return_metadata: bool = False):
    """What :func:`save` wrote to ``f`` (a path or a binary file object), arrays as Tensors. PyTorch's
    ``map_location`` may only name the CPU; ``weights_only`` is accepted either way (nothing is unpickled).
    ``return_metadata=True``: ``(state_dict, metadata)`` of a state dict file. A truncated, corrupted or
    foreign file raises ``CheckpointError`` naming it."""
    from ..device import check_device
    if map_location is not None and not callable(map_location) and not isinstance(map_location, Mapping):
        check_device(map_location, "load")
    if isinstance(f, (str, os.PathLike)):
        return _read(os.fspath(f), return_metadata)
    if not hasattr(f, "read"):
        raise TypeError(f"load: expected a path or a binary file object, got {type(f).__name__}")
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "object.safetensors")
        with open(path, "wb") as dst:
            shutil.copyfileobj(f, dst)
        try:
            return _read(path, return_metadata)
        except CheckpointError as e:
            name = getattr(f, "name", type(f).__name__)
            raise CheckpointError(str(e).replace(path, f"file object {name!r}")) from None
