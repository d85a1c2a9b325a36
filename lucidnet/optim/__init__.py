"""Optimizers and learning-rate schedules (PyTorch's ``torch.optim`` update rules). Gradient clipping is
``lucidnet.nn.utils.clip_grad_norm_``, as in PyTorch.

>>> import lucidnet as ln
>>> w = ln.tensor([2.0], requires_grad=True)
>>> opt = ln.optim.Adam([w], lr=0.1)
>>> sched = ln.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=10)
>>> for _ in range(3):
...     opt.zero_grad(); (w * w).sum().backward(); opt.step(); sched.step()
>>> bool(w.data[0] < 2.0)
True
"""
from . import lr_scheduler, swa_utils
from .adadelta import Adadelta
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .lbfgs import LBFGS
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "LBFGS", "lr_scheduler", "swa_utils"]
