"""A frozen pretrained encoder and a trained head: logistic regression on sentence embeddings.

The encoder's embeddings of every text are computed once (no graph, batches of similar lengths); the head
(the model's ``classifier``, a linear layer) is then trained on them by the one training loop, the epoch
picked by dev accuracy. The encoder's weights never change (its parameters are frozen).
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ..nn.inference import inference
from ..nn.utils import freeze
from ..optim.factory import build_optimizer
from ..tensor import Tensor
from ..train import EVAL_BATCH_SIZE, Callback, EarlyStopping, fit
from .batching import SequenceDataset, bucket_batches

__all__ = ["embed_dataset", "fit_head"]


def embed_dataset(model: Any, ds: SequenceDataset, batch_size: int = EVAL_BATCH_SIZE) -> np.ndarray:
    """``model.embed(tokens, lengths)`` of every sequence of ``ds``, in its order: (N, hidden) float32."""
    out = None
    with inference(model):
        for idx in bucket_batches(ds.lengths, batch_size, shuffle=False):
            tokens, lengths = ds.get_batch(idx)[:2]
            e = model.embed(Tensor(tokens), Tensor(lengths)).array
            if out is None:
                out = np.zeros((len(ds), e.shape[1]), dtype=e.dtype)
            out[idx] = e
    return out if out is not None else np.zeros((0, 0), dtype=np.float32)


def fit_head(model: Any, train_ds: SequenceDataset, dev_ds: SequenceDataset, tcfg: dict, *,
             callbacks: Sequence[Callback] = (), verbose: int = 1) -> tuple[Any, EarlyStopping]:
    """Freeze every parameter of ``model`` but its ``classifier``, and train that on the embeddings of
    ``train_ds`` (cross-entropy, ``tcfg``'s optimizer, lr, weight decay, epochs and batch size), keeping the
    epoch of best dev accuracy. Returns (history, the early-stopping callback)."""
    freeze(model)
    for p in model.classifier.parameters():
        p.requires_grad_(True)
    x_train, x_dev = embed_dataset(model, train_ds), embed_dataset(model, dev_ds)
    epochs = int(tcfg["epochs"])
    opt = build_optimizer(tcfg["optimizer"], model.classifier.parameters(), lr=float(tcfg["lr"]),
                          weight_decay=tcfg.get("weight_decay"))
    stop = EarlyStopping("val_accuracy", mode="max", patience=int(tcfg.get("patience", epochs)),
                         restore_best_weights=True)
    history = fit(model.classifier, (x_train, train_ds.labels), loss="cross_entropy", optimizer=opt, epochs=epochs,
                  batch_size=int(tcfg["batch_size"]), val_data=(x_dev, dev_ds.labels), metrics=["accuracy"],
                  callbacks=[*callbacks, stop], verbose=verbose)
    return history, stop
