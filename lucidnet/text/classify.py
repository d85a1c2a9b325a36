"""Text classification glue: texts -> token ids -> batches, and class probabilities for new texts.

>>> import lucidnet as ln
>>> from lucidnet.text import Vocab, TextCNN
>>> _ = ln.manual_seed(0)
>>> vocab = Vocab.build([tokenize("a good film"), tokenize("a bad film")])
>>> encode_texts(["A good, good film"], vocab)[0].tolist()     # ',' is unknown: unk_id 1
[2, 5, 1, 5, 3]
>>> model = TextCNN(len(vocab), embed_dim=4, num_filters=2, kernel_sizes=(2,))
>>> predict_proba(model, vocab, ["a good film", "bad"]).shape
(2, 2)
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from ..nn.inference import inference
from ..ops import softmax
from ..tensor import Tensor, from_numpy
from ..train import EVAL_BATCH_SIZE
from .batching import pad_sequences
from .tokenize import tokenize
from .vocab import Vocab
from .wordpiece import WordPieceTokenizer

__all__ = ["encode_texts", "predict_proba"]


def encode_texts(texts: Sequence[str], vocab: Vocab | WordPieceTokenizer,
                 tokenizer: Callable[[str], list[str]] = tokenize, max_len: int | None = None) -> list[np.ndarray]:
    """The ids of each text's tokens (int64 arrays, at most ``max_len`` each). A text without any token is an
    error naming it. ``vocab`` may be a pretrained model's WordPiece tokenizer (which tokenizes by itself)."""
    if isinstance(vocab, WordPieceTokenizer):
        return [np.asarray(x[:max_len], dtype=np.int64) for x in vocab.encode(list(texts))]
    out = []
    for i, text in enumerate(texts):
        tokens = tokenizer(text)
        if not tokens:
            raise ValueError(f"text {i} ({text!r}) has no tokens to classify")
        out.append(vocab.encode(tokens[:max_len]))
    return out


def predict_proba(model: Any, vocab: Vocab | WordPieceTokenizer, texts: Sequence[str], tokenizer: Callable[[str], list[str]] = tokenize,
                  batch_size: int = EVAL_BATCH_SIZE) -> np.ndarray:
    """Class probabilities (N, C), float64 rows summing to 1, of a classifier ``model(tokens, lengths)`` over raw
    ``texts`` (tokenized and encoded with ``vocab``). Eval mode, no graph; the model's mode is restored."""
    ids = encode_texts(texts, vocab, tokenizer)
    min_len = int(getattr(model, "min_length", 1))
    pad = 0 if vocab.pad_id is None else vocab.pad_id
    probs = []
    with inference(model):
        for lo in range(0, len(ids), batch_size):
            tokens, lengths = pad_sequences(ids[lo:lo + batch_size], pad, min_len=min_len)
            z = np.asarray(model(Tensor(tokens), Tensor(lengths)).array, dtype=np.float64)
            probs.append(softmax(from_numpy(z), dim=1).array)
    return np.concatenate(probs) if probs else np.zeros((0, 0))
