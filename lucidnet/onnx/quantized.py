"""Converters of the int8 layers (``lucidnet.quantization``), each written whole (the trace records a quantized
layer as one op, see ``trace``), with lucidnet's int8 semantics: activations uint8, asymmetric, per tensor;
weights int8, symmetric (zero point 0), one scale per output channel; int32 accumulation; float32 out.

- ``DynamicQuantizedLinear``: ``DynamicQuantizeLinear`` (the input's range at each call, as lucidnet's
  ``activation_qparams``) then ``MatMulInteger`` (u8 x s8 -> int32) on the int8 weight, the int32 sums scaled by
  ``s_x * s_w`` and the bias added: ONNX Runtime fuses the pattern into one integer kernel
  (``DynamicQuantizeMatMul``);
- ``QuantizedLinear`` (static): ``QuantizeLinear`` with the calibrated scale and zero point, then the same;
- ``QuantizedConv2d`` (static): QDQ, the input through ``QuantizeLinear``/``DequantizeLinear`` and the weight
  through ``DequantizeLinear`` (per output channel, ``axis=0``), then a float ``Conv``: ONNX Runtime fuses it into
  ``QLinearConv`` where the output reaches the next static layer's ``QuantizeLinear`` (through ReLU, max-pooling),
  and elsewhere runs a float convolution on the same values, its weight then written as ``Cast`` and ``Mul``
  (:func:`fold_unfused_weights`); ``ConvInteger``, the exact integer form, is several times slower in ONNX Runtime;
- the recurrent layers: the input of each layer quantized and dequantized (``DynamicQuantizeLinear``,
  ``DequantizeLinear``: lucidnet's int8 input projection), the weights int8 initializers times their scales,
  ONNX's float ``LSTM``/``GRU``/``RNN`` (the recurrence runs in float32 in lucidnet too);
- ``QuantizedEmbedding``: the int8 rows and their scales gathered, then multiplied (weight-only).

The int8 weights stay int8 in the file (a quarter of the float size). Quantizing may differ from lucidnet's
kernel by one step where a value lies within rounding of a tie (ONNX divides by the scale where lucidnet
multiplies by its reciprocal, and ONNX Runtime's dynamic scale can differ from lucidnet's in its last bit).
"""
from __future__ import annotations

import numpy as np

from ..fused.conv import conv_padding
from ..quantization import (DynamicQuantizedGRU, DynamicQuantizedLinear, DynamicQuantizedLSTM, DynamicQuantizedRNN,
                            QuantizedConv2d, QuantizedEmbedding, QuantizedLinear)
from .recurrent import _ONNX, _gates, _lengths
from .registry import converts

F32 = np.float32


def _buffer(g, m, name: str) -> str:
    """The initializer of buffer ``name`` of layer ``m`` (named as in the state dict)."""
    a = getattr(m, name).array
    return g.value(a, a)


def _static_input(g, m, x: str) -> tuple[str, str, str]:
    """(uint8 input, its scale, its zero point) with the calibrated parameters of a static layer."""
    s = g.scalar(float(m.input_scale.array[0]), F32)
    zp = g.scalar(int(m.input_zero_point.array[0]), np.uint8)
    return g.node("QuantizeLinear", [x, s, zp]), s, zp


@converts(DynamicQuantizedLinear, QuantizedLinear)
def linear(g, op):
    """``x @ W.T + b`` as ``MatMulInteger`` on the uint8 input and the int8 weight (K, N), scaled and biased."""
    m = op.node
    x = g.input(op, 0)
    if isinstance(m, QuantizedLinear):
        xq, _, zp = _static_input(g, m, x)
        s_x = F32(m.input_scale.array[0])
        scale = g.param(m.weight_scale.array, "times_input_scale", lambda s: (s * s_x).astype(F32))
    else:
        xq, s_x, zp = g.node("DynamicQuantizeLinear", [x], outputs=3)
        scale = g.node("Mul", [s_x, _buffer(g, m, "weight_scale")])
    w = g.param(m.weight.array, "T", lambda a: np.ascontiguousarray(a.T))
    acc = g.node("MatMulInteger", [xq, w, zp])
    y = g.node("Mul", [g.cast(acc, F32), scale])
    return g.node("Add", [y, _buffer(g, m, "bias")]) if m.bias is not None else y


def _dequantized(g, m, name: str, axis: int = 0) -> str:
    """``DequantizeLinear`` of the int8 buffer ``name`` with its per-channel scales ``name_scale``."""
    return g.node("DequantizeLinear", [_buffer(g, m, name), _buffer(g, m, name + "_scale")], axis=axis)


@converts(QuantizedConv2d)
def conv2d(g, op):
    m = op.node
    xq, s, zp = _static_input(g, m, g.input(op, 0))
    x = g.node("DequantizeLinear", [xq, s, zp])
    t, b, left, r = conv_padding(m.padding, m.kernel_size, m.stride, m.dilation, type(m).__name__)
    return g.node("Conv", [x, _dequantized(g, m, "weight"), _buffer(g, m, "bias")], kernel_shape=list(m.kernel_size),
                  pads=[t, left, b, r], strides=list(m.stride), dilations=list(m.dilation), group=1)


# ops between a Conv and the next layer's QuantizeLinear that ONNX Runtime's QDQ fusion sees through
_TO_QUANTIZE = {"Relu", "Clip", "MaxPool", "Reshape", "Flatten", "Transpose", "Identity"}


def fold_unfused_weights(g) -> None:
    """Rewrite the ``DequantizeLinear`` of a convolution's int8 weight as ``Cast`` and ``Mul`` (the same values)
    where ONNX Runtime will not fuse the convolution into ``QLinearConv``: where its output does not reach a
    ``QuantizeLinear`` (through ReLU, max-pooling, reshapes). ONNX Runtime folds those into a float32 weight once, at
    load, where it would run the ``DequantizeLinear`` at every call (it keeps them for QDQ fusions)."""
    producer = {o: n for n in g.nodes for o in n.output}
    users: dict[str, list] = {}
    for n in g.nodes:
        for i in n.input:
            users.setdefault(i, []).append(n)
    int8 = {t.name for t in g.initializers if t.data_type == g.onnx.TensorProto.INT8}
    for conv in [n for n in g.nodes if n.op_type == "Conv"]:
        dq = producer.get(conv.input[1])
        if dq is None or dq.op_type != "DequantizeLinear" or dq.input[0] not in int8:
            continue
        out = conv.output[0]
        while len(users.get(out, [])) == 1 and users[out][0].op_type in _TO_QUANTIZE:
            out = users[out][0].output[0]
        if [u.op_type for u in users.get(out, [])] == ["QuantizeLinear"]:
            continue
        start = len(g.nodes)
        w = g.cast(dq.input[0], F32)
        scale = g.node("Reshape", [dq.input[1], g.ints([-1, 1, 1, 1])])
        made = g.nodes[start:] + [g.onnx.helper.make_node("Mul", [w, scale], [dq.output[0]],
                                                          name=g.fresh(f"{dq.name}/folded"))]
        del g.nodes[start:]
        i = g.nodes.index(dq)
        g.nodes[i:i + 1] = made


@converts(QuantizedEmbedding)
def embedding(g, op):
    """The int8 rows times their scales (``q[idx] * s[idx]``, lucidnet's own arithmetic)."""
    m = op.node
    idx = g.input(op, 0)
    rows = g.cast(g.node("Gather", [_buffer(g, m, "weight"), idx], axis=0), F32)
    scales = g.node("Gather", [_buffer(g, m, "weight_scale"), idx], axis=0)
    return g.node("Mul", [rows, g.node("Unsqueeze", [scales, g.ints([-1])])])


def _stacked_weight(g, m, names: list, mode: str, tag: str) -> str:
    """The directions' int8 weights in ONNX's layout (D, G*H, K), gates reordered, times their per-row scales.
    As ``Cast`` and ``Mul`` of initializers, not ``DequantizeLinear``: ONNX Runtime folds those constants into a
    float32 weight once, when it loads the file (it keeps a ``DequantizeLinear`` for QDQ fusions and would run it
    at every call; no fusion takes an int8 recurrent weight)."""
    q = np.stack([_gates(getattr(m, n).array, mode) for n in names])
    s = np.stack([_gates(getattr(m, n + "_scale").array, mode)[:, None] for n in names])
    wq = g.param(getattr(m, names[0]).array, tag, lambda _: q)
    ws = g.param(getattr(m, names[0] + "_scale").array, tag, lambda _: s)
    return g.node("Mul", [g.cast(wq, F32), ws])


@converts(DynamicQuantizedLSTM, DynamicQuantizedGRU, DynamicQuantizedRNN, dynamic=("lengths",))
def recurrent(g, op):
    """One ONNX recurrent node per layer, its input quantized and dequantized as lucidnet's int8 projection reads
    it; the final states of the layers concatenated, as the layer returns them."""
    m = op.node
    if (len(op.inputs) > 1 and op.inputs[1] is not None) or op.attrs.get("hx") is not None:
        g.fail("initial states (hx) of an int8 recurrent layer are not exported; call it without them")
    mode, bf, nd, hidden = m.mode, m.batch_first, 2 if m.bidirectional else 1, m.hidden_size
    x1 = op.inputs[0]
    x = g.input(op, 0)
    if bf:
        x = g.node("Transpose", [x], perm=[1, 0, 2])
    lengths = _lengths(g, op, x1, bf)
    attrs = {"hidden_size": int(hidden), "direction": "bidirectional" if nd == 2 else "forward"}
    if mode == "gru":
        attrs["linear_before_reset"] = 1
    elif mode != "lstm":
        attrs["activations"] = ["Tanh" if mode == "rnn_tanh" else "Relu"] * nd
    hs, cs = [], []
    for layer in range(m.num_layers):
        suffixes = (f"_l{layer}", f"_l{layer}_reverse")[:nd]   # the weights' names, as in nn.LSTM
        xq, s, zp = g.node("DynamicQuantizeLinear", [x], outputs=3)
        xd = g.node("DequantizeLinear", [xq, s, zp])
        W = _stacked_weight(g, m, ["weight_ih" + sx for sx in suffixes], mode, "onnx")
        R = _stacked_weight(g, m, ["weight_hh" + sx for sx in suffixes], mode, "onnx")
        gh = getattr(m, "weight_ih" + suffixes[0]).shape[0]
        zeros = np.zeros(gh, F32)

        def bias(name: str) -> np.ndarray:
            b = getattr(m, name)
            return _gates(zeros if b is None else b.array, mode)

        B = g.const(np.stack([np.concatenate([bias("bias_ih" + sx), bias("bias_hh" + sx)]) for sx in suffixes]),
                    f"B_l{layer}", key=("qB", id(m), layer))
        outs = g.node(_ONNX[mode], [xd, W, R, B, lengths], outputs=3 if mode == "lstm" else 2, **attrs)
        hs.append(outs[1])
        if mode == "lstm":
            cs.append(outs[2])
        y = g.node("Transpose", [outs[0]], perm=[0, 2, 1, 3])                     # (T, B, D, H)
        x = g.node("Reshape", [y, g.ints([0, 0, -1])])                            # (T, B, D*H)
    extra = op.attrs["outputs"][1:]  # h_n (and c_n): (L*D, B, H)
    for arr, states in zip(extra, (hs, cs)):
        g.bind(arr, states[0] if len(states) == 1 else g.node("Concat", states, axis=0))
    return g.node("Transpose", [x], perm=[1, 0, 2]) if bf else g.node("Identity", [x])
