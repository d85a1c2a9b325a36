"""Dynamically quantized recurrent layers: ``DynamicQuantizedLSTM``, ``DynamicQuantizedGRU``,
``DynamicQuantizedRNN`` (PyTorch's ``torch.ao.nn.quantized.dynamic.LSTM`` ...), inference only.

Every weight is stored int8 per output row (``weight_ih_l0`` int8 with ``weight_ih_l0_scale``, ...; biases
float32). The input projection of all time steps (``x @ W_ih.T + b_ih``) runs through the int8 kernel with the
input quantized once per tensor (time-major), each direction's product written where the sequence kernel reads it; the recurrence (``h @ W_hh.T`` at each step)
runs in float32 on the dequantized ``W_hh`` inside the fused sequence kernel (``fused.rnn``), because
quantizing ``h`` at every step would need the int8 product inside the compiled time loop (not done).

>>> import lucidnet as ln
>>> lstm = ln.nn.LSTM(8, 16, batch_first=True, bidirectional=True)
>>> q = DynamicQuantizedLSTM.from_float(lstm)
>>> with ln.no_grad():
...     out, (h, c) = q(ln.randn(3, 5, 8), lengths=[5, 2, 4])
>>> out.shape, h.shape
((3, 5, 32), (2, 3, 16))
"""
from __future__ import annotations

from typing import Any

from ..backend import xp
from ..fused.rnn import MODES, check_lengths, rnn_layer
from ..kernels.qlinear import int8_matmul, quantize_input
from ..nn import GRU, LSTM, RNN
from ..ops import cat
from ..tensor import Tensor, from_numpy
from .base import QuantizedModule, check_input
from .spec import register_layer

__all__ = ["DynamicQuantizedRNNBase", "DynamicQuantizedLSTM", "DynamicQuantizedGRU", "DynamicQuantizedRNN"]


class DynamicQuantizedRNNBase(QuantizedModule):
    """The stack of layers and directions of a quantized RNN/LSTM/GRU; built by ``from_float``."""

    FLOAT: type = LSTM

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, bidirectional: bool = False):
        super().__init__()
        self.mode, self.input_size, self.hidden_size, self.num_layers = mode, input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.bidirectional = bias, batch_first, bidirectional
        g, dirs = MODES[mode], 2 if bidirectional else 1
        for layer in range(num_layers):
            size = input_size if layer == 0 else hidden_size * dirs
            for suffix in self._suffixes(layer):
                self._set_int8("weight_ih" + suffix, xp.zeros((g * hidden_size, size), xp.float32))
                self._set_int8("weight_hh" + suffix, xp.zeros((g * hidden_size, hidden_size), xp.float32))
                for name in ("bias_ih", "bias_hh"):
                    self.register_buffer(name + suffix, from_numpy(xp.zeros(g * hidden_size, xp.float32))
                                         if bias else None)

    def _suffixes(self, layer: int) -> tuple:
        return (f"_l{layer}", f"_l{layer}_reverse") if self.bidirectional else (f"_l{layer}",)

    @classmethod
    def from_float(cls, mod: Any) -> "DynamicQuantizedRNNBase":
        """The quantized twin of a float ``nn.LSTM`` / ``nn.GRU`` / ``nn.RNN`` (its dropout between layers is a
        training matter and is dropped)."""
        q = cls.restore(mod)
        for name, value in mod.named_parameters():
            if name.startswith("weight"):
                q._set_int8(name, value.array)
            else:
                getattr(q, name).array[...] = value.array
        return q

    @classmethod
    def restore(cls, mod: Any) -> "DynamicQuantizedRNNBase":
        """An empty layer of ``mod``'s shape, for ``load_state_dict`` (see ``quantization.spec``)."""
        q = cls.__new__(cls)
        DynamicQuantizedRNNBase.__init__(q, mod.mode, mod.input_size, mod.hidden_size, mod.num_layers, mod.bias,
                                         mod.batch_first, mod.bidirectional)
        return q

    def _projection(self, x, layer: int):
        """``x @ W_ih.T + b_ih`` of each direction, (D, T, B, G*H) float32, for the input ``x`` of ``layer``
        (batch first or not): the input quantized once, time-major, and each direction's int8 product written
        in place."""
        xt = xp.ascontiguousarray(x.transpose(1, 0, 2) if self.batch_first else x)
        t_, b_ = xt.shape[:2]
        a, qparams = quantize_input(xt.reshape(t_ * b_, -1))
        suffixes = self._suffixes(layer)
        out = xp.empty((len(suffixes), t_ * b_, MODES[self.mode] * self.hidden_size), dtype=xp.float32)
        for d, s in enumerate(suffixes):
            bias = getattr(self, "bias_ih" + s)
            int8_matmul(a, self._int8("weight_ih" + s), None if bias is None else bias.array, qparams, out=out[d])
        return out.reshape(len(suffixes), t_, b_, -1)

    def forward(self, input: Tensor, hx: Any = None, lengths: Any = None):
        x = check_input(self, input, self.input_size)
        bf = self.batch_first
        if x.ndim != 3:
            raise ValueError(f"{self._who()}: expected a 3-D input {'(batch, seq_len, input_size)' if bf else '(seq_len, batch, input_size)'}, "
                             f"got shape {tuple(x.shape)}")
        steps, batch = (x.shape[1], x.shape[0]) if bf else (x.shape[0], x.shape[1])
        h0, c0 = self._states(hx, batch)
        lens = None if lengths is None else check_lengths(lengths, batch, steps, self._who())
        hs, cs, y = [], [], x
        for layer in range(self.num_layers):
            proj = self._projection(y.array, layer)
            weights = []
            for s in self._suffixes(layer):
                weights += [None, from_numpy(self._dequantized("weight_hh" + s)), None,
                            getattr(self, "bias_hh" + s)]
            sl = slice(layer * len(self._suffixes(0)), (layer + 1) * len(self._suffixes(0)))
            y, h, c = rnn_layer(self.mode, from_numpy(proj), None if h0 is None else h0[sl],
                                None if c0 is None else c0[sl], weights, lens, bf, projected=True)
            hs.append(h)
            cs.append(c)
        h_n = hs[0] if self.num_layers == 1 else cat(hs, 0)
        if self.mode != "lstm":
            return y, h_n
        return y, (h_n, cs[0] if self.num_layers == 1 else cat(cs, 0))

    def _states(self, hx: Any, batch: int) -> tuple:
        """(h_0, c_0) as float32 arrays (L*D, B, H) or None, checked."""
        if hx is None:
            return None, None
        shape = (self.num_layers * len(self._suffixes(0)), batch, self.hidden_size)
        if self.mode == "lstm" and (not isinstance(hx, (tuple, list)) or len(hx) != 2):
            raise TypeError(f"{self._who()}: hx must be a tuple (h_0, c_0), got {type(hx).__name__}")
        states = list(hx) if self.mode == "lstm" else [hx]
        for i, h in enumerate(states):
            if not isinstance(h, Tensor) or tuple(h.shape) != shape or h.dtype != xp.float32:
                raise ValueError(f"{self._who()}: expected float32 initial states of shape {shape}, got "
                                 f"{getattr(h, 'dtype', type(h).__name__)} {tuple(getattr(h, 'shape', ()))}")
            states[i] = h.detach()
        return states[0], (states[1] if self.mode == "lstm" else None)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.batch_first:
            s += ", batch_first=True"
        if self.bidirectional:
            s += ", bidirectional=True"
        return s + ", dtype=qint8"


@register_layer
class DynamicQuantizedLSTM(DynamicQuantizedRNNBase):
    """``nn.LSTM`` with int8 weights; ``forward(input, hx=None, lengths=None) -> (output, (h_n, c_n))``."""
    FLOAT = LSTM


@register_layer
class DynamicQuantizedGRU(DynamicQuantizedRNNBase):
    """``nn.GRU`` with int8 weights; ``forward(input, hx=None, lengths=None) -> (output, h_n)``."""
    FLOAT = GRU


@register_layer
class DynamicQuantizedRNN(DynamicQuantizedRNNBase):
    """``nn.RNN`` (tanh or relu) with int8 weights; ``forward(input, hx=None, lengths=None) -> (output, h_n)``."""
    FLOAT = RNN
