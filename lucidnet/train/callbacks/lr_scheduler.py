"""``LRSchedulerCallback``: step a learning-rate scheduler from the training loop."""
from __future__ import annotations

from typing import Any

from .base import Callback, monitored

__all__ = ["LRSchedulerCallback", "is_plateau"]


def is_plateau(scheduler: Any) -> bool:
    """Whether ``scheduler`` wants a metric in ``step`` (``ReduceLROnPlateau`` and look-alikes)."""
    from ...optim.lr_scheduler import ReduceLROnPlateau

    return isinstance(scheduler, ReduceLROnPlateau) or type(scheduler).__name__ == "ReduceLROnPlateau"


class LRSchedulerCallback(Callback):
    """Call ``scheduler.step()`` after every epoch (``interval="epoch"``) or every optimizer step
    (``interval="step"``), as PyTorch training loops do (always after ``optimizer.step()``).

    A ``ReduceLROnPlateau`` gets the monitored quantity: ``scheduler.step(logs[monitor])`` at each epoch end
    (``monitor`` defaults to ``"val_loss"``, or ``"loss"`` when the run has no validation data).
    A ``CosineAnnealingTimeLR`` gets the training time so far: ``scheduler.step(trainer.elapsed)``.
    Its state is saved in training checkpoints, so a resumed run continues the schedule.

    >>> import lucidnet as ln
    >>> w = ln.nn.Parameter(ln.zeros(1))
    >>> opt = ln.optim.SGD([w], lr=1.0)
    >>> cb = LRSchedulerCallback(ln.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5))
    """

    def __init__(self, scheduler: Any, interval: str = "epoch", monitor: str | None = None,
                 save_state: bool = True):
        if interval not in ("epoch", "step", "batch"):
            raise ValueError(f"LRSchedulerCallback: interval must be 'epoch' or 'step', got {interval!r}")
        if not hasattr(scheduler, "step"):
            raise TypeError(f"LRSchedulerCallback: expected a scheduler with step(), got {type(scheduler).__name__}")
        self.scheduler = scheduler
        self.plateau = is_plateau(scheduler)
        from ...optim.lr_scheduler import CosineAnnealingTimeLR

        self.by_time = isinstance(scheduler, CosineAnnealingTimeLR)
        if self.plateau and interval != "epoch":
            raise ValueError("LRSchedulerCallback: ReduceLROnPlateau steps once per epoch with a metric; "
                             "use interval='epoch'")
        self.interval = "step" if interval == "batch" else interval
        self.monitor = monitor
        self.save_state = save_state  # False when the trainer saves the scheduler itself

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        if self.monitor is None:
            self.monitor = "val_loss" if self.trainer.has_validation else "loss"

    def on_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        if self.interval == "step":
            self._step()

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if self.interval != "epoch":
            return
        if self.plateau:
            value = monitored(logs, self.monitor or "val_loss", "LRSchedulerCallback(ReduceLROnPlateau)")
            if value is not None:
                self.scheduler.step(value)
        else:
            self._step()

    def _step(self) -> None:
        if self.by_time:
            self.scheduler.step(self.trainer.elapsed)
        else:
            self.scheduler.step()

    def state_dict(self) -> dict[str, Any]:
        if not self.save_state or not hasattr(self.scheduler, "state_dict"):
            return {}
        return {"scheduler": self.scheduler.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if "scheduler" in state:
            self.scheduler.load_state_dict(state["scheduler"])
