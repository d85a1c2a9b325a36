"""Decoding a sequence-to-sequence model: greedy search and beam search, batched, one target position per
model call (the models' ``encode`` / ``step`` / ``reorder``, see ``lucidnet.text.seq2seq``).

Both return, for each source row, the generated ids without ``<s>`` and without the ``</s>`` that ended
them (a hypothesis that reaches ``max_len`` without one ends there). Beam search keeps ``beam`` live
hypotheses per source, moves one to the finished list when it emits ``</s>``, stops a source once it has
``beam`` finished ones, and picks the finished hypothesis of the highest ``score / length ** length_penalty``
(length counting the ``</s>``; ``length_penalty=0`` ranks by the summed log-probability alone). With
``beam=1`` it is greedy search.

>>> import lucidnet as ln
>>> from lucidnet.text.seq2seq import TransformerTranslator
>>> m = TransformerTranslator(10, 10, d_model=8, nhead=2, num_encoder_layers=1, num_decoder_layers=1,
...                           dim_feedforward=16).eval()
>>> src = ln.tensor([[4, 5, 6], [7, 8, 0]])
>>> greedy(m, src, bos=2, eos=3, max_len=5) == beam_search(m, src, bos=2, eos=3, beam=1, max_len=5)
True
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd.grad_mode import no_grad

__all__ = ["greedy", "beam_search"]


def _check(model: Any, max_len: int, who: str) -> None:
    for name in ("encode", "step", "reorder"):
        if not callable(getattr(model, name, None)):
            raise TypeError(f"{who}: the model has no {name}() (a lucidnet.text.seq2seq model has)")
    if not isinstance(max_len, int) or max_len < 1:
        raise ValueError(f"{who}: max_len must be a positive int, got {max_len!r}")


def greedy(model: Any, src: Any, *, bos: int, eos: int, max_len: int = 100) -> list[list[int]]:
    """The most probable next token at every step, for each source row."""
    _check(model, max_len, "greedy")
    with no_grad():
        state = model.encode(src)
        n = _rows(src)
        tokens = np.full(n, bos, dtype=np.int64)
        out: list[list[int]] = [[] for _ in range(n)]
        live = np.ones(n, dtype=bool)
        for _ in range(max_len):
            logp, state = model.step(tokens, state)
            tokens = logp.numpy().argmax(axis=1).astype(np.int64)
            for i in np.flatnonzero(live):
                if tokens[i] == eos:
                    live[i] = False
                else:
                    out[i].append(int(tokens[i]))
            if not live.any():
                break
    return out


def _rows(src: Any) -> int:
    """The number of source rows (sentences) of ``src``."""
    return int(np.asarray(getattr(src, "shape", np.shape(src)))[0])


def beam_search(model: Any, src: Any, *, bos: int, eos: int, beam: int = 5, max_len: int = 100,
                length_penalty: float = 1.0) -> list[list[int]]:
    """The best of ``beam`` hypotheses per source row (see the module's docstring for the rules)."""
    _check(model, max_len, "beam_search")
    if not isinstance(beam, int) or beam < 1:
        raise ValueError(f"beam_search: beam must be a positive int, got {beam!r}")
    with no_grad():
        state = model.encode(src)
        n = _rows(src)
        k = beam
        state = model.reorder(state, np.repeat(np.arange(n), k))              # rows: source i, hypothesis j
        scores = np.full((n, k), -np.inf)
        scores[:, 0] = 0.0                                                    # one live hypothesis at first
        seqs: list[list[list[int]]] = [[[] for _ in range(k)] for _ in range(n)]
        finished: list[list[tuple[float, list[int]]]] = [[] for _ in range(n)]
        done = np.zeros(n, dtype=bool)
        tokens = np.full(n * k, bos, dtype=np.int64)
        for t in range(max_len):
            logp, state = model.step(tokens, state)
            v = logp.shape[-1]
            total = scores[:, :, None] + logp.numpy().astype(np.float64).reshape(n, k, v)
            flat = total.reshape(n, k * v)
            take = min(2 * k, k * v)
            top = np.argpartition(-flat, take - 1, axis=1)[:, :take]
            index = np.zeros(n * k, dtype=np.int64)
            new_scores = np.full((n, k), -np.inf)
            new_seqs: list[list[list[int]]] = [[[] for _ in range(k)] for _ in range(n)]
            for i in range(n):
                row = i * k
                if done[i]:
                    index[row:row + k] = row
                    tokens[row:row + k] = eos
                    continue
                kept = 0
                for c in top[i][np.argsort(-flat[i, top[i]], kind="stable")]:
                    s = flat[i, c]
                    if not np.isfinite(s):
                        break
                    h, tok = divmod(int(c), v)
                    if tok == eos:
                        length = t + 1
                        finished[i].append((s / length ** length_penalty, seqs[i][h]))
                        if len(finished[i]) >= k:
                            break
                        continue
                    index[row + kept] = row + h
                    tokens[row + kept] = tok
                    new_scores[i, kept] = s
                    new_seqs[i][kept] = seqs[i][h] + [tok]
                    kept += 1
                    if kept == k:
                        break
                if len(finished[i]) >= k or kept == 0:
                    done[i] = True
                for j in range(kept, k):                                      # unused rows: copies, never kept
                    index[row + j] = row
                    tokens[row + j] = eos
            scores, seqs = new_scores, new_seqs
            if done.all():
                break
            state = model.reorder(state, index)
        out = []
        for i in range(n):
            pool = finished[i]
            if not pool:  # max_len reached before any </s>: the live hypotheses, scored the same way
                pool = [(scores[i, j] / max_len ** length_penalty, seqs[i][j]) for j in range(k)
                        if np.isfinite(scores[i, j])]
            out.append(max(pool, key=lambda p: p[0])[1])
    return out
