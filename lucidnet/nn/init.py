"""Weight initialisation, in place, from the library's generator (``lucidnet.manual_seed`` governs it).

Every function fills ``tensor.data`` in place, keeps its dtype and returns the tensor, as in PyTorch.
Samples are drawn directly in the tensor's dtype (float32 stays float32, no float64 temporaries).

>>> import lucidnet as ln
>>> w = ln.nn.Parameter(ln.empty(256, 128))
>>> _ = ln.nn.init.kaiming_uniform_(w, nonlinearity="relu")
>>> bound = (2 ** 0.5) * (3 / 128) ** 0.5
>>> bool(abs(w.data).max() <= bound), w.dtype
(True, dtype('float32'))
"""
from __future__ import annotations

import math

from ..autograd import version
from ..backend import xp
from ..random import generator
from ..tensor import Tensor

__all__ = [
    "calculate_gain", "uniform_", "normal_", "constant_", "zeros_", "ones_", "eye_", "xavier_uniform_",
    "xavier_normal_", "glorot_uniform_", "glorot_normal_", "kaiming_uniform_", "kaiming_normal_", "he_uniform_",
    "he_normal_", "orthogonal_", "trunc_normal_",
]


def _arr(tensor: Tensor, fn: str):
    if not isinstance(tensor, Tensor):
        raise TypeError(f"init.{fn}: expected a Tensor or Parameter, got {type(tensor).__name__}")
    if tensor.array.dtype.kind != "f":
        raise TypeError(f"init.{fn}: expected a floating tensor, got dtype {tensor.array.dtype}")
    version.bump(tensor.array)  # filled in place below
    return tensor.array


def _draw_dtype(dt):
    return dt if dt in (xp.float32, xp.float64) else xp.dtype(xp.float32)


def _fill_random(a, method: str) -> None:
    """Fill array ``a`` with U[0, 1) (``random``) or N(0, 1) (``standard_normal``) samples in its dtype."""
    draw = getattr(generator(), method)
    dt = _draw_dtype(a.dtype)
    if dt == a.dtype and a.flags.c_contiguous:
        draw(out=a.reshape(-1) if a.ndim == 0 else a, dtype=dt)
    else:
        a[...] = draw(a.shape, dtype=dt)


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The gain PyTorch recommends for a nonlinearity (scales init std to keep activations in range).

    >>> calculate_gain("relu") == 2 ** 0.5
    True
    """
    linear = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d")
    if nonlinearity in linear or nonlinearity == "sigmoid":
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif not isinstance(param, bool) and isinstance(param, (int, float)):
            slope = param
        else:
            raise ValueError(f"calculate_gain: negative_slope {param!r} is not a valid number")
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r} (expected one of "
                     f"{', '.join(linear)}, sigmoid, tanh, relu, leaky_relu, selu)")


def _fans(a, fn: str) -> tuple[int, int]:
    if a.ndim < 2:
        raise ValueError(f"init.{fn}: fan in and fan out need a tensor of 2 or more dims, got shape {a.shape}")
    receptive = 1
    for s in a.shape[2:]:
        receptive *= s
    return a.shape[1] * receptive, a.shape[0] * receptive


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0) -> Tensor:
    """Fill with U(a, b)."""
    arr = _arr(tensor, "uniform_")
    if not a <= b:
        raise ValueError(f"init.uniform_: expected a <= b, got a={a}, b={b}")
    _fill_random(arr, "random")
    arr *= b - a
    arr += a
    return tensor


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0) -> Tensor:
    """Fill with N(mean, std^2)."""
    arr = _arr(tensor, "normal_")
    if std < 0:
        raise ValueError(f"init.normal_: std must be >= 0, got {std}")
    _fill_random(arr, "standard_normal")
    arr *= std
    arr += mean
    return tensor


def trunc_normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, a: float = -2.0, b: float = 2.0) -> Tensor:
    """Fill with N(mean, std^2) truncated to [a, b] (absolute bounds, as in PyTorch), by rejection."""
    arr = _arr(tensor, "trunc_normal_")
    if not a < b or std <= 0:
        raise ValueError(f"init.trunc_normal_: expected a < b and std > 0, got a={a}, b={b}, std={std}")
    lo, hi = (a - mean) / std, (b - mean) / std
    accept = 0.5 * (math.erf(hi / math.sqrt(2)) - math.erf(lo / math.sqrt(2)))
    if accept < 1e-4:
        raise ValueError(f"init.trunc_normal_: [a, b] = [{a}, {b}] holds only {accept:.2g} of N({mean}, {std}^2); "
                         "choose bounds nearer the mean")
    dt = _draw_dtype(arr.dtype)
    flat = xp.empty(arr.size, dtype=dt)
    filled = 0
    gen = generator()
    while filled < flat.size:
        need = flat.size - filled
        z = gen.standard_normal(int(need / accept * 1.1) + 16, dtype=dt)
        z = z[(z >= lo) & (z <= hi)][:need]
        flat[filled:filled + z.size] = z
        filled += z.size
    flat *= std
    flat += mean
    xp.clip(flat, a, b, out=flat)  # rounding of the affine map must not step outside [a, b]
    arr[...] = flat.reshape(arr.shape)
    return tensor


def constant_(tensor: Tensor, val: float) -> Tensor:
    _arr(tensor, "constant_")[...] = val
    return tensor


def zeros_(tensor: Tensor) -> Tensor:
    return constant_(tensor, 0.0)


def ones_(tensor: Tensor) -> Tensor:
    return constant_(tensor, 1.0)


def eye_(tensor: Tensor) -> Tensor:
    """Fill a 2-D tensor with the identity (ones on the diagonal)."""
    arr = _arr(tensor, "eye_")
    if arr.ndim != 2:
        raise ValueError(f"init.eye_: expected a 2-D tensor, got shape {arr.shape}")
    arr[...] = 0
    xp.fill_diagonal(arr, 1)
    return tensor


def xavier_uniform_(tensor: Tensor, gain: float = 1.0) -> Tensor:
    """Glorot uniform: U(-g*sqrt(6/(fan_in+fan_out)), +...)."""
    fan_in, fan_out = _fans(_arr(tensor, "xavier_uniform_"), "xavier_uniform_")
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out)) if fan_in + fan_out else 0.0
    return uniform_(tensor, -bound, bound)


def xavier_normal_(tensor: Tensor, gain: float = 1.0) -> Tensor:
    """Glorot normal: N(0, g^2 * 2/(fan_in+fan_out))."""
    fan_in, fan_out = _fans(_arr(tensor, "xavier_normal_"), "xavier_normal_")
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)) if fan_in + fan_out else 0.0)


def _kaiming_std(tensor, a, mode, nonlinearity, fn) -> float:
    fan_in, fan_out = _fans(_arr(tensor, fn), fn)
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"init.{fn}: mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan = fan_in if mode == "fan_in" else fan_out
    return calculate_gain(nonlinearity, a) / math.sqrt(fan) if fan else 0.0  # zero elements: nothing to fill


def kaiming_uniform_(tensor: Tensor, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu") -> Tensor:
    """He uniform: U(-gain*sqrt(3/fan), +...), gain from ``nonlinearity`` (``a``: leaky_relu's slope)."""
    bound = math.sqrt(3.0) * _kaiming_std(tensor, a, mode, nonlinearity, "kaiming_uniform_")
    return uniform_(tensor, -bound, bound)


def kaiming_normal_(tensor: Tensor, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu") -> Tensor:
    """He normal: N(0, gain^2/fan)."""
    return normal_(tensor, 0.0, _kaiming_std(tensor, a, mode, nonlinearity, "kaiming_normal_"))


def orthogonal_(tensor: Tensor, gain: float = 1.0) -> Tensor:
    """A (semi-)orthogonal matrix from the QR of a Gaussian matrix; dims after the first are flattened."""
    arr = _arr(tensor, "orthogonal_")
    if arr.ndim < 2:
        raise ValueError(f"init.orthogonal_: expected a tensor of 2 or more dims, got shape {arr.shape}")
    if arr.size == 0:
        return tensor
    rows = arr.shape[0]
    cols = arr.size // rows
    m = generator().standard_normal((rows, cols), dtype=_draw_dtype(arr.dtype))
    if rows < cols:
        m = m.T
    q, r = xp.linalg.qr(m)
    q *= xp.sign(xp.diagonal(r))  # makes the factorisation unique, so q is uniformly (Haar) distributed
    if rows < cols:
        q = q.T
    q *= gain
    arr[...] = q.reshape(arr.shape)
    return tensor


glorot_uniform_ = xavier_uniform_
glorot_normal_ = xavier_normal_
he_uniform_ = kaiming_uniform_
he_normal_ = kaiming_normal_
