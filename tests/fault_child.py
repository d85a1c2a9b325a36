"""The training run that the fault-injection harness (``fault_harness``) kills, starves of disk and poisons with NaN:
a small MLP with dropout and batch norm, Adam and a step-wise LR schedule, fit on fixed synthetic data with a
training checkpoint after every step (``fit(checkpoint=..., checkpoint_every=1, resume=True)``), so that a
resumed run must restore the model, the optimizer, the schedule, the data order, the RNG and the epoch's running
metrics to finish bit-identical to one that never stopped.

    python tests/fault_child.py CHECKPOINT FINAL [--epochs N] [--fsize-after STEP] [--die-in-write STEP]
        [--nan-at SAMPLE] [--nan-target]

Prints ``ready`` once set up (a throwaway model trained on a few batches first, so the compiled kernels are loaded
and the harness's kill, timed from there, lands in the training), then trains and writes the final weights to
FINAL (``lucidnet.save``). ``--fsize-after STEP``: from that step on, files may not grow past 1 KB
(RLIMIT_FSIZE, SIGXFSZ ignored), so the next checkpoint write fails with "File too large". ``--die-in-write
STEP``: the process SIGKILLs itself inside the checkpoint write of that step, its bytes written and fsynced,
just before the rename that would publish them (the test-only hook of the harness). ``--nan-at SAMPLE``:
that training sample's features are NaN (``--nan-target``: its regression target instead, the loss then MSE).
An error is printed as ``error: TYPE: MESSAGE`` with exit status 3.
"""
from __future__ import annotations

import argparse
import os
import resource
import signal
import sys
from typing import Sequence

import numpy as np

import lucidnet as ln
from lucidnet.serialization.atomic import remove_stale_temps
from lucidnet import nn
from lucidnet.train import Callback, TerminateOnNaN

SAMPLES, FEATURES, CLASSES, BATCH = 256, 20, 4, 16


def data(nan_at: int | None = None, nan_target: bool = False) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(SAMPLES, FEATURES)).astype(np.float32)
    if nan_target:
        y = x[:, :1] * 2.0
        if nan_at is not None:
            y[nan_at] = np.nan
        return x, y
    y = (x[:, :CLASSES].argmax(1)).astype(np.int64)
    if nan_at is not None:
        x[nan_at] = np.nan
    return x, y


def model(outputs: int = CLASSES) -> nn.Module:
    ln.manual_seed(0)
    return nn.Sequential(nn.Linear(FEATURES, 64), nn.BatchNorm1d(64), nn.ReLU(), nn.Dropout(0.2),
                         nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, outputs))


class DieInWrite(Callback):
    """At step ``step``, the next ``os.replace`` (the atomic rename that ends a checkpoint write) kills us."""

    def __init__(self, step: int):
        self.step = step

    def on_batch_begin(self, batch, logs=None):
        if self.trainer.global_step + 1 == self.step:
            def die(src, dst):
                os.kill(os.getpid(), signal.SIGKILL)
            os.replace = die


class FileSizeLimit(Callback):
    """From step ``after`` on, the process may not write files past 1 KB."""

    def __init__(self, after: int):
        self.after = after

    def on_batch_begin(self, batch, logs=None):
        if self.trainer.global_step + 1 >= self.after:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (1024, resource.RLIM_INFINITY))


def main(argv: list[str] | None = None, extra: Sequence[Callback] = ()) -> int:
    """The run of the module docstring (``extra``: callbacks an in-process test adds)."""
    p = argparse.ArgumentParser()
    p.add_argument("checkpoint")
    p.add_argument("final")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--fsize-after", type=int, default=None)
    p.add_argument("--die-in-write", type=int, default=None)
    p.add_argument("--nan-at", type=int, default=None)
    p.add_argument("--nan-target", action="store_true")
    args = p.parse_args(argv)
    x, y = data(args.nan_at, args.nan_target)
    net = model(1 if args.nan_target else CLASSES)
    opt = ln.optim.Adam(net.parameters(), lr=3e-3)
    sched = ln.optim.lr_scheduler.StepLR(opt, step_size=7, gamma=0.9)
    callbacks = [TerminateOnNaN(verbose=0)]
    if args.fsize_after is not None:
        callbacks.append(FileSizeLimit(args.fsize_after))
    if args.die_in_write is not None:
        callbacks.append(DieInWrite(args.die_in_write))
    callbacks.extend(extra)
    ln.fit(model(1 if args.nan_target else CLASSES), (x[:48], y[:48]),
           loss="mse" if args.nan_target else "cross_entropy", epochs=1, batch_size=BATCH, verbose=0)  # warm-up
    print("ready", flush=True)
    try:
        ln.manual_seed(1)
        ln.fit(net, (x, y), loss="mse" if args.nan_target else "cross_entropy", optimizer=opt, scheduler=sched,
               scheduler_interval="step", epochs=args.epochs, batch_size=BATCH, verbose=0, callbacks=callbacks,
               checkpoint=args.checkpoint, checkpoint_every=1, resume=True)
    except Exception as e:
        print(f"error: {type(e).__name__}: {e}", flush=True)
        return 3
    if callbacks[0].terminated:
        print(f"nan: {callbacks[0].reason}", flush=True)
    # this program is the final file's one writer: what a killed run of it left half-written goes first
    remove_stale_temps(args.final)
    ln.save(net.state_dict(), args.final)
    print("done", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
