"""Recurrent layers: ``RNN`` (tanh or relu), ``LSTM`` and ``GRU`` over sequences, and their one-step cells.

PyTorch's constructor arguments, parameter names, shapes, gate order (LSTM: i, f, g, o; GRU: r, z, n, with
the n gate ``tanh(W_in x + b_in + r * (W_hn h + b_hn))``) and init (every parameter ~ U(-1/sqrt(hidden),
1/sqrt(hidden))), so state dicts load in both directions. Variable-length batches take ``lengths`` (one per
batch element) instead of PyTorch's packed sequences: padded positions output zeros, final states are
taken at each sequence's last valid step, and no gradient enters or leaves the padding. Each layer runs
as one fused node (see ``lucidnet.fused.rnn``).
"""
from __future__ import annotations

import math
import warnings
from typing import Any, Optional, Tuple

from .. import ops
from ..fused.rnn import MODES, check_lengths, rnn_layer
from ..tensor import Tensor, as_tensor, empty
from . import init
from .dropout import dropout as _dropout
from .module import Module
from .parameter import Parameter

__all__ = ["RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell"]


def _check_size(who: str, name: str, v: Any) -> None:
    if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
        raise ValueError(f"{who}: {name} must be a positive int, got {v!r}")


def _add_weights(module: Module, suffix: str, in_size: int, hidden: int, gates: int, bias: bool, dtype) -> None:
    """weight_ih{suffix} (G*H, in), weight_hh{suffix} (G*H, H), bias_ih{suffix}, bias_hh{suffix} (G*H,).

    Row-major (unlike ``nn.Linear``'s column-major weights): the layer's GEMMs (``W_hh @ h`` per step, the
    weight gradients ``dz.T @ h``) measured fastest in that layout (see ``fused.rnn``)."""
    module.register_parameter("weight_ih" + suffix, Parameter(empty(gates * hidden, in_size, dtype=dtype)))
    module.register_parameter("weight_hh" + suffix, Parameter(empty(gates * hidden, hidden, dtype=dtype)))
    for name in ("bias_ih", "bias_hh"):
        module.register_parameter(name + suffix, Parameter(empty(gates * hidden, dtype=dtype)) if bias else None)


def _reset(module: Module, hidden: int) -> None:
    stdv = 1.0 / math.sqrt(hidden)
    for p in module.parameters():
        init.uniform_(p, -stdv, stdv)


def _check_input(who: str, x: Tensor, input_size: int, weight: Tensor, expected: str) -> None:
    if x.shape[-1] != input_size:
        raise ValueError(f"{who}: expected input of shape {expected} with input_size={input_size}, got shape "
                         f"{tuple(x.shape)}")
    if x.dtype != weight.dtype:
        raise TypeError(f"{who}: input of dtype {x.dtype} but the weights are {weight.dtype}; convert the input "
                        f"(x.float() / x.double()) or the layer (layer.float() / layer.double())")


def _check_state(who: str, name: str, h: Any, shape: tuple, dtype) -> Tensor:
    h = as_tensor(h)
    if tuple(h.shape) != shape:
        raise ValueError(f"{who}: expected {name} of shape {shape}, got {tuple(h.shape)}")
    if h.dtype != dtype:
        raise TypeError(f"{who}: {name} has dtype {h.dtype} but the weights are {dtype}")
    return h


class RNNBase(Module):
    """What RNN, LSTM and GRU share: the stack of layers, directions, dropout between layers, lengths."""

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False, dtype=None):
        super().__init__()
        who = type(self).__name__
        for name, v in (("input_size", input_size), ("hidden_size", hidden_size), ("num_layers", num_layers)):
            _check_size(who, name, v)
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0 <= dropout <= 1:
            raise ValueError(f"{who}: dropout must be a number in [0, 1], got {dropout!r}")
        if dropout > 0 and num_layers == 1:
            warnings.warn(f"{who}: dropout={dropout} has no effect with num_layers=1 (it is applied between "
                          "layers)", UserWarning, stacklevel=2)
        self.mode = mode
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout = bool(bias), bool(batch_first), float(dropout)
        self.bidirectional = bool(bidirectional)
        dirs = 2 if bidirectional else 1
        for layer in range(num_layers):
            for d in range(dirs):
                size = input_size if layer == 0 else hidden_size * dirs
                _add_weights(self, f"_l{layer}" + ("_reverse" if d else ""), size, hidden_size, MODES[mode], bias,
                             dtype)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Every parameter ~ U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)), as in PyTorch."""
        _reset(self, self.hidden_size)

    def flatten_parameters(self) -> None:
        """Does nothing (PyTorch compacts its cuDNN weights here); kept so that PyTorch code runs."""

    def _layer_weights(self, layer: int) -> list:
        out = []
        for suffix in ((f"_l{layer}", f"_l{layer}_reverse") if self.bidirectional else (f"_l{layer}",)):
            out += [getattr(self, n + suffix) for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
        return out

    def _who(self) -> str:
        return f"{type(self).__name__}({self.extra_repr()})"

    def forward(self, input: Tensor, hx: Any = None, lengths: Any = None) -> Tuple[Tensor, Any]:
        who = self._who()
        x = as_tensor(input)
        bf = self.batch_first
        layout = "(batch, seq_len, input_size)" if bf else "(seq_len, batch, input_size)"
        if x.ndim not in (2, 3):
            raise ValueError(f"{who}: expected a 3-D input {layout} or a 2-D unbatched one (seq_len, input_size), "
                             f"got shape {tuple(x.shape)}")
        _check_input(who, x, self.input_size, self.weight_ih_l0, layout)
        unbatched = x.ndim == 2
        if unbatched:
            x = x.unsqueeze(0 if bf else 1)
        steps, batch = (x.shape[1], x.shape[0]) if bf else (x.shape[0], x.shape[1])
        lens = None if lengths is None else check_lengths(lengths, batch, steps, who)
        h0, c0 = self._initial_states(who, hx, batch, unbatched)
        dirs, layers = (2 if self.bidirectional else 1), self.num_layers
        hs, cs, y = [], [], x
        for layer in range(layers):
            if layer and self.dropout and self.training:
                y = _dropout(y, self.dropout, True)
            sl = slice(layer * dirs, (layer + 1) * dirs)
            h0_l = h0 if h0 is None or layers == 1 else h0[sl]
            c0_l = c0 if c0 is None or layers == 1 else c0[sl]
            y, h, c = rnn_layer(self.mode, y, h0_l, c0_l, self._layer_weights(layer), lens, bf)
            hs.append(h)
            cs.append(c)
        h_n = hs[0] if layers == 1 else ops.cat(hs, 0)
        c_n = None if self.mode != "lstm" else (cs[0] if layers == 1 else ops.cat(cs, 0))
        if unbatched:
            y = y.squeeze(0 if bf else 1)
            h_n = h_n.squeeze(1)
            c_n = None if c_n is None else c_n.squeeze(1)
        return (y, (h_n, c_n)) if self.mode == "lstm" else (y, h_n)

    def _initial_states(self, who: str, hx: Any, batch: int, unbatched: bool):
        if hx is None:
            return None, None
        n = self.num_layers * (2 if self.bidirectional else 1)
        shape = (n, self.hidden_size) if unbatched else (n, batch, self.hidden_size)
        dt = self.weight_ih_l0.dtype
        if self.mode == "lstm":
            if not isinstance(hx, (tuple, list)) or len(hx) != 2:
                raise TypeError(f"{who}: hx must be a tuple (h_0, c_0), got {type(hx).__name__}")
            h0, c0 = (_check_state(who, name, h, shape, dt) for name, h in zip(("h_0", "c_0"), hx))
        else:
            h0, c0 = _check_state(who, "hx", hx, shape, dt), None
        if unbatched:
            h0 = h0.unsqueeze(1)
            c0 = None if c0 is None else c0.unsqueeze(1)
        return h0, c0

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.mode == "rnn_relu":
            s += ", nonlinearity='relu'"
        if not self.bias:
            s += ", bias=False"
        if self.batch_first:
            s += ", batch_first=True"
        if self.dropout:
            s += f", dropout={self.dropout}"
        if self.bidirectional:
            s += ", bidirectional=True"
        return s


class RNN(RNNBase):
    """Elman RNN: ``h_t = tanh(x_t W_ih.T + b_ih + h_{t-1} W_hh.T + b_hh)`` (or relu), stacked and optionally
    bidirectional. ``forward(input, hx=None, lengths=None) -> (output, h_n)``; shapes as :class:`LSTM`.

    >>> import lucidnet as ln
    >>> rnn = ln.nn.RNN(10, 20, num_layers=2)
    >>> out, h = rnn(ln.randn(5, 3, 10))
    >>> out.shape, h.shape
    ((5, 3, 20), (2, 3, 20))
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, nonlinearity: str = "tanh",
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNN: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        self.nonlinearity = nonlinearity
        super().__init__("rnn_" + nonlinearity, input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, dtype)


class LSTM(RNNBase):
    """Long short-term memory over sequences (gates i, f, g, o as PyTorch orders them).

    ``forward(input, hx=None, lengths=None) -> (output, (h_n, c_n))``:

    - input (seq_len, batch, input_size), or (batch, seq_len, input_size) with ``batch_first``, or unbatched
      (seq_len, input_size);
    - hx: ``(h_0, c_0)``, each (num_layers * num_directions, batch, hidden_size); zeros when None;
    - lengths: the valid length of each batch element (ints in [0, seq_len]). Outputs past a sequence's
      end are zero, its final states are taken at its last valid step (the reverse direction starts
      there), and padding gets and gives no gradient: what PyTorch's pack_padded_sequence(...,
      enforce_sorted=False) and pad_packed_sequence give;
    - output (seq_len, batch, num_directions * hidden_size) (batch first with ``batch_first``): the last
      layer's h at every step, both directions concatenated; h_n, c_n like h_0.

    Dropout (``dropout`` > 0) applies to the outputs of every layer but the last, while training.

    >>> import lucidnet as ln
    >>> lstm = ln.nn.LSTM(8, 16, batch_first=True, bidirectional=True)
    >>> x = ln.randn(3, 5, 8)                       # 3 sequences of 5 steps
    >>> out, (h, c) = lstm(x, lengths=[5, 2, 4])
    >>> out.shape, h.shape, c.shape
    ((3, 5, 32), (2, 3, 16), (2, 3, 16))
    >>> float(abs(out[1, 2:]).sum())                 # past the end of the second sequence: zeros
    0.0
    >>> out.sum().backward()
    >>> lstm.weight_hh_l0.grad.shape
    (64, 16)
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False, dtype=None):
        super().__init__("lstm", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         dtype)


class GRU(RNNBase):
    """Gated recurrent unit over sequences (gates r, z, n as PyTorch orders them; the n gate is
    ``tanh(W_in x + b_in + r * (W_hn h + b_hn))``). ``forward(input, hx=None, lengths=None) -> (output, h_n)``;
    shapes and lengths as :class:`LSTM`.

    >>> import lucidnet as ln
    >>> gru = ln.nn.GRU(4, 6)
    >>> out, h = gru(ln.randn(7, 2, 4), lengths=[7, 3])
    >>> out.shape, h.shape
    ((7, 2, 6), (1, 2, 6))
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False, dtype=None):
        super().__init__("gru", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         dtype)


class RNNCellBase(Module):
    """One time step: ``forward(input, hx=None)`` with input (batch, input_size) or (input_size,)."""

    def __init__(self, mode: str, input_size: int, hidden_size: int, bias: bool = True, dtype=None):
        super().__init__()
        who = type(self).__name__
        _check_size(who, "input_size", input_size)
        _check_size(who, "hidden_size", hidden_size)
        self.mode, self.input_size, self.hidden_size, self.bias = mode, input_size, hidden_size, bool(bias)
        _add_weights(self, "", input_size, hidden_size, MODES[mode], bias, dtype)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Every parameter ~ U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)), as in PyTorch."""
        _reset(self, self.hidden_size)

    def _step(self, input: Tensor, hx: Any):
        """-> (h', c' or None), each (batch, hidden) or (hidden,) for an unbatched input."""
        who = f"{type(self).__name__}({self.extra_repr()})"
        x = as_tensor(input)
        if x.ndim not in (1, 2):
            raise ValueError(f"{who}: expected input of shape (batch, input_size) or (input_size,), got shape "
                             f"{tuple(x.shape)}")
        _check_input(who, x, self.input_size, self.weight_ih, "(batch, input_size)")
        unbatched = x.ndim == 1
        batch = 1 if unbatched else x.shape[0]
        shape = (self.hidden_size,) if unbatched else (batch, self.hidden_size)
        states = [None, None]
        if hx is not None:
            names = ("h_0", "c_0") if self.mode == "lstm" else ("hx",)
            if self.mode == "lstm" and (not isinstance(hx, (tuple, list)) or len(hx) != 2):
                raise TypeError(f"{who}: hx must be a tuple (h_0, c_0), got {type(hx).__name__}")
            for i, (name, h) in enumerate(zip(names, hx if self.mode == "lstm" else (hx,))):
                states[i] = _check_state(who, name, h, shape, self.weight_ih.dtype).reshape(1, batch, self.hidden_size)
        weights = [self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh]
        y, _, c = rnn_layer(self.mode, x.reshape(1, batch, self.input_size), states[0], states[1], weights)
        return y.reshape(*shape), (None if c is None else c.reshape(*shape))

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if not self.bias:
            s += ", bias=False"
        if self.mode == "rnn_relu":
            s += ", nonlinearity='relu'"
        return s


class RNNCell(RNNCellBase):
    """One step of :class:`RNN`: ``h' = tanh(x W_ih.T + b_ih + h W_hh.T + b_hh)`` (or relu).

    >>> import lucidnet as ln
    >>> cell = ln.nn.RNNCell(3, 5)
    >>> cell(ln.randn(2, 3)).shape
    (2, 5)
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, nonlinearity: str = "tanh", dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNNCell: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        self.nonlinearity = nonlinearity
        super().__init__("rnn_" + nonlinearity, input_size, hidden_size, bias, dtype)

    def forward(self, input: Tensor, hx: Optional[Tensor] = None) -> Tensor:
        return self._step(input, hx)[0]


class LSTMCell(RNNCellBase):
    """One step of :class:`LSTM`: ``forward(input, hx=None) -> (h', c')``, hx = ``(h, c)`` or None (zeros).

    >>> import lucidnet as ln
    >>> cell = ln.nn.LSTMCell(3, 5)
    >>> h, c = cell(ln.randn(2, 3))
    >>> h, c = cell(ln.randn(2, 3), (h, c))
    >>> h.shape, c.shape
    ((2, 5), (2, 5))
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, dtype=None):
        super().__init__("lstm", input_size, hidden_size, bias, dtype)

    def forward(self, input: Tensor, hx: Any = None) -> Tuple[Tensor, Tensor]:
        return self._step(input, hx)


class GRUCell(RNNCellBase):
    """One step of :class:`GRU`.

    >>> import lucidnet as ln
    >>> cell = ln.nn.GRUCell(3, 5)
    >>> cell(ln.randn(3)).shape
    (5,)
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, dtype=None):
        super().__init__("gru", input_size, hidden_size, bias, dtype)

    def forward(self, input: Tensor, hx: Optional[Tensor] = None) -> Tensor:
        return self._step(input, hx)[0]
