"""Knowledge distillation: a small student network learns from a larger teacher's outputs.

:class:`KDLoss` is the loss of Hinton, Vinyals and Dean, "Distilling the knowledge in a neural network" (2015):
the student matches the teacher's class probabilities softened by a temperature, and, with weight
``1 - alpha``, the true labels. The teacher's logits may be computed on the fly or once, before training
(:func:`teacher_logits`): a text recipe distils a fine-tuned MiniLM into a BiLSTM that way
(``lucidnet train --dataset sst2 --model bilstm-distilled --teacher RUN``).

>>> import lucidnet as ln
>>> from lucidnet.distill import KDLoss
>>> student, teacher = ln.randn(4, 3, requires_grad=True), ln.randn(4, 3)
>>> loss = KDLoss(temperature=2.0, alpha=0.9)(student, teacher, ln.tensor([0, 2, 1, 0]))
>>> loss.backward()
>>> student.grad.shape
(4, 3)
"""
from .loss import KDLoss, kd_loss, teacher_logits

__all__ = ["KDLoss", "kd_loss", "teacher_logits"]
