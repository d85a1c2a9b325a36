"""Decoders that turn a network's per-frame scores into label sequences (not differentiable): CTC greedy and
prefix beam search. Used by the speech and text applications alike.

>>> import numpy as np
>>> from lucidnet.decoding import ctc_greedy_decode
>>> ctc_greedy_decode(np.log([[0.1, 0.9], [0.2, 0.8], [0.9, 0.1], [0.3, 0.7]])).labels
(1, 1)
"""
from .ctc import CTCHypothesis, ctc_beam_search, ctc_greedy_decode

__all__ = ["CTCHypothesis", "ctc_beam_search", "ctc_greedy_decode"]
