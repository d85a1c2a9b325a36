"""Converters of the attention ops: softmax(Q K^T * scale + mask) V, and the weights alone.

The dropout on the weights is left out: an export is an inference graph (the model runs in eval mode).
"""
from __future__ import annotations

import numpy as np

from ..fused import attention as AT
from .registry import converts


def _weights(g, op, nin: int) -> str:
    q1, k1 = op.inputs[0], op.inputs[1]
    dt = op.out.dtype
    perm = list(range(k1.ndim - 2)) + [k1.ndim - 1, k1.ndim - 2]
    scores = g.node("MatMul", [g.input(op, 0), g.node("Transpose", [g.input(op, 1)], perm=perm)])
    scores = g.node("Mul", [scores, g.scalar(float(op.attrs.get("scale", 1.0)), dt)])
    mask = op.inputs[nin] if len(op.inputs) > nin else None
    if mask is not None:
        m = g.input(op, nin)
        if np.asarray(mask).dtype == np.bool_:
            scores = g.node("Where", [m, scores, g.scalar(-np.inf, dt)])
        else:
            scores = g.node("Add", [scores, m])
    if op.attrs.get("causal", False):
        hidden = g.node("Trilu", [g.node("ConstantOfShape", [g.node("Shape", [scores])],
                                         value=g.onnx.numpy_helper.from_array(np.array([-np.inf], dt), "value")),
                                  g.scalar(1, np.int64)], upper=1)
        scores = g.node("Add", [scores, hidden])
    return g.node("Softmax", [scores], axis=-1)


@converts(AT.ScaledDotProductAttention)
def scaled_dot_product_attention(g, op):
    return g.node("MatMul", [_weights(g, op, 3), g.input(op, 2)])


@converts(AT.AttentionWeights)
def attention_weights(g, op):
    return _weights(g, op, 2)
