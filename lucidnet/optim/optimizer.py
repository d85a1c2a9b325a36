"""``Optimizer``: the base every optimizer builds on (param groups, state, ``zero_grad``, ``state_dict``).

An optimizer updates the array a parameter holds (``p.array``, the memory of ``p.data``) in place from
``p.grad``. The update never rebinds ``p.array`` and never writes into ``p.grad``; its temporaries live in
per-parameter scratch buffers that the optimizer keeps between steps (they are not part of ``state_dict``),
so a step allocates nothing after the first.

Subnormal floats (below 1.2e-38 in float32) are flushed to zero while the optimizers update, on x86 with the
compiled kernels (``kernels.subnormals_flushed``): Adam's moving averages of weights that get no gradient for
hundreds of steps (embedding rows, dead units) decay into that range, where every operation on them takes
~20 times as long. The state then holds no subnormals (such an average stops near 1e-37, where its decrement
would be one; PyTorch's sinks to a few times 1.4e-45): a difference far below what a float32 parameter of
ordinary size can hold, so the parameters' values are not affected.
SGD's plain step of a large float32 parameter runs on BLAS's threads (``kernels.threads.axpy``), which do not
flush: a subnormal result there is kept, as in PyTorch.

>>> import lucidnet as ln
>>> w = ln.tensor([1.0, 2.0], requires_grad=True)
>>> opt = ln.optim.SGD([w], lr=0.5)
>>> (w * w).sum().backward()
>>> opt.step(); opt.zero_grad()
>>> w.data
tensor([0., 0.])
"""
from __future__ import annotations

# NOTE on speed: scalars are converted to the parameter's dtype (``d.dtype.type(x)``) before they meet an
# array. The result is the same as with a Python float (NumPy casts it the same way), but the ufunc call
# is about twice as fast, which matters for models with many small parameters.

from collections import defaultdict
from typing import Any, Callable, Iterable

from .. import kernels
from ..autograd import version
from ..autograd.grad_mode import enable_grad
from ..backend import xp
from ..kernels import optim_numpy
from ..tensor import Tensor

__all__ = ["Optimizer", "ParamsT"]

ParamsT = Iterable[Tensor] | Iterable[dict] | Iterable[tuple[str, Tensor]]


class Optimizer:
    """Base class: holds ``param_groups`` (a list of dicts with ``params`` and hyper-parameters) and
    per-parameter ``state``. Subclasses implement ``_step_group(group)``.

    ``params`` is an iterable of tensors, of ``(name, tensor)`` pairs (``named_parameters()``), or of
    dicts that each hold ``params`` plus hyper-parameters overriding ``defaults``.
    """

    def __init__(self, params: ParamsT, defaults: dict[str, Any]):
        self.defaults = dict(defaults)
        self.state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        self.param_groups: list[dict[str, Any]] = []
        self._scratch: dict[Tensor, list] = {}
        self._views: dict[Tensor, tuple] = {}
        name = type(self).__name__
        if isinstance(params, Tensor):
            raise TypeError(f"{name}: params should be an iterable of tensors or dicts, but got a single Tensor; "
                            "pass [tensor] or model.parameters()")
        if isinstance(params, dict):
            params = [params]
        if isinstance(params, set):
            raise TypeError(f"{name}: parameters must be an ordered collection (a list), not a set: "
                            "the order of a set changes between runs and state_dict relies on it")
        groups = list(params)
        if not groups:
            raise ValueError(f"{name}: got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for g in groups:
            self.add_param_group(g)

    # ---- groups -------------------------------------------------------------------------------
    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters with its own hyper-parameters (the missing ones take ``defaults``)."""
        name = type(self).__name__
        if not isinstance(param_group, dict):
            raise TypeError(f"{name}.add_param_group: expected a dict, got {type(param_group).__name__}")
        group = dict(param_group)
        if "params" not in group:
            raise ValueError(f"{name}.add_param_group: the group has no 'params' entry")
        params = group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError(f"{name}: parameters must be an ordered collection (a list), not a set: "
                            "the order of a set changes between runs and state_dict relies on it")
        params = list(params)
        names = [p[0] for p in params if isinstance(p, tuple)]
        params = [p[1] if isinstance(p, tuple) else p for p in params]
        if names:
            if len(names) != len(params):
                raise ValueError(f"{name}: either every parameter comes with a name or none does")
            group["param_names"] = names
        for i, p in enumerate(params):
            if not isinstance(p, Tensor):
                raise TypeError(f"{name}: can only optimize Tensors, but parameter {i} is {type(p).__name__}")
            if not p.is_leaf:
                raise ValueError(f"{name}: parameter {i} is not a leaf tensor (it was computed from others); "
                                 "optimize the leaf it came from, or .detach() it")
            if p.array.dtype.kind != "f":
                raise TypeError(f"{name}: parameter {i} has dtype {p.array.dtype}; only floating tensors are optimized")
        if len({id(p) for p in params}) != len(params):
            raise ValueError(f"{name}: a parameter group lists the same parameter twice")
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in params):
            raise ValueError(f"{name}: some parameters appear in more than one parameter group")
        if self.param_groups and (("param_names" in group) != ("param_names" in self.param_groups[0])):
            raise ValueError(f"{name}: all parameter groups must be given with names, or all without")
        group["params"] = params
        for key, default in self.defaults.items():
            group.setdefault(key, default)
        self._check_group(group)
        self.param_groups.append(group)

    def _check_group(self, group: dict[str, Any]) -> None:
        """Validate a group's hyper-parameters (subclasses extend); raise ValueError naming the optimizer."""
        if group.get("lr", 0.0) < 0:
            raise ValueError(f"{type(self).__name__}: invalid learning rate lr={group['lr']} (expected >= 0)")
        if group.get("weight_decay", 0.0) < 0:
            raise ValueError(f"{type(self).__name__}: invalid weight_decay={group['weight_decay']} (expected >= 0)")

    # ---- stepping -----------------------------------------------------------------------------
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear every parameter's gradient: drop it (``set_to_none=True``) or fill it with zeros in place."""
        for group in self.param_groups:
            for p in group["params"]:
                if set_to_none:
                    p.grad = None
                elif p.grad is not None:
                    p.grad.array.fill(0)

    def step(self, closure: Callable[[], Any] | None = None):
        """Update every parameter that has a gradient. ``closure`` (optional) recomputes and returns the loss."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        with kernels.subnormals_flushed():  # see the module's docstring
            for group in self.param_groups:
                self._step_group(group)
        return loss

    def _step_group(self, group: dict[str, Any]) -> None:
        raise NotImplementedError

    def _params_with_grad(self, group: dict[str, Any]):
        """(param, data, grad) for each parameter of ``group`` that has a gradient."""
        name = type(self).__name__
        for p in group["params"]:
            if p.grad is None:
                continue
            g, d = p.grad.array, p.array
            if g.shape != d.shape:
                raise ValueError(f"{name}.step: a parameter of shape {d.shape} has a gradient of shape {g.shape}")
            version.bump(d)  # an array that a recorded graph saved no longer holds what backward needs
            yield p, d, g

    def _buffers(self, p: Tensor, d, n: int) -> list:
        """``n`` scratch arrays shaped like ``d`` (the parameter's data), kept for the next step."""
        bufs = self._scratch.get(p)
        if bufs is None or bufs[0].shape != d.shape or bufs[0].dtype != d.dtype:
            bufs = self._scratch[p] = []
        while len(bufs) < n:
            bufs.append(xp.empty_like(d))
        return bufs

    def _flat(self, nb, p: Tensor, d, u, *state) -> list | None:
        """1-D views ``[d, u, *state]`` for the compiled kernels ``nb`` (``lucidnet.kernels``' ``optim`` family,
        or None when they are off), element for element: float32 arrays of ``d``'s shape and memory layout, C
        or Fortran; None otherwise (the NumPy passes of ``kernels.optim_numpy``).

        The views of ``d`` and of the state arrays are kept between steps and made again when one of those
        arrays is not the one they were made of (a parameter's array replaced, a state dict loaded); ``u``, the
        gradient or a direction made from it, is new at every step.
        """
        if nb is None:
            return None
        entry = self._views.get(p)
        if entry is None or entry[0] is not d or len(entry[1]) != len(state) \
                or not all(a is b for a, b in zip(entry[1], state)):
            views = None
            if d.dtype == xp.float32 and (d.flags.c_contiguous or d.flags.f_contiguous) and all(
                    a.dtype == d.dtype and a.shape == d.shape and a.strides == d.strides for a in state):
                views = [a.ravel("K") for a in (d, *state)]
            entry = self._views[p] = (d, state, views)
        views = entry[2]
        if views is None or u.strides != d.strides or u.dtype != d.dtype:
            return None
        return [views[0], u.ravel("K"), *views[1:]]

    # ---- checkpoints --------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """``{"state": {index: {name: tensor or number}}, "param_groups": [{..., "params": [index]}]}``, as
        PyTorch's: parameters are numbered in the order of the groups, and the state's tensors share the
        optimizer's memory (an in-place change to one changes the optimizer; ``copy.deepcopy`` keeps a snapshot).
        """
        index: dict[int, int] = {}
        groups = []
        for g in self.param_groups:
            packed = {k: (list(v) if isinstance(v, list) else v) for k, v in g.items() if k != "params"}
            for p in g["params"]:
                index.setdefault(id(p), len(index))
            packed["params"] = [index[id(p)] for p in g["params"]]
            groups.append(packed)
        state = {}
        for p, s in self.state.items():
            if id(p) in index and s:
                state[index[id(p)]] = {k: (Tensor._make(v, None) if isinstance(v, xp.ndarray) else v)
                                       for k, v in s.items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore hyper-parameters and state saved by ``state_dict`` (arrays are copied into the parameters'
        dtype; integer keys may come back as strings from JSON)."""
        name = type(self).__name__
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"{name}.load_state_dict: the state dict has {len(saved_groups)} parameter groups, "
                             f"this optimizer has {len(self.param_groups)}")
        by_index: dict[int, Tensor] = {}
        for i, (g, sg) in enumerate(zip(self.param_groups, saved_groups)):
            if len(g["params"]) != len(sg["params"]):
                raise ValueError(f"{name}.load_state_dict: parameter group {i} has {len(sg['params'])} parameters "
                                 f"in the state dict and {len(g['params'])} in this optimizer")
            for idx, p in zip(sg["params"], g["params"]):
                by_index[int(idx)] = p
        new_state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        for key, s in state_dict["state"].items():
            p = by_index.get(int(key))
            if p is None:
                raise ValueError(f"{name}.load_state_dict: state for parameter index {key}, which no group lists")
            new_state[p] = {k: self._load_value(p, k, v) for k, v in s.items()}
        new_groups = []
        for g, sg in zip(self.param_groups, saved_groups):
            ng = {k: (tuple(v) if isinstance(v, list) and k != "param_names" else v)
                  for k, v in sg.items() if k != "params"}
            ng["params"] = g["params"]
            if "param_names" in g and "param_names" not in ng:
                ng["param_names"] = g["param_names"]
            new_groups.append(ng)
        self.state, self.param_groups = new_state, new_groups
        self._scratch.clear()
        self._views.clear()

    def _load_value(self, p: Tensor, key: str, value):
        if isinstance(value, Tensor):  # a state saved and loaded with lucidnet.save / lucidnet.load
            value = value.array
        if isinstance(value, xp.generic) or (isinstance(value, xp.ndarray) and value.ndim == 0):
            return value.item()
        if isinstance(value, (xp.ndarray, list)):
            arr = xp.array(value, copy=True)
            if arr.dtype.kind == "f" or isinstance(value, list):
                arr = arr.astype(p.array.dtype, copy=False)
            if arr.shape != p.array.shape:
                raise ValueError(f"{type(self).__name__}.load_state_dict: state {key!r} has shape {arr.shape}, "
                                 f"its parameter has shape {p.array.shape}")
            return arr
        return value

    # ---- misc ---------------------------------------------------------------------------------
    def __getstate__(self) -> dict[str, Any]:
        d = self.__dict__.copy()
        d["_scratch"], d["_views"] = {}, {}
        return d

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, g in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {g[k]}" for k in sorted(g) if k not in ("params", "param_names")]
        return "\n".join(lines) + "\n)"


def direction(g, d, weight_decay: float, maximize: bool, out):
    """The gradient the update follows: ``(-g if maximize else g) + weight_decay * d``, the weight decay one fused
    multiply-add rounded once, as PyTorch's ``grad.add(param, alpha=weight_decay)`` (float64: rounded twice, see
    ``kernels.optim_numpy.fma``).

    Returns ``g`` itself when there is nothing to add (no copy), else ``out`` (shaped and laid out like ``d``)
    holding the result.
    """
    if weight_decay != 0:
        if maximize:
            xp.negative(g, out=out)
        else:
            xp.copyto(out, g)
        add_scaled(out, d, weight_decay)
        return out
    if maximize:
        xp.negative(g, out=out)
        return out
    return g


def add_scaled(d, u, a: float, k=None) -> None:
    """``d = fma(u, a, d)`` (PyTorch's ``d.add_(u, alpha=a)``, rounded once): one compiled pass for float32
    arrays of one memory layout (``k``: the float32 ``[a]`` it takes, when the caller has it), else
    ``kernels.optim_numpy``'s."""
    nb = kernels.compiled("optim", d, u)
    if nb is not None and d.strides == u.strides and (d.flags.c_contiguous or d.flags.f_contiguous):
        nb.add_scaled(d.ravel("K"), u.ravel("K"), xp.array([a], dtype=xp.float32) if k is None else k)
    else:
        optim_numpy.add_scaled(d, u, a)
