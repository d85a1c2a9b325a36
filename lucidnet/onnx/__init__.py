"""ONNX export: ``lucidnet.onnx.export(model, args, f, dynamic_axes=...)``, PyTorch's ``torch.onnx.export``.

How it works: the model is traced at the op level, as PyTorch's exporter does. It runs once on the example
inputs (eval mode, no graph) while ``lucidnet.autograd.tracing`` records every op that goes through
``Function.apply``: its class, inputs, attributes and output, and the layer that applied it. Each op class
has a converter (``registry.CONVERTERS``) that writes its ONNX nodes. Tracing, not a table of exporters per
layer, because the ops are few and fixed while models are many: any model made of lucidnet's layers and ops
exports, with its own ``forward`` glue (a residual sum, a flatten, a mean over tokens), and no layer or
application carries export code.

The int8 layers of ``lucidnet.quantization`` run their kernels outside lucidnet's ops, so the trace records each
as one op and its converter (``quantized``) writes it whole, with the integer operators ONNX Runtime runs with its
int8 kernels (``DynamicQuantizeLinear``/``QuantizeLinear`` and ``MatMulInteger``; QDQ around ``Conv``) and the
weights kept int8.

Two traces make the dynamic axes: lucidnet's sizes are plain ints, so the model runs a second time on inputs
grown along each dynamic axis (``dims``), and a size that changes with them becomes a symbol in the graph: a
reshape's target, an expand, a constant the forward built with NumPy from the input's size (``constants``).
An attribute or a constant that changes in a way the exporter cannot express, an op with no converter, an
input the model reads outside lucidnet's ops: each is an error naming the op and the layer, raised before
anything is written (the file is written atomically, after ``onnx.checker.check_model(full_check=True)``).

>>> import io, lucidnet as ln
>>> buf = io.BytesIO()
>>> ln.onnx.export(ln.nn.Sequential(ln.nn.Linear(3, 2), ln.nn.Dropout2d()), ln.randn(1, 3), buf)
>>> len(buf.getvalue()) > 0
True
"""
from .errors import OnnxExporterError, UnsupportedOperatorError
from .export import DEFAULT_OPSET, export
from .registry import supported

__all__ = ["export", "OnnxExporterError", "UnsupportedOperatorError", "supported", "DEFAULT_OPSET"]
