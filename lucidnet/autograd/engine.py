"""Reverse-mode differentiation over the recorded graph.

``backward(root, grad)`` sorts the graph iteratively (a depth-first post-order with an explicit
stack, so a chain of any length never meets Python's recursion limit), then walks it from the root
back to the leaves, calling each node's backward once with the sum of the gradients of its output.

How gradients accumulate: into the ``.grad`` of every leaf tensor that requires a gradient, added to
what is already there (as in PyTorch: call ``zero_grad()`` between steps). The engine adds in place
into arrays it owns (see the ownership rule in ``function.py``) so accumulation makes no temporaries.
Unless ``retain_graph=True``, every node's saved arrays are freed after use; a second backward
through the same graph raises an error that says so.

Hooks (``hooks.py``): a leaf's post-accumulate-grad hooks run as soon as the last node that feeds it has
passed its gradient on (the edges into hooked leaves are counted first, only when some tensor has a hook),
and callbacks queued during the backward run after it.
"""
from __future__ import annotations

from ..backend import xp
from . import hooks, version


class _Acc:
    """A gradient being summed for one tensor, and whether the engine may write into it."""
    __slots__ = ("g", "owned")

    def __init__(self, g, owned: bool):
        self.g, self.owned = g, owned

    def add(self, g, owned: bool) -> None:
        if self.owned:
            xp.add(self.g, g, out=self.g)
        elif owned and g.shape == self.g.shape:
            xp.add(g, self.g, out=g)
            self.g, self.owned = g, True
        else:  # asarray: the sum of two 0-d arrays is a NumPy scalar, which cannot be added into later
            self.g, self.owned = xp.asarray(self.g + g), True


def _parent_grad(pg, gin, gin_owned: bool, grads):
    """A gradient a node's backward returned for one parent, as an array, and whether the engine may write into
    it: a NumPy scalar (0-d math) becomes an array it owns; ``gin`` itself (passed through) is owned when the
    incoming gradient was; a view is not; nor is an array another returned gradient is or views (a write would
    change both)."""
    if type(pg) is not xp.ndarray:
        return xp.array(pg), True
    owned = gin_owned if pg is gin else pg.base is None
    return pg, owned and sum(x is not None and (x is pg or x.base is pg) for x in grads) == 1


def _add_grad(accs: dict, key, pg, owned: bool) -> None:
    """Add ``pg`` to the gradient being summed for ``key`` in ``accs`` (a new sum when there is none)."""
    a = accs.get(key)
    if a is None:
        accs[key] = _Acc(pg, owned)
    else:
        a.add(pg, owned)


def _toposort(root) -> list:
    """Non-leaf tensors reachable from ``root``, each after every tensor computed from it."""
    order, seen = [], set()
    stack = [(root, False)]
    while stack:
        t, done = stack.pop()
        if done:
            order.append(t)
            continue
        if id(t) in seen:
            continue
        seen.add(id(t))
        node = t._node
        if node.freed:
            raise RuntimeError(
                f"backward through the graph a second time (at {node.name}): its saved arrays were freed "
                "after the first backward. Pass retain_graph=True to the first backward() to keep them.")
        stack.append((t, True))
        for p in node.parents:
            if p is not None and p._node is not None and id(p) not in seen:
                stack.append((p, False))
    order.reverse()
    return order


def _accumulate_leaf(t, g, owned: bool) -> None:
    from ..tensor import Tensor

    if g.dtype != t.array.dtype:
        g, owned = g.astype(t.array.dtype), True
    if t._grad is None:
        contiguous = g.flags.c_contiguous or g.flags.f_contiguous  # e.g. a column-major weight's gradient
        t._grad = Tensor._make(g if owned and contiguous and g.flags.writeable else xp.array(g, copy=True, order="K"),
                               None)
    else:
        xp.add(t._grad.array, g, out=t._grad.array)


def backward(root, grad=None, retain_graph: bool = False) -> None:
    """Accumulate d(root)/d(leaf) into ``leaf.grad`` for every leaf that requires a gradient."""
    if not root.requires_grad:
        raise RuntimeError("backward() on a tensor that does not require grad and has no graph "
                           "(was it computed under no_grad(), or from tensors without requires_grad=True?)")
    if grad is None:
        if root.array.size != 1:
            raise RuntimeError(
                f"backward() without a gradient works only on a scalar output; this output has shape "
                f"{tuple(root.shape)}. Pass the gradient of the output: y.backward(grad) with grad of that shape.")
        g = xp.ones_like(root.array)
    else:
        g = xp.array(getattr(grad, "array", grad), dtype=root.array.dtype, copy=True)
        if g.shape != root.array.shape:
            raise RuntimeError(f"backward(): gradient of shape {g.shape} given for an output of shape {root.array.shape}")
    if not hooks.active():
        _run(root, g, retain_graph, None)
        return
    hooks.begin_backward()
    ok = False
    try:
        _run(root, g, retain_graph, _Pending())
        ok = True
    finally:
        hooks.end_backward(ok)


class _Pending:
    """The hooked leaves of one backward: how many edges of the graph still have to bring them a gradient."""

    def __init__(self):
        self.edges: dict[int, int] = {}
        self.got: set[int] = set()

    def count(self, order: list) -> None:
        for t in order:
            for p in t._node.parents:
                if p is not None and p._node is None and hooks.post_accumulate_hooks(p) is not None:
                    self.edges[id(p)] = self.edges.get(id(p), 0) + 1

    def arrived_from(self, parents: tuple) -> None:
        """A node has passed its gradients on to ``parents``: run the hooks of the leaves that now have all."""
        for p in parents:
            if p is None or id(p) not in self.edges:
                continue
            left = self.edges[id(p)] = self.edges[id(p)] - 1
            if left == 0 and id(p) in self.got:
                _fire(p)


def _fire(leaf) -> None:
    for hook in hooks.post_accumulate_hooks(leaf) or ():
        hook(leaf)


def _run(root, g, retain_graph: bool, pending: _Pending | None) -> None:
    if root._node is None:
        _accumulate_leaf(root, g, True)
        if pending is not None:
            _fire(root)
        return
    order = _toposort(root)
    if pending is not None:
        pending.count(order)
    accs = {id(root): _Acc(g, True)}
    for t in order:
        acc = accs.pop(id(t), None)
        node = t._node
        if acc is None:
            parents = node.parents
            if not retain_graph:
                node.release()
            if pending is not None:
                pending.arrived_from(parents)
            continue
        if t._retains_grad:
            _accumulate_leaf(t, acc.g, False)
        gin = acc.g
        if node.versions:
            version.check(node.versions, node.name)
        grads = node.backward(gin)
        if not retain_graph:
            node.release()
        for i, (p, pg) in enumerate(zip(node.parents, grads)):
            if p is None or pg is None:
                continue
            pg, owned = _parent_grad(pg, gin, acc.owned and not t._retains_grad, grads)
            if p._node is None:
                _accumulate_leaf(p, pg, owned)
                if pending is not None:
                    pending.got.add(id(p))
            else:
                _add_grad(accs, id(p), pg, owned)
        if pending is not None:
            pending.arrived_from(node.parents)
