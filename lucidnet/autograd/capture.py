"""Whole-step capture: record what a function computes once, then replay it without the per-op bookkeeping.

``step = capture.compile(fn)`` (``lucidnet.compile``) returns a callable that computes what ``fn`` computes, bit
for bit. The first call of a signature (the shapes, dtypes and ``requires_grad`` of the tensor arguments, the
other arguments, grad mode, and the ``training`` flags of ``fn``'s modules when ``fn`` is a module or modules are
given; without modules, any ``train()``/``eval()`` that changes a module's mode starts over) runs ``fn`` eagerly
and records its ops; the second runs it eagerly again and checks that it applied the same ops to the same tensors.
From then on a call replays the recorded ops: each op's own forward on the current arrays (the parameters are read
as they are now, so an optimizer's in-place update is seen) with none of the graph bookkeeping (no tensors between
ops, no version snapshots, no links, no sort at backward); the result's ``backward()`` walks the recorded graph in
the order the eager engine would, so gradients come out with the same bits. A new signature (the last, shorter
batch of an epoch) records and runs eagerly; after ``max_plans`` signatures the new ones just run eagerly.

What is not replayed, so that nothing is silently wrong: a function whose two recorded calls differ (Python
control flow on values, a tensor made inside it without an op: ``ln.tensor(...)``, a comparison), one that
writes memory outside its ops, one that reads a tensor still attached to an older graph: those run eagerly,
with a warning that names the reason. While any tensor has a hook or any module a forward hook (say a
``Monitor`` on the steps it samples), calls run eagerly, so the hooks run. A replay runs the ops, not the
Python around them: what ``fn`` does besides computing tensors (setting an attribute, printing) happens on
the recorded calls only. Only the first tensor returned can be
differentiated; the others are returned too, and a backward through them raises.

>>> import lucidnet as ln
>>> w = ln.tensor([1.0, 2.0], requires_grad=True)
>>> f = compile(lambda x: (w * x).sum())
>>> for _ in range(3):
...     w.grad = None
...     f(ln.tensor([3.0, 4.0])).backward()
>>> w.grad, f.stats
(tensor([3., 4.]), {'eager': 2, 'replayed': 1})
"""
from __future__ import annotations

import warnings
from typing import Any, Callable

from ..backend import xp
from . import engine, hooks, tracing, version
from .function import Function
from .grad_mode import is_grad_enabled

__all__ = ["compile", "Compiled"]

_EAGER = "eager"


def compile(fn: Callable, *, modules: Any = None, max_plans: int = 8) -> "Compiled":  # noqa: A001 - PyTorch's name
    """``fn`` captured: see the module's docstring. ``modules``: a module or modules whose ``training`` flags are
    part of the signature (``fn`` itself when it is a module)."""
    return Compiled(fn, modules=modules, max_plans=max_plans)


class Compiled:
    """A captured function; ``stats`` counts its calls run eagerly (recording) and replayed."""

    def __init__(self, fn: Callable, *, modules: Any = None, max_plans: int = 8):
        if not callable(fn):
            raise TypeError(f"compile: expected a function or module, got {type(fn).__name__}")
        if isinstance(max_plans, bool) or not isinstance(max_plans, int) or max_plans < 0:
            raise ValueError(f"compile: max_plans must be an int >= 0, got {max_plans!r}")
        if modules is None:
            modules = [fn] if hasattr(fn, "modules") and hasattr(fn, "training") else []
        elif hasattr(modules, "modules"):
            modules = [modules]
        self.fn, self.max_plans = fn, max_plans
        self._watched = [m for top in modules for m in top.modules()]
        self._modes = None if self._watched else hooks.mode_changes  # no modules given: any mode change resets
        self._plans: dict = {}     # signature -> _Plan, or _EAGER
        self._first: dict = {}     # signature -> the first call's _Recording
        self.stats = {"eager": 0, "replayed": 0}

    def __call__(self, *args: Any) -> Any:
        if self._modes is not None and self._modes != hooks.mode_changes:
            self._plans.clear()
            self._first.clear()
            self._modes = hooks.mode_changes
        key = self._signature(args)
        plan = self._plans.get(key) if key is not None else _EAGER
        hooked = hooks.active() or bool(hooks.hooked_modules)
        if plan is not None and plan is not _EAGER and not hooked and plan.still_valid():
            self.stats["replayed"] += 1
            return plan.replay(args)
        self.stats["eager"] += 1
        if plan is _EAGER or hooked:
            return self.fn(*args)
        result, rec = _record(self.fn, args)
        first = self._first.pop(key, None)
        if first is None:
            if len(self._plans) + len(self._first) < self.max_plans:
                rec.forget_tensors()
                self._first[key] = rec
            return result
        why = rec.reason or first.differs(rec) or rec.plan_reason(result)
        if why:
            self._refuse(key, why)
        else:
            self._plans[key] = _Plan(rec, result)
        return result

    def _refuse(self, key: Any, why: str) -> None:
        self._plans[key] = _EAGER
        name = getattr(self.fn, "__qualname__", type(self.fn).__name__)
        warnings.warn(f"lucidnet.compile({name}): runs eagerly: {why}", RuntimeWarning, stacklevel=3)

    def _signature(self, args: tuple) -> Any:
        from ..tensor import Tensor

        parts = [is_grad_enabled()]
        for a in args:
            if isinstance(a, Tensor):
                if a._node is not None:
                    return None  # a tensor attached to a graph: its gradient goes on into that graph, eagerly
                parts.append((a.array.shape, a.array.dtype.str, a.requires_grad))
            else:
                try:
                    hash(a)
                except TypeError:
                    return None  # an unhashable argument (a list, an array): eager
                parts.append((type(a), a))
        parts.append(tuple(m.training for m in self._watched))
        return tuple(parts)


class _Recording:
    """The ops one eager call applied: ``ops`` [(class, sources, attrs, linked attrs, needs)], each source ("arg", i),
    ("op", j), ("ext", tensor) (a tensor from outside: a parameter, a buffer) or ("const", value); an argument's or
    op's array passed as such (a loss's target, indices) is its ("arg", i) or ("op", j) too; ``outs`` the
    output tensors; ``reason`` why it cannot be replayed, or None."""

    def __init__(self, args: tuple, applied: list, bumped: list, result: Any):
        from ..tensor import Tensor

        self.ops, self.outs, self.reason = [], [], None
        where: dict[int, tuple] = {id(a): ("arg", i) for i, a in enumerate(args) if isinstance(a, Tensor)}
        raw: dict[int, tuple] = {id(a.array): ("arg", i) for i, a in enumerate(args) if isinstance(a, Tensor)}
        for a in applied:
            if a.node is None or not isinstance(a.out, Tensor) or not (isinstance(a.op, type) and
                                                                       issubclass(a.op, Function)):
                self.reason = self.reason or f"{getattr(a.op, '__name__', a.op)} is not a recordable op"
                continue
            srcs = []
            for x in a.inputs:
                if isinstance(x, Tensor):
                    s = where.get(id(x))
                    if s is None:
                        if x._node is not None:
                            self.reason = self.reason or (f"{a.op.__name__} reads a tensor attached to a graph "
                                                          "from outside the function (detach it)")
                        s = ("ext", x)
                    srcs.append(s)
                else:  # an op may take a tensor's array (a loss's target): the argument's, or an op's output
                    srcs.append(raw.get(id(x), ("const", x)) if isinstance(x, xp.ndarray) else ("const", x))
            attrs, linked = {}, []  # attributes that are an argument's or an earlier op's array are linked to it
            for k, v in a.attrs.items():
                s = raw.get(id(v)) if isinstance(v, xp.ndarray) else None
                if s is None:
                    attrs[k] = v
                else:
                    linked.append((k, s))
            where[id(a.out)] = raw[id(a.out.array)] = ("op", len(self.ops))
            self.ops.append((a.op, tuple(srcs), attrs, tuple(linked), a.node.needs))
            self.outs.append(a.out)
        read = {id(version._root(s[1].array)) for op in self.ops for s in op[1] if s[0] == "ext"}
        made = {id(version._root(t.array)) for t in self.outs}
        for r in bumped:
            if id(r) not in read and id(r) not in made:
                self.reason = self.reason or "it writes memory in place outside its ops"
        self.where = where
        results = result if isinstance(result, (tuple, list)) else (result,)
        self.results = [where.get(id(r)) if isinstance(r, Tensor) else None for r in results]
        if not results or any(s is None or s[0] != "op" for s in self.results):
            self.reason = self.reason or "it must return tensors computed by its ops (or a tuple of them)"
        self.tuple_result = type(result) if isinstance(result, (tuple, list)) else None
        self.graphed = [s is not None and s[0] == "op" and self.outs[s[1]]._node is not None for s in self.results]

    def forget_tensors(self) -> None:
        """Drop the call's tensors (a first recording is kept only to be compared with the second)."""
        self.outs, self.where = None, None

    def differs(self, other: "_Recording") -> str | None:
        """Why ``other`` (a later call of the same signature) is not the same computation, or None."""
        if len(self.ops) != len(other.ops) or self.results != other.results:
            return "two calls applied different ops"
        for j, ((c1, s1, a1, k1, n1), (c2, s2, a2, k2, n2)) in enumerate(zip(self.ops, other.ops)):
            if c1 is not c2 or n1 != n2 or k1 != k2 or not _same_attrs(a1, a2):
                return f"op {j} ({c1.__name__}) differs between two calls"
            for x, y in zip(s1, s2):
                if x[0] != y[0] or (x[1] is not y[1] if x[0] == "ext" else not _same_value(x[1], y[1])):
                    return (f"op {j} ({c1.__name__}) reads a different tensor or value on each call (a tensor made "
                            "inside the function?)")
        return None

    def plan_reason(self, result: Any) -> str | None:
        root = self.outs[self.results[0][1]]
        if root._node is None:
            return None
        known = {id(t) for t in self.outs}
        for t in engine._toposort(root):
            if id(t) not in known:
                return f"the graph has a node that was not recorded ({t._node.name})"
            if t._retains_grad:
                return "an intermediate tensor retains its gradient"
        return None


def _same_attrs(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(_same_value(a[k], b[k]) for k in a)


def _same_value(x: Any, y: Any) -> bool:
    if x is y:
        return True
    if isinstance(x, xp.ndarray) or isinstance(y, xp.ndarray):
        return False  # an array made on each call: its values may change
    try:
        return type(x) is type(y) and bool(x == y)
    except Exception:  # noqa: BLE001 - values that do not compare are not the same
        return False


def _record(fn: Callable, args: tuple) -> tuple[Any, _Recording]:
    bumped: list = []
    version.WATCH.append(bumped)
    try:
        with tracing.recording() as applied:
            result = fn(*args)
    finally:
        version.WATCH.remove(bumped)
    return result, _Recording(args, applied, bumped, result)


class _Plan:
    """A verified recording, ready to replay: forward op by op, backward in the eager engine's order."""

    def __init__(self, rec: _Recording, result: Any):
        self.ops = rec.ops
        self.results, self.tuple_result, self.graphed = rec.results, rec.tuple_result, rec.graphed
        ext = {id(s[1]): s[1] for op in rec.ops for s in op[1] if s[0] == "ext"}
        self.ext = list(ext.values())
        self.ext_state = [(t.requires_grad, t.array.shape, t.array.dtype) for t in self.ext]
        self.root = self.results[0][1]
        self.order, self.parents = [], {}
        root = rec.outs[self.root]
        if root._node is not None:
            index = {id(t): j for j, t in enumerate(rec.outs)}
            for t in engine._toposort(root):
                j = index[id(t)]
                self.order.append(j)
                self.parents[j] = tuple(None if p is None else ("op", index[id(p)]) if p._node is not None
                                        else rec.where.get(id(p), ("ext", p)) for p in t._node.parents)

    def still_valid(self) -> bool:
        return all((t.requires_grad, t.array.shape, t.array.dtype) == s for t, s in zip(self.ext, self.ext_state))

    def replay(self, args: tuple) -> Any:
        from ..tensor import Tensor

        vals: list = [None] * len(self.ops)
        nodes: list = [None] * len(self.ops)
        arrays = [getattr(a, "array", a) for a in args]
        for j, (cls, srcs, attrs, linked, needs) in enumerate(self.ops):
            ins = [vals[s[1]] if s[0] == "op" else arrays[s[1]] if s[0] == "arg" else
                   s[1].array if s[0] == "ext" else s[1] for s in srcs]
            if linked:
                attrs = dict(attrs)
                for k, s in linked:
                    attrs[k] = vals[s[1]] if s[0] == "op" else arrays[s[1]]
            fn = cls()
            fn.needs = needs
            vals[j] = fn.forward(*ins, **attrs)
            nodes[j] = fn
        outs = []
        for i, (_, j) in enumerate(self.results):
            if i == 0 and self.order:
                node = _Replay()
                node.plan, node.nodes, node.args = self, nodes, args
                node.versions = version.snapshot([t.array for t in self.ext])
                outs.append(Tensor._make(vals[j], node))
            elif self.graphed[i]:
                outs.append(Tensor._make(vals[j], _NotDifferentiable()))
            else:
                outs.append(Tensor._make(vals[j], None))
        if self.tuple_result is None:
            return outs[0]
        return self.tuple_result(outs)


class _Replay(Function):
    """The graph node of a replayed result: its backward runs the recorded graph's backward."""

    parents: tuple = ()

    def backward(self, g):
        from ..tensor import Tensor

        if hooks.active():
            raise RuntimeError("backward through a lucidnet.compile result while tensors have hooks: the replay "
                               "does not run them (register the hooks before the first call: it then runs eagerly)")
        plan, nodes, args = self.plan, self.nodes, self.args
        accs = {plan.root: engine._Acc(g, True)}
        for j in plan.order:  # the eager engine's walk (engine._run), over the recorded graph
            acc = accs.pop(j, None)
            if acc is None:
                continue
            gin = acc.g
            grads = nodes[j].backward(gin)
            for src, pg in zip(plan.parents[j], grads):
                if src is None or pg is None:
                    continue
                pg, owned = engine._parent_grad(pg, gin, acc.owned, grads)
                kind, ref = src
                if kind == "op":
                    engine._add_grad(accs, ref, pg, owned)
                else:
                    leaf = args[ref] if kind == "arg" else ref
                    if isinstance(leaf, Tensor):
                        engine._accumulate_leaf(leaf, pg, owned)
        return ()

    @property
    def name(self) -> str:
        return "CompiledBackward"


class _NotDifferentiable(Function):
    parents: tuple = ()

    def backward(self, g):
        raise RuntimeError("lucidnet.compile: only the first tensor a compiled function returns can be "
                           "differentiated; return the one to differentiate first")
