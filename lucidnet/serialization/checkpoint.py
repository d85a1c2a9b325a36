"""Training checkpoints: everything needed to stop a run and continue it bit for bit, in one file.

One safetensors file (written atomically, so a crash never leaves half a checkpoint):

- tensors: the model's parameters and buffers (``model.<name>``), the optimizer's state arrays
  (``optimizer.state.<index>.exp_avg``), the DataLoader's epoch order (``loader.permutation``) and any
  arrays in ``history`` / ``extra``;
- header metadata ``lucidnet.state``: JSON of everything else, exactly (optimizer hyper-parameters,
  the scheduler, epoch and step, the library RNG state, history, extra), plus the format version and
  a SHA-256 of the whole content.

>>> import os, tempfile, lucidnet as ln
>>> from lucidnet.serialization import save_checkpoint, load_checkpoint
>>> model = ln.nn.Linear(3, 2)
>>> opt = ln.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
>>> path = os.path.join(tempfile.mkdtemp(), "ckpt.safetensors")
>>> save_checkpoint(path, model=model, optimizer=opt, epoch=4, step=400, history={"loss": [0.9, 0.5]})
>>> ckpt = load_checkpoint(path, model=model, optimizer=opt)
>>> ckpt["epoch"], ckpt["step"], ckpt["history"]
(4, 400, {'loss': [0.9, 0.5]})
"""
from __future__ import annotations

import copy
import json
import os
from collections import OrderedDict
from typing import Any, Callable

import numpy as np

from ..random import get_rng_state, set_rng_state
from .statedict import KEY_FORMAT, KEY_VERSION
from .tensorfile import CheckpointError, read, write
from .tree import Packer, unpack_json

__all__ = ["FORMAT_VERSION", "save_checkpoint", "load_checkpoint"]

FORMAT_VERSION = 1
KEY_STATE = "lucidnet.state"
KEY_LIBRARY = "lucidnet.version"
_SECTIONS = ("optimizer", "scheduler", "loader")


def _model_state(model: Any) -> dict:
    try:  # the tensors themselves, not copies: the file is written before anything can change them
        return model.state_dict(keep_vars=True)
    except TypeError:
        return model.state_dict()


def _int(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"save_checkpoint: {what} must be an int, got {value!r}")
    return int(value)


def save_checkpoint(path: str | os.PathLike, *, model: Any, optimizer: Any = None, scheduler: Any = None,
                    loader: Any = None, epoch: int = 0, step: int = 0, history: Any = None,
                    extra: Any = None) -> None:
    """Save a training run to ``path`` (one safetensors file, written atomically).

    Args:
        model: a ``Module`` (its parameters and persistent buffers are saved), or None.
        optimizer, scheduler, loader: objects with ``state_dict()`` (an ``Optimizer``, an LR scheduler, a
            ``DataLoader`` to resume mid-epoch); each optional.
        epoch, step: counters of your loop (say, epochs completed and optimizer steps taken).
        history: the metrics so far (``{"loss": [...]}``); any JSON-like value, arrays allowed.
        extra: anything else of yours, same rules (no pickle: no custom classes or functions).

    The library RNG state (``lucidnet.get_rng_state()``) is always saved. Restore with
    ``load_checkpoint``.
    """
    packer = Packer()
    state: dict[str, Any] = {"epoch": _int(epoch, "epoch"), "step": _int(step, "step")}
    state["model"] = None if model is None else packer.pack(_model_state(model), "model")
    for section, obj in zip(_SECTIONS, (optimizer, scheduler, loader)):
        state[section] = None if obj is None else {"class": type(obj).__name__,
                                                   "state": packer.pack(obj.state_dict(), section)}
    state["rng"] = packer.pack(get_rng_state(), "rng")
    state["history"] = packer.pack(history, "history")
    state["extra"] = packer.pack(extra, "extra")
    from .. import __version__
    meta = {KEY_FORMAT: "checkpoint", KEY_VERSION: str(FORMAT_VERSION), KEY_LIBRARY: __version__,
            KEY_STATE: json.dumps(state, separators=(",", ":"), allow_nan=False)}
    write(path, packer.tensors, meta)


def _shape(v: Any) -> tuple:
    return tuple(getattr(v, "shape", np.shape(v)))


def _check_model(model: Any, saved: dict, strict: bool) -> list[str]:
    """What keeps ``saved`` from loading into ``model``: missing / unexpected names, shape mismatches."""
    current = _model_state(model)
    problems = []
    if strict:
        for what, names in (("missing from the checkpoint", [k for k in current if k not in saved]),
                            ("in the checkpoint but not in the model", [k for k in saved if k not in current])):
            if names:
                more = f" and {len(names) - 10} more" if len(names) > 10 else ""
                problems.append(f"{what}: " + ", ".join(repr(k) for k in names[:10]) + more)
    for k, v in current.items():
        if k not in saved:
            continue
        if _shape(saved[k]) != _shape(v):
            problems.append(f"shape mismatch for {k!r}: {_shape(saved[k])} in the checkpoint, "
                            f"{_shape(v)} in the model")
        elif np.asarray(saved[k]).dtype.kind not in "biuf":
            problems.append(f"{k!r} has dtype {np.asarray(saved[k]).dtype} in the checkpoint, which cannot be "
                            "loaded into a real-valued tensor")
    return problems


def _check_structure(state: Any) -> None:
    """Raise ValueError unless ``state`` has the shape ``save_checkpoint`` gives it."""
    if not isinstance(state, dict):
        raise ValueError("not a JSON object")
    missing = {"epoch", "step", "model", "rng", "history", "extra", *_SECTIONS} - set(state)
    if missing:
        raise ValueError(f"missing {sorted(missing)}")
    for key in ("epoch", "step"):
        if type(state[key]) is not int:
            raise ValueError(f"{key} should be an int, found {state[key]!r:.50}")
    model = state["model"]
    if model is not None and not (isinstance(model, dict) and all(isinstance(v, np.ndarray) for v in model.values())):
        raise ValueError("the model section should map names to tensors")
    for section in _SECTIONS:
        s = state[section]
        if s is not None and not (isinstance(s, dict) and isinstance(s.get("class"), str) and "state" in s):
            raise ValueError(f"malformed {section} section")


def load_checkpoint(path: str | os.PathLike, *, model: Any = None, optimizer: Any = None, scheduler: Any = None,
                    loader: Any = None, strict: bool = True, restore_rng: bool = True) -> dict[str, Any]:
    """Read a checkpoint written by ``save_checkpoint`` and restore the objects given.

    Each object passed gets its saved state (``load_state_dict``); the library RNG gets its saved state
    unless ``restore_rng=False``. Continuing the loop after this gives bit-identical results to a run
    that never stopped. ``strict=False`` lets the model load a checkpoint whose names differ (missing or
    extra parameters are skipped; shapes must still match).

    Returns a dict with ``epoch``, ``step``, ``history``, ``extra``, the raw ``model_state_dict``,
    ``optimizer_state_dict``, ``scheduler_state_dict``, ``loader_state_dict`` and ``rng_state`` (None
    where nothing was saved), ``format_version`` and ``lucidnet_version``.

    Raises ``CheckpointError`` (a ValueError) naming the file: truncated, corrupted (checksum), not a
    checkpoint, written by a newer format, not matching the model (each name and shape listed), or
    lacking the state of an object passed. Everything is checked before anything is changed; if an
    object's own ``load_state_dict`` still refuses, the objects restored before it are put back.
    """
    name = os.fspath(path)

    def fail(msg: str) -> CheckpointError:
        return CheckpointError(f"{name}: {msg}")

    arrays, meta = read(path)
    fmt = meta.get(KEY_FORMAT)
    if fmt != "checkpoint":
        what = "a state dict" if fmt == "state_dict" else "tensors only"
        raise fail(f"not a lucidnet checkpoint: it holds {what}; read it with lucidnet.load(path) "
                   "(and model.load_state_dict)")
    version = meta.get(KEY_VERSION, "")
    if not (version.isascii() and version.isdigit()):
        raise fail(f"bad checkpoint format version {version!r}")
    if int(version) > FORMAT_VERSION:
        raise fail(f"written in checkpoint format {version} by lucidnet {meta.get(KEY_LIBRARY, '?')}; this "
                   f"lucidnet reads format {FORMAT_VERSION} and older: upgrade lucidnet")
    try:
        state = unpack_json(meta[KEY_STATE], arrays)
        _check_structure(state)
    except (KeyError, ValueError, TypeError) as e:
        raise fail(f"bad checkpoint state ({e})") from None

    # ---- check everything we can before changing anything ---------------------------------------
    objects = dict(zip(_SECTIONS, (optimizer, scheduler, loader)))
    for section, obj in objects.items():
        if obj is None:
            continue
        saved = state[section]
        if saved is None:
            raise fail(f"the checkpoint holds no {section} state, but a {section} was given to restore")
        if saved["class"] != type(obj).__name__:
            raise fail(f"the checkpoint holds the state of a {saved['class']} {section}, "
                       f"which cannot be loaded into a {type(obj).__name__}")
    if model is not None:
        if state["model"] is None:
            raise fail("the checkpoint holds no model state")
        problems = _check_model(model, state["model"], strict)
        if problems:
            raise fail(f"the checkpoint does not fit the model ({type(model).__name__}):\n  " + "\n  ".join(problems))

    # ---- restore, undoing on failure ---------------------------------------------------------------
    # The RNG, scheduler and loader are snapshotted (small) and put back if a later step fails; the
    # optimizer's load_state_dict checks everything before it swaps its state, and the model, checked
    # above, comes last.
    steps: list[tuple[str, Any, Callable[[Any], Any], Any, bool]] = []  # (what, object, load, state, undoable)
    if restore_rng and state["rng"] is not None:
        steps.append(("RNG", None, set_rng_state, state["rng"], True))
    for section in ("scheduler", "loader", "optimizer"):
        obj = objects[section]
        if obj is not None:
            steps.append((section, obj, obj.load_state_dict, state[section]["state"], section != "optimizer"))
    if model is not None:
        steps.append(("model", model, lambda sd: model.load_state_dict(sd, strict=strict), state["model"], False))
    undo: list[tuple[Callable[[Any], Any], Any]] = []
    for what, obj, load, saved, undoable in steps:
        before = (get_rng_state() if obj is None else copy.deepcopy(obj.state_dict())) if undoable else None
        try:
            load(saved)
        except Exception as e:
            for put_back, old in reversed(undo):
                put_back(old)
            whose = "" if obj is None else f" ({type(obj).__name__})"
            raise fail(f"restoring the {what}{whose} failed: {e}") from e
        if undoable:
            undo.append((load, before))

    def inner(section: str) -> Any:
        return None if state[section] is None else state[section]["state"]

    return {"epoch": state["epoch"], "step": state["step"], "history": state["history"], "extra": state["extra"],
            "model_state_dict": None if state["model"] is None else OrderedDict(state["model"]),
            "optimizer_state_dict": inner("optimizer"),
            "scheduler_state_dict": inner("scheduler"), "loader_state_dict": inner("loader"),
            "rng_state": state["rng"], "format_version": int(version),
            "lucidnet_version": meta.get(KEY_LIBRARY)}
