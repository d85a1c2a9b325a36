"""The text side of ``lucidnet train``: ``--dataset sst2 --model lstm|bilstm|textcnn`` (sentiment) and
``--dataset tinyshakespeare --model char-lstm`` (a character language model).

SST-2: trained on the 67,349 labelled phrases (``glue-train.tsv``, less any phrase equal to a dev or test
sentence), the epoch picked by accuracy on the sentence-level dev split, accuracy reported on the sentence-level
test split. Tiny Shakespeare: trained on the first 90% of the text by truncated BPTT with gradient clipping,
the validation loss (nats/char) measured on the last 10% read straight through with the state carried.

The run directory holds the usual files plus ``vocab.json``; ``lucidnet predict RUN_DIR "some text"``
classifies with an SST-2 run, ``lucidnet generate RUN_DIR --prompt ...`` writes text with a language model run.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from .. import __version__
from ..random import manual_seed
from ..datasets.sst2 import SST2
from ..datasets.tinyshakespeare import TinyShakespeare, split_text
from ..text import generate
from ..text.recipes import CLASSIFIERS, LANGUAGE_MODELS, train_char_lm, train_classifier
from ..text.vocab import Vocab
from ..inspect import Monitor
from ..train import CSVLogger
from . import rundir

DATASETS = ("sst2", "tinyshakespeare")
MODELS = CLASSIFIERS + LANGUAGE_MODELS
VOCAB = "vocab.json"
SAMPLE = "sample.txt"
_DEFAULT_MODEL = {"sst2": "bilstm", "tinyshakespeare": "char-lstm"}


def add_arguments(p) -> None:
    """Options read only by the text path of ``lucidnet train`` (None: the recipe's value)."""
    g = p.add_argument_group("sst2, tinyshakespeare (text)",
                             "sst2: --model bilstm (default), lstm or textcnn; tinyshakespeare: --model char-lstm. "
                             "Options left unset (None) take the model's recipe (lucidnet.text.recipes).")
    g.add_argument("--embed-dim", type=int, default=None, help="embedding size")
    g.add_argument("--hidden-size", type=int, default=None, help="LSTM hidden size")
    g.add_argument("--num-layers", type=int, default=None, help="LSTM layers")
    g.add_argument("--dropout", type=float, default=None, help="dropout probability")
    g.add_argument("--pooling", default=None, choices=["max", "mean", "last"],
                   help="lstm/bilstm: pool the outputs (max, mean) or take the final states (last)")
    g.add_argument("--min-freq", type=int, default=None, help="sst2: least count of a word in the vocabulary")
    g.add_argument("--seq-len", type=int, default=None, help="char-lstm: truncated-BPTT length (chars per chunk)")
    g.add_argument("--clip", type=float, default=None, help="char-lstm: gradient-norm clipping threshold")
    g.add_argument("--max-minutes", type=float, default=None,
                   help="char-lstm: a time budget: train for this many minutes of training time, the learning rate "
                        "annealed over them (cosine); --epochs then only caps the run")


def run(args) -> int:
    if args.model is None:
        args.model = _DEFAULT_MODEL[args.dataset]
    wanted = CLASSIFIERS if args.dataset == "sst2" else LANGUAGE_MODELS
    if args.model not in wanted:
        raise ValueError(f"--dataset {args.dataset} takes --model {', '.join(wanted)}; got {args.model!r}")
    if args.schedule not in ("cosine", "constant"):
        raise ValueError(f"--dataset {args.dataset} takes --schedule cosine or constant; got {args.schedule!r}")
    if any(v is not None and v < 1 for v in (args.epochs, args.batch_size)):
        raise ValueError("--epochs and --batch-size must be positive")
    manual_seed(args.seed)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    verbose = 0 if args.quiet else 1
    model_overrides = {"embed_dim": args.embed_dim, "hidden_size": args.hidden_size, "num_layers": args.num_layers,
                       "dropout": args.dropout}
    train_overrides = {"epochs": args.epochs, "batch_size": args.batch_size, "lr": args.lr}
    common = dict(callbacks=[CSVLogger(out / rundir.HISTORY), Monitor()], verbose=verbose,
                  checkpoint=out / rundir.CHECKPOINT, resume=bool(args.resume), on_vocab=lambda v: v.save(out / VOCAB))
    if verbose:
        print(f"lucidnet {__version__}: training {args.model} on {args.dataset} -> {out}")
    if args.dataset == "sst2":
        return _run_sst2(args, out, model_overrides, train_overrides, common)
    return _run_lm(args, out, model_overrides, train_overrides, common)


def _config(run_: Any, args, task: dict[str, Any], train: dict[str, Any]) -> dict[str, Any]:
    return {"model": run_.config, **task, "dataset": args.dataset, "vocab": VOCAB,
            "train": {**train, "optimizer": "adam", "seed": args.seed}, "lucidnet_version": __version__}


def _run_sst2(args, out: Path, model_overrides: dict, train_overrides: dict, common: dict) -> int:
    if args.model in ("lstm", "bilstm"):
        model_overrides["pooling"] = args.pooling
    else:
        model_overrides.pop("hidden_size")
        model_overrides.pop("num_layers")
    train_overrides["min_freq"] = args.min_freq
    splits = {s: SST2(args.data, s, download=args.download) for s in ("phrases", "dev", "test")}
    run_ = train_classifier(args.model, *((splits[s].texts, splits[s].targets) for s in ("phrases", "dev", "test")),
                            num_classes=2, model_overrides=model_overrides, train_overrides=train_overrides,
                            schedule=args.schedule, **common)
    epochs = len(run_.history.epoch)
    task = {"task": "text-classification", "classes": SST2.CLASS_NAMES, "tokenizer": "word"}
    config = _config(run_, args, task, run_.train)
    rundir.save_run(out, run_.model, config)
    metrics = {"test_accuracy": run_.test_accuracy, "dev_accuracy": run_.dev_accuracy,
               "best_epoch": run_.best_epoch + 1, "epochs": epochs, "train_seconds": round(run_.seconds, 2),
               "seconds_per_epoch": round(run_.seconds / max(epochs, 1), 2), "train_phrases": run_.info["train_texts"],
               "phrases_dropped_as_dev_or_test": run_.info["dropped_overlap"], "vocab_size": len(run_.vocab),
               "test_sentences": len(splits["test"]), "dev_sentences": len(splits["dev"])}
    rundir.finish_run(out, f"test accuracy: {run_.test_accuracy:.4f}  (dev accuracy {run_.dev_accuracy:.4f} at epoch "
                           f"{run_.best_epoch + 1} of {epochs}; {run_.seconds:.1f} s)  run saved to {out}",
                      run_.history, common["callbacks"][-1], run_.model, config, metrics)
    return 0


def _run_lm(args, out: Path, model_overrides: dict, train_overrides: dict, common: dict) -> int:
    train_overrides.update(seq_len=args.seq_len, clip=args.clip, max_minutes=args.max_minutes)
    full = TinyShakespeare(args.data, "all", download=args.download).text
    train_text, val_text = split_text(full, "train"), split_text(full, "val")
    run_ = train_char_lm(args.model, train_text, val_text, vocab_text=full, model_overrides=model_overrides,
                         train_overrides=train_overrides, schedule=args.schedule, **common)
    epochs = len(run_.history.epoch)
    task = {"task": "language-model", "tokenizer": "char"}
    config = _config(run_, args, task, run_.train)
    rundir.save_run(out, run_.model, config)
    sample = generate(run_.model, run_.vocab, "ROMEO:", length=300, temperature=0.8, top_k=40)
    (out / SAMPLE).write_text(sample + "\n", encoding="utf-8")
    metrics = {"val_loss": run_.val_loss, "val_bits_per_char": run_.val_loss / math.log(2),
               "val_chars": len(val_text), "train_chars": len(train_text), "epochs": epochs,
               "train_seconds": round(run_.seconds, 2), "vocab_size": len(run_.vocab)}
    rundir.finish_run(out, f"validation loss: {run_.val_loss:.4f} nats/char ({metrics['val_bits_per_char']:.3f} "
                           f"bits/char) after {epochs} epochs, {run_.seconds / 60:.1f} min of training  run saved to "
                           f"{out}\n--- sample ---\n{sample}",
                      run_.history, common["callbacks"][-1], run_.model, config, metrics)
    return 0


def run_vocab(run_dir: str, config: dict) -> Vocab:
    """The vocabulary saved in a text run directory."""
    from ..text.vocab import load_vocab
    path = Path(run_dir) / config.get("vocab", VOCAB)
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: {run_dir} is not a complete text run directory")
    return load_vocab(path)


def load_text_run(run_dir: str, task: str):
    """(model, config, vocab) of a text run directory of ``task``, with a clear error for another kind of run."""
    model, config = rundir.load_run(run_dir)
    if config.get("task") != task:
        what = {"text-classification": "a text classifier (lucidnet train --dataset sst2)",
                "language-model": "a language model (lucidnet train --dataset tinyshakespeare)"}[task]
        raise ValueError(f"{run_dir} holds a {config['model'].get('name')!r} model, not {what}")
    return model, config, run_vocab(run_dir, config)
