"""Seeing inside a network: ``summary``, a ``Monitor`` gathered during ``fit``, the doctor (``diagnose``),
an HTML training report and a ``TensorBoard`` callback.

>>> import lucidnet as ln
>>> from lucidnet.inspect import Monitor, diagnose
>>> monitor = Monitor(every=25)   # fit(..., callbacks=[monitor]); then print(diagnose(monitor, history))
"""
from .doctor import Diagnosis, Finding, diagnose
from .monitor import Monitor, MonitorLog
from ..nn.summary import Summary, register_flops, summary
from .tensorboard import TensorBoard

__all__ = ["summary", "Summary", "register_flops", "Monitor", "MonitorLog", "diagnose", "Diagnosis", "Finding",
           "TensorBoard"]
