"""Weight averaging: PyTorch's ``torch.optim.swa_utils`` (``AveragedModel``, the EMA and SWA update rules,
``update_bn``).

:class:`AveragedModel` keeps a copy of a model whose weights are a running average of the model's along
training: an exponential moving average (``multi_avg_fn=get_ema_multi_avg_fn(0.999)``), or the equal average of
stochastic weight averaging (the default). The average is often better than the weights of any one step (the
noise of the last steps averages out). ``lucidnet.train.WeightAveraging`` does the bookkeeping in ``fit``.

>>> import lucidnet as ln
>>> model = ln.nn.Linear(2, 1)
>>> ema = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(0.9))
>>> with ln.no_grad():
...     _ = model.weight.fill_(1.0)
>>> ema.update_parameters(model)   # the first call copies
>>> with ln.no_grad():
...     _ = model.weight.fill_(2.0)
>>> ema.update_parameters(model)   # then 0.9 * 1.0 + 0.1 * 2.0
>>> [round(float(w), 4) for w in ema.module.weight.data[0]], int(ema.n_averaged)
([1.1, 1.1], 2)
"""
from __future__ import annotations

import copy
import itertools
from typing import Any, Callable, Iterable, Sequence

from ..autograd import version
from ..autograd.grad_mode import no_grad
from ..backend import xp
from ..nn.module import Module
from ..tensor import Tensor

__all__ = ["AveragedModel", "get_ema_multi_avg_fn", "get_swa_multi_avg_fn", "get_ema_avg_fn", "get_swa_avg_fn",
           "update_bn"]


def _lerp_(averaged: Tensor, current: Tensor, weight: float) -> None:
    """``averaged += weight * (current - averaged)`` in place, by ``torch.lerp``'s formula (from the far end
    for weights of 0.5 and more, which keeps ``weight=1`` exact)."""
    a, b = averaged.array, current.array
    w = a.dtype.type(weight)
    diff = xp.subtract(b, a)
    if abs(weight) < 0.5:
        diff *= w
        a += diff
    else:
        diff *= a.dtype.type(1) - w
        xp.subtract(b, diff, out=a)
    version.bump(a)


def _floating(t: Tensor) -> bool:
    return t.array.dtype.kind in "fc"


def get_ema_multi_avg_fn(decay: float = 0.999) -> Callable[[list, list, Any], None]:
    """The exponential moving average for ``AveragedModel(multi_avg_fn=...)``: each weight becomes
    ``decay * averaged + (1 - decay) * current`` (integer buffers by that formula, cast back)."""
    if not 0.0 <= float(decay) <= 1.0:
        raise ValueError(f"get_ema_multi_avg_fn: decay must be in [0, 1], got {decay!r}")

    def ema_update(ema_param_list: Sequence[Tensor], current_param_list: Sequence[Tensor], _: Any) -> None:
        with no_grad():
            for p_ema, p_model in zip(ema_param_list, current_param_list):
                if _floating(p_ema):
                    _lerp_(p_ema, p_model, 1.0 - decay)
                else:
                    p_ema.copy_(Tensor(p_ema.array * decay + p_model.array * (1 - decay)))
    return ema_update


def get_swa_multi_avg_fn() -> Callable[[list, list, Any], None]:
    """The equal average of every model seen (stochastic weight averaging), for ``multi_avg_fn``: after ``n``
    models, ``averaged += (current - averaged) / (n + 1)``."""

    def swa_update(averaged_param_list: Sequence[Tensor], current_param_list: Sequence[Tensor],
                   num_averaged: Any) -> None:
        n = int(num_averaged.item() if isinstance(num_averaged, Tensor) else num_averaged)
        with no_grad():
            for p_avg, p_model in zip(averaged_param_list, current_param_list):
                if _floating(p_avg):
                    _lerp_(p_avg, p_model, 1.0 / (n + 1))
                else:
                    p_avg.copy_(Tensor(p_avg.array + (p_model.array - p_avg.array) / (n + 1)))
    return swa_update


def get_ema_avg_fn(decay: float = 0.999) -> Callable[[Tensor, Tensor, Any], Tensor]:
    """The exponential moving average for ``AveragedModel(avg_fn=...)``, one weight at a time."""
    if not 0.0 <= float(decay) <= 1.0:
        raise ValueError(f"get_ema_avg_fn: decay must be in [0, 1], got {decay!r}")

    def ema_update(ema_param: Tensor, current_param: Tensor, num_averaged: Any) -> Tensor:
        return decay * ema_param + (1 - decay) * current_param
    return ema_update


def get_swa_avg_fn() -> Callable[[Tensor, Tensor, Any], Tensor]:
    """The equal average for ``AveragedModel(avg_fn=...)``, one weight at a time."""

    def swa_update(averaged_param: Tensor, current_param: Tensor, num_averaged: Any) -> Tensor:
        return averaged_param + (current_param - averaged_param) / (num_averaged + 1)
    return swa_update


class AveragedModel(Module):
    """A copy of ``model`` (``.module``) whose weights :meth:`update_parameters` averages with the model's.

    Args:
        model: the module to average (deep-copied at construction).
        device: only None or ``"cpu"`` (lucidnet's one device).
        avg_fn: ``fn(averaged, current, num_averaged) -> new averaged`` per weight (Tensors).
        multi_avg_fn: ``fn(averaged_list, current_list, num_averaged)`` updating the averaged weights in place;
            without either, the equal (SWA) average.
        use_buffers: average the buffers too (and count them as weights); otherwise they are copied from the
            model at each update.

    ``n_averaged`` (a buffer) counts the updates; the first copies the model's weights. Calling the averaged
    model runs ``.module``.
    """

    def __init__(self, model: Module, device: Any = None, avg_fn: Callable | None = None,
                 multi_avg_fn: Callable | None = None, use_buffers: bool = False):
        super().__init__()
        if not isinstance(model, Module):
            raise TypeError(f"AveragedModel: model must be an nn.Module, got {type(model).__name__}")
        if device is not None and str(device) != "cpu":
            raise ValueError(f"AveragedModel: lucidnet runs on the CPU only; device must be None or 'cpu', "
                             f"got {device!r}")
        if avg_fn is not None and multi_avg_fn is not None:
            raise ValueError("AveragedModel: give avg_fn or multi_avg_fn, not both")
        self.module = copy.deepcopy(model)
        self.register_buffer("n_averaged", Tensor(xp.array(0, dtype=xp.int64)))
        self.avg_fn, self.multi_avg_fn = avg_fn, multi_avg_fn
        self.use_buffers = bool(use_buffers)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        return self.module(*args, **kwargs)

    def _weights(self, model: Module) -> list[Tensor]:
        return list(itertools.chain(model.parameters(), model.buffers() if self.use_buffers else []))

    def update_parameters(self, model: Module) -> None:
        """Average ``model``'s current weights into this one's (copy them, the first time)."""
        mine, theirs = self._weights(self.module), self._weights(model)
        if len(mine) != len(theirs) or any(a.shape != b.shape for a, b in zip(mine, theirs)):
            raise ValueError("AveragedModel.update_parameters: the model's weights do not match the averaged "
                             "copy's (another architecture?)")
        n = int(self.n_averaged.item())
        current = [p.detach() for p in theirs]
        averaged = [p.detach() for p in mine]
        with no_grad():
            if n == 0:
                for a, c in zip(averaged, current):
                    a.copy_(c)
            elif self.avg_fn is not None:
                for a, c in zip(averaged, current):
                    a.copy_(self.avg_fn(a, c, self.n_averaged))
            else:
                (self.multi_avg_fn or get_swa_multi_avg_fn())(averaged, current, self.n_averaged)
            if not self.use_buffers:  # the buffers follow the model's
                for b_avg, b_model in zip(self.module.buffers(), model.buffers()):
                    b_avg.detach().copy_(b_model.detach())
            self.n_averaged.copy_(Tensor(xp.array(n + 1, dtype=xp.int64)))


def update_bn(loader: Iterable, model: Module, device: Any = None) -> None:
    """Recompute the BatchNorm running statistics of ``model`` over one pass of ``loader`` (batches of inputs,
    or tuples/lists whose first item is the input), as a cumulative average: what the averaged weights need
    after ``AveragedModel`` without ``use_buffers``. Nothing happens without BatchNorm layers."""
    from ..nn import BatchNorm1d, BatchNorm2d, SyncBatchNorm

    if device is not None and str(device) != "cpu":
        raise ValueError(f"update_bn: lucidnet runs on the CPU only; device must be None or 'cpu', got {device!r}")
    momenta = {}
    for m in model.modules():
        if isinstance(m, (BatchNorm1d, BatchNorm2d, SyncBatchNorm)) and m.track_running_stats:
            m.reset_running_stats()
            momenta[m] = m.momentum
    if not momenta:
        return
    was_training = model.training
    model.train()
    for m in momenta:
        m.momentum = None
    with no_grad():
        for batch in loader:
            model(batch[0] if isinstance(batch, (list, tuple)) else batch)
    for m, momentum in momenta.items():
        m.momentum = momentum
    model.train(was_training)
