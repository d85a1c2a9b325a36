"""Matrix products: matmul (batched, broadcast) and the fused affine map ``linear``."""
from __future__ import annotations

from ..autograd.function import Function, unbroadcast
from ..backend import xp
from ..kernels.threads import matmul as _mm


class MatMul(Function):
    saves_inputs = "product"

    def forward(self, a, b):
        self.a, self.b = a, b
        return _mm(a, b)

    def backward(self, g):
        a, b = self.a, self.b
        ga = gb = None
        if a.ndim == 1 and b.ndim == 1:
            return (g * b if self.needs[0] else None, g * a if self.needs[1] else None)
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        g2 = g
        if a.ndim == 1:
            g2 = xp.expand_dims(g2, -2)
        if b.ndim == 1:
            g2 = xp.expand_dims(g2, -1)
        if self.needs[0]:
            ga = _mm(g2, xp.swapaxes(b2, -1, -2))
            ga = unbroadcast(ga, a2.shape).reshape(a.shape)
        if self.needs[1]:
            gb = _mm(xp.swapaxes(a2, -1, -2), g2)
            gb = unbroadcast(gb, b2.shape).reshape(b.shape)
        return ga, gb


class Linear(Function):
    """``x @ W.T + b`` with W of shape (out, in), PyTorch's layout; one node, three gradients.

    W may be stored column-major (``nn.Linear`` does: an (in, out) row-major buffer seen as (out, in)), which
    makes ``x @ W.T`` and the weight gradient plain row-major GEMMs, measurably faster in OpenBLAS; the
    weight gradient is then made in the same layout as W, so the optimizer's in-place updates stay
    contiguous. Values are the same either way.
    """

    saves_inputs = "product"

    def forward(self, x, w, b=None):
        self.x, self.w = x, w
        if x.ndim > 2:  # one GEMM over all leading dims: NumPy's batched matmul calls BLAS once per matrix
            return _mm(x.reshape(-1, x.shape[-1]), w.T, bias=b).reshape(x.shape[:-1] + (w.shape[0],))
        return _mm(x, w.T, bias=b)

    def backward(self, g):
        x, w = self.x, self.w
        gx = gw = gb = None
        if self.needs[0]:
            # one output unit: an outer product, which BLAS does slowly as a k=1 GEMM (~60 us vs ~5 us at 1024x48)
            if w.shape[0] == 1:
                gx = g * w[0]
            elif g.ndim > 2:  # one GEMM, as in the forward
                gx = _mm(g.reshape(-1, g.shape[-1]), w).reshape(x.shape)
            else:
                gx = _mm(g, w)
        if g.ndim != 2:  # (..., out) batches and a single 1-D sample both flatten to (N, out)
            g = g.reshape(-1, g.shape[-1])
            x = x.reshape(-1, x.shape[-1])
        if self.needs[1]:
            if w.flags.f_contiguous and not w.flags.c_contiguous:
                gw = xp.empty(w.shape, dtype=g.dtype, order="F")
                _mm(x.T, g, out=gw.T)  # (in, out) row-major == (out, in) column-major
            else:
                gw = _mm(g.T, x)
        if len(self.needs) > 2 and self.needs[2]:
            gb = _col_sums(g)
        return gx, gw, gb


def _col_sums(g):
    """Column sums of (N, D): for narrow rows a matrix-vector product (faster than ``g.sum(axis=0)`` over a
    (1024, 64) gradient); for wide rows ``sum(axis=0)``, one vectorised pass on this thread (a multi-threaded
    GEMV's threads wait on each other, which on a busy machine costs a time slice)."""
    if g.shape[1] >= _WIDE_ROWS:
        return g.sum(axis=0)
    return xp.matmul(xp.ones(g.shape[0], dtype=g.dtype), g)


_WIDE_ROWS = 256


def matmul(a, b):
    """Matrix product with NumPy's rules (1-D promotion, batched and broadcast leading dims)."""
    from ._util import operands
    a, b = operands(a, b, "matmul")
    sa, sb = tuple(a.shape), tuple(b.shape)
    ka = sa[-1] if sa else None
    kb = (sb[-2] if len(sb) > 1 else sb[0]) if sb else None
    if not sa or not sb or ka != kb:
        raise ValueError(f"matmul: shapes {sa} and {sb} do not line up (inner dims {ka} and {kb})")
    try:
        return MatMul.apply(a, b)
    except ValueError:  # the inner dims match, so the batch dims do not broadcast
        raise ValueError(f"matmul: shapes {sa} and {sb}: batch dims {sa[:-2]} and {sb[:-2]} "
                         "do not broadcast") from None


def linear(x, weight, bias=None):
    """``x @ weight.T + bias``: PyTorch's ``F.linear``."""
    if x.shape[-1] != weight.shape[1]:
        raise ValueError(f"linear: input of shape {tuple(x.shape)} does not match weight of shape "
                         f"{tuple(weight.shape)} (expected last dim {weight.shape[1]})")
    if x.dtype != weight.dtype:
        raise TypeError(f"linear: input dtype {x.dtype} differs from weight dtype {weight.dtype}; "
                        "lucidnet does not upcast silently")
    if bias is not None and bias.dtype != weight.dtype:
        raise TypeError(f"linear: bias dtype {bias.dtype} differs from weight dtype {weight.dtype}; "
                        "lucidnet does not upcast silently")
    return Linear.apply(x, weight) if bias is None else Linear.apply(x, weight, bias)


def mm(a, b):
    """Matrix product of two 2-D tensors (PyTorch's ``mm``: no broadcasting)."""
    if a.ndim != 2 or b.ndim != 2:
        raise ValueError(f"mm: expected two 2-D tensors, got shapes {tuple(a.shape)} and {tuple(b.shape)}")
    return matmul(a, b)


def bmm(a, b):
    """Batched matrix product of (B, n, m) and (B, m, p) tensors (PyTorch's ``bmm``: no broadcasting)."""
    if a.ndim != 3 or b.ndim != 3 or a.shape[0] != b.shape[0]:
        raise ValueError(f"bmm: expected (B, n, m) and (B, m, p) tensors, got shapes {tuple(a.shape)} and "
                         f"{tuple(b.shape)}")
    return matmul(a, b)


class Einsum(Function):
    def forward(self, *arrays, inputs=(), output=""):
        self.arrays, self.inputs, self.output = arrays, inputs, output
        return xp.asarray(xp.einsum(",".join(inputs) + "->" + output, *arrays, optimize=True))

    def backward(self, g):
        grads = []
        for i, (subs, need) in enumerate(zip(self.inputs, self.needs)):
            if not need:
                grads.append(None)
                continue
            others = [(s, a) for j, (s, a) in enumerate(zip(self.inputs, self.arrays)) if j != i]
            known = set(self.output).union(*(s for s, _ in others))
            kept = "".join(c for c in subs if c in known)       # letters summed in this operand alone: broadcast
            spec = ",".join([self.output] + [s for s, _ in others]) + "->" + kept
            r = xp.einsum(spec, g, *[a for _, a in others], optimize=True)
            shape = [self.arrays[i].shape[k] if c in known else 1 for k, c in enumerate(subs)]
            grads.append(xp.broadcast_to(r.reshape(shape), self.arrays[i].shape).astype(g.dtype, copy=True))
        return tuple(grads)


def einsum(equation: str, *operands):
    """Einstein summation (PyTorch's ``einsum``) over letters, with its gradient; an operand may not repeat a
    letter (no diagonals) and ``...`` is not supported: both are refused."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    eq = equation.replace(" ", "")
    lhs, arrow, out = eq.partition("->")
    inputs = lhs.split(",")
    if "." in eq:
        raise NotImplementedError("einsum: '...' is not supported by lucidnet; name every dim with a letter")
    if len(inputs) != len(operands):
        raise ValueError(f"einsum: the equation has {len(inputs)} operands, {len(operands)} were given")
    for s, t in zip(inputs, operands):
        if not s.isalpha() or len(set(s)) != len(s) or len(s) != t.ndim:
            raise ValueError(f"einsum: operand subscripts {s!r} must be distinct letters, one per dim of a tensor of "
                             f"shape {tuple(t.shape)}")
    if not arrow:
        counts = {c: lhs.count(c) for c in set(lhs.replace(",", ""))}
        out = "".join(sorted(c for c, n in counts.items() if n == 1))
    if len({t.dtype for t in operands}) > 1:
        raise TypeError(f"einsum: operands of dtypes {', '.join(str(t.dtype) for t in operands)}; lucidnet does "
                        "not upcast silently")
    return Einsum.apply(*operands, inputs=tuple(inputs), output=out)
