"""The distillation loss, and a teacher's logits computed once for a whole dataset."""
from __future__ import annotations

from typing import Any, Callable, Iterable

import numpy as np

from ..nn import functional as F
from ..nn.inference import inference
from ..nn.module import Module
from ..tensor import Tensor, from_numpy

__all__ = ["KDLoss", "kd_loss", "teacher_logits"]

SOFT_LOSSES = ("kl", "mse")


def _check(temperature: float, alpha: float, soft: str) -> None:
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float)) or not temperature > 0:
        raise ValueError(f"KDLoss: temperature must be a positive number, got {temperature!r}")
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0.0 <= alpha <= 1.0:
        raise ValueError(f"KDLoss: alpha (the weight of the teacher's soft targets) must be in [0, 1], got {alpha!r}")
    if soft not in SOFT_LOSSES:
        raise ValueError(f"KDLoss: soft must be one of {', '.join(SOFT_LOSSES)}, got {soft!r}")


def kd_loss(student: Tensor, teacher: Any, target: Any = None, temperature: float = 1.0, alpha: float = 0.5,
            soft: str = "kl", ignore_index: int = -100) -> Tensor:
    """``alpha * soft + (1 - alpha) * cross_entropy(student, target)``, where ``soft`` is ``"kl"``:
    ``T^2 KL(softmax(teacher / T) || softmax(student / T))`` per sample, averaged (Hinton et al.; the ``T^2``
    keeps the gradients' scale as ``T`` changes), or ``"mse"``: the mean squared difference of the logits (Tang
    et al. 2019, distilling BERT into a BiLSTM). ``student`` and ``teacher``: logits (N, C); ``teacher`` gets
    no gradient. ``target``: class indices (N,), ``ignore_index`` for samples without a label (augmented ones);
    None: the soft part alone (``alpha`` is then not used). Samples whose labels are all ignored add no hard
    part.
    """
    _check(temperature, alpha, soft)
    if not isinstance(student, Tensor) or student.ndim != 2:
        raise ValueError(f"KDLoss: the student's logits must be a (N, C) Tensor, got "
                         f"{getattr(student, 'shape', type(student).__name__)}")
    t = teacher.detach() if isinstance(teacher, Tensor) else from_numpy(np.asarray(teacher, dtype=student.dtype))
    if tuple(t.shape) != tuple(student.shape):
        raise ValueError(f"KDLoss: the teacher's logits have shape {tuple(t.shape)}, the student's "
                         f"{tuple(student.shape)}: they must be equal (the same samples and classes)")
    if t.dtype != student.dtype:
        raise TypeError(f"KDLoss: the teacher's logits are {t.dtype}, the student's {student.dtype}; convert one "
                        "explicitly: lucidnet does not upcast silently")
    if soft == "mse":
        soft_part = F.mse_loss(student, t)
    else:
        T = float(temperature)
        soft_part = F.kl_div(F.log_softmax(student / T, dim=1), F.softmax(t / T, dim=1),
                             reduction="batchmean") * (T * T)
    if target is None or alpha == 1.0:
        return soft_part
    labels = target.array if isinstance(target, Tensor) else np.asarray(target)
    if labels.shape != (student.shape[0],):
        raise ValueError(f"KDLoss: target must hold one class index per sample, shape ({student.shape[0]},), "
                         f"got {labels.shape}")
    if not (labels != ignore_index).any():
        return soft_part
    return soft_part * alpha + F.cross_entropy(student, target, ignore_index=ignore_index) * (1.0 - alpha)


class KDLoss(Module):
    """Knowledge-distillation loss: ``KDLoss(temperature, alpha)(student_logits, teacher_logits, target=None)``
    (see :func:`kd_loss`): ``alpha`` weighs the teacher's softened probabilities, ``1 - alpha`` the labels.

    >>> import lucidnet as ln
    >>> z = ln.tensor([[2.0, -1.0], [0.5, 0.5]])
    >>> abs(KDLoss(temperature=4.0, alpha=1.0)(z, z).item()) < 1e-6   # a student equal to its teacher
    True
    """

    def __init__(self, temperature: float = 1.0, alpha: float = 0.5, soft: str = "kl", ignore_index: int = -100):
        super().__init__()
        _check(temperature, alpha, soft)
        self.temperature, self.alpha, self.soft, self.ignore_index = float(temperature), float(alpha), soft, ignore_index

    def forward(self, student: Tensor, teacher: Any, target: Any = None) -> Tensor:
        return kd_loss(student, teacher, target, self.temperature, self.alpha, self.soft, self.ignore_index)

    def extra_repr(self) -> str:
        return f"temperature={self.temperature}, alpha={self.alpha}, soft={self.soft!r}"


def teacher_logits(teacher: Callable, batches: Iterable[tuple], dtype: Any = np.float32) -> np.ndarray:
    """The teacher's outputs on ``batches`` (tuples of its inputs, in a fixed order), concatenated (N, C) as a
    NumPy array: soft targets computed once, before the student trains. Eval mode, no graph; the teacher's mode
    is restored.

    >>> import lucidnet as ln
    >>> teacher = ln.nn.Linear(3, 2)
    >>> teacher_logits(teacher, [(ln.randn(4, 3),), (ln.randn(2, 3),)]).shape
    (6, 2)
    """
    out = []
    with inference(teacher):
        for inputs in batches:
            z = teacher(*inputs)
            out.append(np.asarray(z.array if isinstance(z, Tensor) else z, dtype=dtype))
    if not out:
        raise ValueError("teacher_logits: no batches were given")
    return np.concatenate(out)
