"""Constants that change with the dynamic axes: NumPy arrays a model builds from its input's sizes.

A model's forward may make arrays with NumPy rather than lucidnet ops (BERT's position ids
``np.arange(t)``, a mask of zeros of shape (B, T, 1)); the trace sees them as constants. When such an array
differs between the two traces (see ``dims``) it is rebuilt in the graph from the dynamic sizes, for the
forms the exporter recognises:

- a fill: every element one value (the same in both traces, or a dynamic size itself), of a shape of
  static and dynamic sizes: ``ConstantOfShape`` or an ``Expand`` of the size;
- a range along one axis (``0, 1, ..., n - 1``, broadcast over the others): ``Range``, reshaped and expanded.

Anything else depends on the inputs' values, not only their sizes, and is an error naming the op and layer.
"""
from __future__ import annotations

import numpy as np

__all__ = ["dynamic_constant", "fill"]


def _range_axis(a: np.ndarray) -> int | None:
    """The axis ``k`` along which ``a`` counts 0, 1, ... (the same on every other index), or None."""
    for k in range(a.ndim):
        ramp = np.arange(a.shape[k]).reshape([-1 if i == k else 1 for i in range(a.ndim)])
        if a.shape[k] > 1 and np.array_equal(a, np.broadcast_to(ramp, a.shape)):
            return k
    return None


def fill(a: np.ndarray):
    """The one value of every element of ``a``, or None."""
    flat = a.reshape(-1)
    return flat[0] if flat.size and (flat == flat[0]).all() else None


def dynamic_constant(g, a1: np.ndarray, a2: np.ndarray) -> str:
    """The ONNX name of a constant that is ``a1`` in the first trace and ``a2`` in the second."""
    why = ("it reads a tensor that the model computed outside lucidnet's ops (with NumPy, or a comparison or "
           "cast without a gradient) and that changes with the example inputs' values")
    if a1.dtype != a2.dtype or a1.ndim != a2.ndim:
        g.fail(why)
    dims = g.sizes.dims(a1.shape, a2.shape)
    if None in dims:
        g.fail(why)
    shape = g.shape(dims)
    v1, v2 = fill(a1), fill(a2)
    if v1 is not None and v2 is not None:
        if v1 == v2:
            value = g.onnx.numpy_helper.from_array(np.array([v1], dtype=a1.dtype), "value")
            return g.node("ConstantOfShape", [shape], value=value)
        sym = g.sizes.dim(int(v1), int(v2)) if float(v1).is_integer() and float(v2).is_integer() else None
        if isinstance(sym, str):
            return g.node("Expand", [g.cast(g.size(sym), a1.dtype), shape])
        g.fail(why)
    k1, k2 = _range_axis(a1), _range_axis(a2)
    if k1 is not None and k1 == k2:
        d = dims[k1]
        limit = g.ints([d]) if isinstance(d, int) else g.size(d)
        ramp = g.node("Range", [g.scalar(0, np.int64), g.node("Reshape", [limit, g.ints([])]),
                                g.scalar(1, np.int64)])
        if a1.dtype != np.int64:
            ramp = g.cast(ramp, a1.dtype)
        ramp = g.node("Reshape", [ramp, g.ints([-1 if i == k1 else 1 for i in range(a1.ndim)])])
        if any(d != 1 for i, d in enumerate(dims) if i != k1):
            ramp = g.node("Expand", [ramp, shape])
        return ramp
    g.fail(why)
