"""Embedding lookup: rows of a table picked by integer indices, and the scatter-add that is its backward.

The backward sums the output gradient's rows into the rows of the table they were read from; an index
that repeats must add, not overwrite. ``np.add.at`` does that but slowly, so ``index_add_rows`` picks one
of these kernels (float32, one thread, this project's 2-core machines; medians of interleaved runs):

- float32 with the compiled kernels on: one compiled pass that adds each gradient row into its table row
  (``kernels.embedding_numba``; repeats in index order), whatever the sizes. The NumPy kernels below:

- one or two columns (bias tables): ``np.bincount`` per column (~5 us for 1024 rows);
- a large vocabulary (a batch of users or items): rounds of de-duplication. ``pos[idx] = arange`` then
  ``pos[idx] == arange`` marks one occurrence of every distinct index still pending (the one stored), so a
  round's rows scatter with a plain fancy ``+=`` that cannot collide. The first round (most rows) writes
  whole rows viewed as opaque records, about twice as fast as 2-D fancy indexing. 1024 rows of 32 over 943
  users take ~5 rounds and ~70 us, where sort + ``np.add.reduceat`` takes ~300 us (reduceat pays per
  segment), one bincount over (slot, column) pairs for the repeats ~80 us and ``np.add.at`` ~570 us;
- a small vocabulary (at most half the batch size: 2048 tokens of 65 characters): one stable sort (16-bit
  keys: radix sort) + ``np.add.reduceat`` over the few segments (~115 us for 2048 x 64, where rounds take
  ~490 us, bincount per column ~310 us and a one-hot GEMM ~260 us). What rounds leave after ``_ROUNDS``
  rounds (one id far more frequent than the rest) goes the same way.
"""
from __future__ import annotations

from .. import kernels as K
from ..autograd.function import Function
from ..backend import xp

__all__ = ["embedding", "embedding_dot", "index_add_rows"]

_ROUNDS = 8  # rounds of de-duplication; what is left after them (a very frequent id) goes to sort + reduceat


def _sorted_segment_add(out, idx, g) -> None:
    """``out[idx] += g`` for any repeats: stable sort, one reduceat over the sorted rows, one scatter."""
    key = idx.astype(xp.int16) if out.shape[0] <= 32767 else idx  # 16-bit keys: NumPy radix-sorts them
    order = xp.argsort(key, kind="stable")
    s = idx[order]
    head = xp.empty(s.size, dtype=bool)
    head[0] = True
    xp.not_equal(s[1:], s[:-1], out=head[1:])
    starts = xp.flatnonzero(head)
    out[s[starts]] += xp.add.reduceat(xp.take(g, order, axis=0), starts, axis=0)


def index_add_rows(out, idx, g, zeroed: bool = False, plan=None) -> None:
    """``out[idx[k]] += g[k]`` for every k, repeats added: the embedding backward, without ``np.add.at``.

    ``out``: (V, D); ``idx``: (N,) integers in [0, V); ``g``: (N, D) of ``out``'s dtype. ``zeroed=True``
    promises that ``out`` is all zeros, so the sums are written instead of added. ``plan``: ``_plan(idx, V)``,
    when the caller already has it.

    >>> import numpy as np
    >>> out = np.zeros((3, 2), np.float32)
    >>> index_add_rows(out, np.array([2, 0, 2]), np.ones((3, 2), np.float32))
    >>> out.tolist()
    [[1.0, 1.0], [0.0, 0.0], [2.0, 2.0]]
    """
    n = idx.size
    if n == 0:
        return
    v, d = out.shape
    nb = K.compiled("embedding", out, g)
    if nb is not None and idx.ndim == 1 and g.dtype == out.dtype:  # any layout (a slice of a concatenation's gradient)
        nb.scatter_add_rows(out, idx, g)
        return
    if d <= 2:
        for j in range(d):  # bincount accumulates in float64; the add casts back to out's dtype
            out[:, j] += xp.bincount(idx, weights=g[:, j], minlength=v)
        return
    if 2 * v <= n:  # a small vocabulary: every id repeats many times
        _sorted_segment_add(out, idx, g)
        return
    rounds, residue = plan if plan is not None else _plan(idx, v)
    sel, rows = rounds[0]
    first = xp.take(g, sel, axis=0)
    if zeroed and out.flags.c_contiguous:
        _records(out)[rows] = _records(xp.ascontiguousarray(first, dtype=out.dtype))
    else:
        out[rows] += first
    for sel, rows in rounds[1:]:                 # the repeats: distinct rows within each round
        out[rows] += g[sel]
    if residue is not None:
        _sorted_segment_add(out, idx[residue], g[residue])


def _plan(idx, v: int):
    """Rounds of de-duplication of ``idx``: ``([(positions, rows), ...], residue positions or None)``.

    Round r holds one occurrence of every index that occurs more than r times, so its rows are distinct;
    what is left after ``_ROUNDS`` rounds is the residue."""
    n = idx.size
    pos = xp.empty(v, dtype=xp.intp)
    rest = xp.arange(n)
    pos[idx] = rest
    kept = pos[idx] == rest                      # one occurrence of each distinct index (the one stored)
    if kept.all():
        return [(rest, idx)], None
    sel = xp.flatnonzero(kept)
    rounds = [(sel, idx[sel])]
    rest = xp.flatnonzero(~kept)
    for _ in range(_ROUNDS - 1):
        ri = idx[rest]
        pos[ri] = rest
        kept = pos[ri] == rest
        sel = rest[kept]
        rounds.append((sel, ri[kept]))
        rest = rest[~kept]
        if not rest.size:
            break
    return rounds, (rest if rest.size else None)


def _records(a):
    """A C-contiguous (N, D) array seen as N opaque records: a 1-D fancy index then moves whole rows, about
    twice as fast as 2-D fancy indexing."""
    return a.view(xp.dtype((xp.void, a.shape[1] * a.itemsize))).reshape(a.shape[0])


class _SharedPlans:
    """Plans shared by the lookups of one forward pass that use the same index array (NeuMF reads the same
    users from two tables): each lookup that will get a gradient registers in its forward, and the entry is
    dropped when the last of them has run its backward, so nothing is reused across passes. Bounded: a
    graph that is never backpropagated leaves at most a few entries, cleared when there are too many."""

    def __init__(self, limit: int = 32):
        self.entries: dict[tuple[int, int], list] = {}  # (id(idx), v) -> [idx, users, plan or None]
        self.limit = limit

    def register(self, idx, v: int) -> None:
        key = (id(idx), v)
        e = self.entries.get(key)
        if e is not None and e[0] is idx and e[2] is None:
            e[1] += 1
            return
        # new, or planned already: then it is left over from a pass whose backward missed a lookup; start afresh
        if len(self.entries) >= self.limit:
            self.entries.clear()
        self.entries[key] = [idx, 1, None]

    def take(self, idx, v: int):
        """The plan for ``idx`` (made on first use), and one user fewer."""
        key = (id(idx), v)
        e = self.entries.get(key)
        if e is None or e[0] is not idx:
            return _plan(idx, v)
        if e[2] is None:
            e[2] = _plan(idx, v)
        e[1] -= 1
        if e[1] <= 0:
            del self.entries[key]
        return e[2]


_shared = _SharedPlans()


class Embedding(Function):
    """``weight[indices]`` for integer ``indices`` of any shape: output shape ``indices.shape + (D,)``.

    The gradient of the row ``padding_idx`` (if given) is zero, as in PyTorch."""

    def forward(self, weight, indices=None, padding_idx=None):
        self.shape, self.indices, self.padding_idx = weight.shape, indices, padding_idx
        v, d = weight.shape
        self.planned = (self.needs[0] and indices.ndim == 1 and d > 2 and 2 * v > indices.size  # the rounds kernel
                        and K.compiled("embedding", weight) is None)
        if self.planned:
            _shared.register(indices, v)
        return xp.take(weight, indices, axis=0)

    def backward(self, g):
        gw = xp.zeros(self.shape, dtype=g.dtype)
        idx = self.indices.reshape(-1)
        plan = _shared.take(self.indices, self.shape[0]) if self.planned else None
        index_add_rows(gw, idx, g.reshape(-1, self.shape[1]), zeroed=True, plan=plan)
        if self.padding_idx is not None:
            gw[self.padding_idx] = 0
        return (gw,)


class EmbeddingDot(Function):
    """``out[k] = P[users[k]] . Q[items[k]]``: the dot products of looked-up rows (matrix factorisation) as one
    node. Against two lookups, a product and a row sum it saves two nodes and two (N, D) passes, and the
    row sums are one ``einsum`` (~2.5x faster than ``sum(axis=1)`` over rows of 64)."""

    def forward(self, p, q, users=None, items=None):
        self.ps, self.qs, self.users, self.items = p.shape, q.shape, users, items
        self.pu, self.qi = xp.take(p, users, axis=0), xp.take(q, items, axis=0)
        return xp.einsum("ij,ij->i", self.pu, self.qi)

    def backward(self, g):
        gp = gq = None
        gc = g[:, None]
        if self.needs[0]:
            gp = xp.zeros(self.ps, dtype=g.dtype)
            index_add_rows(gp, self.users, xp.multiply(self.qi, gc), zeroed=True)
        if self.needs[1]:
            gq = xp.zeros(self.qs, dtype=g.dtype)
            index_add_rows(gq, self.items, xp.multiply(self.pu, gc), zeroed=True)
        return gp, gq


def check_indices(indices, num_embeddings: int, who: str):
    """``indices`` as an integer array, every value in [0, num_embeddings); a clear error otherwise."""
    idx = xp.asarray(getattr(indices, "array", indices))
    if idx.dtype.kind not in "iu":
        raise TypeError(f"{who}: indices must be integers (int64 or int32), got dtype {idx.dtype}")
    if idx.size:
        lo, hi = idx.min(), idx.max()
        if lo < 0 or hi >= num_embeddings:
            bad = lo if lo < 0 else hi
            raise IndexError(f"{who}: index {int(bad)} is out of range; indices must lie in [0, {num_embeddings})")
    return idx


def embedding(indices, weight, padding_idx: int | None = None):
    """Rows of ``weight`` (V, D) at ``indices`` (integers, any shape): PyTorch's ``F.embedding``.

    >>> import lucidnet as ln
    >>> w = ln.tensor([[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]], requires_grad=True)
    >>> out = embedding(ln.tensor([[2, 0], [2, 2]]), w)
    >>> out.shape
    (2, 2, 2)
    >>> out.sum().backward()
    >>> w.grad.tolist()
    [[1.0, 1.0], [0.0, 0.0], [3.0, 3.0]]
    """
    if weight.ndim != 2:
        raise ValueError(f"embedding: weight must be 2-D (num_embeddings, embedding_dim), got shape "
                         f"{tuple(weight.shape)}")
    v = weight.shape[0]
    idx = check_indices(indices, v, "embedding")
    if padding_idx is not None:
        if not -v <= padding_idx < v:
            raise ValueError(f"embedding: padding_idx {padding_idx} is out of range for {v} embeddings")
        padding_idx %= v
    return Embedding.apply(weight, indices=idx, padding_idx=padding_idx)


def embedding_dot(users, items, p, q):
    """``(p[users] * q[items]).sum(1)`` as one op: ``users`` and ``items`` are 1-D integer ids of equal length,
    ``p`` (U, D) and ``q`` (I, D) tables of one dtype.

    >>> import lucidnet as ln
    >>> p = ln.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    >>> q = ln.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], requires_grad=True)
    >>> out = embedding_dot(ln.tensor([0, 1, 1]), ln.tensor([2, 0, 2]), p, q)
    >>> out.tolist()
    [3.0, 3.0, 7.0]
    >>> out.sum().backward()
    >>> p.grad.tolist(), q.grad.tolist()
    ([[1.0, 1.0], [2.0, 1.0]], [[3.0, 4.0], [0.0, 0.0], [4.0, 6.0]])
    """
    for name, w in (("p", p), ("q", q)):
        if w.ndim != 2:
            raise ValueError(f"embedding_dot: {name} must be 2-D (rows, dim), got shape {tuple(w.shape)}")
    if p.shape[1] != q.shape[1]:
        raise ValueError(f"embedding_dot: the tables have rows of {p.shape[1]} and {q.shape[1]}; they must match")
    if p.dtype != q.dtype:
        raise TypeError(f"embedding_dot: tables of dtypes {p.dtype} and {q.dtype}; lucidnet does not upcast silently")
    u = check_indices(users, p.shape[0], "embedding_dot (users)")
    i = check_indices(items, q.shape[0], "embedding_dot (items)")
    if u.ndim != 1 or u.shape != i.shape:
        raise ValueError(f"embedding_dot: users and items must be 1-D of one length, got shapes {u.shape} and "
                         f"{i.shape}")
    return EmbeddingDot.apply(p, q, users=u, items=i)
