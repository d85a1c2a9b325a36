"""The converter of a recurrent layer (``nn.RNN``/``LSTM``/``GRU``, one layer per node): ONNX's ``RNN``,
``LSTM`` or ``GRU`` op.

PyTorch's (and lucidnet's) gate order differs from ONNX's: LSTM i, f, g, o -> ONNX i, o, f, c; GRU r, z, n ->
ONNX z, r, h, with ``linear_before_reset=1`` (PyTorch's n gate applies r to ``W_hn h + b_hn``). The weights
become initializers of ONNX's layout (directions, gates * hidden, inputs); ``B`` holds the input biases then
the recurrent ones. The final states, which the layer hands out beside its output, are ``Y_h`` and ``Y_c``.
Variable lengths go to ``sequence_lens`` (ONNX Runtime, like lucidnet, outputs zeros past each length).
"""
from __future__ import annotations

import numpy as np

from ..fused import rnn as F
from .registry import converts

_ONNX = {"lstm": "LSTM", "gru": "GRU", "rnn_tanh": "RNN", "rnn_relu": "RNN"}
_ORDER = {"lstm": (0, 3, 1, 2), "gru": (1, 0, 2), "rnn_tanh": (0,), "rnn_relu": (0,)}


def _gates(a: np.ndarray, mode: str) -> np.ndarray:
    """Rows of ``a`` (gates * hidden, ...) reordered from PyTorch's gate order into ONNX's."""
    blocks = np.split(a, len(_ORDER[mode]), axis=0)
    return np.concatenate([blocks[i] for i in _ORDER[mode]], axis=0)


def _stacked(g, ws: list, mode: str, tag: str, make) -> str:
    """One initializer of the directions' weights, each reordered: (D, G*H, K) or (D, 2*G*H)."""
    if not all(g.is_const(w) for w in ws if w is not None):
        g.fail("a recurrent layer whose weights are computed in the forward pass is not supported")
    key = (tag,) + tuple(id(w) for w in ws)
    return g.const(np.stack([make(w) for w in ws]), f"{tag}", key=key)


@converts(F.RNNLayer, dynamic=("lengths",))
def rnn_layer(g, op):
    mode, bf = op.attrs.get("mode", "lstm"), bool(op.attrs.get("batch_first", False))
    x1, w = op.inputs[0], op.inputs[3:]
    nd, hidden = len(w) // 4, w[1].shape[1]
    dt = x1.dtype
    weights = [w[4 * d:4 * d + 4] for d in range(nd)]
    gh = w[1].shape[0]
    W = _stacked(g, [d[0] for d in weights], mode, "W", lambda a: _gates(a, mode))
    R = _stacked(g, [d[1] for d in weights], mode, "R", lambda a: _gates(a, mode))
    zeros = np.zeros(gh, dtype=dt)
    B = g.const(np.stack([np.concatenate([_gates(zeros if d[2] is None else d[2], mode),
                                          _gates(zeros if d[3] is None else d[3], mode)]) for d in weights]),
                "B", key=("B",) + tuple(id(a) for d in weights for a in d[2:]))
    x = g.input(op, 0)
    if bf:
        x = g.node("Transpose", [x], perm=[1, 0, 2])
    inputs = [x, W, R, B, _lengths(g, op, x1, bf), g.input(op, 1)]
    attrs = {"hidden_size": int(hidden), "direction": "bidirectional" if nd == 2 else "forward"}
    if mode == "lstm":
        inputs.append(g.input(op, 2))
    elif mode == "gru":
        attrs["linear_before_reset"] = 1
    else:
        attrs["activations"] = ["Tanh" if mode == "rnn_tanh" else "Relu"] * nd
    outs = g.node(_ONNX[mode], inputs, outputs=3 if mode == "lstm" else 2, **attrs)
    y = g.node("Transpose", [outs[0]], perm=[2, 0, 1, 3] if bf else [0, 2, 1, 3])   # (T|B, B|T, D, H)
    sink = op.attrs.get("sink") or {}
    g.bind(sink["h"], outs[1])
    if "c" in sink:
        g.bind(sink["c"], outs[2])
    return g.node("Reshape", [y, g.ints([0, 0, -1])])


def _lengths(g, op, x1, bf: bool) -> str | None:
    """``sequence_lens`` (int32), or None when every sequence runs the whole length (in both traces)."""
    n1, n2 = op.attrs.get("lengths"), op.twin.attrs.get("lengths")
    t1, t2 = x1.shape[1 if bf else 0], op.twin.inputs[0].shape[1 if bf else 0]
    if n1 is None or (g.is_const(n1) and (np.asarray(n1) == t1).all() and (np.asarray(n2) == t2).all()):
        return None
    return g.cast(g.value(n1, n2), np.int32)
