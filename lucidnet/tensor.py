"""``Tensor``: a NumPy array that records the ops applied to it, so gradients can flow back.

>>> import lucidnet as ln
>>> x = ln.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
>>> y = (x * x).sum()
>>> y.backward()
>>> x.grad
tensor([[2., 4.],
        [6., 8.]])
"""
from __future__ import annotations

import math
from typing import Any, Sequence

from . import ops
from .autograd import engine, hooks, version
from .autograd.grad_mode import is_grad_enabled
from .backend import xp
from .limits import check_count, check_shape

float32 = xp.dtype("float32")
float64 = xp.dtype("float64")
float16 = xp.dtype("float16")
int64 = xp.dtype("int64")
int32 = xp.dtype("int32")
int16 = xp.dtype("int16")
int8 = xp.dtype("int8")
uint8 = xp.dtype("uint8")
bool_ = xp.dtype("bool")

_default_float = float32


def set_default_dtype(dtype) -> None:
    """The dtype floats get when none is asked for (float32 unless changed)."""
    global _default_float
    dt = xp.dtype(dtype)
    if dt.kind != "f":
        raise TypeError(f"set_default_dtype: expected a floating dtype, got {dt}")
    _default_float = dt


def get_default_dtype():
    return _default_float


def to_array(data, dtype=None):
    """The NumPy array a tensor of ``data`` holds: ``dtype`` when given; else floats in the default dtype,
    integers as int64 (uint8 kept), bools as bool. Always a new array, never a view of ``data``."""
    if isinstance(data, Tensor):
        data = data.array
    if dtype is not None:
        return xp.array(data, dtype=xp.dtype(dtype))
    arr = xp.array(data)
    return arr.astype(_default_dtype(arr.dtype), copy=False)


def _default_dtype(dtype):
    """The dtype a tensor of data of ``dtype`` gets when none is asked for (see :func:`to_array`)."""
    if dtype.kind == "f":
        return _default_float
    if dtype.kind in "iu" and dtype != uint8:
        return int64
    if dtype.kind not in "biu":
        raise TypeError(f"tensor: cannot make a tensor from data of dtype {dtype}")
    return dtype


class Size(tuple):
    """PyTorch's ``torch.Size``: a tuple of dims (a tensor's ``shape`` is a plain tuple, equal to it)."""

    def numel(self) -> int:
        n = 1
        for d in self:
            n *= d
        return n

    def __repr__(self) -> str:
        return f"Size({list(self)})"


def is_tensor(obj: Any) -> bool:
    """Whether ``obj`` is a lucidnet Tensor (PyTorch's ``torch.is_tensor``)."""
    return isinstance(obj, Tensor)


def numel(t: "Tensor") -> int:
    return t.array.size


def _replaced(old: "Tensor", value) -> "Tensor":
    """``value`` broadcast to ``old``'s shape and dtype, as a recorded op of ``old`` (whose gradient is 0)."""
    return ops.where(xp.ones(old.shape, dtype=bool), ops.cast(as_tensor(value), old.dtype), old)


def _floating(t: "Tensor", op: str) -> None:
    if t.dtype.kind != "f":
        raise TypeError(f"{op}: expected a floating tensor, got dtype {t.dtype}")


_TYPE_NAMES = {xp.dtype(k): v for k, v in (("float32", "Float"), ("float64", "Double"), ("float16", "Half"),
                                            ("int64", "Long"), ("int32", "Int"), ("int16", "Short"),
                                            ("int8", "Char"), ("uint8", "Byte"), ("bool", "Bool"))}


def _draw(dt):
    """The dtype random draws are made in for a tensor of dtype ``dt`` (float32 or float64)."""
    return dt if dt in (float32, float64) else float32


def _broadcasts_to(src: tuple, dst: tuple) -> bool:
    try:
        return xp.broadcast_shapes(src, dst) == dst
    except ValueError:
        return False


class Tensor:
    """An n-dimensional array with automatic differentiation. Build one with ``lucidnet.tensor``."""

    # array: the NumPy array it holds (lucidnet's own code works on it; ``data`` is PyTorch's detached view).
    # _uses: how many recorded nodes take it as an input; _view: it is a view of an op's input array.
    __slots__ = ("array", "_grad", "requires_grad", "_node", "_retains_grad", "_uses", "_view", "__weakref__",
                 "__dict__")
    __array_priority__ = 1000.0

    def __init__(self, data: Any, dtype=None, requires_grad: bool = False):
        self._fields(to_array(data, dtype))
        if requires_grad:
            self.requires_grad_(True)

    def _fields(self, array, node=None) -> None:
        self.array, self._grad, self._node, self._retains_grad = array, None, node, False
        self._uses, self._view = 0, False
        self.requires_grad = node is not None

    @classmethod
    def _make(cls, data, node) -> "Tensor":
        t = object.__new__(Tensor)
        if type(data) is not xp.ndarray:
            data = xp.asarray(data)
        t.array, t._grad, t._node, t._retains_grad, t._uses, t._view = data, None, node, False, 0, False
        t.requires_grad = node is not None
        return t

    # ---- PyTorch's data and grad: tensors ---------------------------------------------------------
    @property
    def data(self) -> "Tensor":
        """The same memory as a tensor outside the graph (PyTorch's ``.data``): changes to it are not
        recorded, and assigning a tensor to ``.data`` swaps the memory this tensor holds."""
        return Tensor._make(self.array, None)

    @data.setter
    def data(self, value: "Tensor") -> None:
        if not isinstance(value, Tensor):
            raise TypeError(f"data: expected a Tensor, got {type(value).__name__} (wrap it in lucidnet.tensor)")
        self.array = value.array

    @property
    def grad(self) -> "Tensor | None":
        """The gradient backward accumulated (a tensor of this tensor's shape and dtype), or None."""
        return self._grad

    @grad.setter
    def grad(self, value: "Tensor | None") -> None:
        if value is not None:
            if not isinstance(value, Tensor):
                raise TypeError(f"grad: expected a Tensor or None, got {type(value).__name__}")
            if value.shape != self.array.shape or value.dtype != self.array.dtype:
                raise ValueError(f"grad: a tensor of shape {tuple(self.array.shape)} and dtype {self.array.dtype} "
                                 f"cannot take a gradient of shape {tuple(value.shape)} and dtype {value.dtype}")
        self._grad = value

    # ---- properties -------------------------------------------------------------------------
    @property
    def shape(self) -> tuple:
        return self.array.shape

    @property
    def dtype(self):
        return self.array.dtype

    @property
    def ndim(self) -> int:
        return self.array.ndim

    def dim(self) -> int:
        return self.array.ndim

    def size(self, dim: int | None = None):
        return self.array.shape if dim is None else self.array.shape[dim]

    def numel(self) -> int:
        return self.array.size

    @property
    def is_leaf(self) -> bool:
        return self._node is None

    @property
    def grad_fn(self):
        return self._node

    @property
    def T(self) -> "Tensor":
        return ops.transpose(self)

    def __len__(self) -> int:
        if not self.array.ndim:
            raise TypeError("len() of a 0-d tensor")
        return self.array.shape[0]

    def __repr__(self) -> str:
        """PyTorch's form: the values (4 decimals unless all are whole numbers), then the dtype only where it is not the default (float32 for floats,
        int64 for integers, bool), then ``requires_grad`` or ``grad_fn``.

        >>> tensor([1.0, 2.0]), tensor([1.0, 2.0], dtype=float64), tensor([1, 2], dtype=int32)
        (tensor([1., 2.]), tensor([1., 2.], dtype=float64), tensor([1, 2], dtype=int32))
        """
        a = self.array
        fixed = a.dtype.kind == "f" and a.size and not xp.all(xp.isfinite(a) <= (a == xp.round(a)))
        body = xp.array2string(a, separator=", ", prefix="tensor(", precision=4 if fixed else None,
                               floatmode="fixed" if fixed else "maxprec") if a.size else "[]"
        extra = f", size={tuple(a.shape)}" if not a.size and a.shape != (0,) else ""
        extra += "" if a.dtype in (xp.float32, xp.int64, xp.bool_) else f", dtype={a.dtype}"
        extra += ", requires_grad=True" if self.requires_grad else ""
        if self._node is not None:
            extra = extra.replace(", requires_grad=True", "") + f", grad_fn=<{self._node.name}>"
        return f"tensor({body}{extra})"

    # ---- autograd -----------------------------------------------------------------------------
    def backward(self, gradient=None, retain_graph: bool = False) -> None:
        """Accumulate gradients of this tensor into ``.grad`` of every leaf that requires one."""
        engine.backward(self, gradient, retain_graph=retain_graph)

    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        if requires_grad and self.array.dtype.kind != "f":
            raise TypeError(f"only floating-point tensors can require gradients (this one is {self.array.dtype})")
        if self._node is not None and not requires_grad:
            raise RuntimeError("requires_grad_(False) on a non-leaf tensor; use .detach() instead")
        self.requires_grad = requires_grad
        return self

    def register_post_accumulate_grad_hook(self, hook) -> "hooks.RemovableHandle":
        """Run ``hook(self)`` in every backward once this leaf's ``.grad`` holds all of that backward's
        gradient (``lucidnet.autograd.hooks``); returns a handle whose ``remove()`` unregisters it."""
        return hooks.register_post_accumulate_grad_hook(self, hook)

    def retain_grad(self) -> None:
        """Keep the gradient of a non-leaf tensor in ``.grad`` after backward."""
        self._retains_grad = True

    def detach(self) -> "Tensor":
        """The same data, cut from the graph (shares memory, like PyTorch)."""
        return Tensor._make(self.array, None)

    def detach_(self) -> "Tensor":
        self._node, self.requires_grad = None, False
        return self

    # ---- in place (PyTorch's rules: lucidnet.ops.inplace) ------------------------------------------
    def _update(self, op: str, mutate, recompute, *others) -> "Tensor":
        return ops.inplace.update(self, op, mutate, recompute, *others)

    def add_(self, other, *, alpha=1) -> "Tensor":
        """``self += alpha * other`` in place."""
        o = other if alpha == 1 else other * alpha
        return self._update("add_", lambda a: xp.add(a, ops.inplace.value_of(o), out=a, casting="same_kind"),
                            lambda old: ops.add(old, o), o)

    def sub_(self, other, *, alpha=1) -> "Tensor":
        """``self -= alpha * other`` in place."""
        o = other if alpha == 1 else other * alpha
        return self._update("sub_", lambda a: xp.subtract(a, ops.inplace.value_of(o), out=a, casting="same_kind"),
                            lambda old: ops.sub(old, o), o)

    def mul_(self, other) -> "Tensor":
        return self._update("mul_", lambda a: xp.multiply(a, ops.inplace.value_of(other), out=a, casting="same_kind"),
                            lambda old: ops.mul(old, other), other)

    def div_(self, other, *, rounding_mode=None) -> "Tensor":
        if rounding_mode is not None:
            raise ValueError(f"div_: rounding_mode={rounding_mode!r} is not supported by lucidnet; only true "
                             "division (rounding_mode=None)")
        return self._update("div_", lambda a: xp.true_divide(a, ops.inplace.value_of(other), out=a,
                                                             casting="same_kind"),
                            lambda old: ops.div(old, other), other)

    def pow_(self, exponent) -> "Tensor":
        return self._update("pow_", lambda a: xp.power(a, ops.inplace.value_of(exponent), out=a, casting="same_kind"),
                            lambda old: ops.pow(old, exponent), exponent)

    __iadd__, __isub__, __imul__, __itruediv__, __ipow__ = add_, sub_, mul_, div_, pow_

    def neg_(self) -> "Tensor":
        return self._update("neg_", lambda a: xp.negative(a, out=a), ops.neg)

    def abs_(self): return ops.inplace.replace_with(self, "abs_", ops.abs)
    def exp_(self): return ops.inplace.replace_with(self, "exp_", ops.exp)
    def log_(self): return ops.inplace.replace_with(self, "log_", ops.log)
    def sqrt_(self): return ops.inplace.replace_with(self, "sqrt_", ops.sqrt)
    def relu_(self): return ops.inplace.replace_with(self, "relu_", ops.relu)
    def sigmoid_(self): return ops.inplace.replace_with(self, "sigmoid_", ops.sigmoid)
    def tanh_(self): return ops.inplace.replace_with(self, "tanh_", ops.tanh)

    def clamp_(self, min=None, max=None) -> "Tensor":  # noqa: A002
        if min is None and max is None:
            raise ValueError("clamp_: at least one of min and max must be given")
        return self._update("clamp_", lambda a: xp.clip(a, min, max, out=a), lambda old: ops.clip(old, min, max))

    clip_ = clamp_

    def masked_fill_(self, mask, value) -> "Tensor":
        """Write ``value`` where the bool ``mask`` (broadcast to this tensor's shape) is True."""
        m = xp.asarray(ops.inplace.value_of(mask))
        if m.dtype != bool:
            raise TypeError(f"masked_fill_: expected a bool mask, got dtype {m.dtype}")
        if not _broadcasts_to(m.shape, self.array.shape):
            raise ValueError(f"masked_fill_: a mask of shape {m.shape} does not broadcast to the tensor's shape "
                             f"{self.array.shape}")
        return self._update("masked_fill_", lambda a: xp.copyto(a, ops.inplace.value_of(value), where=m,
                                                                casting="unsafe"),
                            lambda old: ops.where(m, ops.cast(as_tensor(value), old.dtype), old), value)

    def zero_(self) -> "Tensor":
        return self.fill_(0)

    def fill_(self, value) -> "Tensor":
        return self._update("fill_", lambda a: xp.copyto(a, ops.inplace.value_of(value), casting="unsafe"),
                            lambda old: _replaced(old, value), value)

    def copy_(self, src) -> "Tensor":
        """Copy ``src`` (broadcast to this tensor's shape, cast to its dtype) into this tensor."""
        arr = ops.inplace.value_of(src)
        shape = xp.shape(arr)
        if not _broadcasts_to(shape, self.array.shape):
            raise ValueError(f"copy_: source of shape {shape} does not fit a tensor of shape {self.array.shape}")
        return self._update("copy_", lambda a: xp.copyto(a, arr, casting="unsafe"),
                            lambda old: _replaced(old, src), src)

    def normal_(self, mean: float = 0.0, std: float = 1.0) -> "Tensor":
        """Fill with samples of N(mean, std^2) from lucidnet's generator (see ``manual_seed``)."""
        from .random import generator
        _floating(self, "normal_")
        draw = generator().standard_normal(self.array.shape, dtype=_draw(self.array.dtype)) * std + mean
        return self.copy_(draw.astype(self.array.dtype, copy=False))

    def uniform_(self, a: float = 0.0, b: float = 1.0) -> "Tensor":
        """Fill with samples of U(a, b) from lucidnet's generator (see ``manual_seed``)."""
        from .random import generator
        _floating(self, "uniform_")
        draw = generator().random(self.array.shape, dtype=_draw(self.array.dtype)) * (b - a) + a
        return self.copy_(draw.astype(self.array.dtype, copy=False))

    # ---- conversion ---------------------------------------------------------------------------
    def item(self):
        if self.array.size != 1:
            raise ValueError(f"item(): only a one-element tensor converts to a Python number; this one has shape {self.shape}")
        return self.array.item()

    def numpy(self):
        if self.requires_grad:
            return self.array.view()
        return self.array

    def tolist(self):
        return self.array.tolist()

    def __array__(self, dtype=None, copy=None):
        """NumPy's protocol, as PyTorch's tensors answer it: ``numpy.asarray(t)`` shares the tensor's memory,
        ``numpy.array(t)`` (``copy=True``) is a copy, and a change of dtype is a copy (refused with
        ``copy=False``)."""
        a = self.array
        if dtype is not None and xp.dtype(dtype) != a.dtype:
            if copy is False:
                raise ValueError(f"a {a.dtype} tensor cannot be seen as {xp.dtype(dtype)} without a copy "
                                 "(numpy.asarray(t, dtype) copies; copy=False refuses)")
            return a.astype(dtype)
        return a.copy() if copy else a

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __bool__(self) -> bool:
        if self.array.size != 1:
            raise ValueError(f"the truth value of a tensor of shape {self.shape} is ambiguous; use .any() or .all()")
        return bool(self.array)

    def to(self, *args, dtype=None, device=None, non_blocking: bool = False, copy: bool = False) -> "Tensor":
        """PyTorch's ``to``: ``to(dtype)``, ``to(device)``, ``to(device, dtype)``, ``to(other_tensor)`` or by
        keyword. A cast is differentiable between float dtypes; the device must be the CPU. Returns this
        tensor when nothing changes (unless ``copy``)."""
        from .device import to_arguments
        dtype = to_arguments(args, dtype, device, "to")
        out = self if dtype is None else ops.cast(self, dtype)
        return ops.clone(out) if copy and out is self else out

    def astype(self, dtype) -> "Tensor":
        """Cast to ``dtype`` (differentiable between float dtypes)."""
        return ops.cast(self, dtype)

    @property
    def device(self):
        """Where the tensor lives: always ``device('cpu')`` in lucidnet."""
        from .device import CPU
        return CPU

    is_cuda = False

    def cpu(self) -> "Tensor":
        return self

    def cuda(self, *args, **kwargs) -> "Tensor":
        from .device import check_device
        check_device("cuda", "cuda")
        return self

    def type(self, dtype=None):
        """PyTorch's name of the tensor type ('torch.FloatTensor', ...), or the tensor cast to ``dtype``."""
        if dtype is None:
            return "torch." + _TYPE_NAMES.get(self.array.dtype, str(self.array.dtype)) + ("Tensor" if self.array.dtype
                                                                                          in _TYPE_NAMES else "")
        return ops.cast(self, dtype)

    def __format__(self, spec: str) -> str:
        if self.array.ndim == 0:
            return format(self.array.item(), spec)
        return format(repr(self), spec) if spec else repr(self)

    def __index__(self) -> int:
        if self.array.size != 1 or self.array.dtype.kind not in "iub":
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self.array.item())

    def float(self) -> "Tensor":
        return ops.cast(self, float32)

    def double(self) -> "Tensor":
        return ops.cast(self, float64)

    def long(self) -> "Tensor":
        return ops.cast(self, int64)

    def int(self) -> "Tensor":
        return ops.cast(self, int32)

    def bool(self) -> "Tensor":
        return ops.cast(self, bool_)

    def clone(self) -> "Tensor":
        return ops.clone(self)

    def contiguous(self) -> "Tensor":
        return self

    # ---- arithmetic -----------------------------------------------------------------------------
    def __add__(self, o): return ops.add(self, o)
    def __radd__(self, o): return ops.add(o, self)
    def __sub__(self, o): return ops.sub(self, o)
    def __rsub__(self, o): return ops.sub(o, self)
    def __mul__(self, o): return ops.mul(self, o)
    def __rmul__(self, o): return ops.mul(o, self)
    def __truediv__(self, o): return ops.div(self, o)
    def __rtruediv__(self, o): return ops.div(o, self)
    def __pow__(self, o): return ops.pow(self, o)
    def __rpow__(self, o): return ops.pow(o, self)
    def __matmul__(self, o): return ops.matmul(self, o)
    def __rmatmul__(self, o): return ops.matmul(o, self)
    def __neg__(self): return ops.neg(self)
    def __pos__(self): return self
    def __abs__(self): return ops.abs(self)
    def __getitem__(self, key): return ops.getitem(self, key)

    def __setitem__(self, key, value):
        if is_grad_enabled() and (self.requires_grad or (isinstance(value, Tensor) and value.requires_grad)):
            raise RuntimeError("__setitem__: assigning into a tensor while the graph is recorded (the tensor or "
                               "the value requires grad) is not supported by lucidnet; do it under "
                               "lucidnet.no_grad(), or build the result with lucidnet.where or cat")
        a = self.array
        try:
            a[ops.index._key(key)] = value.array if isinstance(value, Tensor) else value
        except ValueError as e:
            if "read-only" not in str(e):
                raise
            raise RuntimeError(f"__setitem__: {ops.inplace.unwritable(a, whole=False)}") from None
        version.bump(a)

    # comparisons: no gradient, boolean result
    def __eq__(self, o): return ops.compare(self, o, "eq")  # type: ignore[override]
    def __ne__(self, o): return ops.compare(self, o, "ne")  # type: ignore[override]
    def __lt__(self, o): return ops.compare(self, o, "lt")
    def __le__(self, o): return ops.compare(self, o, "le")
    def __gt__(self, o): return ops.compare(self, o, "gt")
    def __ge__(self, o): return ops.compare(self, o, "ge")
    __hash__ = object.__hash__

    def __invert__(self): return Tensor._make(~self.array, None)
    def __and__(self, o): return Tensor._make(self.array & getattr(o, "array", o), None)
    def __or__(self, o): return Tensor._make(self.array | getattr(o, "array", o), None)

    def add(self, o): return ops.add(self, o)
    def sub(self, o): return ops.sub(self, o)
    def mul(self, o): return ops.mul(self, o)
    def div(self, o): return ops.div(self, o)
    def pow(self, o): return ops.pow(self, o)
    def matmul(self, o): return ops.matmul(self, o)
    def neg(self): return ops.neg(self)
    def exp(self): return ops.exp(self)
    def sin(self): return ops.sin(self)
    def cos(self): return ops.cos(self)
    def tan(self): return ops.tan(self)
    def asin(self): return ops.asin(self)
    def acos(self): return ops.acos(self)
    def atan(self): return ops.atan(self)
    def sinh(self): return ops.sinh(self)
    def cosh(self): return ops.cosh(self)
    def log2(self): return ops.log2(self)
    def log10(self): return ops.log10(self)
    def log1p(self): return ops.log1p(self)
    def expm1(self): return ops.expm1(self)
    def exp2(self): return ops.exp2(self)
    def rsqrt(self): return ops.rsqrt(self)
    def reciprocal(self): return ops.reciprocal(self)
    def floor(self): return ops.floor(self)
    def ceil(self): return ops.ceil(self)
    def round(self): return ops.round(self)
    def trunc(self): return ops.trunc(self)
    def sign(self): return ops.sign(self)
    def log(self): return ops.log(self)
    def sqrt(self): return ops.sqrt(self)
    def abs(self): return ops.abs(self)
    def square(self): return ops.square(self)
    def maximum(self, o): return ops.maximum(self, o)
    def minimum(self, o): return ops.minimum(self, o)
    def clip(self, min=None, max=None): return ops.clip(self, min, max)  # noqa: A002
    clamp = clip
    def eq(self, o): return ops.compare(self, o, "eq")
    def ne(self, o): return ops.compare(self, o, "ne")
    def lt(self, o): return ops.compare(self, o, "lt")
    def le(self, o): return ops.compare(self, o, "le")
    def gt(self, o): return ops.compare(self, o, "gt")
    def ge(self, o): return ops.compare(self, o, "ge")

    # ---- reductions -----------------------------------------------------------------------------
    def sum(self, dim=None, keepdim=None, **kw): return ops.sum(self, dim, keepdim, **kw)
    def mean(self, dim=None, keepdim=None, **kw): return ops.mean(self, dim, keepdim, **kw)
    def var(self, dim=None, keepdim=None, **kw): return ops.var(self, dim, keepdim, **kw)
    def std(self, dim=None, keepdim=None, **kw): return ops.std(self, dim, keepdim, **kw)
    def max(self, dim=None, keepdim=None, **kw): return ops.max(self, dim, keepdim, **kw)
    def min(self, dim=None, keepdim=None, **kw): return ops.min(self, dim, keepdim, **kw)
    def logsumexp(self, dim=None, keepdim=None, **kw): return ops.logsumexp(self, dim, keepdim, **kw)
    def argmax(self, dim=None, keepdim=False, **kw): return ops.argmax(self, dim, keepdim, **kw)
    def argmin(self, dim=None, keepdim=False, **kw): return ops.argmin(self, dim, keepdim, **kw)
    def any(self, dim=None): return Tensor._make(self.array.any(axis=dim), None)
    def all(self, dim=None): return Tensor._make(self.array.all(axis=dim), None)

    # ---- shape ----------------------------------------------------------------------------------
    def reshape(self, *shape): return ops.reshape(self, *shape)
    view = reshape
    def permute(self, *dims): return ops.permute(self, *dims)
    def transpose(self, dim0=None, dim1=None): return ops.transpose(self, dim0, dim1)
    def squeeze(self, dim=None): return ops.squeeze(self, dim)
    def unsqueeze(self, dim): return ops.unsqueeze(self, dim)
    def expand(self, *shape): return ops.expand(self, *shape)
    def flatten(self, start_dim=0, end_dim=-1): return ops.flatten(self, start_dim, end_dim)
    def split(self, split_size, dim=0): return ops.split(self, split_size, dim)
    def chunk(self, chunks, dim=0): return ops.chunk(self, chunks, dim)
    def gather(self, dim, index): return ops.gather(self, dim, index)
    def flip(self, dims): return ops.flip(self, dims)
    def repeat(self, *sizes): return ops.repeat(self, *sizes)
    def tril(self, diagonal=0): return ops.tril(self, diagonal)
    def triu(self, diagonal=0): return ops.triu(self, diagonal)
    def narrow(self, dim, start, length): return ops.narrow(self, dim, start, length)
    def select(self, dim, index): return ops.select(self, dim, index)
    def unbind(self, dim=0): return ops.unbind(self, dim)
    def movedim(self, source, destination): return ops.movedim(self, source, destination)
    moveaxis = movedim
    def swapaxes(self, dim0, dim1): return ops.swapaxes(self, dim0, dim1)
    swapdims = swapaxes
    def unflatten(self, dim, sizes): return ops.unflatten(self, dim, sizes)
    def cumsum(self, dim): return ops.cumsum(self, dim)
    def sort(self, dim=-1, descending=False, stable=False): return ops.sort(self, dim, descending, stable)
    def argsort(self, dim=-1, descending=False, stable=False): return ops.argsort(self, dim, descending, stable)
    def topk(self, k, dim=-1, largest=True, sorted=True): return ops.topk(self, k, dim, largest, sorted)  # noqa: A002
    def mm(self, o): return ops.mm(self, o)
    def bmm(self, o): return ops.bmm(self, o)
    def t(self):
        if self.ndim > 2:
            raise ValueError(f"t: expects a tensor with <= 2 dimensions, but self is {self.ndim}D")
        return ops.transpose(self) if self.ndim == 2 else self
    def view_as(self, other): return ops.reshape(self, *other.shape)
    def expand_as(self, other): return ops.expand(self, *other.shape)
    def nelement(self) -> int: return self.array.size
    def scatter(self, dim, index, src=None, *, value=None): return ops.scatter(self, dim, index, src, value=value)
    def scatter_add(self, dim, index, src): return ops.scatter(self, dim, index, src, add=True)

    def scatter_(self, dim, index, src=None, *, value=None):
        return ops.inplace.replace_with(self, "scatter_", lambda t: ops.scatter(t, dim, index, src, value=value))

    def scatter_add_(self, dim, index, src):
        return ops.inplace.replace_with(self, "scatter_add_", lambda t: ops.scatter(t, dim, index, src, add=True))

    def masked_fill(self, mask, value): return self.clone().masked_fill_(mask, value)
    def multinomial(self, num_samples, replacement=False, *, generator=None):
        return multinomial(self, num_samples, replacement, generator)

    # ---- new tensors like this one (PyTorch's new_* and *_like) ---------------------------------------
    def new_zeros(self, *size, dtype=None, device=None, requires_grad=False):
        return zeros(*size, dtype=dtype or self.dtype, device=device, requires_grad=requires_grad)

    def new_ones(self, *size, dtype=None, device=None, requires_grad=False):
        return ones(*size, dtype=dtype or self.dtype, device=device, requires_grad=requires_grad)

    def new_full(self, size, fill_value, dtype=None, device=None, requires_grad=False):
        return full(size, fill_value, dtype=dtype or self.dtype, device=device, requires_grad=requires_grad)

    def new_empty(self, *size, dtype=None, device=None, requires_grad=False):
        return empty(*size, dtype=dtype or self.dtype, device=device).requires_grad_(requires_grad)

    def new_tensor(self, data, dtype=None, device=None, requires_grad=False):
        return tensor(data, dtype=dtype or self.dtype, device=device, requires_grad=requires_grad)

    # ---- activations ----------------------------------------------------------------------------
    def sigmoid(self): return ops.sigmoid(self)
    def tanh(self): return ops.tanh(self)
    def relu(self): return ops.relu(self)
    def softmax(self, dim=-1): return ops.softmax(self, dim)
    def log_softmax(self, dim=-1): return ops.log_softmax(self, dim)


# ---- construction -------------------------------------------------------------------------------

def tensor(data: Any, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    """A new tensor (a copy of ``data``). Floats are float32 unless ``dtype`` says otherwise.

    >>> import lucidnet as ln
    >>> ln.tensor([1.5, 2.0]).dtype
    dtype('float32')
    >>> ln.tensor([1.5], dtype=ln.float64).dtype
    dtype('float64')
    """
    _on_cpu(device, "tensor")
    return Tensor(data, dtype=dtype, requires_grad=requires_grad)


def as_tensor(data: Any, dtype=None, device=None) -> Tensor:
    """PyTorch's ``torch.as_tensor``: ``data`` itself when it is a tensor of that dtype; a NumPy array whose dtype
    is the tensor's (``dtype``, or the one :func:`tensor` gives such data) shares its memory, as with
    :func:`from_numpy`; anything else is copied.

    >>> import numpy as np
    >>> a = np.zeros(2, np.float32)
    >>> as_tensor(a).add_(1.0) is not None, a.tolist()
    (True, [1.0, 1.0])
    """
    _on_cpu(device, "as_tensor")
    if isinstance(data, Tensor) and (dtype is None or data.dtype == xp.dtype(dtype)):
        return data
    if isinstance(data, xp.ndarray) and data.dtype.kind in "biuf" and \
            data.dtype == (_default_dtype(data.dtype) if dtype is None else xp.dtype(dtype)):
        return from_numpy(data)
    return Tensor(data, dtype=dtype)


def from_numpy(arr) -> Tensor:
    """Wrap a NumPy array without copying, keeping its dtype."""
    return Tensor._make(arr, None)


def _on_cpu(device, who: str) -> None:
    if device is not None:
        from .device import check_device
        check_device(device, who)


def _shape(shape: Sequence, dtype: Any = None, who: str = "tensor") -> tuple:
    """The shape of ``zeros(2, 3)`` or ``zeros((2, 3))``, checked (``limits.check_shape``) for ``dtype``."""
    dims = shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
    return check_shape(dims, _float(dtype) if dtype is None else dtype, who)


def _float(dtype):
    return _default_float if dtype is None else xp.dtype(dtype)


def zeros(*shape, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    _on_cpu(device, "zeros")
    dt = _float(dtype)
    return Tensor._make(xp.zeros(_shape(shape, dt, "zeros"), dtype=dt), None).requires_grad_(requires_grad)


def ones(*shape, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    _on_cpu(device, "ones")
    dt = _float(dtype)
    return Tensor._make(xp.ones(_shape(shape, dt, "ones"), dtype=dt), None).requires_grad_(requires_grad)


def full(shape, fill_value, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    _on_cpu(device, "full")
    dt = _float(dtype)
    dims = check_shape((shape,) if isinstance(shape, int) else tuple(shape), dt, "full")
    return Tensor._make(xp.full(dims, fill_value, dtype=dt), None).requires_grad_(requires_grad)


def zeros_like(t: Tensor, dtype=None, device=None) -> Tensor:
    _on_cpu(device, "zeros_like")
    return Tensor._make(xp.zeros_like(t.array, dtype=dtype), None)


def ones_like(t: Tensor, dtype=None, device=None) -> Tensor:
    _on_cpu(device, "ones_like")
    return Tensor._make(xp.ones_like(t.array, dtype=dtype), None)


def full_like(t: Tensor, fill_value, dtype=None, device=None) -> Tensor:
    _on_cpu(device, "full_like")
    return Tensor._make(xp.full_like(t.array, fill_value, dtype=dtype), None)


def empty_like(t: Tensor, dtype=None, device=None) -> Tensor:
    _on_cpu(device, "empty_like")
    return Tensor._make(xp.empty_like(t.array, dtype=dtype), None)


def rand_like(t: Tensor, dtype=None, device=None, generator=None) -> Tensor:
    return rand(*t.shape, dtype=dtype or t.dtype, device=device, generator=generator)


def randn_like(t: Tensor, dtype=None, device=None, generator=None) -> Tensor:
    return randn(*t.shape, dtype=dtype or t.dtype, device=device, generator=generator)


def multinomial(probs: Tensor, num_samples: int, replacement: bool = False, generator=None) -> Tensor:
    """``num_samples`` category indices per row of the non-negative weights ``probs`` (1-D or 2-D), drawn
    with or without ``replacement`` (PyTorch's ``multinomial``)."""
    from .random import stream
    p = xp.asarray(probs.array, dtype=xp.float64)
    rows = p.reshape(1, -1) if p.ndim == 1 else p
    if p.ndim not in (1, 2) or (rows < 0).any() or not xp.isfinite(rows).all() or (rows.sum(axis=1) <= 0).any():
        raise ValueError("multinomial: expected a 1-D or 2-D tensor of non-negative finite weights, each row with "
                         "a positive sum")
    if not replacement and num_samples > int((rows > 0).sum(axis=1).min()):
        raise ValueError(f"multinomial: cannot draw {num_samples} samples without replacement from a row with "
                         "fewer categories of nonzero weight")
    rng = stream(generator)
    out = xp.stack([rng.choice(rows.shape[1], num_samples, replace=replacement, p=r / r.sum()) for r in rows])
    return Tensor._make((out[0] if p.ndim == 1 else out).astype(int64), None)


def empty(*shape, dtype=None, device=None) -> Tensor:
    _on_cpu(device, "empty")
    dt = _float(dtype)
    return Tensor._make(xp.empty(_shape(shape, dt, "empty"), dtype=dt), None)


def arange(start, end=None, step=1, dtype=None, device=None) -> Tensor:
    _on_cpu(device, "arange")
    if end is None:
        start, end = 0, start
    if dtype is None:
        dtype = int64 if all(isinstance(v, int) for v in (start, end, step)) else _default_float
    if step != 0 and all(isinstance(v, (int, float)) for v in (start, end, step)) \
            and all(math.isfinite(v) for v in (start, end, step)):
        check_count(max(math.ceil((end - start) / step), 0), xp.dtype(dtype).itemsize, "the range", "arange")
    return Tensor._make(xp.arange(start, end, step, dtype=xp.dtype(dtype)), None)


def linspace(start, end, steps, dtype=None, device=None) -> Tensor:
    _on_cpu(device, "linspace")
    check_shape((steps,), _float(dtype), "linspace")
    return Tensor._make(xp.linspace(start, end, steps, dtype=_float(dtype)), None)


def eye(n, m=None, dtype=None, device=None) -> Tensor:
    _on_cpu(device, "eye")
    check_shape((n, n if m is None else m), _float(dtype), "eye")
    return Tensor._make(xp.eye(n, m, dtype=_float(dtype)), None)


def randn(*shape, dtype=None, requires_grad: bool = False, device=None, generator=None) -> Tensor:
    """Standard normal samples from the library's generator (see ``manual_seed``) or ``generator``."""
    _on_cpu(device, "randn")
    from .random import stream
    dt = _float(dtype)
    dims = _shape(shape, dt, "randn")
    return Tensor._make(stream(generator).standard_normal(dims, dtype=dt), None).requires_grad_(requires_grad)


def rand(*shape, dtype=None, requires_grad: bool = False, device=None, generator=None) -> Tensor:
    _on_cpu(device, "rand")
    from .random import stream
    dt = _float(dtype)
    dims = _shape(shape, dt, "rand")
    return Tensor._make(stream(generator).random(dims, dtype=dt), None).requires_grad_(requires_grad)


def randint(low, high=None, size=None, dtype=None, device=None, generator=None) -> Tensor:
    """Integers drawn uniformly from [low, high), PyTorch's forms: ``randint(high, size)`` and
    ``randint(low, high, size)``.

    >>> import lucidnet as ln
    >>> x = ln.randint(10, (3,))
    >>> x.shape, x.dtype, bool(((x >= 0) & (x < 10)).all())
    ((3,), dtype('int64'), True)
    """
    _on_cpu(device, "randint")
    from .random import stream
    if size is None and isinstance(high, (tuple, list)):
        low, high, size = 0, low, high
    elif high is None:
        low, high = 0, low
    if size is None:
        raise TypeError("randint: expected a size, as in randint(high, (n,)) or randint(low, high, (n,))")
    dt = xp.dtype(dtype or int64)
    dims = check_shape((size,) if isinstance(size, int) else tuple(size), dt, "randint")
    return Tensor._make(stream(generator).integers(low, high, size=dims, dtype=dt), None)


def randperm(n: int, device=None, generator=None) -> Tensor:
    _on_cpu(device, "randperm")
    check_shape((n,), int64, "randperm")
    from .random import stream
    return Tensor._make(stream(generator).permutation(n).astype(int64), None)
