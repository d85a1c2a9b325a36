"""Translation end to end: a shared subword vocabulary, batches of sentence pairs, training with label
smoothing and teacher forcing, decoding (``lucidnet.text.decode``) and corpus BLEU (``sacrebleu``).

A pair batch is ``(src, tgt_in, tgt_out)``, int64 and right-padded: ``tgt_in`` is ``<s>`` + the target and
``tgt_out`` the target + ``</s>``, so a model ``model(src, tgt_in)`` is trained to predict ``tgt_out``.
BLEU is computed on detokenised output against the raw reference sentences, both cased and lowercased.

>>> tok = train_tokenizer(["Ein Hund läuft.", "A dog runs."] * 5, vocab_size=60)
>>> ds = PairDataset(encode_pairs(tok, ["Ein Hund läuft."], ["A dog runs."]), pad_id=0)
>>> src, tgt_in, tgt_out = ds.get_batch([0])
>>> int(tgt_in[0, 0]) == tok.vocab.index[BOS] and int(tgt_out[0, -1]) == tok.vocab.index[EOS]
True
"""
from __future__ import annotations

import time
from typing import Any, Callable, Sequence

import numpy as np

from .. import models
from ..nn import functional as F
from ..optim.factory import build_optimizer, build_scheduler
from ..train import EarlyStopping, fit
from ..train.recipe import Run
from .batching import BucketLoader, pad_sequences
from .decode import beam_search, greedy
from .subword import SubwordTokenizer

__all__ = ["BOS", "EOS", "train_tokenizer", "encode_pairs", "PairDataset", "translation_loss", "translate",
           "attention_examples", "bleu", "train_translator"]

BOS, EOS = "<s>", "</s>"
EVAL_BATCH = 64


def train_tokenizer(texts: Sequence[str], vocab_size: int = 8000, min_frequency: int = 2) -> SubwordTokenizer:
    """One BPE vocabulary for both languages, reversible (cased, decoded back to text), with ``<s>`` and
    ``</s>`` after ``<pad>`` and ``<unk>``."""
    return SubwordTokenizer.train(texts, vocab_size=vocab_size, model="bpe", min_frequency=min_frequency,
                                  lowercase=False, reversible=True, specials=[BOS, EOS])


def encode_pairs(tok: SubwordTokenizer, src: Sequence[str], tgt: Sequence[str]) -> list[tuple[np.ndarray, np.ndarray]]:
    """Each (source, target) sentence pair as two id arrays (no ``<s>`` / ``</s>`` yet)."""
    if len(src) != len(tgt):
        raise ValueError(f"encode_pairs: {len(src)} source sentences but {len(tgt)} targets")
    return [(tok.encode(s), tok.encode(t)) for s, t in zip(src, tgt)]


class PairDataset:
    """Encoded sentence pairs for ``BucketLoader`` (batches of similar lengths): ``get_batch`` gives
    ``(src, tgt_in, tgt_out)``."""

    def __init__(self, pairs: Sequence[tuple[np.ndarray, np.ndarray]], pad_id: int, bos_id: int = 2,
                 eos_id: int = 3):
        self.pairs, self.pad_id, self.bos_id, self.eos_id = list(pairs), pad_id, bos_id, eos_id
        empty = next((i for i, (s, t) in enumerate(self.pairs) if len(s) == 0 or len(t) == 0), None)
        if empty is not None:
            raise ValueError(f"PairDataset: pair {empty} has an empty side; every sentence needs a token")
        self.lengths = np.array([max(len(s), len(t) + 1) for s, t in self.pairs], dtype=np.int64)

    def __len__(self) -> int:
        return len(self.pairs)

    def get_batch(self, indices: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        chosen = [self.pairs[int(i)] for i in indices]
        src = pad_sequences([s for s, _ in chosen], self.pad_id)[0]
        tgt_in = pad_sequences([np.concatenate([[self.bos_id], t]) for _, t in chosen], self.pad_id)[0]
        tgt_out = pad_sequences([np.concatenate([t, [self.eos_id]]) for _, t in chosen], self.pad_id)[0]
        return src, tgt_in, tgt_out


def translation_loss(pad_id: int, label_smoothing: float = 0.0) -> Callable:
    """``loss(logits (N, T, V), tgt_out (N, T))``: cross-entropy over the real target tokens (padding
    ignored), with ``label_smoothing``."""
    def loss(logits: Any, target: Any) -> Any:
        v = logits.shape[-1]
        return F.cross_entropy(logits.reshape(-1, v), target.reshape(-1), ignore_index=pad_id,
                               label_smoothing=label_smoothing)
    return loss


def translate(model: Any, tok: SubwordTokenizer, sentences: Sequence[str], beam: int = 5,
              length_penalty: float = 1.0, max_extra: int = 50) -> list[str]:
    """``sentences`` translated (beam search; ``beam=1``: greedy), in batches of similar lengths. Each output
    may run to ``max_extra`` subwords longer than its source (within the model's ``max_len``)."""
    v = tok.vocab
    bos, eos = v.index[BOS], v.index[EOS]
    ids = [tok.encode(s) for s in sentences]
    if any(len(s) == 0 for s in ids):
        raise ValueError("translate: a sentence without any token (empty or blank)")
    limit = int(getattr(model, "max_len", 10 ** 6))
    longest = max((len(s) for s in ids), default=0)
    if longest > limit:
        raise ValueError(f"translate: a sentence of {longest} subwords is longer than the model's max_len={limit}")
    out: list[str] = [""] * len(ids)
    order = np.argsort([len(s) for s in ids], kind="stable")
    was_training = model.training
    model.eval()
    try:
        for lo in range(0, len(order), EVAL_BATCH):
            idx = order[lo:lo + EVAL_BATCH]
            src = pad_sequences([ids[i] for i in idx], v.pad_id)[0]
            max_len = max(1, min(src.shape[1] + max_extra, limit))
            if beam == 1:
                hyps = greedy(model, src, bos=bos, eos=eos, max_len=max_len)
            else:
                hyps = beam_search(model, src, bos=bos, eos=eos, beam=beam, max_len=max_len,
                                   length_penalty=length_penalty)
            for i, h in zip(idx, hyps):
                out[int(i)] = tok.decode(h)
    finally:
        model.train(was_training)
    return out


def attention_examples(model: Any, tok: SubwordTokenizer, sentences: Sequence[str],
                       translations: Sequence[str]) -> list[dict]:
    """For each (sentence, its translation): the source and target subwords (the target ending in ``</s>``)
    and the model's attention over the source while it produces each target subword (``cross_attention``)."""
    v = tok.vocab
    out = []
    was_training = model.training
    model.eval()
    try:
        for s, t in zip(sentences, translations):
            src, tgt = tok.encode(s), tok.encode(t)
            tgt_in = np.concatenate([[v.index[BOS]], tgt])[None]
            w = model.cross_attention(src[None], tgt_in)[0]
            out.append({"source": [v.tokens[i] for i in src], "target": [v.tokens[i] for i in tgt] + [EOS],
                        "weights": np.round(w, 4).tolist()})
    finally:
        model.train(was_training)
    return out


def bleu(hypotheses: Sequence[str], references: Sequence[str], lowercase: bool = False) -> tuple[float, str]:
    """(corpus BLEU, sacrebleu's signature) of detokenised ``hypotheses`` against one raw reference each."""
    try:
        from sacrebleu.metrics import BLEU
    except ImportError:
        raise ImportError("BLEU needs the 'sacrebleu' library: pip install sacrebleu (or lucidnet[text])") from None
    if len(hypotheses) != len(references):
        raise ValueError(f"bleu: {len(hypotheses)} hypotheses but {len(references)} references")
    metric = BLEU(lowercase=lowercase)
    return float(metric.corpus_score(list(hypotheses), [list(references)]).score), str(metric.get_signature())


def train_translator(recipe: Any, train: tuple[Sequence[str], Sequence[str]], val: tuple[Sequence[str], Sequence[str]],
                     test: tuple[Sequence[str], Sequence[str]] | None = None, *, callbacks: Sequence[Any] = (),
                     verbose: int = 1, checkpoint: Any = None, resume: bool = False,
                     on_vocab: Callable[[SubwordTokenizer], None] | None = None) -> Run:
    """Train translation ``recipe`` (its settings already overridden) on ``train`` = (sources, targets): a
    shared BPE vocabulary of ``vocab_size``, Adam(W) with a warmed-up schedule, label smoothing, the epoch
    picked by the validation loss. On ``test``: BLEU of beam search (``beam``) and of greedy search, cased
    and lowercased. The ``Run``'s artifacts: ``tokenizer``, and the test ``translations``."""
    mcfg, tcfg, dcfg = dict(recipe.model), dict(recipe.train), dict(recipe.data)
    t0 = time.perf_counter()
    tok = train_tokenizer(list(train[0]) + list(train[1]), int(dcfg["vocab_size"]))
    if on_vocab is not None:
        on_vocab(tok)
    v = tok.vocab
    max_len = int(mcfg.get("max_len", 256))
    pairs = encode_pairs(tok, *train)
    kept = [p for p in pairs if len(p[0]) <= max_len and len(p[1]) + 1 <= max_len]
    ids = dict(pad_id=v.pad_id, bos_id=v.index[BOS], eos_id=v.index[EOS])
    train_ds, val_ds = PairDataset(kept, **ids), PairDataset(encode_pairs(tok, *val), **ids)
    mcfg.update(src_vocab=len(v), tgt_vocab=len(v), pad_id=v.pad_id)
    model = models.build(mcfg)
    epochs, bs = int(tcfg["epochs"]), int(tcfg["batch_size"])
    opt = build_optimizer(tcfg["optimizer"], model.parameters(), lr=float(tcfg["lr"]),
                          weight_decay=tcfg.get("weight_decay"))
    loader = BucketLoader(train_ds, bs)
    sched = build_scheduler(tcfg["schedule"], opt, epochs * len(loader), warmup=float(tcfg.get("warmup", 0)))
    stop = EarlyStopping("val_loss", mode="min", patience=int(tcfg.get("patience") or epochs),
                         restore_best_weights=True)
    history = fit(model, loader, loss=translation_loss(v.pad_id, float(tcfg.get("label_smoothing", 0.0))),
                  optimizer=opt, epochs=epochs, val_data=BucketLoader(val_ds, EVAL_BATCH, shuffle=False), metrics=[],
                  callbacks=[*callbacks, stop], scheduler=sched, scheduler_interval="step",
                  clip_grad_norm=tcfg.get("clip"), verbose=verbose, checkpoint=checkpoint,
                  resume=True if resume else None)
    seconds = time.perf_counter() - t0
    metrics: dict[str, Any] = {"best_epoch": stop.best_epoch, "train_pairs": len(kept),
                               "dropped_longer_than_max_len": len(pairs) - len(kept), "vocab_size": len(v)}
    best = stop.best_epoch
    if best >= 0:
        metrics["val_loss"] = float(history.history["val_loss"][history.epoch.index(best)])
    artifacts: dict[str, Any] = {"tokenizer": tok}
    if test is not None:
        beam, lp = int(tcfg.get("beam", 5)), float(tcfg.get("length_penalty", 1.0))
        for name, width in (("beam", beam), ("greedy", 1)):
            t1 = time.perf_counter()
            hyps = translate(model, tok, test[0], beam=width, length_penalty=lp)
            metrics[f"{name}_seconds"] = round(time.perf_counter() - t1, 2)
            metrics[f"bleu_{name}"], signature = bleu(hyps, test[1], lowercase=True)
            metrics[f"bleu_{name}_cased"], signature_cased = bleu(hyps, test[1])
            if name == "beam":
                artifacts["translations"] = hyps
        metrics.update(bleu=metrics["bleu_beam"], beam=beam, length_penalty=lp, bleu_signature=signature,
                       bleu_signature_cased=signature_cased)
    return Run(model, history, metrics, {"model": models.config_of(model), "train": tcfg}, seconds, artifacts)
