"""A WordPiece tokenizer from a Hugging Face ``tokenizer.json``, run by the ``tokenizers`` library
(``pip install lucidnet[text]``), with batches padded to their longest sequence and an attention mask.

>>> tok = WordPieceTokenizer("tokenizer.json", max_length=256)   # doctest: +SKIP
>>> b = tok(["Hello world!", "A longer sentence."])                # doctest: +SKIP
>>> b.input_ids.shape == b.attention_mask.shape                    # doctest: +SKIP
True
"""
from __future__ import annotations

import warnings
from pathlib import Path
from typing import Sequence

import numpy as np

from .subword import tokenizer_from_file

__all__ = ["WordPieceTokenizer", "Batch"]


class Batch:
    """A padded batch: ``input_ids`` and ``attention_mask`` (B, T) int64, T the longest sequence."""

    def __init__(self, input_ids: np.ndarray, attention_mask: np.ndarray):
        self.input_ids, self.attention_mask = input_ids, attention_mask

    def __len__(self) -> int:
        return len(self.input_ids)


class WordPieceTokenizer:
    """A ``tokenizer.json`` (a fast Hugging Face tokenizer) run by the ``tokenizers`` library.

    ``max_length``: sequences longer than this (``[CLS]`` and ``[SEP]`` included) are cut to it, keeping the
    final ``[SEP]``, with a warning.
    """

    def __init__(self, path: str | Path, max_length: int = 512):
        try:
            import tokenizers
        except ImportError:
            raise ImportError("pretrained text models need the 'tokenizers' package: "
                              "pip install lucidnet[text]") from None
        self.path = path = Path(path)
        self.tokenizer = tokenizer_from_file(path, tokenizers)
        self.tokenizer.no_truncation()
        self.tokenizer.no_padding()
        self.pad_id = self.tokenizer.token_to_id("[PAD]") or 0
        self.sep_id = self.tokenizer.token_to_id("[SEP]")
        self.unk_id = self.tokenizer.token_to_id("[UNK]")  # None without one
        if self.sep_id is None:
            raise ValueError(f"{path}: the vocabulary has no [SEP] token; only BERT-style WordPiece tokenizers are read")
        self.max_length = int(max_length)
        if self.max_length < 2:
            raise ValueError(f"WordPieceTokenizer: max_length must be at least 2, got {self.max_length}")

    @property
    def vocab_size(self) -> int:
        return self.tokenizer.get_vocab_size()

    def encode(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids of each text, ``[CLS] ... [SEP]``, cut to ``max_length`` (with a warning)."""
        if isinstance(texts, str):
            raise TypeError("WordPieceTokenizer.encode takes a list of texts, not one string")
        ids = [e.ids for e in self.tokenizer.encode_batch([str(t) for t in texts])]
        long = [i for i, x in enumerate(ids) if len(x) > self.max_length]
        if long:
            warnings.warn(f"{len(long)} text(s) longer than {self.max_length} tokens were truncated (the first: text "
                          f"{long[0]}, {len(ids[long[0]])} tokens)", stacklevel=2)
            for i in long:
                ids[i] = ids[i][:self.max_length - 1] + [self.sep_id]
        return ids

    def pad(self, ids: Sequence[Sequence[int]]) -> Batch:
        """Pad to the longest sequence: (input_ids, attention_mask)."""
        t = max((len(x) for x in ids), default=1)
        out = np.full((len(ids), t), self.pad_id, dtype=np.int64)
        mask = np.zeros((len(ids), t), dtype=np.int64)
        for i, x in enumerate(ids):
            out[i, :len(x)] = x
            mask[i, :len(x)] = 1
        return Batch(out, mask)

    def __call__(self, texts: Sequence[str]) -> Batch:
        return self.pad(self.encode(texts))


    def save(self, path: str | Path) -> None:
        """Write the tokenizer file (the tokenizers library's JSON) to ``path``."""
        self.tokenizer.save(str(path))
