"""CTC decoding of log-probabilities laid out as for ``ctc_loss``: (T, N, C), or unbatched (T, C).

- :func:`ctc_greedy_decode`: the best path (argmax per frame), repeats collapsed, blanks dropped; its score
  is the log-probability of that one path.
- :func:`ctc_beam_search`: prefix beam search (Hannun et al. 2014, "First-pass large vocabulary continuous
  speech recognition using bi-directional recurrent DNNs", without a language model): each prefix keeps the
  probability of its alignments that end in a blank and of those that end in its last label, so a labeling's
  score sums over all its alignments (with a beam wide enough to keep every prefix, exactly
  ``-ctc_loss(..., reduction='sum')`` of that labeling). It can find a labeling the best path misses.

>>> import numpy as np
>>> p = np.log([[0.6, 0.4], [0.6, 0.4]])     # blank = 0
>>> ctc_greedy_decode(p).labels, round(float(np.exp(ctc_greedy_decode(p).score)), 2)
((), 0.36)
>>> best = ctc_beam_search(p, beam_width=4)[0]
>>> best.labels, round(float(np.exp(best.score)), 2)
((1,), 0.64)
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..tensor import Tensor

__all__ = ["CTCHypothesis", "ctc_beam_search", "ctc_greedy_decode"]

_NEG = -np.inf


@dataclass(frozen=True)
class CTCHypothesis:
    """A decoded label sequence and its log-probability score. ``frames`` (greedy decoding only): the frame
    at which each label of ``labels`` starts, for drawing the alignment."""

    labels: tuple[int, ...]
    score: float
    frames: tuple[int, ...] | None = None


def _inputs(who: str, log_probs: Any, input_lengths: Any, blank: int):
    """(array (T, N, C) float, lengths (N,), unbatched) after checking shapes and lengths."""
    lp = log_probs.detach().numpy() if isinstance(log_probs, Tensor) else np.asarray(log_probs)
    if lp.dtype.kind != "f" or lp.ndim not in (2, 3):
        raise ValueError(f"{who}: log_probs must be floating point of shape (T, N, C) or, unbatched, (T, C); got "
                         f"{lp.dtype} of shape {lp.shape}")
    unbatched = lp.ndim == 2
    if unbatched:
        lp = lp[:, None, :]
    t_, n, c = lp.shape
    if not 0 <= blank < c:
        raise ValueError(f"{who}: blank={blank} must be a class index in [0, {c})")
    if input_lengths is None:
        lengths = np.full(n, t_, dtype=np.int64)
    else:
        raw = input_lengths.numpy() if isinstance(input_lengths, Tensor) else np.asarray(input_lengths)
        lengths = raw.astype(np.int64).reshape(-1)
        if lengths.shape != (n,):
            raise ValueError(f"{who}: input_lengths must hold one length per sample ({n}), got shape {raw.shape}")
        if n and (lengths.min() < 0 or lengths.max() > t_):
            raise ValueError(f"{who}: input_lengths must be in [0, {t_}] (the frames of log_probs), got "
                             f"{lengths.min()}..{lengths.max()}")
    return lp, lengths, unbatched


def ctc_greedy_decode(log_probs: Any, input_lengths: Any = None, blank: int = 0):
    """Best-path decoding: the most probable class of each frame, repeats collapsed, blanks dropped.

    ``log_probs`` (T, N, C) or (T, C), a Tensor or array; ``input_lengths`` (N,) limits each sample's frames.
    Returns one :class:`CTCHypothesis` per sample (a list), or one for an unbatched input.

    >>> import numpy as np
    >>> h = ctc_greedy_decode(np.log(np.eye(4)[[1, 1, 0, 1, 2, 2, 0, 0, 3]] * 0.9 + 0.025))
    >>> h.labels, h.frames
    ((1, 1, 2, 3), (0, 3, 4, 8))
    """
    lp, lengths, unbatched = _inputs("ctc_greedy_decode", log_probs, input_lengths, blank)
    best = lp.argmax(axis=2)                                     # (T, N)
    top = np.take_along_axis(lp, best[:, :, None], axis=2)[:, :, 0]
    out = []
    for b, n_t in enumerate(lengths):
        path = best[:n_t, b]
        starts = np.flatnonzero((path != blank) & np.r_[True, path[1:] != path[:-1]])
        out.append(CTCHypothesis(tuple(int(k) for k in path[starts]), float(top[:n_t, b].sum()),
                                 tuple(int(f) for f in starts)))
    return out[0] if unbatched else out


def _lae(a: float, b: float) -> float:
    if a == _NEG:
        return b
    if b == _NEG:
        return a
    return max(a, b) + float(np.log1p(np.exp(-abs(a - b))))


def _beam_one(lp: np.ndarray, blank: int, beam_width: int) -> list[CTCHypothesis]:
    """Prefix beam search over one sample's frames ``lp`` (T, C) (float64)."""
    beams: dict[tuple[int, ...], tuple[float, float]] = {(): (0.0, _NEG)}   # prefix -> (log p_blank, log p_label)
    labels = [k for k in range(lp.shape[1]) if k != blank]
    for frame in lp:
        nxt: dict[tuple[int, ...], list[float]] = {}

        def add(prefix, pb=_NEG, pnb=_NEG):
            cur = nxt.get(prefix)
            if cur is None:
                nxt[prefix] = [pb, pnb]
            else:
                cur[0], cur[1] = _lae(cur[0], pb), _lae(cur[1], pnb)

        for prefix, (pb, pnb) in beams.items():
            total = _lae(pb, pnb)
            add(prefix, pb=total + frame[blank])                 # a blank: the prefix stays, now ending in blank
            last = prefix[-1] if prefix else None
            for k in labels:
                p = frame[k]
                if k == last:
                    add(prefix, pnb=pnb + p)                     # the last label again: collapses into it
                    add(prefix + (k,), pnb=pb + p)               # a new label after a blank
                else:
                    add(prefix + (k,), pnb=total + p)
        ranked = sorted(nxt.items(), key=lambda kv: -_lae(kv[1][0], kv[1][1]))[:beam_width]
        beams = {prefix: (pb, pnb) for prefix, (pb, pnb) in ranked}
    hyps = [CTCHypothesis(prefix, _lae(pb, pnb)) for prefix, (pb, pnb) in beams.items()]
    return sorted(hyps, key=lambda h: -h.score)


def ctc_beam_search(log_probs: Any, input_lengths: Any = None, blank: int = 0, beam_width: int = 8):
    """Prefix beam search (no language model): the ``beam_width`` most probable labelings, best first, each
    scored by the log of its probability summed over its alignments (among the prefixes the beam kept).

    ``log_probs`` (T, N, C) or (T, C); returns a list of hypotheses per sample (a list of lists), or one list
    for an unbatched input.

    >>> import numpy as np
    >>> hyps = ctc_beam_search(np.log([[0.6, 0.4], [0.6, 0.4]]), beam_width=2)
    >>> [h.labels for h in hyps]
    [(1,), ()]
    """
    if not isinstance(beam_width, int) or beam_width < 1:
        raise ValueError(f"ctc_beam_search: beam_width must be an int >= 1, got {beam_width!r}")
    lp, lengths, unbatched = _inputs("ctc_beam_search", log_probs, input_lengths, blank)
    lp = lp.astype(np.float64)
    out = [_beam_one(lp[:n_t, b], blank, beam_width) for b, n_t in enumerate(lengths)]
    return out[0] if unbatched else out
