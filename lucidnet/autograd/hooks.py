"""Hook points of the backward pass: what data-parallel training (and any user) can run during it.

* ``register_post_accumulate_grad_hook(tensor, hook)`` (``Tensor.register_post_accumulate_grad_hook``):
  ``hook(tensor)`` runs during a backward once the leaf's ``.grad`` holds all of that backward's
  contributions (PyTorch's hook of the same name): the moment its gradient can be sent elsewhere.
* ``queue_callback(fn)``, called during a backward (from a hook): ``fn()`` runs when that backward ends
  (PyTorch's ``Variable._execution_engine.queue_callback``).

Tensors hold no hook table of their own (``__slots__``); the table is here, keyed by tensor and emptied when
a tensor goes. A backward with no hooks registered anywhere pays one falsy test.

>>> import lucidnet as ln
>>> w = ln.tensor([1.0, 2.0], requires_grad=True)
>>> seen = []
>>> h = w.register_post_accumulate_grad_hook(lambda t: seen.append(t.grad.tolist()))
>>> ((w * w).sum() + w.sum()).backward()   # w is used twice: the hook runs once, with the sum
>>> seen
[[3.0, 5.0]]
>>> h.remove()
"""
from __future__ import annotations

import itertools
import weakref
from typing import Any, Callable

__all__ = ["RemovableHandle", "register_post_accumulate_grad_hook", "post_accumulate_hooks", "queue_callback",
           "active"]

# id(tensor) -> (weak reference to it, {handle id: hook}) for the tensors with hooks; an entry goes with its
# tensor or its last hook
_hooks: dict[int, tuple[Any, dict[int, Callable]]] = {}
# the modules that have forward or forward-pre hooks now (``nn.Module`` keeps it): a captured step
# (``capture.compile``) replays ops, not modules, so it runs eagerly while there are any
hooked_modules: "weakref.WeakSet[Any]" = weakref.WeakSet()
mode_changes = 0  # how many times ``Module.train()``/``eval()`` changed a module's mode (a captured step's guard)
_ids = itertools.count()
_callbacks: list[list[Callable[[], Any]]] = []  # one list per backward in progress (innermost last)


class RemovableHandle:
    """What registering a hook returns: ``remove()`` (or leaving a ``with`` block) unregisters it."""

    def __init__(self, table: dict, key: int, tensor_key: int | None = None):
        self._table, self.id, self._tensor_key = table, key, tensor_key

    def remove(self) -> None:
        self._table.pop(self.id, None)
        entry = _hooks.get(self._tensor_key) if self._tensor_key is not None else None
        if entry is not None and entry[1] is self._table and not self._table:
            del _hooks[self._tensor_key]  # the tensor has no hook left

    def __enter__(self) -> "RemovableHandle":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.remove()


def _forget(key: int, ref: Any) -> None:
    entry = _hooks.get(key)
    if entry is not None and entry[0] is ref:
        del _hooks[key]


def register_post_accumulate_grad_hook(tensor: Any, hook: Callable[[Any], Any]) -> RemovableHandle:
    """Run ``hook(tensor)`` in every backward once leaf ``tensor``'s gradient is complete."""
    if not callable(hook):
        raise TypeError(f"register_post_accumulate_grad_hook: expected a callable hook(tensor), got "
                        f"{type(hook).__name__}")
    if tensor._node is not None:
        raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf tensors")
    key = id(tensor)
    entry = _hooks.get(key)
    if entry is None or entry[0]() is not tensor:
        entry = _hooks[key] = (weakref.ref(tensor, lambda ref, key=key: _forget(key, ref)), {})
    table = entry[1]
    handle = RemovableHandle(table, next(_ids), key)
    table[handle.id] = hook
    return handle


def active() -> bool:
    """Whether any tensor has a hook (the engine looks for hooked leaves only then)."""
    return bool(_hooks)


def post_accumulate_hooks(tensor: Any) -> list[Callable] | None:
    """The hooks of ``tensor`` (None when it has none)."""
    entry = _hooks.get(id(tensor))
    if entry is None or not entry[1] or entry[0]() is not tensor:
        return None
    return list(entry[1].values())


def queue_callback(callback: Callable[[], Any]) -> None:
    """Run ``callback()`` when the backward in progress ends (an error outside a backward)."""
    if not _callbacks:
        raise RuntimeError("queue_callback: no backward is running (call it from a hook during backward)")
    _callbacks[-1].append(callback)


def begin_backward() -> None:
    _callbacks.append([])


def end_backward(ok: bool) -> None:
    """Run (``ok``) or drop the callbacks the finished backward queued, in order."""
    queued = _callbacks.pop()
    if ok:
        for callback in queued:
            callback()
