"""Converters of the shape ops: reshape (with dynamic axes), permute, expand, cat, stack, pad, flip, repeat,
tril/triu, indexing ``x[...]`` and ``gather``."""
from __future__ import annotations

import numpy as np

from ..ops import index as I
from ..ops import shape as S
from .graph import INT64_MAX, INT64_MIN
from .registry import converts


@converts(S.Reshape, dynamic=("shape",))
def reshape(g, op):
    """A target of static sizes; a dynamic size is 0 (copied from the input's same axis) where it is the
    input's, -1 for one other, and read from the graph's inputs for the rest."""
    i1, i2 = op.inputs[0].shape, op.twin.inputs[0].shape
    o1, o2 = op.out.shape, op.twin.out.shape
    if len(o1) != len(o2):
        g.fail(f"its result has {len(o1)} dims, then {len(o2)} with longer dynamic axes")
    target, free = [], []
    for k, (a, b) in enumerate(zip(o1, o2)):
        if a == b:
            target.append(int(a))
        elif k < len(i1) and (i1[k], i2[k]) == (a, b):
            target.append(0)
        else:
            target.append(g.sizes.dim(a, b))
            free.append(k)
    unknown = [k for k in free if target[k] is None]
    if len(free) == 1 or (len(unknown) == 1):
        target[free[0] if len(free) == 1 else unknown[0]] = -1
    elif unknown:
        g.fail(f"it reshapes {tuple(i1)} to {tuple(o1)} merging or splitting several dynamic axes; the exporter "
               "can infer one such size (-1), not more")
    return g.node("Reshape", [g.input(op, 0), g.shape(target)])


@converts(S.Permute)
def permute(g, op):
    return g.node("Transpose", [g.input(op, 0)], perm=[int(a) for a in op.attrs["axes"]])


@converts(S.Expand, dynamic=("shape",))
def expand(g, op):
    """``Expand`` to the output's shape; 1 where the input already has that size (also a dynamic one)."""
    i1, i2 = op.inputs[0].shape, op.twin.inputs[0].shape
    o1, o2 = op.out.shape, op.twin.out.shape
    lead = len(o1) - len(i1)
    dims = []
    for k, (a, b) in enumerate(zip(o1, o2)):
        j = k - lead
        if j >= 0 and (i1[j], i2[j]) == (a, b):
            dims.append(1)
        else:
            dims.append(g.dims([a], [b], "the expanded result")[0])
    return g.node("Expand", [g.input(op, 0), g.shape(dims)])


@converts(S.Cat)
def cat(g, op):
    return g.node("Concat", [g.input(op, i) for i in range(len(op.inputs))], axis=int(op.attrs.get("axis", 0)))


@converts(S.Stack)
def stack(g, op):
    axis = g.ints([int(op.attrs.get("axis", 0))])
    parts = [g.node("Unsqueeze", [g.input(op, i), axis]) for i in range(len(op.inputs))]
    return g.node("Concat", parts, axis=int(op.attrs.get("axis", 0)))


@converts(S.Pad)
def pad(g, op):
    width = op.attrs["pad_width"]
    pads = [int(lo) for lo, _ in width] + [int(hi) for _, hi in width]
    return g.node("Pad", [g.input(op, 0), g.ints(pads), g.scalar(op.attrs.get("value", 0.0), op.out.dtype)],
                  mode="constant")


@converts(S.Flip)
def flip(g, op):
    axes = [int(a) for a in op.attrs["axes"]]
    n = len(axes)
    return g.node("Slice", [g.input(op, 0), g.ints([-1] * n), g.ints([INT64_MIN] * n), g.ints(axes),
                            g.ints([-1] * n)])


@converts(S.Repeat)
def repeat(g, op):
    reps = [int(r) for r in op.attrs["reps"]]
    x, extra = g.input(op, 0), len(reps) - op.inputs[0].ndim
    if extra > 0:
        x = g.node("Unsqueeze", [x, g.ints(range(extra))])
    return g.node("Tile", [x, g.ints(reps)])


@converts(S.Triangle)
def triangle(g, op):
    return g.node("Trilu", [g.input(op, 0), g.scalar(int(op.attrs.get("diagonal", 0)), np.int64)],
                  upper=int(bool(op.attrs.get("upper", False))))


@converts(I.Gather)
def gather(g, op):
    return g.node("GatherElements", [g.input(op, 0), g.attr(op, "index")], axis=int(op.attrs.get("axis", 0)))


def _items(key, ndim: int) -> list:
    """The key as a list with the Ellipsis expanded and trailing full slices added."""
    items = list(key) if isinstance(key, tuple) else [key]
    real = sum(1 for k in items if k is not None and k is not Ellipsis)
    if any(k is Ellipsis for k in items):
        e = next(i for i, k in enumerate(items) if k is Ellipsis)
        items[e:e + 1] = [slice(None)] * (ndim - real)
    return items + [slice(None)] * (ndim - sum(1 for k in items if k is not None))


def _bounds(g, s1: slice, s2: slice, n1: int, n2: int):
    """(start, end, step) of an ONNX Slice for python slice ``s1`` (``s2`` in the second trace), or None
    for the whole axis."""
    r1, r2 = s1.indices(n1), s2.indices(n2)
    if r1 == (0, n1, 1) and r2 == (0, n2, 1):
        return None
    step = s1.step or 1
    if s1 == s2:
        start = s1.start if s1.start is not None else (0 if step > 0 else -1)
        end = s1.stop if s1.stop is not None else (INT64_MAX if step > 0 else INT64_MIN)
        return int(start), int(end), int(step)
    if step == 1 and r1[0] == r2[0] and (r1[1], r2[1]) == (n1, n2):
        return int(r1[0]), INT64_MAX, 1
    g.fail(f"the slice {s1} changes with the dynamic axes (it is {s2} in a second trace); slice to the end "
           "(x[a:]) or with static bounds")


@converts(I.GetItem, dynamic=("key",))
def getitem(g, op):
    """Basic indexing (ints, slices, None, ...) as Slice, Squeeze and Unsqueeze; one integer array (or a
    constant boolean mask) among full slices as Gather."""
    x1, x2 = op.inputs[0], op.twin.inputs[0]
    k1, k2 = _items(op.attrs["key"], x1.ndim), _items(op.twin.attrs["key"], x2.ndim)
    if any(isinstance(k, np.ndarray) for k in k1):
        return _advanced(g, op, k1, k2)
    x = g.input(op, 0)
    starts, ends, axes, steps, squeeze, new = [], [], [], [], [], []
    axis = out_axis = 0
    for a, b in zip(k1, k2):
        if a is None:
            new.append(out_axis)
            out_axis += 1
            continue
        if isinstance(a, slice):
            bounds = _bounds(g, a, b, x1.shape[axis], x2.shape[axis])
            out_axis += 1
        else:
            i = int(a)
            if i != int(b):
                g.fail(f"the index {i} changes with the dynamic axes ({int(b)} in a second trace)")
            bounds = (i, INT64_MAX if i == -1 else i + 1, 1)
            squeeze.append(axis)
        if bounds is not None:
            starts.append(bounds[0])
            ends.append(bounds[1])
            steps.append(bounds[2])
            axes.append(axis)
        axis += 1
    if axes:
        x = g.node("Slice", [x, g.ints(starts), g.ints(ends), g.ints(axes), g.ints(steps)])
    if squeeze:
        x = g.node("Squeeze", [x, g.ints(squeeze)])
    if new:
        x = g.node("Unsqueeze", [x, g.ints(new)])
    if not (axes or squeeze or new):
        x = g.node("Identity", [x])
    return x


def _advanced(g, op, k1: list, k2: list):
    arrays = [i for i, k in enumerate(k1) if isinstance(k, np.ndarray)]
    others = [k for i, k in enumerate(k1) if i not in arrays]
    if len(arrays) != 1 or any(k != slice(None) for k in others) or any(k is None for k in k1):
        g.fail("indexing with several index arrays, or an index array beside ints, slices or None, is not "
               "supported; index one axis with one array (x[:, idx])")
    axis = arrays[0]
    idx1, idx2 = k1[axis], k2[axis]
    if idx1.dtype == np.bool_:
        if idx1.ndim != 1 or not g.is_const(idx1) or idx1.shape != idx2.shape or not np.array_equal(idx1, idx2):
            g.fail("a boolean mask computed from the inputs gives a result whose size depends on the values")
        return g.node("Gather", [g.input(op, 0), g.ints(np.flatnonzero(idx1))], axis=axis)
    return g.node("Gather", [g.input(op, 0), g.value(idx1, idx2)], axis=axis)
