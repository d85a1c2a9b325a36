"""A simple word tokenizer: lowercase, punctuation split off, English clitics split as the Penn Treebank does.

It reproduces the tokenization of the Stanford Sentiment Treebank files closely enough that raw text typed by
a user meets the same vocabulary: "don't" -> ``do n't``, "film's" -> ``film 's``; hyphenated words stay whole
("re-imagining"), and the treebank's escapes (``-lrb-``, `````` ``, ``''``, ``\\/``) become the characters they stand
for, so ``(`` in one file and ``-lrb-`` in another are the same token.

>>> tokenize("A gripping, beautifully shot film -- isn't it, Mr. Smith?")
['a', 'gripping', ',', 'beautifully', 'shot', 'film', '--', 'is', "n't", 'it', ',', 'mr.', 'smith', '?']
>>> tokenize("it 's a -lrb- sort of -rrb- `` classic ''")
['it', "'s", 'a', '(', 'sort', 'of', ')', '"', 'classic', '"']
"""
from __future__ import annotations

import re

__all__ = ["tokenize", "split_words"]

_PTB_ESCAPES = {"-lrb-": "(", "-rrb-": ")", "-lsb-": "[", "-rsb-": "]", "-lcb-": "{", "-rcb-": "}",
                "``": '"', "''": '"', "\\/": "/", "\\*": "*"}
_ESCAPE = re.compile("|".join(re.escape(k) for k in _PTB_ESCAPES), re.IGNORECASE)
_SUFFIX = r"(?:s|re|ve|ll|d|m)\b"
_CLITIC = rf"(?:n't\b|'{_SUFFIX})"
_TOKEN = re.compile(r"""
      \w+?(?=CLITIC)          # the stem before a clitic: "do" of "don't", "film" of "film's"
    | CLITIC                  # the clitic itself
    | (?:\w\.){2,}            # initials: "u.s.", "e.t."
    | (?i:mrs|mr|ms|dr|vs|jr|st)\.(?!\w)   # a few abbreviations
    | \w+(?:-\w+|'(?!SUFFIX)\w+)*         # a word, with inner hyphens or apostrophes (not before a clitic)
    | \.\.\. | --              # an ellipsis, a dash
    | \S                      # any other character: punctuation, one token each
    """.replace("SUFFIX", _SUFFIX).replace("CLITIC", _CLITIC), re.VERBOSE)


def tokenize(text: str, lower: bool = True) -> list[str]:
    """The word tokens of ``text`` (lowercased unless ``lower=False``); see the module docstring."""
    if not isinstance(text, str):
        raise TypeError(f"tokenize: expected a str, got {type(text).__name__}")
    if lower:
        text = text.lower()
    text = text.replace("\u2019", "'").replace("\u2018", "'")
    text = _ESCAPE.sub(lambda m: f" {_PTB_ESCAPES[m.group(0).lower()]} ", text)
    return _TOKEN.findall(text)


def split_words(text: str) -> list[str]:
    """Whitespace split, for text that is already tokenized (no lowercasing, no other change)."""
    return text.split()
