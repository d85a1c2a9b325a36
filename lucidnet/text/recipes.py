"""Recipes for the text tasks (model config + training settings + data): sentence classification on SST-2
(``train_classifier``: the model picked by dev accuracy), a character language model on Tiny Shakespeare
(``train_char_lm``: truncated BPTT) and German-English translation on Multi30k (``translation.
train_translator``: the epoch picked by validation loss, BLEU on the test set); ``lucidnet train --dataset
sst2 | tinyshakespeare | multi30k`` and ``lucidnet.train.recipe.run(RECIPES[NAME])`` run them. ``minilm``
fine-tunes a pretrained BERT (all-MiniLM-L6-v2, or ``pretrained=DIR``) with its WordPiece tokenizer;
``minilm-frozen`` trains logistic regression on its frozen sentence embeddings.

SST-2: trained on the 67,349 labelled phrases (``glue-train.tsv``, less any phrase equal to a dev or test
sentence), the epoch picked by accuracy on the sentence-level dev split, accuracy reported once on the
sentence-level test split. Tiny Shakespeare: trained on the first 90% of the text by truncated BPTT with
gradient clipping, the validation loss (nats/char) measured on the last 10% read straight through with the
state carried. A run directory holds the usual files plus ``vocab.json`` or ``tokenizer.json`` (and a
language model's or translator's ``sample.txt``, a translator's ``attention.json``).

>>> sorted(RECIPES)
['attention-gru', 'bilstm', 'bilstm-distilled', 'char-lstm', 'lstm', 'minilm', 'minilm-frozen', 'textcnn', 'transformer']
>>> RECIPES["bilstm"].task, RECIPES["transformer"].dataset
('text-classification', 'multi30k')
"""
from __future__ import annotations

import math
import os
import time
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from .. import __version__, models, optim
from ..data import StreamLoader
from ..datasets.multi30k import Multi30k
from ..datasets.sst2 import SST2
from ..datasets.tinyshakespeare import TinyShakespeare, split_text
from ..inspect import Monitor
from ..inspect.report import finish_run
from ..optim.factory import build_optimizer, build_scheduler
from ..optim.groups import param_groups
from ..random import generator, manual_seed
from ..train import (EVAL_BATCH_SIZE, Callback, CSVLogger, EarlyStopping, TBPTTStep, Trainer, WeightAveraging, fit,
                     predict, rundir)
from ..train import evaluate as evaluate_model
from ..train.metrics import confusion_matrix
from ..train.recipe import Recipe, Run, RunOptions, data_dir
from .batching import BucketLoader, SequenceDataset
from .classify import predict_proba
from .files import FILE_SETTINGS, read_texts, text_splits
from .generate import generate
from .lm import evaluate_lm
from .subword import SubwordTokenizer
from .tokenize import tokenize
from .translation import attention_examples, bleu, train_translator, translate
from .vocab import CharVocab, Vocab, load_vocab
from .wordpiece import WordPieceTokenizer

__all__ = ["RECIPES", "CLASSIFIERS", "LANGUAGE_MODELS", "TRANSLATORS", "DATASETS", "TASKS", "train_classifier",
           "train_char_lm", "drop_overlap", "evaluate", "load_text_run", "predict_texts", "translate_texts"]

DATASETS = ("sst2", "tinyshakespeare", "multi30k", "text-file")
TASKS = ("text-classification", "language-model", "translation")
CLASSIFIERS = ("lstm", "bilstm", "bilstm-distilled", "textcnn", "minilm", "minilm-frozen")
LANGUAGE_MODELS = ("char-lstm",)
TRANSLATORS = ("transformer", "attention-gru")
_DATASET_OF = {"text-classification": "sst2", "language-model": "tinyshakespeare", "translation": "multi30k"}
_CLASSIFY = {"optimizer": "adam", "schedule": "cosine", "min_freq": 1}


def _recipe(name: str, task: str, model: dict, train: dict, description: str, data: dict | None = None) -> Recipe:
    if task == "text-classification":  # SST-2, or a file of the user's own labelled texts
        return Recipe(name, family="text", task=task, datasets=("sst2", "text-file"), model=model, train=train,
                      runner=_run, data={**FILE_SETTINGS, **(data or {})}, description=description,
                      applies={k: ("text-file",) for k in FILE_SETTINGS})
    return Recipe(name, family="text", task=task, datasets=(_DATASET_OF[task],), model=model, train=train,
                  runner=_run, data=data or {}, description=description)


def _get(recipe: Recipe | str) -> Recipe:
    if isinstance(recipe, Recipe):
        return recipe
    if recipe not in RECIPES:
        raise ValueError(f"unknown text recipe {recipe!r}; known: {', '.join(sorted(RECIPES))}")
    return RECIPES[recipe]


def kept(texts: Sequence[list[str]], held_out: Sequence[Sequence[list[str]]]) -> list[int]:
    """The indices of the training token lists that equal no held-out one."""
    seen = {tuple(t) for group in held_out for t in group}
    return [i for i, t in enumerate(texts) if tuple(t) not in seen]


def drop_overlap(texts: Sequence[list[str]], labels: np.ndarray,
                 held_out: Sequence[Sequence[list[str]]]) -> tuple[list[list[str]], np.ndarray, int]:
    """The training token lists (and labels) without those equal to a held-out one; and how many were dropped."""
    keep = kept(texts, held_out)
    return [texts[i] for i in keep], labels[keep], len(texts) - len(keep)


def train_classifier(recipe: Recipe | str, train: tuple[Sequence[str], np.ndarray],
                     dev: tuple[Sequence[str], np.ndarray], test: tuple[Sequence[str], np.ndarray] | None = None,
                     num_classes: int = 2, *, overrides: dict[str, Any] | None = None,
                     tokenizer: Callable[[str], list[str]] = tokenize, callbacks: Sequence[Callback] = (),
                     verbose: int = 1, checkpoint: Any = None, resume: bool = False,
                     on_vocab: Callable[[Any], None] | None = None, classes: Sequence[str] | None = None) -> Run:
    """Train text-classification ``recipe`` (a ``Recipe`` or its name) with ``overrides`` on ``train`` =
    (texts, labels); pick the epoch by accuracy on ``dev``; report the accuracy on ``test``. Training texts
    equal (as tokens) to a dev or test text are dropped first. A recipe whose model names ``pretrained`` (a
    BERT folder or a name of ``text.pretrained.PRETRAINED``) starts from those weights and their WordPiece
    tokenizer; with ``freeze`` it trains only the head (logistic regression on the sentence embeddings, computed
    once). ``on_vocab``: called with the vocabulary (or tokenizer) as soon as it is ready (to save it beside a
    checkpoint). With ``val_check_interval`` (a training setting) dev is also evaluated inside the epochs, and
    the best of all those evaluations is kept. The ``Run``'s metrics: ``dev_accuracy`` (of the weights kept),
    ``best_epoch`` (0-based), ``best_step`` (the global step), ``dev_evaluations`` (``[{"epoch", "step",
    "val_accuracy", ...}]``, every one), ``test_accuracy``, ``train_texts``, ``dropped_overlap``; its artifacts:
    ``vocab``."""
    r = _get(recipe).with_overrides(overrides)
    mcfg, tcfg = dict(r.model), dict(r.train)
    distiller = _distiller(r.name, tcfg)
    t0 = time.perf_counter()
    pretrained, freeze = mcfg.pop("pretrained", None), bool(mcfg.pop("freeze", False))
    table = None  # the teacher's word embeddings, for a student that reads the teacher's tokens
    if pretrained is not None:
        from .pretrained import find_pretrained, load_tokenizer, read_config, read_weights
        folder = find_pretrained(pretrained)
        vocab = load_tokenizer(folder)
        ids = [vocab.encode(list(split[0])) for split in (train, dev, test or ((), ()))]
        ids[0], y_train, dropped = drop_overlap(ids[0], np.asarray(train[1], dtype=np.int64), ids[1:])
        mcfg.update(config=read_config(folder).to_dict(), num_classes=num_classes)
        pad_id, unk_id = vocab.pad_id, None
    else:
        toks = [[tokenizer(t) for t in split[0]] for split in (train, dev, test or ((), ()))]
        keep = kept(toks[0], toks[1:])
        dropped = len(toks[0]) - len(keep)
        toks[0], y_train = [toks[0][i] for i in keep], np.asarray(train[1], dtype=np.int64)[keep]
        if distiller is not None:  # distillation: augmented texts, the teacher's logits as targets
            toks[0], y_train, vocab, table = _distillation_set(tcfg, [train[0][i] for i in keep], toks[0], y_train,
                                                               tokenizer, classes)
        if table is not None:  # toks[0]: the teacher's WordPiece ids; the student reads them too
            given = mcfg.get("embed_dim")
            if given is not None and given != table.shape[1]:
                raise ValueError(f"recipe {r.name!r}: student_embeddings {tcfg['student_embeddings']!r} makes the "
                                 f"embeddings the teacher's, {table.shape[1]} wide; embed_dim {given} does not apply")
            ids = [toks[0], *([np.asarray(x, dtype=np.int64) for x in vocab.encode(list(split[0]))]
                              for split in (dev, test or ((), ())))]
            mcfg.update(vocab_size=vocab.vocab_size, embed_dim=table.shape[1])
        else:
            if mcfg.get("embed_dim", 0) is None:  # bilstm-distilled's own words: the bilstm recipe's width
                mcfg["embed_dim"] = RECIPES["bilstm"].model["embed_dim"]
            vocab = Vocab.build(toks[0], min_freq=int(tcfg["min_freq"]))
            ids = [[vocab.encode(t) if t else vocab.encode([vocab.unk_token]) for t in split] for split in toks]
            mcfg.update(vocab_size=len(vocab))
        mcfg.update(num_classes=num_classes, padding_idx=vocab.pad_id)
        pad_id, unk_id = vocab.pad_id, vocab.unk_id
    if on_vocab is not None:
        on_vocab(vocab)
    model = models.build(mcfg)
    if pretrained is not None:
        read_weights(folder / "model.safetensors", model, prefix="bert.", unused=("pooler.",))
    elif table is not None:
        model.embedding.weight.array[...] = table
        if tcfg["student_embeddings"] == "teacher-frozen":
            model.embedding.weight.requires_grad_(False)
    min_len = int(getattr(model, "min_length", 1))

    def data(split: int, labels: Any, word_dropout: float = 0.0) -> SequenceDataset:  # labels: or (N, C + 1) targets
        return SequenceDataset(ids[split], np.asarray(labels, dtype=np.int64), pad_id=pad_id, min_len=min_len,
                               word_dropout=word_dropout, unk_id=unk_id)

    train_ds, dev_ds = data(0, y_train, float(tcfg.get("word_dropout", 0.0))), data(1, dev[1])
    if freeze:
        from .frozen import fit_head
        history, stop = fit_head(model, train_ds, dev_ds, tcfg, callbacks=callbacks, verbose=verbose)
    else:
        loss, metric = "cross_entropy", "accuracy"
        if distiller is not None:
            from .distilled import TeacherAgreement
            loss, metric = distiller, TeacherAgreement("categorical")
        history, stop = _fit_classifier(model, train_ds, dev_ds, tcfg, callbacks=callbacks, verbose=verbose,
                                        checkpoint=checkpoint, resume=resume, loss=loss, metric=metric)
    seconds = time.perf_counter() - t0
    test_acc = None
    if test is not None:
        test_acc = float(evaluate_model(model, BucketLoader(data(2, test[1]), EVAL_BATCH_SIZE, shuffle=False),
                                        metrics=["accuracy"])["accuracy"])
    dev_acc = float(stop.best) if stop.best_epoch >= 0 else float("nan")
    metrics = {"dev_accuracy": dev_acc, "best_epoch": stop.best_epoch, "best_step": stop.best_step,
               "dev_evaluations": list(history.validations), "test_accuracy": test_acc,
               "train_texts": len(ids[0]), "dropped_overlap": dropped}
    return Run(model, history, metrics, {"model": models.config_of(model), "train": tcfg}, seconds,
               {"vocab": vocab})


def _distiller(name: str, tcfg: dict) -> Any:
    """The loss of a distillation recipe (one with a ``teacher`` setting), its settings checked; None for the others."""
    if "teacher" not in tcfg:
        return None
    if tcfg["teacher"] is None:
        raise ValueError(f"recipe {name!r} learns from a teacher: give a text-classification run directory as "
                         "teacher= (--teacher RUN), e.g. one of lucidnet train --dataset sst2 --model minilm")
    if not Path(tcfg["teacher"]).is_dir():
        raise FileNotFoundError(f"recipe {name!r}: the teacher {tcfg['teacher']} is not a run directory")
    copies = tcfg["augment_copies"]
    if isinstance(copies, bool) or not isinstance(copies, int) or copies < 0:
        raise ValueError(f"recipe {name!r}: augment_copies must be a non-negative int, got {copies!r}")
    from .distilled import STUDENT_EMBEDDINGS, DistillLoss
    if tcfg.get("student_embeddings", "random") not in STUDENT_EMBEDDINGS:
        raise ValueError(f"recipe {name!r}: student_embeddings must be one of {', '.join(STUDENT_EMBEDDINGS)}, got "
                         f"{tcfg['student_embeddings']!r}")
    return DistillLoss(tcfg["temperature"], tcfg["alpha"])


def _distillation_set(tcfg: dict, texts: Sequence[str], toks: list[list[str]], labels: np.ndarray,
                      tokenizer: Callable[[str], list[str]], classes: Sequence[str] | None) -> tuple:
    """The training set with ``augment_copies`` augmented variants of each text, and its targets (N, C + 1): the
    teacher's logits, then the class index (``distilled.IGNORE`` for a variant). For a student of its own words:
    (token lists, targets, None, None); for one that reads the teacher's tokens (``student_embeddings``
    ``teacher``): (the teacher's id lists, targets, the teacher's WordPiece tokenizer, its word embeddings)."""
    from .distilled import IGNORE, augmented, cached_soft_targets, load_teacher, teacher_inputs, word_embeddings

    teacher, teacher_vocab, _ = load_teacher(tcfg["teacher"], classes if classes is not None else [])
    table = None
    if tcfg.get("student_embeddings", "random") != "random":  # checked before the teacher's long work
        table = word_embeddings(teacher, teacher_vocab, tcfg["teacher"])
    variants = augmented(toks, tcfg["augment_copies"], generator())
    ids = teacher_inputs(teacher_vocab, texts, variants, tokenizer)
    z = cached_soft_targets(tcfg["teacher"], teacher, teacher_vocab, ids)  # computed once per teacher and inputs
    hard = np.concatenate([labels, np.full(len(variants), IGNORE, dtype=np.int64)]).astype(z.dtype)
    targets = np.concatenate([z, hard[:, None]], axis=1)
    if table is not None:
        return ids, targets, teacher_vocab, table
    student = toks + [["<unk>" if w is None else w for w in v] for v in variants]  # Vocab.build's unknown token
    return student, targets, None, None


def _fit_classifier(model: Any, train_ds: SequenceDataset, dev_ds: SequenceDataset, tcfg: dict, *,
                    loss: Any = "cross_entropy", metric: Any = "accuracy", **fit_kw: Any):
    """Train the whole classifier, the weights picked by dev accuracy (at each epoch's end, and inside the epochs
    with ``val_check_interval``): (history, the early-stopping callback)."""
    epochs, bs = int(tcfg["epochs"]), int(tcfg["batch_size"])
    params: Any = [p for p in model.parameters() if p.requires_grad]  # frozen embeddings stay as they are
    if "layer_decay" in tcfg:  # fine-tuning: no decay on biases and norms, lower rates for the lower layers
        params = param_groups(model, float(tcfg["lr"]), float(tcfg["weight_decay"]), depth=model.layer_depth,
                              layer_decay=float(tcfg["layer_decay"]))
    opt = build_optimizer(tcfg["optimizer"], params, lr=float(tcfg["lr"]), weight_decay=tcfg.get("weight_decay"))
    train_loader = BucketLoader(train_ds, bs)
    sched = build_scheduler(tcfg["schedule"], opt, epochs * len(train_loader), warmup=float(tcfg.get("warmup", 0)))
    stop = EarlyStopping("val_accuracy", mode="max", patience=int(tcfg.get("patience", epochs)),
                         restore_best_weights=True)
    callbacks, resume = list(fit_kw.pop("callbacks")), fit_kw.pop("resume")
    if tcfg.get("ema_decay"):  # dev evaluated, and the best kept, on the moving average of the weights
        callbacks.append(WeightAveraging(decay=float(tcfg["ema_decay"])))
    history = fit(model, train_loader, loss=loss, optimizer=opt, epochs=epochs,
                  val_data=BucketLoader(dev_ds, EVAL_BATCH_SIZE, shuffle=False), metrics=[metric],
                  callbacks=[*callbacks, stop], resume=True if resume else None, scheduler=sched,
                  scheduler_interval="step", clip_grad_norm=tcfg.get("clip"),
                  val_check_interval=tcfg.get("val_check_interval"), **fit_kw)
    return history, stop


def train_char_lm(recipe: Recipe | str, train_text: str, val_text: str, *, vocab_text: str | None = None,
                  overrides: dict[str, Any] | None = None, callbacks: Sequence[Callback] = (), verbose: int = 1,
                  checkpoint: Any = None, resume: bool = False,
                  on_vocab: Callable[[CharVocab], None] | None = None) -> Run:
    """Train language-model ``recipe`` (a ``Recipe`` or its name) with ``overrides`` on ``train_text`` by TBPTT
    with gradient clipping; the validation loss (nats/char) is ``val_text`` read straight through with the
    state carried. The characters of ``vocab_text`` (default: both texts) make the vocabulary. ``schedule``: a
    per-step schedule over the epochs (``optim.factory``); with ``max_minutes`` set, the run is a time budget
    instead: "cosine" decays over that much training time, and ``epochs`` is only a cap (1000 when left at the
    recipe's). The ``Run``'s metrics: ``val_loss``; its artifacts: ``vocab``."""
    base = _get(recipe)
    r = base.with_overrides(overrides)
    max_minutes = r.train.get("max_minutes")
    if max_minutes is not None and (overrides or {}).get("epochs") is None:
        r = r.with_overrides({"epochs": 1000})
    mcfg, tcfg = dict(r.model), dict(r.train)
    schedule = tcfg["schedule"]
    if max_minutes is not None and schedule not in ("cosine", "constant"):
        raise ValueError(f"recipe {r.name!r}: with max_minutes the schedule is cosine over the time budget or "
                         f"constant, not {schedule!r}")
    vocab = CharVocab.build([vocab_text if vocab_text is not None else train_text + val_text])
    if on_vocab is not None:
        on_vocab(vocab)
    mcfg.update(vocab_size=len(vocab))
    model = models.build(mcfg)
    train_ids, val_ids = vocab.encode(train_text), vocab.encode(val_text)
    bs, t = int(tcfg["batch_size"]), int(tcfg["seq_len"])
    opt = build_optimizer(tcfg["optimizer"], model.parameters(), lr=float(tcfg["lr"]))
    loader = StreamLoader(train_ids, bs, t)
    max_seconds = None if max_minutes is None else 60.0 * float(max_minutes)
    sched: Any = None
    if schedule != "constant":
        sched = (optim.lr_scheduler.CosineAnnealingTimeLR(opt, max_seconds) if max_seconds is not None else
                 build_scheduler(schedule, opt, int(tcfg["epochs"]) * len(loader)))
    step = TBPTTStep(t, val_batch_size=int(tcfg.get("val_batch_size", 1)))
    trainer = Trainer(model, optimizer=opt, scheduler=sched, scheduler_interval="step", callbacks=callbacks,
                      verbose=verbose, clip_grad_norm=tcfg.get("clip"), step=step)
    history = trainer.fit(loader, int(tcfg["epochs"]), val_data=val_ids, max_seconds=max_seconds,
                          checkpoint=checkpoint, resume=True if resume else None)
    vals = history.history.get("val_loss") or [None]
    val_loss = vals[-1]
    if val_loss is None or int(tcfg.get("val_batch_size", 1)) != 1:
        val_loss = evaluate_lm(model, val_ids, batch_size=1)
    return Run(model, history, {"val_loss": float(val_loss)}, {"model": models.config_of(model), "train": tcfg},
               trainer.elapsed, {"vocab": vocab})


def _run(recipe: Recipe, options: RunOptions) -> Run:
    """Train a text recipe on its dataset and write the run directory (with ``options.out``)."""
    manual_seed(options.seed)
    out = None if options.out is None else Path(options.out)
    monitor = Monitor() if out is not None else None
    common: dict[str, Any] = dict(verbose=options.verbose, resume=options.resume)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        every = out / rundir.VALIDATIONS if recipe.train.get("val_check_interval") else None
        common.update(callbacks=[CSVLogger(out / rundir.HISTORY, validations=every), monitor],
                      checkpoint=out / rundir.CHECKPOINT,
                      on_vocab=lambda v: v.save(out / vocab_file))
    if options.verbose:
        print(f"lucidnet {__version__}: training {recipe.name} on {recipe.dataset}" + (f" -> {out}" if out else ""))
    wordpiece = recipe.model.get("pretrained") is not None or \
        recipe.train.get("student_embeddings", "random") != "random"  # a student reading its teacher's tokens
    vocab_file = rundir.TOKENIZER if wordpiece or recipe.task == "translation" else rundir.VOCAB
    config = {"recipe": recipe.name, "task": recipe.task, "dataset": recipe.dataset, "data_dir": data_dir(options),
              "vocab": vocab_file}
    if recipe.task == "text-classification":
        if recipe.dataset == "text-file":
            if options.data is None or options.download:
                raise ValueError("a file of labelled texts of your own: give --data FILE (data= in Python), no "
                                 "--download")
            splits, classes = text_splits(options.data, recipe.data, options.seed)
            config.update({k: recipe.data[k] for k in FILE_SETTINGS},
                          test_data=_absolute(recipe.data["test_data"]), val_data=_absolute(recipe.data["val_data"]))
        else:
            sst2 = {s: SST2(options.data, s, download=options.download) for s in ("phrases", "dev", "test")}
            splits = {"train": (sst2["phrases"].texts, sst2["phrases"].targets),
                      **{s: (sst2[s].texts, sst2[s].targets) for s in ("dev", "test")}}
            classes = SST2.CLASS_NAMES
        run = train_classifier(recipe, *(splits[s] for s in ("train", "dev", "test")), num_classes=len(classes),
                               classes=list(classes), **common)
        m, epochs = run.metrics, len(run.history.epoch)
        vocab = run.artifacts["vocab"]
        config.update(classes=list(classes), tokenizer="wordpiece" if wordpiece else "word")
        if wordpiece:
            config.update(max_length=vocab.max_length)
        if recipe.model.get("pretrained") is not None:
            config.update(pretrained=str(recipe.model["pretrained"]))
        evals = [{"epoch": e["epoch"] + 1, **{k: e[k] for k in ("step", "val_accuracy", "val_loss") if k in e}}
                 for e in m["dev_evaluations"]]  # epochs 1-based, as best_epoch
        metrics = {"test_accuracy": m["test_accuracy"], "dev_accuracy": m["dev_accuracy"],
                   "best_epoch": m["best_epoch"] + 1, "best_step": m["best_step"], "dev_evaluations": evals,
                   "epochs": epochs, "train_seconds": round(run.seconds, 2),
                   "seconds_per_epoch": round(run.seconds / max(epochs, 1), 2), "train_phrases": m["train_texts"],
                   "phrases_dropped_as_dev_or_test": m["dropped_overlap"],
                   "vocab_size": vocab.vocab_size if wordpiece else len(vocab),
                   "test_sentences": len(splits["test"][0]), "dev_sentences": len(splits["dev"][0])}
        where = f"epoch {m['best_epoch'] + 1} of {epochs}"
        if len(evals) > epochs:  # validations inside the epochs: say which one
            where += f", step {m['best_step']}, the best of {len(evals)} dev evaluations"
        message = f"test accuracy: {m['test_accuracy']:.4f}  (dev accuracy {m['dev_accuracy']:.4f} at {where}; " \
                  f"{run.seconds:.1f} s)"
    elif recipe.task == "translation":
        splits = {s: Multi30k(options.data, s, download=options.download) for s in ("train", "val", "test")}
        run = train_translator(recipe, *((splits[s].src, splits[s].tgt) for s in ("train", "val", "test")),
                               **common)
        m, epochs = run.metrics, len(run.history.epoch)
        config.update(tokenizer="subword", language_pair=list(splits["test"].language_pair))
        metrics = {"bleu": m["bleu"], "bleu_cased": m["bleu_beam_cased"], "bleu_greedy": m["bleu_greedy"],
                   "bleu_greedy_cased": m["bleu_greedy_cased"], "beam": m["beam"],
                   "length_penalty": m["length_penalty"], "beam_seconds": m["beam_seconds"],
                   "greedy_seconds": m["greedy_seconds"], "val_loss": m.get("val_loss"),
                   "best_epoch": m["best_epoch"] + 1, "epochs": epochs, "train_seconds": round(run.seconds, 2),
                   "seconds_per_epoch": round(run.seconds / max(epochs, 1), 2), "train_pairs": m["train_pairs"],
                   "dropped_longer_than_max_len": m["dropped_longer_than_max_len"], "vocab_size": m["vocab_size"],
                   "test_pairs": len(splits["test"]), "bleu_signature": m["bleu_signature"],
                   "bleu_signature_cased": m["bleu_signature_cased"]}
        message = (f"test BLEU {m['bleu']:.2f} (lowercased; cased {m['bleu_beam_cased']:.2f}), beam {m['beam']}; "
                   f"greedy {m['bleu_greedy']:.2f}  (epoch {m['best_epoch'] + 1} of {epochs}; "
                   f"{run.seconds / 60:.1f} min)")
        shown = list(zip(splits["test"].src, run.artifacts["translations"]))[:5]
        run.artifacts["sample"] = "\n".join(f"{a}\n  -> {b}" for a, b in shown)
        run.artifacts["attention"] = attention_examples(run.model, run.artifacts["tokenizer"], *zip(*shown[:3]))
    else:
        full = TinyShakespeare(options.data, "all", download=options.download).text
        train_text, val_text = split_text(full, "train"), split_text(full, "val")
        run = train_char_lm(recipe, train_text, val_text, vocab_text=full, **common)
        epochs, val_loss = len(run.history.epoch), run.metrics["val_loss"]
        config.update(tokenizer="char")
        sample = generate(run.model, run.artifacts["vocab"], "ROMEO:", length=300, temperature=0.8, top_k=40)
        run.artifacts["sample"] = sample
        metrics = {"val_loss": val_loss, "val_bits_per_char": val_loss / math.log(2), "val_chars": len(val_text),
                   "train_chars": len(train_text), "epochs": epochs, "train_seconds": round(run.seconds, 2),
                   "vocab_size": len(run.artifacts["vocab"])}
        message = (f"validation loss: {val_loss:.4f} nats/char ({metrics['val_bits_per_char']:.3f} bits/char) after "
                   f"{epochs} epochs, {run.seconds / 60:.1f} min of training")
    config = {"model": run.config["model"], **config, "train": {**run.config["train"], "seed": options.seed},
              "lucidnet_version": __version__}
    run.config, run.metrics = config, metrics
    if out is not None and "sample" in run.artifacts:
        (out / rundir.SAMPLE).write_text(run.artifacts["sample"] + "\n", encoding="utf-8")
    if out is not None and "attention" in run.artifacts:
        rundir.write_json(out / rundir.ATTENTION, run.artifacts["attention"])
    footer = f"--- sample ---\n{run.artifacts['sample']}" if "sample" in run.artifacts else ""
    finish_run(out, run.model, config, metrics, message, run.history, monitor, footer=footer)
    return run


def load_text_run(run_dir: str | Path, task: str | None = None) -> tuple[Any, dict, Vocab]:
    """(model, config, vocabulary) of a text run directory (of ``task``, if given: a clear error for a run of
    another kind)."""
    model, config = rundir.load_run(run_dir)
    if task is not None and config.get("task") != task:
        what = {"text-classification": "a text classifier (lucidnet train --dataset sst2)",
                "language-model": "a language model (lucidnet train --dataset tinyshakespeare)",
                "translation": "a translation model (lucidnet train --dataset multi30k)"}[task]
        raise ValueError(f"{run_dir} holds a {config['model'].get('name')!r} model, not {what}")
    path = rundir.run_file(run_dir, config, "vocab", rundir.VOCAB)
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: {run_dir} is not a complete text run directory")
    if config.get("tokenizer") == "wordpiece":
        return model, config, WordPieceTokenizer(path, int(config.get("max_length", 512)))
    if config.get("tokenizer") == "subword":
        return model, config, SubwordTokenizer.load(path)
    return model, config, load_vocab(path)


def _absolute(path: str | Path | None) -> str | None:
    return None if path is None else os.path.abspath(os.fspath(path))


def _test_texts(config: dict, data: str | Path | None) -> tuple[list[str], np.ndarray, str]:
    """(texts, class indices, what they are) of a text classifier's test set: SST-2's test sentences; for a
    file of the user's own, the texts held out of it (or its test file), or every text of another ``data``
    file."""
    if config.get("dataset") != "text-file":
        test = SST2(data, "test")
        return test.texts, test.targets, "SST-2 test"
    if data is not None and _absolute(data) != config["data_dir"]:
        texts, labels = read_texts(data, config["text_column"], config["label_column"])
        index = {c: i for i, c in enumerate(config["classes"])}
        unknown = sorted(set(labels) - set(index))
        if unknown:
            raise ValueError(f"{data}: the label {unknown[0]!r} is not one the model knows ({', '.join(index)})")
        return texts, np.array([index[y] for y in labels], dtype=np.int64), str(data)
    splits, _ = text_splits(config["data_dir"], config, int(config["train"]["seed"]), only_test=True)
    what = config["test_data"] or f"the texts held out of {config['data_dir']}"
    return splits["test"][0], splits["test"][1], what


def evaluate(run_dir: str | Path, data: str | Path | None = None) -> dict[str, Any]:
    """The test metrics of a text run: a classifier's accuracy on the SST-2 test sentences, with its confusion
    matrix; a language model's loss (nats/char) and perplexity on the validation text."""
    model, config, vocab = load_text_run(run_dir)
    if config.get("task") == "translation":
        test = Multi30k(data, "test", language_pair=tuple(config.get("language_pair", ("de", "en"))))
        beam, lp = int(config["train"].get("beam", 5)), float(config["train"].get("length_penalty", 1.0))
        hyps = translate(model, vocab, test.src, beam=beam, length_penalty=lp)
        score, signature = bleu(hyps, test.tgt, lowercase=True)
        cased, signature_cased = bleu(hyps, test.tgt)
        return {"data": f"Multi30k test_2016_flickr ({len(test)} pairs)", "bleu": score, "bleu_cased": cased,
                "beam": beam, "bleu_signature": signature, "bleu_signature_cased": signature_cased}
    if config.get("task") == "text-classification":
        texts, targets, what = _test_texts(config, data)
        if isinstance(vocab, WordPieceTokenizer):
            ids = vocab.encode(texts)
        else:
            ids = [vocab.encode(tokenize(t) or [vocab.unk_token]) for t in texts]
        ds = SequenceDataset(ids, np.asarray(targets, dtype=np.int64), pad_id=vocab.pad_id,
                             min_len=int(getattr(model, "min_length", 1)))
        loader = BucketLoader(ds, EVAL_BATCH_SIZE, shuffle=False)  # batches in one fixed order (by length)
        z = predict(model, loader)
        y = np.concatenate([np.asarray(getattr(b[-1], "array", b[-1])) for b in loader])
        cm = confusion_matrix(z, y, num_classes=len(config["classes"]))
        return {"data": f"{what} ({len(y)} texts)", "accuracy": float(np.trace(cm) / max(cm.sum(), 1)),
                "classes": list(config["classes"]), "confusion_matrix": cm.tolist()}
    text = split_text(TinyShakespeare(data, "all").text, "val")
    loss = evaluate_lm(model, vocab.encode(text), batch_size=1)
    return {"data": f"Tiny Shakespeare validation ({len(text)} characters, one stream)", "loss": loss,
            "bits_per_char": loss / math.log(2), "perplexity": math.exp(loss)}


RECIPES: dict[str, Recipe] = {r.name: r for r in (
    _recipe("textcnn", "text-classification",
            {"name": "textcnn", "embed_dim": 128, "num_filters": 100, "kernel_sizes": [3, 4, 5], "dropout": 0.5},
            {"epochs": 6, "batch_size": 50, "lr": 1e-3, "patience": 3, **_CLASSIFY},
            "Kim's CNN: widths 3/4/5 x 100 filters"),
    _recipe("lstm", "text-classification",
            {"name": "lstm_classifier", "embed_dim": 128, "hidden_size": 128, "num_layers": 1, "bidirectional": False,
             "pooling": "max", "dropout": 0.5},
            {"epochs": 8, "batch_size": 64, "lr": 2e-3, "patience": 3, **_CLASSIFY}, "an LSTM, max pooling"),
    _recipe("bilstm", "text-classification",
            {"name": "lstm_classifier", "embed_dim": 128, "hidden_size": 128, "num_layers": 2, "bidirectional": True,
             "pooling": "max", "dropout": 0.5},
            {"epochs": 8, "batch_size": 64, "lr": 2e-3, "word_dropout": 0.1, **_CLASSIFY},
            "a 2-layer BiLSTM 128+128, max pooling, word dropout 0.1"),
    _recipe("bilstm-distilled", "text-classification",  # embed_dim None: bilstm's, or the teacher's width
            {"name": "lstm_classifier", "embed_dim": None, "hidden_size": 128, "num_layers": 2, "bidirectional": True,
             "pooling": "max", "dropout": 0.5},
            {"epochs": 6, "batch_size": 64, "lr": 2e-3, "word_dropout": 0.1, **_CLASSIFY,  # 6: best on dev of 3, 6
             "teacher": None, "temperature": 2.0, "alpha": 0.5, "augment_copies": 4,  # 4: dev 88.5% vs 87.2% with 2
             "student_embeddings": "teacher-frozen"},  # the best on SST-2's dev set (README, Distillation)
            "the bilstm recipe's network taught by a text classifier (--teacher RUN, e.g. a minilm run): its "
            "softened logits on the training texts and augmented copies"),
    _recipe("minilm", "text-classification",
            {"name": "bert_classifier", "pretrained": "minilm", "pooling": "mean", "dropout": 0.1},
            {"epochs": 3, "batch_size": 32, "optimizer": "adamw", "lr": 5e-5, "weight_decay": 0.01,
             "schedule": "linear", "warmup": 0.06, "layer_decay": 0.9, "clip": 1.0, "val_check_interval": 0.25,
             "ema_decay": 0.0},  # layer_decay 0.9: README, SST-2 (dev 90.8% against 89.9%)
            "all-MiniLM-L6-v2 (pretrained BERT, 6 x 384) fine-tuned: AdamW, layer-wise learning-rate decay 0.9, "
            "warm-up then linear decay, dev evaluated four times an epoch and the best weights kept"),
    _recipe("minilm-frozen", "text-classification",
            {"name": "bert_classifier", "pretrained": "minilm", "pooling": "mean", "normalize": True, "freeze": True},
            {"epochs": 30, "batch_size": 256, "optimizer": "adam", "lr": 1e-2, "weight_decay": 1e-5, "patience": 5},
            "all-MiniLM-L6-v2 sentence embeddings (frozen) + logistic regression"),
    _recipe("transformer", "translation",
            {"name": "transformer_translator", "d_model": 256, "nhead": 8, "num_encoder_layers": 3,
             "num_decoder_layers": 3, "dim_feedforward": 1024, "dropout": 0.1, "positions": "learned",
             "max_len": 128, "tie_embeddings": True, "share_embeddings": True},
            {"epochs": 20, "batch_size": 128, "optimizer": "adamw", "lr": 5e-4, "weight_decay": 0.01,
             "schedule": "linear", "warmup": 0.1, "label_smoothing": 0.1, "clip": 1.0, "beam": 5,
             "length_penalty": 1.0},
            "a Transformer 3+3 x 256 (nn.Transformer) on a shared 8,000-piece BPE vocabulary, label smoothing 0.1",
            {"vocab_size": 8000}),
    _recipe("attention-gru", "translation",
            {"name": "attention_gru", "embed_dim": 256, "hidden_size": 512, "attention_dim": 256, "output_dim": 512,
             "dropout": 0.3},
            {"epochs": 12, "batch_size": 64, "optimizer": "adam", "lr": 1e-3, "schedule": "linear",
             "warmup": 0.02, "label_smoothing": 0.1, "clip": 1.0, "beam": 5, "length_penalty": 1.0},
            "a bidirectional GRU encoder, a GRU decoder with additive (Bahdanau) attention, a maxout deep output",
            {"vocab_size": 8000}),
    _recipe("char-lstm", "language-model",
            {"name": "char_lstm", "embed_dim": 64, "hidden_size": 256, "num_layers": 2, "dropout": 0.1},
            {"epochs": 14, "batch_size": 64, "seq_len": 128, "optimizer": "adam", "lr": 2e-3, "clip": 5.0,
             "schedule": "cosine", "max_minutes": None, "val_batch_size": 1},
            "a 2-layer character LSTM 256, truncated BPTT over 128 characters"),
)}


def translate_texts(run_dir: str | Path, sentences: Sequence[str], beam: int | None = None) -> list[str]:
    """``sentences`` translated by a translation run (beam search of the run's width unless ``beam`` is given;
    ``beam=1``: greedy)."""
    model, config, tok = load_text_run(run_dir, "translation")
    width = int(config["train"].get("beam", 5)) if beam is None else int(beam)
    return translate(model, tok, list(sentences), beam=width,
                     length_penalty=float(config["train"].get("length_penalty", 1.0)))


def predict_texts(run_dir: str | Path, texts: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    """(class probabilities (N, classes), class names) of ``texts`` with a text-classification run."""
    model, config, vocab = load_text_run(run_dir, "text-classification")
    return predict_proba(model, vocab, list(texts)), list(config["classes"])
