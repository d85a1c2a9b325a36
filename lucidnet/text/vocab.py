"""Vocabularies: token <-> id maps for words (``Vocab``) and characters (``CharVocab``), saved as JSON.

Ids are given in a fixed order: the special tokens first (``pad_token`` then ``unk_token``, then any other
``specials``), then the tokens by decreasing count, ties broken by the token itself, so the same corpus always
gives the same ids. ``min_freq`` drops rare tokens and ``max_size`` caps the whole vocabulary (specials
included); a token that is not in the vocabulary maps to ``unk_token`` (an error where there is none).

>>> v = Vocab.build([["a", "good", "film"], ["a", "bad", "film"], ["a", "film"]], min_freq=2)
>>> v.tokens
['<pad>', '<unk>', 'a', 'film']
>>> v.encode(["a", "great", "film"]).tolist()
[2, 1, 3]
>>> v.pad_id, v.unk_id, len(v)
(0, 1, 4)
>>> c = CharVocab.build(["hello"])
>>> c.decode(c.encode("hole"))
'hole'
"""
from __future__ import annotations

import json
import os
from collections import Counter
from typing import Any, Iterable, Sequence

import numpy as np

from ..serialization.atomic import atomic_write

__all__ = ["Vocab", "CharVocab", "load_vocab"]

_FORMAT = 1


class Vocab:
    """A word vocabulary: ``vocab[token] -> id``, ``vocab.tokens[id] -> token``.

    Args:
        tokens: every entry, in id order (special tokens included: they must be among ``tokens``).
        pad_token: the padding token (its id is ``pad_id``), or None.
        unk_token: what unknown tokens map to (``unk_id``), or None: unknown tokens are then an error.
    """

    kind = "word"

    def __init__(self, tokens: Sequence[str], pad_token: str | None = "<pad>", unk_token: str | None = "<unk>"):
        self.tokens: list[str] = list(tokens)
        self.index: dict[str, int] = {t: i for i, t in enumerate(self.tokens)}
        if len(self.index) != len(self.tokens):
            dup = sorted(t for t, n in Counter(self.tokens).items() if n > 1)[:5]
            raise ValueError(f"{type(self).__name__}: tokens must be distinct; repeated: {dup}")
        for name, tok in (("pad_token", pad_token), ("unk_token", unk_token)):
            if tok is not None and tok not in self.index:
                raise ValueError(f"{type(self).__name__}: {name} {tok!r} is not among the tokens")
        self.pad_token, self.unk_token = pad_token, unk_token
        self.pad_id: int | None = None if pad_token is None else self.index[pad_token]
        self.unk_id: int | None = None if unk_token is None else self.index[unk_token]

    # ---- building -----------------------------------------------------------------------------------
    @classmethod
    def from_counts(cls, counts: Counter, min_freq: int = 1, max_size: int | None = None,
                    pad_token: str | None = "<pad>", unk_token: str | None = "<unk>",
                    specials: Sequence[str] = ()) -> "Vocab":
        """The vocabulary of ``counts`` (token -> count): see the module docstring for the order and limits."""
        if isinstance(min_freq, bool) or not isinstance(min_freq, int) or min_freq < 1:
            raise ValueError(f"{cls.__name__}: min_freq must be a positive int, got {min_freq!r}")
        head = [t for t in (pad_token, unk_token, *specials) if t is not None]
        if len(set(head)) != len(head):
            raise ValueError(f"{cls.__name__}: the special tokens must be distinct, got {head}")
        if max_size is not None and (isinstance(max_size, bool) or not isinstance(max_size, int)
                                     or max_size < len(head)):
            raise ValueError(f"{cls.__name__}: max_size must be an int >= the {len(head)} special tokens, "
                             f"got {max_size!r}")
        special = set(head)
        rest = sorted((t for t, c in counts.items() if c >= min_freq and t not in special),
                      key=lambda t: (-counts[t], t))
        if max_size is not None:
            rest = rest[:max_size - len(head)]
        return cls(head + rest, pad_token=pad_token, unk_token=unk_token)

    @classmethod
    def build(cls, sequences: Iterable[Sequence[str]], min_freq: int = 1, max_size: int | None = None,
              pad_token: str | None = "<pad>", unk_token: str | None = "<unk>",
              specials: Sequence[str] = ()) -> "Vocab":
        """Count the tokens of ``sequences`` (lists of tokens) and build the vocabulary."""
        counts: Counter = Counter()
        for seq in sequences:
            counts.update(seq)
        return cls.from_counts(counts, min_freq, max_size, pad_token, unk_token, specials)

    # ---- lookups ------------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.tokens)

    def __contains__(self, token: str) -> bool:
        return token in self.index

    def __getitem__(self, token: str) -> int:
        i = self.index.get(token, self.unk_id)
        if i is None:
            self._missing(token)
        return i

    def encode(self, tokens: Iterable[str]) -> np.ndarray:
        """The ids of ``tokens`` as an int64 array (unknown tokens -> ``unk_id``)."""
        tokens = list(tokens)
        get, unk = self.index.get, self.unk_id
        ids = [get(t, unk) for t in tokens]
        if unk is None and None in ids:
            self._missing(tokens[ids.index(None)])
        return np.array(ids, dtype=np.int64)

    def _missing(self, token: str):
        raise KeyError(f"{type(self).__name__}: {token!r} is not in the vocabulary (and it has no unk_token)")

    def decode(self, ids: Iterable[int]) -> list[str]:
        """The tokens of ``ids``."""
        n = len(self.tokens)
        out = []
        for i in ids:
            i = int(i)
            if not 0 <= i < n:
                raise IndexError(f"{type(self).__name__}: id {i} is out of range [0, {n})")
            out.append(self.tokens[i])
        return out

    # ---- saving -------------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {"format": _FORMAT, "kind": self.kind, "tokens": self.tokens, "pad_token": self.pad_token,
                "unk_token": self.unk_token}

    def save(self, path: str | os.PathLike) -> None:
        """Write the vocabulary as JSON, atomically; ``load_vocab(path)`` reads it back."""
        atomic_write(path, [json.dumps(self.to_dict(), ensure_ascii=False).encode("utf-8") + b"\n"])

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Vocab":
        """A vocabulary saved by ``save``; the class of the file's ``kind`` (word or char)."""
        return load_vocab(path)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Vocab) and self.to_dict() == other.to_dict()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({len(self)} tokens, pad={self.pad_token!r}, unk={self.unk_token!r})"


class CharVocab(Vocab):
    """A character vocabulary: ``encode`` takes a string, ``decode`` gives one. By default it has no special
    tokens (a character language model sees every character of its corpus)."""

    kind = "char"

    def __init__(self, tokens: Sequence[str], pad_token: str | None = None, unk_token: str | None = None):
        bad = [t for t in tokens if len(t) != 1 and t not in (pad_token, unk_token)]
        if bad:
            raise ValueError(f"CharVocab: every token must be one character, got {bad[:5]}")
        super().__init__(tokens, pad_token=pad_token, unk_token=unk_token)

    @classmethod
    def build(cls, texts: Iterable[str], min_freq: int = 1, max_size: int | None = None,  # type: ignore[override]
              pad_token: str | None = None, unk_token: str | None = None, specials: Sequence[str] = ()) -> "CharVocab":
        """Count the characters of ``texts`` (strings) and build the vocabulary."""
        counts: Counter = Counter()
        for text in texts:
            counts.update(text)
        return cls.from_counts(counts, min_freq, max_size, pad_token, unk_token, specials)  # type: ignore[return-value]

    def encode(self, text: str) -> np.ndarray:  # type: ignore[override]
        """The ids of the characters of ``text`` (int64), through a lookup table on the code points."""
        if not isinstance(text, str):
            raise TypeError(f"CharVocab.encode: expected a str, got {type(text).__name__}")
        if not text:
            return np.zeros(0, dtype=np.int64)
        codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
        table = np.full(int(codes.max()) + 1, -1 if self.unk_id is None else self.unk_id, dtype=np.int64)
        for t, i in self.index.items():
            if len(t) == 1 and ord(t) < len(table):
                table[ord(t)] = i
        ids = table[codes]
        if self.unk_id is None and (ids < 0).any():
            self._missing(text[int(np.argmax(ids < 0))])
        return ids

    def decode(self, ids: Iterable[int]) -> str:  # type: ignore[override]
        return "".join(super().decode(ids))


def load_vocab(path: str | os.PathLike) -> Vocab:
    """A ``Vocab`` or ``CharVocab`` from a JSON file written by ``save``, with clear errors on a bad file."""
    try:
        with open(path, encoding="utf-8") as f:
            d = json.load(f)
    except ValueError as e:  # invalid JSON or UTF-8, an integer of too many digits
        raise ValueError(f"{os.fspath(path)}: not a vocabulary file (invalid JSON: {e})") from None
    except RecursionError:
        raise ValueError(f"{os.fspath(path)}: not a vocabulary file (its JSON nests too deeply)") from None
    if not isinstance(d, dict) or not isinstance(d.get("tokens"), list):
        raise ValueError(f"{os.fspath(path)}: not a vocabulary file (expected a JSON object with a 'tokens' list)")
    specials = [d.get("pad_token"), d.get("unk_token")]
    if not all(isinstance(t, str) for t in d["tokens"]) or not all(t is None or isinstance(t, str) for t in specials):
        raise ValueError(f"{os.fspath(path)}: not a vocabulary file (its tokens, pad_token and unk_token must be "
                         "strings)")
    if d.get("format") != _FORMAT:
        raise ValueError(f"{os.fspath(path)}: vocabulary format {d.get('format')!r} is not supported "
                         f"(this lucidnet reads format {_FORMAT})")
    kinds = {"word": Vocab, "char": CharVocab}
    if not isinstance(d.get("kind"), str) or d["kind"] not in kinds:
        raise ValueError(f"{os.fspath(path)}: unknown vocabulary kind {d.get('kind')!r} (expected 'word' or 'char')")
    try:
        return kinds[d["kind"]](d["tokens"], pad_token=d.get("pad_token"), unk_token=d.get("unk_token"))
    except ValueError as e:
        raise ValueError(f"{os.fspath(path)}: not a valid vocabulary ({e})") from None
