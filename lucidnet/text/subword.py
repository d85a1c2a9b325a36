"""Trained subword tokenizers (BPE or WordPiece) through Hugging Face's ``tokenizers`` library (optional:
``pip install tokenizers``; imported only when a ``SubwordTokenizer`` is made).

A ``SubwordTokenizer`` is a callable ``text -> list of tokens``, so it stands wherever lucidnet takes a
tokenizer (``encode_texts(texts, tok.vocab, tokenizer=tok)``); ``tok.vocab`` is the matching ``Vocab``
(ids as the trained model's, ``<pad>`` and ``<unk>`` first).

    tok = SubwordTokenizer.train(texts, vocab_size=8000, model="bpe")
    tok("a gripping film")         # ['a', 'gri', '##pping', ...] for WordPiece; BPE pieces for bpe
    tok.save("tokenizer.json"); SubwordTokenizer.load("tokenizer.json")

``reversible=True`` (for generating text, as in translation) keeps case and splits on spaces alone, marking
each word's start SentencePiece's way ("▁"), so that :meth:`SubwordTokenizer.decode` gives the text back;
``specials`` adds tokens such as ``<s>`` and ``</s>`` after ``<pad>`` and ``<unk>``.
"""
from __future__ import annotations

import os
from typing import Any, Iterable

import numpy as np

from ..serialization.atomic import atomic_write
from .vocab import Vocab

__all__ = ["SubwordTokenizer", "tokenizer_from_file"]

MODELS = ("bpe", "wordpiece")


def _tokenizers() -> Any:
    try:
        import tokenizers
    except ImportError:
        raise ImportError("SubwordTokenizer needs the 'tokenizers' library: pip install tokenizers") from None
    return tokenizers


def tokenizer_from_file(path: str | os.PathLike, library: Any = None) -> Any:
    """A ``tokenizers.Tokenizer`` read from ``path`` (``library``: the ``tokenizers`` module), a ValueError naming
    the file for one the library cannot read or that cannot encode a text with an unknown character (its model
    names an unknown token its vocabulary lacks: the library accepts the file, then fails on such a text)."""
    library = library or _tokenizers()
    try:
        tokenizer = library.Tokenizer.from_file(os.fspath(path))
        tokenizer.encode("a \u2603")
    except Exception as e:  # the library raises its own Exception subclass for bad files
        raise ValueError(f"{os.fspath(path)}: not a tokenizer file the 'tokenizers' library can read: {e}") from None
    return tokenizer


class SubwordTokenizer:
    """A wrapper of a ``tokenizers.Tokenizer``: lowercasing (optional), whitespace and punctuation
    pre-tokenization, then the trained BPE or WordPiece model."""

    def __init__(self, tokenizer: Any, pad_token: str = "<pad>", unk_token: str = "<unk>"):
        self.tokenizer, self.pad_token, self.unk_token = tokenizer, pad_token, unk_token
        vocab = tokenizer.get_vocab()
        tokens = sorted(vocab, key=vocab.__getitem__)
        if [vocab[t] for t in tokens] != list(range(len(tokens))):
            raise ValueError("SubwordTokenizer: the tokenizer's ids are not 0..N-1 without gaps")
        self.vocab = Vocab(tokens, pad_token=pad_token, unk_token=unk_token)

    @classmethod
    def train(cls, texts: Iterable[str], vocab_size: int = 8000, model: str = "bpe", min_frequency: int = 2,
              lowercase: bool = True, pad_token: str = "<pad>", unk_token: str = "<unk>", *,
              reversible: bool = False, specials: Iterable[str] = ()) -> "SubwordTokenizer":
        """Learn a ``model`` ("bpe" or "wordpiece") vocabulary of at most ``vocab_size`` pieces from ``texts``.

        ``reversible``: split on spaces only and mark word starts, so that :meth:`decode` restores the text
        (then ``lowercase`` must be False); ``specials``: more special tokens, after ``<pad>`` and ``<unk>``.

        >>> tok = SubwordTokenizer.train(["Ein Hund, ein Ball!"] * 4, vocab_size=60, lowercase=False,
        ...                              reversible=True, specials=["<s>", "</s>"])
        >>> tok.vocab.tokens[:4], tok.decode(tok.encode("Ein Ball, ein Hund!"))
        (['<pad>', '<unk>', '<s>', '</s>'], 'Ein Ball, ein Hund!')
        """
        if model not in MODELS:
            raise ValueError(f"SubwordTokenizer.train: model must be one of {MODELS}, got {model!r}")
        if reversible and lowercase:
            raise ValueError("SubwordTokenizer.train: reversible=True keeps the text as it is; pass lowercase=False")
        tk = _tokenizers()
        specials = [pad_token, unk_token, *specials]
        if model == "bpe":
            tok = tk.Tokenizer(tk.models.BPE(unk_token=unk_token))
            trainer = tk.trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=min_frequency,
                                             special_tokens=specials)
        else:
            tok = tk.Tokenizer(tk.models.WordPiece(unk_token=unk_token))
            trainer = tk.trainers.WordPieceTrainer(vocab_size=vocab_size, min_frequency=min_frequency,
                                                   special_tokens=specials)
        if lowercase:
            tok.normalizer = tk.normalizers.Lowercase()
        if reversible:
            tok.pre_tokenizer, tok.decoder = tk.pre_tokenizers.Metaspace(), tk.decoders.Metaspace()
        else:
            tok.pre_tokenizer = tk.pre_tokenizers.BertPreTokenizer()
        tok.train_from_iterator(texts, trainer=trainer)
        return cls(tok, pad_token, unk_token)

    def __call__(self, text: str) -> list[str]:
        """The subword tokens of ``text``."""
        return self.tokenizer.encode(text).tokens

    def encode(self, text: str) -> np.ndarray:
        """The ids of ``text``'s subword tokens (int64), the same as ``self.vocab.encode(self(text))``."""
        return np.array(self.tokenizer.encode(text).ids, dtype=np.int64)

    def decode(self, ids: Iterable[int], skip_special_tokens: bool = True) -> str:
        """The text of a sequence of ids (special tokens left out by default); the input text again for a
        ``reversible`` tokenizer, pieces joined by spaces otherwise."""
        return self.tokenizer.decode([int(i) for i in ids], skip_special_tokens=skip_special_tokens)

    def save(self, path: str | os.PathLike) -> None:
        """The tokenizer as the library's JSON, written atomically."""
        atomic_write(path, [self.tokenizer.to_str().encode("utf-8")])

    @classmethod
    def load(cls, path: str | os.PathLike, pad_token: str = "<pad>", unk_token: str = "<unk>") -> "SubwordTokenizer":
        """A tokenizer saved by :meth:`save`; a ValueError naming the file for one that is not."""
        tokenizer = tokenizer_from_file(path)
        try:
            return cls(tokenizer, pad_token, unk_token)
        except ValueError as e:
            raise ValueError(f"{os.fspath(path)}: {e}") from None

    def __len__(self) -> int:
        return len(self.vocab)

    def __repr__(self) -> str:
        return f"SubwordTokenizer({len(self)} pieces)"
