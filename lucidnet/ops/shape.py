"""Shape ops: reshape, transpose/permute, squeeze/unsqueeze, expand, flatten, cat, stack, split, pad, flip,
repeat, tril/triu, narrow."""
from __future__ import annotations

from ..autograd.function import Function
from ..backend import xp


class Reshape(Function):
    saves_inputs = False

    def forward(self, a, shape=()):
        self.shape = a.shape
        try:
            return a.reshape(shape)
        except ValueError:
            raise ValueError(f"reshape: cannot view a tensor of shape {a.shape} ({a.size} elements) "
                             f"as shape {tuple(shape)}") from None

    def backward(self, g):
        return (g.reshape(self.shape),)


class Permute(Function):
    saves_inputs = False

    def forward(self, a, axes=()):
        self.inv = tuple(xp.argsort(axes))
        return xp.transpose(a, axes)

    def backward(self, g):
        return (xp.transpose(g, self.inv),)


class Expand(Function):
    saves_inputs = False

    def forward(self, a, shape=()):
        self.shape = a.shape
        return xp.broadcast_to(a, shape)

    def backward(self, g):
        from ..autograd.function import unbroadcast
        return (unbroadcast(g, self.shape),)


class Cat(Function):
    saves_inputs = False

    def forward(self, *arrays, axis=0):
        self.axis = axis
        self.bounds = xp.cumsum([a.shape[axis] for a in arrays])[:-1]
        return xp.concatenate(arrays, axis=axis)

    def backward(self, g):
        parts = xp.split(g, self.bounds, axis=self.axis)
        return tuple(p if n else None for p, n in zip(parts, self.needs))


class Stack(Function):
    saves_inputs = False

    def forward(self, *arrays, axis=0):
        self.axis = axis
        return xp.stack(arrays, axis=axis)

    def backward(self, g):
        n = g.shape[self.axis]
        return tuple(xp.take(g, i, axis=self.axis) if self.needs[i] else None for i in range(n))


class Pad(Function):
    saves_inputs = False

    def forward(self, a, pad_width=(), mode="constant", value=0.0):
        self.slices = tuple(slice(lo, lo + s) for (lo, _), s in zip(pad_width, a.shape))
        if mode == "constant":
            return xp.pad(a, pad_width, mode="constant", constant_values=value)
        self.mode = mode
        raise ValueError(f"pad: mode {mode!r} is not supported (expected 'constant')")

    def backward(self, g):
        return (g[self.slices],)


def _shape_arg(shape):
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        return tuple(shape[0])
    return tuple(shape)


def reshape(x, *shape):
    """``x.reshape(2, -1)`` or ``x.reshape((2, -1))``; ``view`` is the same op."""
    return Reshape.apply(x, shape=_shape_arg(shape))


def permute(x, *dims):
    dims = _shape_arg(dims)
    if sorted(d % x.ndim for d in dims) != list(range(x.ndim)):
        raise ValueError(f"permute: {dims} is not a permutation of the {x.ndim} dimensions of shape {tuple(x.shape)}")
    return Permute.apply(x, axes=tuple(d % x.ndim for d in dims))


def transpose(x, dim0=None, dim1=None):
    """Swap two dims (PyTorch); with no dims, reverse them all (NumPy)."""
    if dim0 is None:
        return Permute.apply(x, axes=tuple(range(x.ndim))[::-1])
    if dim1 is None:
        raise TypeError("transpose: give two dims to swap (x.transpose(0, 1)), or none to reverse them all")
    axes = list(range(x.ndim))
    axes[dim0], axes[dim1] = axes[dim1], axes[dim0]
    return Permute.apply(x, axes=tuple(axes))


def squeeze(x, dim=None):
    if dim is None:
        shape = tuple(s for s in x.shape if s != 1)
    else:
        dims = {d % x.ndim for d in ((dim,) if isinstance(dim, int) else dim)}
        shape = tuple(s for i, s in enumerate(x.shape) if not (i in dims and s == 1))
    return Reshape.apply(x, shape=shape)


def unsqueeze(x, dim):
    d = dim % (x.ndim + 1)
    shape = x.shape[:d] + (1,) + x.shape[d:]
    return Reshape.apply(x, shape=shape)


def expand(x, *shape):
    shape = _shape_arg(shape)
    nd = len(shape) - x.ndim
    if nd < 0 or any(s == -1 for s in shape[:nd]):
        raise ValueError(f"expand: shape {tuple(x.shape)} cannot be expanded to {shape} "
                         "(-1 only keeps an existing dim; no dims can be dropped)")
    full = tuple(x.shape[i - nd] if s == -1 else s for i, s in enumerate(shape))
    try:
        ok = xp.broadcast_shapes(x.shape, full) == full
    except ValueError:
        ok = False
    if not ok:
        raise ValueError(f"expand: shape {tuple(x.shape)} cannot be expanded to {full}")
    return Expand.apply(x, shape=full)


def broadcast_to(x, shape):
    return expand(x, *shape)


def flatten(x, start_dim=0, end_dim=-1):
    if x.ndim == 0:
        return Reshape.apply(x, shape=(1,))
    s, e = start_dim % x.ndim, end_dim % x.ndim
    n = 1
    for d in x.shape[s:e + 1]:
        n *= d
    return Reshape.apply(x, shape=x.shape[:s] + (n,) + x.shape[e + 1:])


def _check_same(tensors, op, axis=None):
    from ._util import operands
    if not tensors:
        raise ValueError(f"{op}: expected a non-empty sequence of tensors")
    dts = {t.array.dtype for t in tensors}
    floats = [d for d in dts if d.kind == "f"]
    if len(floats) > 1:
        operands(*[next(t for t in tensors if t.array.dtype == d) for d in floats[:2]], op)
    if floats and len(dts) > 1:  # integer/bool tensors follow the float dtype (no silent float64)
        tensors = [t if t.array.dtype == floats[0] else t.to(floats[0]) for t in tensors]
    return tensors


def cat(tensors, dim=0, *, axis=None):
    """Concatenate along an existing dim (``lucidnet.cat``; ``concatenate`` is the NumPy name)."""
    from ..tensor import as_tensor
    tensors = [as_tensor(t) for t in tensors]
    tensors = _check_same(tensors, "cat")
    ax = dim if axis is None else axis
    nd = tensors[0].ndim
    ax = ax % nd
    for t in tensors[1:]:
        if t.ndim != nd or t.shape[:ax] + t.shape[ax + 1:] != tensors[0].shape[:ax] + tensors[0].shape[ax + 1:]:
            raise ValueError(f"cat: shapes {tuple(tensors[0].shape)} and {tuple(t.shape)} differ outside dim {ax}")
    return Cat.apply(*tensors, axis=ax)


concatenate = cat


def stack(tensors, dim=0, *, axis=None):
    from ..tensor import as_tensor
    tensors = [as_tensor(t) for t in tensors]
    tensors = _check_same(tensors, "stack")
    for t in tensors[1:]:
        if t.shape != tensors[0].shape:
            raise ValueError(f"stack: all tensors need one shape; got {tuple(tensors[0].shape)} and {tuple(t.shape)}")
    ax = dim if axis is None else axis
    return Stack.apply(*tensors, axis=ax % (tensors[0].ndim + 1))


def split(x, split_size_or_sections, dim=0):
    """PyTorch's split: an int is the size of each chunk; a list gives each chunk's size."""
    n = x.shape[dim]
    if isinstance(split_size_or_sections, int):
        sizes = [split_size_or_sections] * (n // split_size_or_sections)
        if n % split_size_or_sections:
            sizes.append(n % split_size_or_sections)
    else:
        sizes = list(split_size_or_sections)
        if sum(sizes) != n:
            raise ValueError(f"split: sizes {sizes} do not add up to {n}, the length of dim {dim}")
    out, start = [], 0
    idx = [slice(None)] * x.ndim
    for s in sizes:
        idx[dim % x.ndim] = slice(start, start + s)
        out.append(x[tuple(idx)])
        start += s
    return tuple(out)


def chunk(x, chunks, dim=0):
    n = x.shape[dim]
    return split(x, -(-n // chunks), dim)


def pad(x, pad, mode="constant", value=0.0):
    """PyTorch's ``F.pad``: ``pad`` lists (left, right) pairs starting from the last dim."""
    if len(pad) % 2 or len(pad) // 2 > x.ndim:
        raise ValueError(f"pad: expected pairs for at most {x.ndim} dims, got {tuple(pad)}")
    width = [(0, 0)] * x.ndim
    for i in range(len(pad) // 2):
        width[x.ndim - 1 - i] = (pad[2 * i], pad[2 * i + 1])
    if any(lo < 0 or hi < 0 for lo, hi in width):
        raise ValueError("pad: negative padding is not supported")
    return Pad.apply(x, pad_width=tuple(width), mode=mode, value=value)


class Flip(Function):
    saves_inputs = False

    def forward(self, a, axes=()):
        self.axes = axes
        return xp.flip(a, axes).copy()

    def backward(self, g):
        return (xp.flip(g, self.axes),)


class Repeat(Function):
    """PyTorch's ``repeat``: the tensor tiled ``reps`` times along each dim (leading dims added)."""

    saves_inputs = False

    def forward(self, a, reps=()):
        self.orig, self.shape = a.shape, (1,) * (len(reps) - a.ndim) + a.shape
        self.reps = reps
        return xp.tile(a.reshape(self.shape), reps)

    def backward(self, g):
        split = [n for r, s in zip(self.reps, self.shape) for n in (r, s)]
        return (g.reshape(split).sum(axis=tuple(range(0, len(split), 2))).reshape(self.orig),)


class Triangle(Function):
    """``tril`` / ``triu``: the lower or upper triangle of the last two dims (``diagonal`` as in PyTorch)."""

    saves_inputs = False

    def forward(self, a, diagonal=0, upper=False):
        self.diagonal, self.upper = diagonal, upper
        return (xp.triu if upper else xp.tril)(a, diagonal)

    def backward(self, g):
        return ((xp.triu if self.upper else xp.tril)(g, self.diagonal),)


def flip(x, dims):
    """``x`` reversed along ``dims`` (PyTorch's ``flip``; a copy)."""
    dims = (dims,) if isinstance(dims, int) else tuple(dims)
    return Flip.apply(x, axes=tuple(d % x.ndim for d in dims))


def repeat(x, *sizes):
    """PyTorch's ``Tensor.repeat``: ``x`` tiled ``sizes`` times along each dim (``len(sizes) >= x.ndim``)."""
    reps = _shape_arg(sizes)
    if len(reps) < x.ndim:
        raise ValueError(f"repeat: number of repeat dims {len(reps)} can not be smaller than the number of dims "
                         f"of the tensor {x.ndim}")
    if any(r < 0 for r in reps):
        raise ValueError(f"repeat: repeats must be non-negative, got {reps}")
    return Repeat.apply(x, reps=reps)


def tril(x, diagonal: int = 0):
    """The lower triangle of the last two dims, the rest zero (PyTorch's ``tril``)."""
    if x.ndim < 2:
        raise ValueError(f"tril: expected a tensor of at least 2 dims, got shape {tuple(x.shape)}")
    return Triangle.apply(x, diagonal=int(diagonal), upper=False)


def triu(x, diagonal: int = 0):
    """The upper triangle of the last two dims, the rest zero (PyTorch's ``triu``)."""
    if x.ndim < 2:
        raise ValueError(f"triu: expected a tensor of at least 2 dims, got shape {tuple(x.shape)}")
    return Triangle.apply(x, diagonal=int(diagonal), upper=True)


def select(x, dim: int, index: int):
    """``x`` at ``index`` along ``dim``, that dim removed (a view, as PyTorch's ``select``)."""
    dim = dim % x.ndim
    size = x.shape[dim]
    if not -size <= index < size:
        raise IndexError(f"select: index {index} is out of range for dimension {dim} of size {size}")
    from .index import getitem
    return getitem(x, (slice(None),) * dim + (index,))


def unbind(x, dim: int = 0) -> tuple:
    """The slices of ``x`` along ``dim`` (views, as PyTorch's ``unbind``)."""
    return tuple(select(x, dim, i) for i in range(x.shape[dim]))


def movedim(x, source, destination):
    """``x`` with dims ``source`` moved to positions ``destination`` and the others in their order (a view, as
    PyTorch's ``movedim``; ``moveaxis`` is its NumPy name).

    >>> import lucidnet as ln
    >>> tuple(ln.zeros(2, 3, 4).movedim(0, -1).shape), tuple(ln.zeros(2, 3, 4).movedim((0, 1), (2, 0)).shape)
    ((3, 4, 2), (3, 4, 2))
    """
    src = [source] if isinstance(source, int) else list(source)
    dst = [destination] if isinstance(destination, int) else list(destination)
    nd = x.ndim
    if len(src) != len(dst):
        raise ValueError(f"movedim: source {tuple(src)} and destination {tuple(dst)} differ in length")
    for name, dims in (("source", src), ("destination", dst)):
        if any(not -nd <= d < nd for d in dims):
            raise IndexError(f"movedim: {name} {tuple(dims)} is out of range for {nd} dims")
        if len({d % nd for d in dims}) != len(dims):
            raise ValueError(f"movedim: repeated dim in {name} {tuple(dims)}")
    src, dst = [d % nd for d in src], [d % nd for d in dst]
    order = [d for d in range(nd) if d not in src]
    for d, s_ in sorted(zip(dst, src)):
        order.insert(d, s_)
    return Permute.apply(x, axes=tuple(order))


moveaxis = movedim


def swapaxes(x, dim0: int, dim1: int):
    """Swap two dims (a view; PyTorch's ``swapaxes``/``swapdims``, ``transpose``'s other names)."""
    return transpose(x, dim0, dim1)


swapdims = swapaxes


def unflatten(x, dim: int, sizes):
    """Dim ``dim`` of ``x`` split into ``sizes`` (one of them may be -1), as PyTorch's ``unflatten``."""
    dim = dim % x.ndim
    sizes, n = tuple(int(s) for s in sizes), x.shape[dim]
    known = 1
    for s in sizes:
        if s != -1:
            known *= s
    fits = (sizes.count(-1) == 1 and known > 0 and n % known == 0) if -1 in sizes else known == n
    if not fits:
        raise ValueError(f"unflatten: sizes {sizes} do not multiply to {n}, the size of dim {dim}")
    return Reshape.apply(x, shape=x.shape[:dim] + sizes + x.shape[dim + 1:])


def narrow(x, dim: int, start: int, length: int):
    """``length`` elements of ``x`` along ``dim`` from ``start`` (a view, as PyTorch's ``narrow``)."""
    dim = dim % x.ndim
    size = x.shape[dim]
    start = start + size if start < 0 else start
    if not (0 <= start and length >= 0 and start + length <= size):
        raise ValueError(f"narrow: start ({start}) + length ({length}) exceeds dimension size ({size})")
    from .index import getitem
    return getitem(x, (slice(None),) * dim + (slice(start, start + length),))
