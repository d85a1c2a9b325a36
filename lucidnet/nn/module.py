"""``Module``: the base class of every layer and model.

A module registers what is assigned to it as an attribute: a :class:`Parameter` becomes a trainable
parameter, a ``Module`` a sub-module, and ``register_buffer`` keeps non-trainable state (running
statistics). Names nest with dots, as in PyTorch (``"0.weight"``, ``"encoder.fc.bias"``).

Where things live: each registered value is in its registry (``_parameters``, ``_buffers`` or
``_modules``, ordered by registration) and also in the instance ``__dict__``, so ``self.weight`` inside
``forward`` is a plain attribute read (no ``__getattr__`` fallback on the hot path). Change them only by
attribute assignment, ``register_*`` or ``del``, which keep both in step.

>>> import lucidnet as ln
>>> class Net(ln.nn.Module):
...     def __init__(self):
...         super().__init__()
...         self.fc = ln.nn.Linear(4, 2)
...     def forward(self, x):
...         return self.fc(x).relu()
>>> net = Net()
>>> [name for name, _ in net.named_parameters()]
['fc.weight', 'fc.bias']
>>> net(ln.randn(3, 4)).shape
(3, 2)
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Any, Callable, Iterator, Mapping, NamedTuple

from ..autograd import hooks, version
from ..backend import xp
from ..tensor import Tensor
from .parameter import Parameter


class _IncompatibleKeys(NamedTuple):
    """What ``load_state_dict(strict=False)`` could not match: ``(missing_keys, unexpected_keys)``."""
    missing_keys: list
    unexpected_keys: list

    def __repr__(self) -> str:
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return f"_IncompatibleKeys(missing_keys={self.missing_keys}, unexpected_keys={self.unexpected_keys})"

    __str__ = __repr__


def _addindent(s: str, n: int) -> str:
    lines = s.split("\n")
    return lines[0] if len(lines) == 1 else lines[0] + "\n" + "\n".join(" " * n + line for line in lines[1:])


def _check_name(kind: str, name: Any) -> None:
    if not isinstance(name, str):
        raise TypeError(f"{kind} name should be a string, got {type(name).__name__}")
    if not name:
        raise KeyError(f"{kind} name must not be empty")
    if "." in name:
        raise KeyError(f"{kind} name must not contain '.', got: {name!r}")


class RemovableHandle:
    """What ``register_forward_hook`` returns: ``remove()`` (or leaving a ``with`` block) unregisters."""

    _next_id = 0

    def __init__(self, hooks: dict, hook: Callable, module: "Module | None" = None, prepend: bool = False) -> None:
        RemovableHandle._next_id += 1
        self.id = RemovableHandle._next_id
        self.hooks = hooks
        self.module = module
        if prepend:
            rest = list(hooks.items())
            hooks.clear()
            hooks[self.id] = hook
            hooks.update(rest)
        else:
            hooks[self.id] = hook

    def remove(self) -> None:
        self.hooks.pop(self.id, None)
        if self.module is not None:
            self.module._update_hooked()

    def __enter__(self) -> RemovableHandle:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.remove()


class Module:
    """Base class of layers and models: subclass it, assign layers and parameters in ``__init__``
    (after ``super().__init__()``), and write ``forward``. Calling the module runs ``forward``."""

    training: bool

    def __init__(self) -> None:
        d = self.__dict__
        d["training"] = True
        d["_parameters"] = {}
        d["_buffers"] = {}
        d["_non_persistent"] = set()
        d["_modules"] = {}

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} has no forward(); define forward(self, ...) in the class")

    # The hot path: one attribute check. ``_hooked`` is the class-level False until a hook (forward or
    # forward-pre) is registered on an instance, and ``_forward_hooks`` / ``_forward_pre_hooks`` are empty
    # class-level dicts until then, so modules without hooks pay a single falsy test.
    _hooked: bool = False
    _forward_hooks: dict = {}
    _forward_pre_hooks: dict = {}

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self._hooked:
            return self._call_with_hooks(args, kwargs)
        return self.forward(*args, **kwargs)

    def _run_forward_pre_hooks(self, args: tuple) -> tuple:
        """Call the forward pre-hooks on ``args``; a non-None return replaces them (a non-tuple is wrapped
        in one). Layers whose fused paths bypass ``__call__`` call this first (PyTorch's semantics)."""
        for hook in list(self._forward_pre_hooks.values()):
            res = hook(self, args)
            if res is not None:
                args = res if isinstance(res, tuple) else (res,)
        return args

    def _call_with_hooks(self, args: tuple, kwargs: dict) -> Any:
        if self._forward_pre_hooks:
            args = self._run_forward_pre_hooks(args)
        out = self.forward(*args, **kwargs)
        for hook in list(self._forward_hooks.values()):
            res = hook(self, args, out)
            if res is not None:
                out = res
        return out

    def register_forward_hook(self, hook: Callable[[Module, tuple, Any], Any]) -> RemovableHandle:
        """Call ``hook(module, inputs, output)`` after every forward of this module (a non-None return
        replaces the output). Returns a handle; ``handle.remove()`` takes the hook away again.

        >>> import lucidnet as ln
        >>> fc, shapes = ln.nn.Linear(4, 2), []
        >>> h = fc.register_forward_hook(lambda m, inputs, out: shapes.append(out.shape))
        >>> _ = fc(ln.randn(3, 4)); h.remove(); _ = fc(ln.randn(5, 4))
        >>> shapes
        [(3, 2)]
        """
        if not callable(hook):
            raise TypeError(f"register_forward_hook: expected a callable hook(module, inputs, output), "
                            f"got {type(hook).__name__}")
        return self._add_hook("_forward_hooks", hook, prepend=False)

    def register_forward_pre_hook(self, hook: Callable[[Module, tuple], Any], *,
                                  prepend: bool = False) -> RemovableHandle:
        """Call ``hook(module, inputs)`` before every forward of this module; a non-None return replaces the
        positional inputs (a single value is wrapped in a tuple). ``prepend=True`` runs it before the hooks
        already registered. Returns a handle; ``handle.remove()`` takes the hook away again.

        >>> import lucidnet as ln
        >>> fc, seen = ln.nn.Linear(4, 2), []
        >>> h = fc.register_forward_pre_hook(lambda m, inputs: seen.append(inputs[0].shape))
        >>> _ = fc(ln.randn(3, 4)); h.remove(); _ = fc(ln.randn(5, 4))
        >>> seen
        [(3, 4)]
        """
        if not callable(hook):
            raise TypeError(f"register_forward_pre_hook: expected a callable hook(module, inputs), "
                            f"got {type(hook).__name__}")
        return self._add_hook("_forward_pre_hooks", hook, prepend=prepend)

    def _add_hook(self, registry: str, hook: Callable, prepend: bool) -> RemovableHandle:
        d = self.__dict__
        if registry not in d:
            d[registry] = {}
        d["_hooked"] = True
        hooks.hooked_modules.add(self)
        return RemovableHandle(d[registry], hook, self, prepend)

    def _update_hooked(self) -> None:
        """Back to the fast path once the last hook is removed."""
        self.__dict__["_hooked"] = hooked = bool(self._forward_hooks or self._forward_pre_hooks)
        if not hooked:
            hooks.hooked_modules.discard(self)

    def summary(self, input_shape: Any = None, *, input_data: Any = None, batch_size: int = 1,
                dtype: Any = None) -> Any:
        """A table of the layers: output shapes, parameters (trainable and frozen), FLOPs and activation
        memory, from one forward pass on zeros of ``(batch_size, *input_shape)`` (see
        ``lucidnet.nn.summary``).

        >>> import lucidnet as ln
        >>> s = ln.nn.Sequential(ln.nn.Linear(784, 10), ln.nn.ReLU()).summary((784,))
        >>> s.total_params, s.flops
        (7850, 15700)
        """
        from .summary import summary  # lazily: it registers FLOP rules for the layer classes

        return summary(self, input_shape, input_data=input_data, batch_size=batch_size, dtype=dtype)

    # ---- registration ---------------------------------------------------------------------------
    def _registries(self) -> tuple:
        try:
            d = self.__dict__
            return d["_parameters"], d["_buffers"], d["_modules"]
        except KeyError:
            raise AttributeError(f"cannot register parameters, buffers or modules on {type(self).__name__} before "
                                 f"Module.__init__() runs: call super().__init__() first in "
                                 f"{type(self).__name__}.__init__") from None

    def _forget(self, name: str) -> None:
        params, buffers, modules = self._registries()
        params.pop(name, None)
        buffers.pop(name, None)
        modules.pop(name, None)
        self.__dict__["_non_persistent"].discard(name)

    def __setattr__(self, name: str, value: Any) -> None:
        if isinstance(value, Parameter):
            self._forget(name)
            self.__dict__["_parameters"][name] = value
        elif isinstance(value, Module):
            if name not in self.__dict__.get("_modules", ()):  # a replaced child keeps its place, as in PyTorch
                self._forget(name)
            self.__dict__["_modules"][name] = value
        else:
            regs = self.__dict__.get("_parameters"), self.__dict__.get("_buffers"), self.__dict__.get("_modules")
            if regs[0] is not None and name in regs[0]:
                if value is not None:
                    raise TypeError(f"cannot assign {type(value).__name__} as parameter {name!r} of "
                                    f"{type(self).__name__} (nn.Parameter or None expected)")
                regs[0][name] = None
            elif regs[2] is not None and name in regs[2]:
                if value is not None:
                    raise TypeError(f"cannot assign {type(value).__name__} as child module {name!r} of "
                                    f"{type(self).__name__} (nn.Module or None expected)")
                regs[2][name] = None
            elif regs[1] is not None and name in regs[1]:
                if value is not None and not isinstance(value, Tensor):
                    raise TypeError(f"cannot assign {type(value).__name__} as buffer {name!r} of "
                                    f"{type(self).__name__} (Tensor or None expected)")
                regs[1][name] = value
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        if "_parameters" in self.__dict__:
            self._forget(name)
        object.__delattr__(self, name)

    def _check_new_name(self, kind: str, name: str, registry: dict) -> None:
        _check_name(kind, name)
        if hasattr(self, name) and name not in registry:
            raise KeyError(f"attribute {name!r} already exists on {type(self).__name__}")

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Add a parameter (or None: a declared but absent parameter, like ``bias=False``)."""
        params = self._registries()[0]
        self._check_new_name("parameter", name, params)
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"cannot assign {type(param).__name__} as parameter {name!r} "
                            "(nn.Parameter or None expected)")
        self._forget(name)
        params[name] = param
        object.__setattr__(self, name, param)

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """Add non-trainable state (running statistics); persistent buffers are saved in ``state_dict``."""
        buffers = self._registries()[1]
        self._check_new_name("buffer", name, buffers)
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"cannot assign {type(tensor).__name__} as buffer {name!r} (Tensor or None expected)")
        if isinstance(tensor, Parameter):
            raise TypeError(f"buffer {name!r} is a Parameter; register it with register_parameter or assignment")
        self._forget(name)
        buffers[name] = tensor
        if not persistent:
            self.__dict__["_non_persistent"].add(name)
        object.__setattr__(self, name, tensor)

    def add_module(self, name: str, module: Module | None) -> None:
        """Add a child module under ``name`` (what attribute assignment does, with the name checked)."""
        modules = self._registries()[2]
        self._check_new_name("module", name, modules)
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        self._forget(name)
        modules[name] = module
        object.__setattr__(self, name, module)

    register_module = add_module

    def get_submodule(self, target: str) -> Module:
        """The sub-module at a dotted path (``"encoder.0"``); ``""`` is the module itself."""
        mod: Module = self
        if not target:
            return mod
        for part in target.split("."):
            child = mod._modules.get(part)
            if child is None:
                raise AttributeError(f"{type(mod).__name__} has no sub-module {part!r} (looking up {target!r})")
            mod = child
        return mod

    def get_parameter(self, target: str) -> Parameter:
        """The parameter at a dotted path (``"encoder.0.weight"``)."""
        mod_path, _, name = target.rpartition(".")
        mod = self.get_submodule(mod_path)
        if name not in mod._parameters or mod._parameters[name] is None:
            raise AttributeError(f"{type(mod).__name__} has no parameter {name!r} (looking up {target!r})")
        return mod._parameters[name]

    # ---- traversal --------------------------------------------------------------------------------
    def named_modules(self, memo: set | None = None, prefix: str = "",
                      remove_duplicate: bool = True) -> Iterator[tuple[str, Module]]:
        """This module and all below it, pre-order, with dotted names (this one is ``""``)."""
        if memo is None:
            memo = set()
        if remove_duplicate:
            if id(self) in memo:
                return
            memo.add(id(self))
        yield prefix, self
        for name, m in self._modules.items():
            if m is not None:
                yield from m.named_modules(memo, f"{prefix}.{name}" if prefix else name, remove_duplicate)

    def modules(self) -> Iterator[Module]:
        for _, m in self.named_modules():
            yield m

    def named_children(self) -> Iterator[tuple[str, Module]]:
        seen = set()
        for name, m in self._modules.items():
            if m is not None and id(m) not in seen:
                seen.add(id(m))
                yield name, m

    def children(self) -> Iterator[Module]:
        for _, m in self.named_children():
            yield m

    def _named_members(self, registry: str, prefix: str, recurse: bool, remove_duplicate: bool):
        seen = set()
        mods = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) if recurse else [(prefix, self)]
        for mod_prefix, mod in mods:
            for name, v in mod.__dict__[registry].items():
                if v is None:
                    continue
                if remove_duplicate:
                    if id(v) in seen:
                        continue
                    seen.add(id(v))
                yield (f"{mod_prefix}.{name}" if mod_prefix else name), v

    def named_parameters(self, prefix: str = "", recurse: bool = True,
                         remove_duplicate: bool = True) -> Iterator[tuple[str, Parameter]]:
        """``(dotted name, parameter)`` pairs; a parameter shared by two layers appears once."""
        return self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix: str = "", recurse: bool = True,
                      remove_duplicate: bool = True) -> Iterator[tuple[str, Tensor]]:
        return self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    # ---- modes and gradients -----------------------------------------------------------------------
    def train(self, mode: bool = True) -> Module:
        """Training mode (dropout active, batch statistics) for this module and all below it."""
        if not isinstance(mode, bool):
            raise ValueError(f"train(mode): mode should be a bool, got {mode!r}")
        changed = False
        for m in self.modules():
            changed = changed or m.training != mode
            m.training = mode
        if changed:
            hooks.mode_changes += 1
        return self

    def eval(self) -> Module:
        """Evaluation mode: ``train(False)``."""
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        """Freeze (``False``) or unfreeze every parameter of this module and all below it."""
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear the gradients: drop them (default) or fill the existing arrays with zeros."""
        for p in self.parameters():
            if set_to_none:
                p.grad = None
            elif p.grad is not None:
                p.grad.array.fill(0)

    def apply(self, fn: Callable[[Module], Any]) -> Module:
        """Call ``fn`` on every sub-module (children first) and then on this module; for custom init."""
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    # ---- dtype ----------------------------------------------------------------------------------------
    def to(self, *args: Any, dtype: Any = None, device: Any = None, non_blocking: bool = False) -> Module:
        """Cast floating parameters and buffers to ``dtype`` in place (the Parameter objects stay the same,
        so an optimizer built before still holds them). Integer buffers keep their dtype. PyTorch's forms:
        ``to(dtype)``, ``to(device)``, ``to(device, dtype)``, ``to(tensor)``; the device must be the CPU
        (``to("cpu")`` does nothing: lucidnet runs on the CPU)."""
        from ..device import to_arguments
        dtype = to_arguments(args, dtype, device, f"{type(self).__name__}.to")
        if dtype is None:
            return self
        try:
            dt = xp.dtype(dtype)
        except TypeError:
            raise TypeError(f"{type(self).__name__}.to: expected a floating dtype, got {dtype!r}") from None
        if dt.kind != "f":
            raise TypeError(f"{type(self).__name__}.to: expected a floating dtype, got {dt}")
        for m in self.modules():
            for t in list(m._parameters.values()) + list(m._buffers.values()):
                if t is None or t.array.dtype.kind != "f" or t.array.dtype == dt:
                    continue
                grad = t.grad
                t.array = t.array.astype(dt)
                if grad is not None:
                    t.grad = Tensor._make(grad.array.astype(dt), None)
        return self

    def float(self) -> Module:
        return self.to(xp.float32)

    def cpu(self) -> Module:
        return self

    def cuda(self, device: Any = None) -> Module:
        from ..device import check_device
        check_device("cuda", f"{type(self).__name__}.cuda")
        return self

    def double(self) -> Module:
        return self.to(xp.float64)

    def half(self) -> Module:
        return self.to(xp.float16)

    # ---- state ----------------------------------------------------------------------------------------
    def _state_items(self) -> Iterator[tuple[str, Tensor]]:
        """Every saved tensor with its name: per module, parameters then persistent buffers, depth first
        (PyTorch's order). Shared tensors appear under each name."""
        for prefix, mod in self.named_modules(remove_duplicate=False):
            pre = prefix + "." if prefix else ""
            for name, p in mod._parameters.items():
                if p is not None:
                    yield pre + name, p
            skip = mod._non_persistent
            for name, b in mod._buffers.items():
                if b is not None and name not in skip:
                    yield pre + name, b

    def state_dict(self, keep_vars: bool = False) -> OrderedDict:
        """Ordered ``name -> Tensor`` of every parameter and persistent buffer, as PyTorch's: detached tensors
        that share the module's memory (an in-place change to one changes the module; take a snapshot with
        ``copy.deepcopy(model.state_dict())`` or ``{k: v.clone() for k, v in ...}``).

        ``keep_vars=True`` gives the parameters and buffers themselves (not detached)."""
        return OrderedDict((k, v if keep_vars else v.detach()) for k, v in self._state_items())

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True) -> _IncompatibleKeys:
        """Copy values into the parameters and buffers of the same names, cast to their dtypes.

        Values may be NumPy arrays, lucidnet tensors, or anything ``numpy.asarray`` takes (a PyTorch
        state dict after ``{k: v.numpy() for k, v in sd.items()}``). Nothing is copied unless everything
        checks out: missing or unexpected keys (when ``strict``) and shape mismatches (always) raise a
        ``RuntimeError`` that lists them all. Returns ``(missing_keys, unexpected_keys)``.
        """
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"load_state_dict: expected a mapping of names to arrays, got {type(state_dict).__name__}")
        targets = OrderedDict(self._state_items())
        missing = [k for k in targets if k not in state_dict]
        unexpected = [k for k in state_dict if k not in targets]
        errors, arrays = [], []
        for key, t in targets.items():
            if key not in state_dict:
                continue
            v = state_dict[key]
            arr = v.array if isinstance(v, Tensor) else xp.asarray(v)
            if arr.shape != t.array.shape:
                errors.append(f"size mismatch for {key}: expected shape {tuple(t.array.shape)} (the model), "
                              f"found {tuple(arr.shape)} in the state_dict.")
            elif arr.dtype.kind not in "biuf":
                errors.append(f"dtype mismatch for {key}: cannot load an array of dtype {arr.dtype} "
                              f"into a tensor of dtype {t.array.dtype}.")
            else:
                arrays.append((t, arr))
        if strict and unexpected:
            errors.insert(0, "Unexpected key(s) in state_dict: " + ", ".join(f'"{k}"' for k in unexpected) + ".")
        if strict and missing:
            errors.insert(0, "Missing key(s) in state_dict: " + ", ".join(f'"{k}"' for k in missing) + ".")
        if errors:
            raise RuntimeError(f"Error(s) in loading state_dict for {type(self).__name__}:\n\t" + "\n\t".join(errors))
        for t, arr in arrays:
            xp.copyto(t.array, arr, casting="unsafe")  # cast to the model's dtype, keep the arrays in place
            version.bump(t.array)
        return _IncompatibleKeys(missing, unexpected)

    # ---- printing -------------------------------------------------------------------------------------
    def extra_repr(self) -> str:
        """The part inside the parentheses of ``repr`` (``in_features=784, ...``); override it."""
        return ""

    def __repr__(self) -> str:
        extra = self.extra_repr()
        lines = extra.split("\n") if extra else []
        children = [f"({name}): {_addindent(repr(m), 2)}" for name, m in self._modules.items()]
        if not children and len(lines) <= 1:
            return f"{type(self).__name__}({extra})"
        body = "\n  ".join(lines + children)
        return f"{type(self).__name__}(\n  {body}\n)"
