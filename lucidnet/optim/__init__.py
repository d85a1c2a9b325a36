"""Optimizers, learning-rate schedules and gradient clipping (PyTorch's ``torch.optim`` update rules).

>>> import lucidnet as ln
>>> w = ln.tensor([2.0], requires_grad=True)
>>> opt = ln.optim.Adam([w], lr=0.1)
>>> sched = ln.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=10)
>>> for _ in range(3):
...     opt.zero_grad(); (w * w).sum().backward(); opt.step(); sched.step()
>>> bool(w.data[0] < 2.0)
True
"""
from . import lr_scheduler
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .clip import clip_grad_norm_, clip_grad_value_
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "lr_scheduler", "clip_grad_norm_",
           "clip_grad_value_"]
