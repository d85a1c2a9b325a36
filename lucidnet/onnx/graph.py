"""The ONNX graph being built: nodes, initializers, and the names of the traced arrays.

Every array the trace met gets an ONNX name by what it is: an op's output (bound when the op is converted),
a parameter or buffer of the model (an initializer named as in its ``state_dict``), or a constant (an
initializer; when it differs between the two traces, a small subgraph computing it from the dynamic sizes,
see ``constants``). Converters call :meth:`Graph.input`, :meth:`Graph.attr`, :meth:`Graph.node` and friends.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ..autograd import version
from .constants import dynamic_constant, fill
from .dims import Sizes
from .errors import OnnxExporterError, at

__all__ = ["Graph", "INT64_MAX", "INT64_MIN"]

INT64_MAX, INT64_MIN = 2 ** 63 - 1, -2 ** 63


class Graph:
    """Nodes and initializers of the graph under construction (``onnx`` is the imported library)."""

    def __init__(self, onnx: Any, opset: int, params: dict[int, str], sizes: Sizes):
        self.onnx, self.opset, self.sizes = onnx, opset, sizes
        self.nodes: list = []
        self.initializers: list = []
        self._params = params                        # id(array) -> state_dict name
        self._bound: dict[int, tuple] = {}           # id(array) -> (name, array, version)
        self._consts: dict[Any, str] = {}            # cache key -> initializer name
        self._sizes: dict[str, str] = {}             # symbol -> name of its size, int64 (1,)
        self._sources: dict[str, tuple[str, int]] = {}  # symbol -> (graph input, axis)
        self._used: set[str] = set()
        self._alive: list = []                       # arrays whose ids key the caches stay alive
        self.op = None                               # the op being converted (for names and errors)

    # ---- names ---------------------------------------------------------------------------------------
    def fresh(self, base: str) -> str:
        name, k = base, 1
        while name in self._used:
            k += 1
            name = f"{base}_{k}"
        self._used.add(name)
        return name

    def bind(self, array: Any, name: str, count: int | None = None) -> None:
        """``array`` (an op's output, a graph input) is the ONNX value ``name`` from now on; ``count``: its
        version counter when the trace made it (by default, now)."""
        self._bound[id(array)] = (name, array, version.version(array) if count is None else count)

    def bound(self, array: Any, count: int | None = None) -> str | None:
        """The ONNX name of a traced array, read at version ``count`` (an error when it was changed in place
        between, by something the trace did not record)."""
        entry = self._bound.get(id(array))
        if entry is None or entry[1] is not array:
            return None
        if count is not None and count != entry[2]:
            raise OnnxExporterError(self.error("it reads a tensor that was changed in place after it was computed, in a "
                                               "way the trace cannot follow (item assignment, NumPy); build the "
                                               "result out of place (lucidnet.where, cat)"))
        return entry[0]

    def add_source(self, symbol: str, name: str, axis: int) -> None:
        self._sources.setdefault(symbol, (name, axis))

    def error(self, message: str) -> str:
        return at(self.op, message) if self.op is not None else message

    def fail(self, message: str):
        raise OnnxExporterError(self.error(message))

    # ---- nodes and constants ---------------------------------------------------------------------------
    def node(self, op_type: str, inputs: Sequence[str | None], outputs: int = 1, **attrs: Any):
        """Add a node; returns its output name (or the list of them when ``outputs > 1``)."""
        names = [self.fresh(f"{op_type}_out") for _ in range(outputs)]
        where = self.op.layer.split(" ")[0] if self.op is not None else "graph"
        node = self.onnx.helper.make_node(op_type, ["" if i is None else i for i in inputs], names,
                                          name=self.fresh(f"{where}/{op_type}"), **attrs)
        self.nodes.append(node)
        return names[0] if outputs == 1 else names

    def const(self, array: Any, name: str | None = None, key: Any = None) -> str:
        """An initializer holding ``array`` (once per ``key``, by default the array itself)."""
        key = ("id", id(array)) if key is None else key
        if key in self._consts:
            return self._consts[key]
        arr = np.ascontiguousarray(array)
        tensor = self.onnx.numpy_helper.from_array(arr, self.fresh(name or "const"))
        self.initializers.append(tensor)
        self._consts[key] = tensor.name
        self._alive.append(array)
        return tensor.name

    def ints(self, values: Sequence[int]) -> str:
        """A 1-D int64 initializer (shapes, axes, pads)."""
        vals = tuple(int(v) for v in values)
        return self.const(np.array(vals, dtype=np.int64), "ints", key=("ints", vals))

    def scalar(self, value: Any, dtype: Any) -> str:
        """A 0-d initializer of ``dtype``."""
        dt = np.dtype(dtype)
        return self.const(np.array(value, dtype=dt), "scalar", key=("scalar", dt.str, float(value)))

    def param(self, array: Any, tag: str, make) -> str:
        """An initializer derived from parameter or constant ``array`` (a transposed weight, reordered
        gates): ``make(array)``, named after the parameter with ``tag``."""
        base = self._params.get(id(array), "const")
        return self.const(make(array), f"{base}.{tag}", key=(tag, id(array)))

    # ---- values ------------------------------------------------------------------------------------
    def value(self, a1: Any, a2: Any) -> str:
        """The ONNX name of an array the op reads: ``a1`` in the first trace, ``a2`` in the second."""
        if a1 is None:
            return ""
        count = self.op.versions.get(id(a1)) if self.op is not None else None
        name = self.bound(a1, count) if isinstance(a1, np.ndarray) else None
        if name is not None:
            return name
        if id(a1) in self._params:
            return self.const(a1, self._params[id(a1)])
        a1, a2 = np.asarray(a1), np.asarray(a2)
        if a1.shape == a2.shape and a1.dtype == a2.dtype and np.array_equal(a1, a2, equal_nan=a1.dtype.kind == "f"):
            return self.const(a1)
        return dynamic_constant(self, a1, a2)

    def input(self, op, i: int) -> str:
        """The ONNX name of positional input ``i`` of ``op`` ("" when it is None)."""
        return self.value(op.inputs[i], op.twin.inputs[i]) if i < len(op.inputs) else ""

    def operand(self, op, i: int) -> str:
        """``input`` for an elementwise op; a constant of one value throughout that changes shape between the
        traces, and whose broadcast adds nothing to the result's shape, is the value alone (0-d): its shape
        may follow the dynamic axes in ways no shape vector says (a mask over ``T - k + 1`` positions)."""
        a1, a2 = op.inputs[i], op.twin.inputs[i]
        if (isinstance(a1, np.ndarray) and isinstance(a2, np.ndarray) and a1.shape != a2.shape
                and self.bound(a1) is None and id(a1) not in self._params):
            v1, v2 = fill(a1), fill(a2)
            rest = [j for j in range(len(op.inputs)) if j != i]
            if v1 is not None and v2 is not None and v1 == v2 and all(
                    np.broadcast_shapes(*(np.shape(o.inputs[j]) for j in rest)) == o.out.shape for o in (op, op.twin)):
                return self.scalar(v1, a1.dtype)
        return self.input(op, i)

    def attr(self, op, key: str) -> str:
        """The ONNX name of an array-valued attribute of ``op`` (indices, running statistics)."""
        return self.value(op.attrs.get(key), op.twin.attrs.get(key))

    def is_const(self, array: Any) -> bool:
        """Whether ``array`` is a parameter or a constant (not computed from the inputs)."""
        return array is None or not isinstance(array, np.ndarray) or self.bound(array) is None

    # ---- sizes -------------------------------------------------------------------------------------
    def size(self, symbol: str) -> str:
        """The size of a dynamic axis, as an int64 tensor of shape (1,)."""
        if symbol not in self._sizes:
            src, axis = self._sources[symbol]
            self._sizes[symbol] = self.node("Shape", [src], start=axis, end=axis + 1)
        return self._sizes[symbol]

    def dims(self, s1: Sequence[int], s2: Sequence[int], what: str) -> list:
        """Each axis of a shape as an int or a symbol; an error naming ``what`` for a derived size."""
        dims = self.sizes.dims(s1, s2)
        if dims is None or None in dims:
            self.fail(f"the shape of {what} ({tuple(s1)}, then {tuple(s2)} with longer dynamic axes) depends on the "
                      "dynamic axes in a way the exporter cannot express; make that axis static")
        return dims

    def shape(self, dims: Sequence) -> str:
        """An int64 shape vector from ints and symbols (a constant when all are ints)."""
        if all(isinstance(d, (int, np.integer)) for d in dims):
            return self.ints(dims)
        parts, run = [], []
        for d in dims:
            if isinstance(d, str):
                if run:
                    parts.append(self.ints(run))
                    run = []
                parts.append(self.size(d))
            else:
                run.append(d)
        if run:
            parts.append(self.ints(run))
        return self.node("Concat", parts, axis=0)

    def reduce(self, op_type: str, x: str, axes: Sequence[int] | None, keepdims: bool) -> str:
        """``ReduceSum``/``ReduceMean``/``ReduceMax``... over ``axes`` (all when None), for this opset."""
        if axes is None:
            return self.node(op_type, [x], keepdims=int(keepdims))
        if op_type == "ReduceSum" or self.opset >= 18:
            return self.node(op_type, [x, self.ints(axes)], keepdims=int(keepdims))
        return self.node(op_type, [x], axes=list(axes), keepdims=int(keepdims))

    def cast(self, x: str, dtype: Any) -> str:
        return self.node("Cast", [x], to=self.onnx.helper.np_dtype_to_tensor_dtype(np.dtype(dtype)))
