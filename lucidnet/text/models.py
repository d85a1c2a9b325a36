"""Text models, registered in ``lucidnet.models``: ``TextCNN`` and ``LSTMClassifier`` (sentence classification),
``CharLSTM`` (a character language model).

Classifiers take ``(tokens, lengths)``: int64 ids (B, T) padded on the right, and the valid length of each row
(B,); what stands in the padding never changes the output (it is masked out of the pooling, and the LSTM reads
each sequence to its own length). They return logits (B, num_classes).

>>> import numpy as np, lucidnet as ln
>>> _ = ln.manual_seed(0)
>>> cnn = TextCNN(vocab_size=50, embed_dim=8, num_filters=4, kernel_sizes=(2, 3))
>>> tokens = ln.tensor([[5, 6, 7, 8], [9, 10, 0, 0]])
>>> cnn.eval()(tokens, ln.tensor([4, 2])).shape
(2, 2)
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from .. import nn
from ..models.registry import register
from ..ops import cat, max as reduce_max, sum as reduce_sum
from ..tensor import Tensor

__all__ = ["TextCNN", "LSTMClassifier", "CharLSTM", "length_mask"]


def _lengths(lengths: Any, batch: int, t: int, who: str) -> np.ndarray:
    """The valid lengths as an int64 array (B,), each in [1, T]; all T when ``lengths`` is None."""
    if lengths is None:
        return np.full(batch, t, dtype=np.int64)
    n = np.asarray(lengths.array if isinstance(lengths, Tensor) else lengths).astype(np.int64, copy=False)
    if n.shape != (batch,):
        raise ValueError(f"{who}: lengths must have shape ({batch},) (one per sequence), got {n.shape}")
    if n.size and (n.min() < 1 or n.max() > t):
        raise ValueError(f"{who}: lengths must lie in [1, {t}] (the padded length), got {int(n.min())}..{int(n.max())}")
    return n


def length_mask(lengths: np.ndarray, t: int) -> np.ndarray:
    """Boolean (B, T): True at the valid positions ``j < lengths[b]``."""
    return np.arange(t)[None, :] < np.asarray(lengths)[:, None]


def check_tokens(tokens: Any, who: str, name: str = "token ids") -> Tensor:
    """``tokens`` as an integer Tensor (batch, length), or a clear error naming ``who`` and ``name``."""
    if not isinstance(tokens, Tensor):
        tokens = Tensor(np.asarray(tokens))
    if tokens.ndim != 2 or tokens.dtype.kind not in "iu":
        raise ValueError(f"{who}: expected {name} of shape (batch, length) and an integer dtype, got shape "
                         f"{tuple(tokens.shape)} and dtype {tokens.dtype}")
    return tokens


@register("textcnn")
class TextCNN(nn.Module):
    """Kim's (2014) CNN for sentence classification: embeddings, parallel 1-D convolutions of several widths,
    max over time (of the positions inside each sentence only), dropout, a linear classifier.

    A sentence shorter than a kernel is treated as if padded to the kernel's width with the padding row
    (zeros), whatever the batch's padding.
    """

    def __init__(self, vocab_size: int, embed_dim: int = 128, num_filters: int = 100,
                 kernel_sizes: Sequence[int] = (3, 4, 5), num_classes: int = 2, dropout: float = 0.5,
                 padding_idx: int | None = 0):
        super().__init__()
        self.config = {"vocab_size": vocab_size, "embed_dim": embed_dim, "num_filters": num_filters,
                       "kernel_sizes": list(kernel_sizes), "num_classes": num_classes, "dropout": dropout,
                       "padding_idx": padding_idx}
        if not kernel_sizes:
            raise ValueError("TextCNN: kernel_sizes must name at least one width")
        self.kernel_sizes = [int(k) for k in kernel_sizes]
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=padding_idx)
        self.convs = nn.ModuleList([nn.Conv1d(embed_dim, num_filters, k) for k in self.kernel_sizes])
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(num_filters * len(self.kernel_sizes), num_classes)

    @property
    def min_length(self) -> int:
        """The least padded length a batch needs (the widest kernel)."""
        return max(self.kernel_sizes)

    def forward(self, tokens: Any, lengths: Any = None) -> Tensor:
        who = "TextCNN"
        tokens = check_tokens(tokens, who)
        b, t = tokens.shape
        if t < self.min_length:
            raise ValueError(f"{who}: the batch is padded to length {t}, shorter than the widest kernel "
                             f"({self.min_length}); pad it to at least that (pad_sequences(..., min_len=...))")
        n = _lengths(lengths, b, t, who)
        x = self.embedding(tokens).transpose(1, 2)                 # (B, E, T)
        pooled = []
        for k, conv in zip(self.kernel_sizes, self.convs):
            h = conv(x)                                            # (B, F, T - k + 1)
            valid = length_mask(np.maximum(n - k + 1, 1), t - k + 1)
            neg = np.where(valid, 0, -np.inf).astype(h.dtype)[:, None, :]
            pooled.append(reduce_max(h + neg, dim=2).values)       # (B, F); relu after max: same, cheaper
        z = cat(pooled, dim=1).relu()
        return self.fc(self.dropout(z))


@register("lstm_classifier")
class LSTMClassifier(nn.Module):
    """Embeddings, an LSTM (``bidirectional`` for a BiLSTM) read to each sentence's length, a pooling of its
    outputs over the valid positions (``"max"``, ``"mean"``) or its final states (``"last"``: the last layer's
    final hidden state, both directions concatenated), dropout, a linear classifier.
    """

    POOLINGS = ("max", "mean", "last")

    def __init__(self, vocab_size: int, embed_dim: int = 128, hidden_size: int = 128, num_layers: int = 1,
                 bidirectional: bool = False, pooling: str = "max", num_classes: int = 2, dropout: float = 0.5,
                 padding_idx: int | None = 0):
        super().__init__()
        if pooling not in self.POOLINGS:
            raise ValueError(f"LSTMClassifier: pooling must be one of {self.POOLINGS}, got {pooling!r}")
        self.config = {"vocab_size": vocab_size, "embed_dim": embed_dim, "hidden_size": hidden_size,
                       "num_layers": num_layers, "bidirectional": bidirectional, "pooling": pooling,
                       "num_classes": num_classes, "dropout": dropout, "padding_idx": padding_idx}
        self.pooling = pooling
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=padding_idx)
        self.embed_dropout = nn.Dropout(dropout)
        self.lstm = nn.LSTM(embed_dim, hidden_size, num_layers=num_layers, batch_first=True,
                            dropout=dropout if num_layers > 1 else 0.0, bidirectional=bidirectional)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(hidden_size * (2 if bidirectional else 1), num_classes)

    min_length = 1

    def forward(self, tokens: Any, lengths: Any = None) -> Tensor:
        who = "LSTMClassifier"
        tokens = check_tokens(tokens, who)
        b, t = tokens.shape
        n = _lengths(lengths, b, t, who)
        x = self.embed_dropout(self.embedding(tokens))             # (B, T, E)
        out, (h_n, _) = self.lstm(x, lengths=n)                    # (B, T, D*H); h_n (L*D, B, H)
        if self.pooling == "last":
            z = cat([h_n[-2], h_n[-1]], dim=1) if self.config["bidirectional"] else h_n[-1]
        else:
            valid = length_mask(n, t)[:, :, None]                  # (B, T, 1)
            if self.pooling == "max":
                z = reduce_max(out + np.where(valid, 0, -np.inf).astype(out.dtype), dim=1).values
            else:
                z = reduce_sum(out * valid.astype(out.dtype), dim=1) / n[:, None].astype(out.dtype)
        return self.fc(self.dropout(z))


@register("char_lstm")
class CharLSTM(nn.Module):
    """A character language model: embeddings, a multi-layer LSTM, dropout, a linear layer to the vocabulary.

    ``forward(x, state=None)``: x int64 (B, T) -> ``(logits (B, T, vocab_size), state)``, where ``state`` is the
    LSTM's ``(h, c)``, to be passed (detached) with the next chunk of the same streams.
    """

    def __init__(self, vocab_size: int, embed_dim: int = 64, hidden_size: int = 256, num_layers: int = 2,
                 dropout: float = 0.0):
        super().__init__()
        self.config = {"vocab_size": vocab_size, "embed_dim": embed_dim, "hidden_size": hidden_size,
                       "num_layers": num_layers, "dropout": dropout}
        self.embedding = nn.Embedding(vocab_size, embed_dim)
        self.lstm = nn.LSTM(embed_dim, hidden_size, num_layers=num_layers, batch_first=True,
                            dropout=dropout if num_layers > 1 else 0.0)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(hidden_size, vocab_size)

    def forward(self, x: Any, state: Any = None) -> tuple[Tensor, Any]:
        x = check_tokens(x, "CharLSTM")
        out, state = self.lstm(self.embedding(x), state)
        return self.head(self.dropout(out)), state
