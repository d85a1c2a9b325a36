"""``Tensor``: a NumPy array that records the ops applied to it, so gradients can flow back.

>>> import lucidnet as ln
>>> x = ln.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
>>> y = (x * x).sum()
>>> y.backward()
>>> x.grad
array([[2., 4.],
       [6., 8.]], dtype=float32)
"""
from __future__ import annotations

from typing import Any, Sequence

from . import ops
from .autograd import engine
from .autograd.grad_mode import is_grad_enabled
from .backend import xp

float32 = xp.dtype("float32")
float64 = xp.dtype("float64")
float16 = xp.dtype("float16")
int64 = xp.dtype("int64")
int32 = xp.dtype("int32")
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
        data = data.data
    if dtype is not None:
        return xp.array(data, dtype=xp.dtype(dtype))
    arr = xp.array(data)
    if arr.dtype.kind == "f":
        return arr.astype(_default_float, copy=False)
    if arr.dtype.kind in "iu" and arr.dtype != uint8:
        return arr.astype(int64, copy=False)
    if arr.dtype.kind not in "biu":
        raise TypeError(f"tensor: cannot make a tensor from data of dtype {arr.dtype}")
    return arr


def _broadcasts_to(src: tuple, dst: tuple) -> bool:
    try:
        return xp.broadcast_shapes(src, dst) == dst
    except ValueError:
        return False


class Tensor:
    """An n-dimensional array with automatic differentiation. Build one with ``lucidnet.tensor``."""

    __slots__ = ("data", "grad", "requires_grad", "_node", "_retains_grad", "__weakref__", "__dict__")
    __array_priority__ = 1000.0

    def __init__(self, data: Any, dtype=None, requires_grad: bool = False):
        self.data = to_array(data, dtype)
        self.grad = None
        self._node = None
        self._retains_grad = False
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    @classmethod
    def _make(cls, data, node) -> "Tensor":
        t = object.__new__(Tensor)
        if type(data) is not xp.ndarray:
            data = xp.asarray(data)
        t.data, t.grad, t._node, t._retains_grad = data, None, node, False
        t.requires_grad = node is not None
        return t

    # ---- properties -------------------------------------------------------------------------
    @property
    def shape(self) -> tuple:
        return self.data.shape

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def ndim(self) -> int:
        return self.data.ndim

    def dim(self) -> int:
        return self.data.ndim

    def size(self, dim: int | None = None):
        return self.data.shape if dim is None else self.data.shape[dim]

    def numel(self) -> int:
        return self.data.size

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
        if not self.data.ndim:
            raise TypeError("len() of a 0-d tensor")
        return self.data.shape[0]

    def __repr__(self) -> str:
        body = repr(self.data)[6:-1] if repr(self.data).startswith("array(") else repr(self.data)
        extra = ", requires_grad=True" if self.requires_grad else ""
        if self._node is not None:
            extra = f", grad_fn=<{self._node.name}>"
        return f"tensor({body}{extra})"

    # ---- autograd -----------------------------------------------------------------------------
    def backward(self, gradient=None, retain_graph: bool = False) -> None:
        """Accumulate gradients of this tensor into ``.grad`` of every leaf that requires one."""
        engine.backward(self, gradient, retain_graph=retain_graph)

    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        if requires_grad and self.data.dtype.kind != "f":
            raise TypeError(f"only floating-point tensors can require gradients (this one is {self.data.dtype})")
        if self._node is not None and not requires_grad:
            raise RuntimeError("requires_grad_(False) on a non-leaf tensor; use .detach() instead")
        self.requires_grad = requires_grad
        return self

    def retain_grad(self) -> None:
        """Keep the gradient of a non-leaf tensor in ``.grad`` after backward."""
        self._retains_grad = True

    def detach(self) -> "Tensor":
        """The same data, cut from the graph (shares memory, like PyTorch)."""
        return Tensor._make(self.data, None)

    def detach_(self) -> "Tensor":
        self._node, self.requires_grad = None, False
        return self

    def zero_(self) -> "Tensor":
        self._check_inplace("zero_")
        self.data[...] = 0
        return self

    def fill_(self, value) -> "Tensor":
        self._check_inplace("fill_")
        self.data[...] = value
        return self

    def copy_(self, src) -> "Tensor":
        self._check_inplace("copy_")
        src = src.data if isinstance(src, Tensor) else xp.asarray(src)
        if src.shape != self.data.shape and not _broadcasts_to(src.shape, self.data.shape):
            raise ValueError(f"copy_: source of shape {src.shape} does not fit a tensor of shape {self.data.shape}")
        xp.copyto(self.data, src, casting="same_kind")
        return self

    def _check_inplace(self, op: str) -> None:
        if is_grad_enabled() and self.requires_grad:
            raise RuntimeError(f"{op}: a tensor that requires grad cannot be changed in place while the graph "
                               "is recorded; wrap the change in lucidnet.no_grad()")

    # ---- conversion ---------------------------------------------------------------------------
    def item(self):
        if self.data.size != 1:
            raise ValueError(f"item(): only a one-element tensor converts to a Python number; this one has shape {self.shape}")
        return self.data.item()

    def numpy(self):
        if self.requires_grad:
            return self.data.view()
        return self.data

    def tolist(self):
        return self.data.tolist()

    def __array__(self, dtype=None, copy=None):
        return self.data if dtype is None else self.data.astype(dtype)

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __bool__(self) -> bool:
        if self.data.size != 1:
            raise ValueError(f"the truth value of a tensor of shape {self.shape} is ambiguous; use .any() or .all()")
        return bool(self.data)

    def to(self, dtype) -> "Tensor":
        """Cast (differentiable between float dtypes)."""
        return ops.cast(self, dtype)

    astype = to

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
        self._check_inplace("__setitem__")
        self.data[ops.index._key(key)] = value.data if isinstance(value, Tensor) else value

    # comparisons: no gradient, boolean result
    def __eq__(self, o): return ops.compare(self, o, "eq")  # type: ignore[override]
    def __ne__(self, o): return ops.compare(self, o, "ne")  # type: ignore[override]
    def __lt__(self, o): return ops.compare(self, o, "lt")
    def __le__(self, o): return ops.compare(self, o, "le")
    def __gt__(self, o): return ops.compare(self, o, "gt")
    def __ge__(self, o): return ops.compare(self, o, "ge")
    __hash__ = object.__hash__

    def __invert__(self): return Tensor._make(~self.data, None)
    def __and__(self, o): return Tensor._make(self.data & getattr(o, "data", o), None)
    def __or__(self, o): return Tensor._make(self.data | getattr(o, "data", o), None)

    def add(self, o): return ops.add(self, o)
    def sub(self, o): return ops.sub(self, o)
    def mul(self, o): return ops.mul(self, o)
    def div(self, o): return ops.div(self, o)
    def pow(self, o): return ops.pow(self, o)
    def matmul(self, o): return ops.matmul(self, o)
    def neg(self): return ops.neg(self)
    def exp(self): return ops.exp(self)
    def log(self): return ops.log(self)
    def sqrt(self): return ops.sqrt(self)
    def abs(self): return ops.abs(self)
    def square(self): return ops.mul(self, self)
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
    def any(self, dim=None): return Tensor._make(self.data.any(axis=dim), None)
    def all(self, dim=None): return Tensor._make(self.data.all(axis=dim), None)

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

    # ---- activations ----------------------------------------------------------------------------
    def sigmoid(self): return ops.sigmoid(self)
    def tanh(self): return ops.tanh(self)
    def relu(self): return ops.relu(self)
    def softmax(self, dim=-1): return ops.softmax(self, dim)
    def log_softmax(self, dim=-1): return ops.log_softmax(self, dim)


# ---- construction -------------------------------------------------------------------------------

def tensor(data: Any, dtype=None, requires_grad: bool = False) -> Tensor:
    """A new tensor (a copy of ``data``). Floats are float32 unless ``dtype`` says otherwise.

    >>> import lucidnet as ln
    >>> ln.tensor([1.5, 2.0]).dtype
    dtype('float32')
    >>> ln.tensor([1.5], dtype=ln.float64).dtype
    dtype('float64')
    """
    return Tensor(data, dtype=dtype, requires_grad=requires_grad)


def as_tensor(data: Any, dtype=None) -> Tensor:
    if isinstance(data, Tensor) and (dtype is None or data.dtype == xp.dtype(dtype)):
        return data
    return Tensor(data, dtype=dtype)


def from_numpy(arr) -> Tensor:
    """Wrap a NumPy array without copying, keeping its dtype."""
    return Tensor._make(arr, None)


def _shape(shape: Sequence) -> tuple:
    return tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else tuple(shape)


def _float(dtype):
    return _default_float if dtype is None else xp.dtype(dtype)


def zeros(*shape, dtype=None, requires_grad: bool = False) -> Tensor:
    return Tensor._make(xp.zeros(_shape(shape), dtype=_float(dtype)), None).requires_grad_(requires_grad)


def ones(*shape, dtype=None, requires_grad: bool = False) -> Tensor:
    return Tensor._make(xp.ones(_shape(shape), dtype=_float(dtype)), None).requires_grad_(requires_grad)


def full(shape, fill_value, dtype=None, requires_grad: bool = False) -> Tensor:
    return Tensor._make(xp.full(tuple(shape), fill_value, dtype=_float(dtype)), None).requires_grad_(requires_grad)


def zeros_like(t: Tensor, dtype=None) -> Tensor:
    return Tensor._make(xp.zeros_like(t.data, dtype=dtype), None)


def ones_like(t: Tensor, dtype=None) -> Tensor:
    return Tensor._make(xp.ones_like(t.data, dtype=dtype), None)


def empty(*shape, dtype=None) -> Tensor:
    return Tensor._make(xp.empty(_shape(shape), dtype=_float(dtype)), None)


def arange(start, end=None, step=1, dtype=None) -> Tensor:
    if end is None:
        start, end = 0, start
    if dtype is None:
        dtype = int64 if all(isinstance(v, int) for v in (start, end, step)) else _default_float
    return Tensor._make(xp.arange(start, end, step, dtype=xp.dtype(dtype)), None)


def linspace(start, end, steps, dtype=None) -> Tensor:
    return Tensor._make(xp.linspace(start, end, steps, dtype=_float(dtype)), None)


def eye(n, m=None, dtype=None) -> Tensor:
    return Tensor._make(xp.eye(n, m, dtype=_float(dtype)), None)


def randn(*shape, dtype=None, requires_grad: bool = False) -> Tensor:
    """Standard normal samples from the library's generator (see ``manual_seed``)."""
    from .random import generator
    dt = _float(dtype)
    return Tensor._make(generator().standard_normal(_shape(shape), dtype=dt), None).requires_grad_(requires_grad)


def rand(*shape, dtype=None, requires_grad: bool = False) -> Tensor:
    from .random import generator
    dt = _float(dtype)
    return Tensor._make(generator().random(_shape(shape), dtype=dt), None).requires_grad_(requires_grad)


def randint(low, high=None, size=(), dtype=None) -> Tensor:
    from .random import generator
    if high is None:
        low, high = 0, low
    return Tensor._make(generator().integers(low, high, size=tuple(size), dtype=xp.dtype(dtype or int64)), None)


def randperm(n: int) -> Tensor:
    from .random import generator
    return Tensor._make(generator().permutation(n).astype(int64), None)
