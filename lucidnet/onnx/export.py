"""``export(model, args, f, ...)``: trace the model twice, convert every op, check the graph, write it."""
from __future__ import annotations

import inspect
import io
import os
from typing import Any, Mapping, Sequence, Union

import numpy as np

from .. import __version__
from ..nn import Module, inference
from ..quantization import QuantizedModule
from ..serialization.atomic import atomic_write
from ..tensor import Tensor, as_tensor
from . import attention, elementwise, layers, quantized, recurrent, reductions, shapes  # noqa: F401  (they register converters)
from .dims import Sizes, second_inputs
from .errors import OnnxExporterError, UnsupportedOperatorError, at
from .graph import Graph
from .registry import CONVERTERS, supported
from .trace import Run, trace

__all__ = ["export", "DEFAULT_OPSET", "MIN_OPSET"]

DEFAULT_OPSET = 17  # PyTorch's default (LayerNormalization is in it); ONNX Runtime 1.14 and later run it
MIN_OPSET = 17

DynamicAxes = Mapping[str, Union[Mapping[int, str], Sequence[int]]]


def _onnx():
    try:
        import onnx
    except ImportError:
        raise ImportError("lucidnet.onnx.export needs the onnx package: pip install onnx "
                          "(or pip install lucidnet[onnx], which brings onnxruntime too)") from None
    return onnx


def export(model: Module, args: Any, f: Union[str, os.PathLike, io.IOBase], *,
           input_names: Sequence[str] | None = None, output_names: Sequence[str] | None = None,
           opset_version: int | None = None, dynamic_axes: DynamicAxes | None = None,
           export_params: bool = True, do_constant_folding: bool = True, verbose: bool = False) -> None:
    """Write ``model`` as an ONNX file ``f`` (a path or a binary file object), PyTorch's ``torch.onnx.export``.

    ``args``: the example inputs (a tensor or a tuple of them) that the model is run on, in eval mode and
    without a graph, to record its ops. ``input_names``/``output_names`` name the graph's inputs and outputs
    (default: the forward's argument names, and ``output`` or ``output_0``...). ``dynamic_axes``:
    ``{"x": {0: "batch"}}`` (or ``{"x": [0]}``) makes those axes of inputs and outputs any size; the others
    keep the example's. Weights are initializers, named as in the ``state_dict``. The graph passes
    ``onnx.checker`` (full check) before anything is written; an op with no conversion raises
    :class:`UnsupportedOperatorError` naming the op and the layer, and the file is not touched.
    ``do_constant_folding`` and ``verbose`` are accepted for PyTorch's programs and change nothing. An int8 model
    (``lucidnet.quantization``) exports as integer ONNX, its weights int8 (see ``lucidnet.onnx.quantized``).

    >>> import io, onnx, lucidnet as ln
    >>> net = ln.nn.Sequential(ln.nn.Linear(4, 8), ln.nn.ReLU(), ln.nn.Linear(8, 2))
    >>> buf = io.BytesIO()
    >>> export(net, ln.randn(3, 4), buf, input_names=["x"], dynamic_axes={"x": {0: "batch"}})
    >>> graph = onnx.load_from_string(buf.getvalue()).graph
    >>> [n.op_type for n in graph.node], graph.input[0].type.tensor_type.shape.dim[0].dim_param
    (['Gemm', 'Relu', 'Gemm', 'Identity'], 'batch')
    """
    onnx = _onnx()
    if not isinstance(model, Module):
        raise TypeError(f"export: model must be a lucidnet nn.Module, got {type(model).__name__}")
    if not export_params:
        raise ValueError("export: export_params=False is not supported; the weights are always initializers")
    opset = DEFAULT_OPSET if opset_version is None else int(opset_version)
    if not MIN_OPSET <= opset <= onnx.defs.onnx_opset_version():
        raise ValueError(f"export: opset_version must lie in [{MIN_OPSET}, {onnx.defs.onnx_opset_version()}] "
                         f"(the installed onnx's newest), got {opset_version}")
    inputs = _as_inputs(args)
    in_names = list(input_names) if input_names is not None else _forward_names(model, len(inputs))
    if len(in_names) != len(inputs) or len(set(in_names)) != len(in_names):
        raise ValueError(f"export: input_names {in_names} must name each of the {len(inputs)} example inputs "
                         "once")
    with inference(model):
        run = trace(model, inputs, whole=(QuantizedModule,))
        second, sizes = second_inputs(run.inputs, _axes(dynamic_axes, in_names, output_names, inputs))
        try:
            twin = trace(model, tuple(Tensor(a) for a in second), whole=(QuantizedModule,))
        except Exception as e:
            grown = ", ".join(f"{k} {a} -> {b}" for k, (a, b) in sizes.sizes.items()) or "none"
            raise OnnxExporterError(f"export: the model fails on the example inputs grown along the dynamic axes "
                                    f"({grown}), which the exporter runs it on to find what depends on them: {e}. "
                                    "Axes of one size (a batch) must share one name in dynamic_axes") from e
    out_names = _output_names(output_names, len(run.outputs))
    _pair(run, twin)
    proto = _build(onnx, model, run, twin, sizes, opset, in_names, out_names,
                   _axes(dynamic_axes, in_names, out_names, inputs, outputs=run.outputs))
    try:
        onnx.checker.check_model(proto, full_check=True)
    except Exception as e:  # a converter's mistake, not the user's: say so
        raise OnnxExporterError(f"export: the graph of {type(model).__name__} fails onnx.checker ({e}); this is a "
                                "bug of lucidnet's exporter, please report it") from e
    data = proto.SerializeToString()
    if hasattr(f, "write"):
        f.write(data)
    else:
        atomic_write(f, [data])


def _as_inputs(args: Any) -> tuple:
    items = args if isinstance(args, tuple) else (args,)
    out = []
    for i, a in enumerate(items):
        if isinstance(a, Tensor):
            out.append(a)
        elif isinstance(a, (np.ndarray, list, int, float)):
            out.append(as_tensor(a))
        else:
            raise TypeError(f"export: example input {i} is a {type(a).__name__}; give tensors (a tensor or a tuple "
                            "of them)")
    if not out:
        raise ValueError("export: give at least one example input (args)")
    return tuple(out)


def _forward_names(model: Module, n: int) -> list[str]:
    """The names of the forward's first ``n`` parameters (``x``, ``tokens``), else ``input_0``..."""
    try:
        params = [p for p in inspect.signature(model.forward).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        params = []
    if len(params) >= n:
        return [p.name for p in params[:n]]
    return [f"input_{i}" for i in range(n)]


def _output_names(names: Sequence[str] | None, n: int) -> list[str]:
    if names is None:
        return ["output"] if n == 1 else [f"output_{i}" for i in range(n)]
    names = list(names)
    if len(names) != n or len(set(names)) != n:
        raise ValueError(f"export: output_names {names} must name each of the model's {n} outputs once")
    return names


def _axes(dynamic_axes: DynamicAxes | None, in_names: list, out_names: Sequence[str] | None, inputs: tuple,
          outputs: list | None = None) -> list[dict[int, str]]:
    """Per input (or, with ``outputs``, per output): {axis: symbol name}; a clear error for a bad entry."""
    dynamic_axes = dynamic_axes or {}
    known = list(in_names) + list(out_names or [])
    for key in dynamic_axes:
        if key not in known and (out_names is not None or outputs is not None):
            raise ValueError(f"export: dynamic_axes names {key!r}, which is neither an input nor an output "
                             f"({', '.join(known)})")
    names, arrays = (in_names, [t.array for t in inputs]) if outputs is None else (out_names, outputs)
    found = []
    for name, a in zip(names, arrays):
        spec = dynamic_axes.get(name, {})
        if not isinstance(spec, Mapping):
            spec = {int(ax): f"{name}_dynamic_axes_{k + 1}" for k, ax in enumerate(spec)}
        axes = {}
        for ax, sym in spec.items():
            if isinstance(ax, bool) or not isinstance(ax, int) or not -a.ndim <= ax < a.ndim:
                raise ValueError(f"export: dynamic_axes[{name!r}] names axis {ax!r}, but {name} has shape "
                                 f"{tuple(a.shape)}")
            axes[ax % a.ndim] = str(sym)
        found.append(axes)
    return found


def _pair(run: Run, twin: Run) -> None:
    """Make each op of ``run`` know its twin, or explain where the two traces part."""
    for i, (a, b) in enumerate(zip(run.ops, twin.ops)):
        if a.kind is not b.kind:
            raise OnnxExporterError(
                f"export: the model applies other ops when the dynamic axes grow: op {i} is {a.name} in layer "
                f"{a.layer}, then {b.name} in layer {b.layer}; its forward pass depends on the inputs' sizes or "
                "values, which an ONNX graph cannot follow")
        a.twin = b
    if len(run.ops) != len(twin.ops) or len(run.outputs) != len(twin.outputs):
        raise OnnxExporterError("export: the model applies a different number of ops when the dynamic axes grow; "
                                "its forward pass depends on the inputs' sizes or values")


def _same(a: Any, b: Any) -> bool:
    try:
        return bool(a == b)
    except (ValueError, TypeError):
        return False


def _build(onnx, model: Module, run: Run, twin: Run, sizes: Sizes, opset: int, in_names: list,
           out_names: list, out_axes: list):
    helper = onnx.helper
    params = {id(t.array): name for name, t in list(model.named_parameters()) + list(model.named_buffers())}
    g = Graph(onnx, opset, params, sizes)
    in_axes = {}
    for name, a in zip(in_names, run.inputs):
        g.bind(a, name)
        g.fresh(name)
    graph_inputs = []
    for k, (name, a) in enumerate(zip(in_names, run.inputs)):
        axes = {ax: sym for ax, sym in zip(*_dyn_axes(a, twin.inputs[k], sizes))}
        in_axes[name] = axes
        for ax, sym in axes.items():
            g.add_source(sym, name, ax)
        graph_inputs.append(helper.make_tensor_value_info(
            name, helper.np_dtype_to_tensor_dtype(a.dtype), [axes.get(i, int(n)) for i, n in enumerate(a.shape)]))
    for op in run.ops:
        g.op = op
        entry = CONVERTERS.get(op.kind)
        if entry is None:
            what = "the int8 layer" if isinstance(op.node, QuantizedModule) else "the op"
            raise UnsupportedOperatorError(at(op, f"{what} {op.name} has no ONNX conversion; the exporter converts "
                                                  f"{', '.join(supported())}"))
        convert, dynamic = entry
        for key, v in op.attrs.items():
            w = op.twin.attrs.get(key)
            if key in dynamic or isinstance(v, (np.ndarray, dict, list)) or _same(v, w):
                continue
            g.fail(f"its attribute {key}={v!r} changes with the dynamic axes ({w!r} when they grow); make that axis "
                   "static")
        g.bind(op.out, convert(g, op), op.versions.get(id(op.out)))
    g.op = None
    quantized.fold_unfused_weights(g)
    graph_outputs = []
    for k, (name, a, b) in enumerate(zip(out_names, run.outputs, twin.outputs)):
        src = g.bound(a)
        if src is None:
            raise OnnxExporterError(f"export: output {name} is not computed by lucidnet's ops from the inputs (a "
                                    "constant, or made with NumPy); the exporter cannot express it")
        g.nodes.append(helper.make_node("Identity", [src], [name], name=g.fresh(f"{name}/Identity")))
        dims = []
        for i, (n1, n2) in enumerate(zip(a.shape, b.shape)):
            d = out_axes[k].get(i, sizes.dim(n1, n2) if len(a.shape) == len(b.shape) else None)
            dims.append(d if d is not None else f"{name}_dim{i}")
        graph_outputs.append(helper.make_tensor_value_info(name, helper.np_dtype_to_tensor_dtype(a.dtype), dims))
    used = {i for n in g.nodes for i in n.input}
    for name in in_names:
        if name not in used:
            raise OnnxExporterError(
                f"export: the model does not read input {name!r} with lucidnet's ops (it turns it into a NumPy array, "
                "or ignores it), so the graph cannot depend on it; export without it")
    graph = helper.make_graph(g.nodes, f"lucidnet.{type(model).__name__}", graph_inputs, graph_outputs,
                              initializer=g.initializers)
    opsets = [helper.make_opsetid("", opset)]
    proto = helper.make_model(graph, opset_imports=opsets, producer_name="lucidnet", producer_version=__version__)
    proto.ir_version = helper.find_min_ir_version_for(opsets)
    return proto


def _dyn_axes(a: np.ndarray, b: np.ndarray, sizes: Sizes) -> tuple[list, list]:
    """The axes of an input that grew in the second trace, and their symbols."""
    axes, syms = [], []
    for i, (n1, n2) in enumerate(zip(a.shape, b.shape)):
        if n1 != n2:
            axes.append(i)
            syms.append(sizes.dim(n1, n2))
    return axes, syms
