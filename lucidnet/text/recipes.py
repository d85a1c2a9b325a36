"""Recipes for the text tasks (model config + training settings), shared by ``lucidnet train --dataset sst2 |
tinyshakespeare`` and scripts: ``train_classifier`` (sentence classification, model picked by dev accuracy)
and ``train_char_lm`` (a character language model trained by truncated BPTT).

Model selection never sees test data: the classifier keeps the weights of the epoch with the best accuracy
on the dev split; test accuracy is measured once, after training.

>>> sorted(RECIPES)
['bilstm', 'char-lstm', 'lstm', 'textcnn']
"""
from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

from .. import models, optim
from ..data import StreamLoader
from ..train import EVAL_BATCH_SIZE, Callback, EarlyStopping, History, TBPTTStep, Trainer, evaluate, fit
from .batching import BucketLoader, SequenceDataset
from .lm import evaluate_lm
from .tokenize import tokenize
from .vocab import CharVocab, Vocab

__all__ = ["RECIPES", "CLASSIFIERS", "LANGUAGE_MODELS", "ClassifierRun", "LMRun", "train_classifier",
           "train_char_lm", "drop_overlap"]

# name -> {"model": registry config without the sizes that come from the data, "train": settings}
RECIPES: dict[str, dict[str, Any]] = {
    "textcnn": {"model": {"name": "textcnn", "embed_dim": 128, "num_filters": 100, "kernel_sizes": [3, 4, 5],
                          "dropout": 0.5},
                "train": {"epochs": 6, "batch_size": 50, "lr": 1e-3, "min_freq": 1, "patience": 3}},
    "lstm": {"model": {"name": "lstm_classifier", "embed_dim": 128, "hidden_size": 128, "num_layers": 1,
                       "bidirectional": False, "pooling": "max", "dropout": 0.5},
             "train": {"epochs": 8, "batch_size": 64, "lr": 2e-3, "min_freq": 1, "patience": 3}},
    "bilstm": {"model": {"name": "lstm_classifier", "embed_dim": 128, "hidden_size": 128, "num_layers": 2,
                         "bidirectional": True, "pooling": "max", "dropout": 0.5},
               "train": {"epochs": 8, "batch_size": 64, "lr": 2e-3, "min_freq": 1, "word_dropout": 0.1}},
    "char-lstm": {"model": {"name": "char_lstm", "embed_dim": 64, "hidden_size": 256, "num_layers": 2,
                            "dropout": 0.1},
                  "train": {"epochs": 14, "batch_size": 64, "seq_len": 128, "lr": 2e-3, "clip": 5.0,
                            "max_minutes": None, "val_batch_size": 1}},
}
CLASSIFIERS = ("lstm", "bilstm", "textcnn")
LANGUAGE_MODELS = ("char-lstm",)


def recipe(name: str, model_overrides: dict[str, Any] | None = None,
           train_overrides: dict[str, Any] | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(model config, train settings)`` of recipe ``name`` with the non-None overrides applied."""
    if name not in RECIPES:
        raise ValueError(f"unknown text recipe {name!r}; known: {', '.join(sorted(RECIPES))}")
    r = copy.deepcopy(RECIPES[name])
    r["model"].update({k: v for k, v in (model_overrides or {}).items() if v is not None})
    r["train"].update({k: v for k, v in (train_overrides or {}).items() if v is not None})
    return r["model"], r["train"]


def drop_overlap(texts: Sequence[list[str]], labels: np.ndarray,
                 held_out: Sequence[Sequence[list[str]]]) -> tuple[list[list[str]], np.ndarray, int]:
    """The training token lists (and labels) without those equal to a held-out one; and how many were dropped."""
    seen = {tuple(t) for group in held_out for t in group}
    keep = [i for i, t in enumerate(texts) if tuple(t) not in seen]
    return [texts[i] for i in keep], labels[keep], len(texts) - len(keep)


@dataclass
class _Run:
    """What every text recipe returns: the trained model, its vocabulary, the epoch-by-epoch history, the model
    config, the training settings, and the time taken."""

    model: Any
    vocab: Vocab
    history: History
    config: dict[str, Any]
    train: dict[str, Any]
    seconds: float


@dataclass
class ClassifierRun(_Run):
    """A classifier run, with the epoch chosen on dev (0-based), its dev accuracy and the test accuracy."""

    best_epoch: int = -1
    dev_accuracy: float = float("nan")
    test_accuracy: float | None = None
    info: dict[str, Any] = field(default_factory=dict)

def train_classifier(name: str, train: tuple[Sequence[str], np.ndarray], dev: tuple[Sequence[str], np.ndarray],
                     test: tuple[Sequence[str], np.ndarray] | None = None, num_classes: int = 2, *,
                     model_overrides: dict[str, Any] | None = None, train_overrides: dict[str, Any] | None = None,
                     tokenizer: Callable[[str], list[str]] = tokenize, callbacks: Sequence[Callback] = (),
                     verbose: int = 1, checkpoint: Any = None, resume: bool = False, schedule: str = "cosine",
                     on_vocab: Callable[[Vocab], None] | None = None) -> ClassifierRun:
    """Train recipe ``name`` on ``train`` = (texts, labels); pick the epoch by accuracy on ``dev``; report the
    accuracy on ``test``. Training texts equal (as tokens) to a dev or test text are dropped first. ``schedule``:
    "constant", or else cosine decay of the learning rate to 0 over the epochs, per step.
    ``on_vocab``: called with the vocabulary as soon as it is built (to save it beside a checkpoint)."""
    t0 = time.perf_counter()
    mcfg, tcfg = recipe(name, model_overrides, train_overrides)
    tok_train = [tokenizer(t) for t in train[0]]
    tok_dev = [tokenizer(t) for t in dev[0]]
    tok_test = [tokenizer(t) for t in test[0]] if test is not None else []
    tok_train, y_train, dropped = drop_overlap(tok_train, np.asarray(train[1], dtype=np.int64), [tok_dev, tok_test])
    vocab = Vocab.build(tok_train, min_freq=int(tcfg["min_freq"]), max_size=tcfg.get("max_vocab"))
    if on_vocab is not None:
        on_vocab(vocab)
    mcfg.update(vocab_size=len(vocab), num_classes=num_classes, padding_idx=vocab.pad_id)
    model = models.build(mcfg)
    min_len = int(getattr(model, "min_length", 1))

    def data(tokens: list[list[str]], labels: Any, word_dropout: float = 0.0) -> SequenceDataset:
        return SequenceDataset([vocab.encode(t) if t else vocab.encode([vocab.unk_token]) for t in tokens],
                               np.asarray(labels, dtype=np.int64), pad_id=vocab.pad_id, min_len=min_len,
                               word_dropout=word_dropout, unk_id=vocab.unk_id)

    train_ds = data(tok_train, y_train, float(tcfg.get("word_dropout", 0.0)))
    dev_ds = data(tok_dev, dev[1])
    epochs, bs = int(tcfg["epochs"]), int(tcfg["batch_size"])
    opt = optim.Adam(model.parameters(), lr=float(tcfg["lr"]), weight_decay=float(tcfg.get("weight_decay", 0.0)))
    train_loader = BucketLoader(train_ds, bs)
    sched = (None if schedule == "constant" else
             optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs * len(train_loader)))
    stop = EarlyStopping("val_accuracy", mode="max", patience=int(tcfg.get("patience", epochs)),
                         restore_best_weights=True)
    history = fit(model, train_loader, loss="cross_entropy", optimizer=opt, epochs=epochs,
                  val_data=BucketLoader(dev_ds, EVAL_BATCH_SIZE, shuffle=False), metrics=["accuracy"], verbose=verbose,
                  callbacks=[*callbacks, stop], checkpoint=checkpoint, resume=True if resume else None,
                  scheduler=sched, scheduler_interval="step")
    seconds = time.perf_counter() - t0
    test_acc = None
    if test is not None:
        test_acc = float(evaluate(model, BucketLoader(data(tok_test, test[1]), EVAL_BATCH_SIZE, shuffle=False),
                                  metrics=["accuracy"])["accuracy"])
    best = stop.best_epoch
    dev_acc = float(history.history["val_accuracy"][history.epoch.index(best)]) if best >= 0 else float("nan")
    return ClassifierRun(model, vocab, history, models.config_of(model), {**tcfg, "schedule": schedule}, seconds,
                         best_epoch=best,
                         dev_accuracy=dev_acc, test_accuracy=test_acc,
                         info={"train_texts": len(tok_train), "dropped_overlap": dropped})


@dataclass
class LMRun(_Run):
    """A language-model run, with the final validation loss (nats per character)."""

    val_loss: float = float("nan")

def train_char_lm(name: str, train_text: str, val_text: str, *, vocab_text: str | None = None,
                  model_overrides: dict[str, Any] | None = None, train_overrides: dict[str, Any] | None = None,
                  callbacks: Sequence[Callback] = (), verbose: int = 1, checkpoint: Any = None,
                  resume: bool = False, schedule: str = "cosine",
                  on_vocab: Callable[[CharVocab], None] | None = None) -> LMRun:
    """Train recipe ``name`` (a character LM) on ``train_text`` by TBPTT with gradient clipping; the validation
    loss (nats/char) is ``val_text`` read straight through with the state carried. The characters of
    ``vocab_text`` (default: both texts) make the vocabulary. ``schedule``: "constant", or else cosine decay to 0
    over the epochs, per step; with ``max_minutes`` in the settings, the run is a time budget instead: the decay
    runs over that much training time (``CosineAnnealingTimeLR``) and ``epochs`` is only a cap (default
    1000 when the settings leave it at the recipe's)."""
    max_minutes = (train_overrides or {}).get("max_minutes")
    if max_minutes is None:
        max_minutes = RECIPES.get(name, {}).get("train", {}).get("max_minutes")
    if max_minutes is not None and (train_overrides or {}).get("epochs") is None:
        train_overrides = {**(train_overrides or {}), "epochs": 1000}
    mcfg, tcfg = recipe(name, model_overrides, train_overrides)
    vocab = CharVocab.build([vocab_text if vocab_text is not None else train_text + val_text])
    if on_vocab is not None:
        on_vocab(vocab)
    mcfg.update(vocab_size=len(vocab))
    model = models.build(mcfg)
    train_ids, val_ids = vocab.encode(train_text), vocab.encode(val_text)
    bs, t = int(tcfg["batch_size"]), int(tcfg["seq_len"])
    opt = optim.Adam(model.parameters(), lr=float(tcfg["lr"]))
    loader = StreamLoader(train_ids, bs, t)
    max_seconds = None if max_minutes is None else 60.0 * float(max_minutes)
    sched: Any = None
    if schedule != "constant":
        sched = (optim.lr_scheduler.CosineAnnealingTimeLR(opt, max_seconds) if max_seconds is not None else
                 optim.lr_scheduler.CosineAnnealingLR(opt, T_max=int(tcfg["epochs"]) * len(loader)))
    step = TBPTTStep(t, val_batch_size=int(tcfg.get("val_batch_size", 1)))
    trainer = Trainer(model, optimizer=opt, scheduler=sched, scheduler_interval="step", callbacks=callbacks,
                      verbose=verbose, clip_grad_norm=tcfg.get("clip"), step=step)
    history = trainer.fit(loader, int(tcfg["epochs"]), val_data=val_ids, max_seconds=max_seconds,
                          checkpoint=checkpoint, resume=True if resume else None)
    vals = history.history.get("val_loss") or [None]
    val_loss = vals[-1]
    if val_loss is None or int(tcfg.get("val_batch_size", 1)) != 1:
        val_loss = evaluate_lm(model, val_ids, batch_size=1)
    return LMRun(model, vocab, history, models.config_of(model), {**tcfg, "schedule": schedule}, trainer.elapsed,
                 val_loss=float(val_loss))
