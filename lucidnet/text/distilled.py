"""Distilling a text classifier into a smaller one: the teacher's logits on the training texts and on augmented
copies of them, the student trained on them with ``distill.KDLoss`` (recipe ``bilstm-distilled``).

As in Tang et al., "Distilling task-specific knowledge from BERT into simple neural networks" (2019): each
training text of two words or more gets ``augment_copies`` variants, each word masked with probability 0.1
(``[MASK]`` for a WordPiece teacher, the unknown word for the student) and, with probability 0.25, cut to a
random n-gram of 1 to 5 words; a variant equal to a text already there is dropped. The teacher labels every
text with its logits; the student learns ``alpha`` of the teacher's softened probabilities and ``1 - alpha``
of the true labels, where there are labels (the augmented texts have none).

``student_embeddings``: ``"teacher-frozen"`` (the recipe's default) or ``"teacher"`` (fine-tuned), the student
reads the teacher's WordPiece tokens, the very inputs the teacher was given, from the teacher's own
word-embedding table (Tang et al. start from word2vec); ``"random"``, it reads words of its own vocabulary from
random embeddings (a teacher of any kind).

>>> augmented([["a", "gripping", "film"], ["dull"]], 2, np.random.default_rng(1))   # None: a masked word
[['a', None, 'film'], ['gripping']]
"""
from __future__ import annotations

import hashlib
import warnings
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from ..distill import KDLoss, teacher_logits
from ..serialization.objects import load, save
from ..serialization.tensorfile import CheckpointError
from ..nn.losses import cross_entropy
from ..tensor import Tensor
from ..train import rundir
from ..train.metrics import Accuracy
from .batching import pad_sequences
from .wordpiece import WordPieceTokenizer

__all__ = ["augmented", "teacher_inputs", "soft_targets", "cached_soft_targets", "word_embeddings", "DistillLoss", "TeacherAgreement",
           "MASK_P", "NGRAM_P", "IGNORE", "STUDENT_EMBEDDINGS"]

MASK_P, NGRAM_P, MAX_NGRAM = 0.1, 0.25, 5
IGNORE = -100  # the class of a text without a label (an augmented one)
TEACHER_BATCH = 128
STUDENT_EMBEDDINGS = ("random", "teacher", "teacher-frozen")


def augmented(texts: Sequence[Sequence[str]], copies: int, rng: np.random.Generator) -> list[list[str | None]]:
    """Up to ``copies`` new variants of each token list of two tokens or more (None: a masked token), none equal
    to a given text or to another variant (see the module docstring)."""
    seen = {tuple(t) for t in texts}
    out: list[list[str | None]] = []
    for words in texts:
        if len(words) < 2:
            continue
        for _ in range(copies):
            for _attempt in range(5):  # a short text has few variants: give up on a copy after 5 repeats
                v: list[str | None] = [None if rng.random() < MASK_P else w for w in words]
                if rng.random() < NGRAM_P and len(v) > 2:
                    n = int(rng.integers(1, min(MAX_NGRAM, len(v) - 1) + 1))
                    start = int(rng.integers(0, len(v) - n + 1))
                    v = v[start:start + n]
                key = tuple(v)
                if key not in seen and any(w is not None for w in v):
                    seen.add(key)
                    out.append(v)
                    break
    return out


def teacher_inputs(vocab: Any, texts: Sequence[str], variants: Sequence[Sequence[str | None]],
                   tokenizer: Callable[[str], list[str]]) -> list[np.ndarray]:
    """The teacher's token ids (int64 arrays) of ``texts`` (as written) then of the token lists ``variants``
    (None: masked: ``[MASK]`` for a WordPiece ``vocab``, the unknown word for a word vocabulary)."""
    if isinstance(vocab, WordPieceTokenizer):
        mask = "[MASK]"
        ids = vocab.encode([*texts, *(" ".join(mask if w is None else w for w in v) for v in variants)])
    else:
        unk = vocab.unk_token
        ids = [vocab.encode(tokenizer(t) or [unk]) for t in texts] + \
              [vocab.encode([unk if w is None else w for w in v]) for v in variants]
    return [np.asarray(x, dtype=np.int64) for x in ids]


def soft_targets(teacher: Any, vocab: Any, ids: Sequence[np.ndarray]) -> np.ndarray:
    """The teacher's logits (N, C), float32, on its token id lists ``ids`` (``teacher_inputs``); batches of
    similar lengths, the order restored."""
    order = np.argsort([len(x) for x in ids], kind="stable")
    pad = 0 if vocab.pad_id is None else vocab.pad_id
    min_len = int(getattr(teacher, "min_length", 1))
    batches = (tuple(Tensor(a) for a in pad_sequences([ids[i] for i in order[lo:lo + TEACHER_BATCH]], pad,
                                                      min_len=min_len))
               for lo in range(0, len(ids), TEACHER_BATCH))
    z = teacher_logits(teacher, batches)
    out = np.empty_like(z)
    out[order] = z
    return out


def cached_soft_targets(run: str | Path, teacher: Any, vocab: Any, ids: Sequence[np.ndarray]) -> np.ndarray:
    """``soft_targets``, computed once per teacher run and inputs: kept in the teacher's run directory ``run`` as
    ``distill-logits-KEY.safetensors`` (KEY: a hash of the teacher's model file, its size and time, and of the
    token ids) and read back by a later student given the same inputs (another seed or augmentation computes
    its own). A directory that cannot be written costs only a warning."""
    run = Path(run)
    weights = run / rundir.MODEL
    st = weights.stat()
    key = hashlib.sha256(f"{weights.resolve()}:{st.st_size}:{st.st_mtime_ns}".encode())
    key.update(np.asarray([len(x) for x in ids], dtype=np.int64).tobytes())
    for x in ids:
        key.update(np.ascontiguousarray(x, dtype=np.int64).tobytes())
    path = run / f"distill-logits-{key.hexdigest()[:24]}.safetensors"
    if path.is_file():
        try:
            z = np.asarray(load(path)["logits"].array, dtype=np.float32)
            if z.shape[0] == len(ids):
                return z
        except (CheckpointError, KeyError, OSError):
            pass  # unreadable: computed again and rewritten
    z = soft_targets(teacher, vocab, ids)
    try:
        save({"logits": Tensor(z)}, path)
    except OSError as e:
        warnings.warn(f"teacher {run}: its logits could not be kept for later students ({e})", stacklevel=2)
    return z


def word_embeddings(teacher: Any, vocab: Any, where: str | Path) -> np.ndarray:
    """A copy of the word-embedding table (V, E) of a BERT teacher with its WordPiece tokenizer (a student that
    starts from it reads the same tokens); a clear error for another kind of teacher (``where``: its run)."""
    emb = getattr(getattr(getattr(teacher, "bert", None), "embeddings", None), "word_embeddings", None)
    if emb is None or not isinstance(vocab, WordPieceTokenizer):
        kind = "a WordPiece tokenizer" if isinstance(vocab, WordPieceTokenizer) else "a word vocabulary"
        raise ValueError(f"teacher {where}: student_embeddings 'teacher' (or 'teacher-frozen') starts the student "
                         "from a BERT teacher's WordPiece embeddings (a run of --model minilm); this teacher is a "
                         f"{type(teacher).__name__} model with {kind}; use student_embeddings 'random'")
    table = np.array(emb.weight.array, dtype=np.float32, copy=True)
    if table.shape[0] != vocab.vocab_size:
        raise ValueError(f"teacher {where}: its word embeddings have {table.shape[0]} rows, its tokenizer "
                         f"{vocab.vocab_size} tokens")
    return table


class DistillLoss:
    """The training loss of a student: targets (N, C + 1) hold the teacher's C logits and the class index
    (``IGNORE`` for none); class indices alone (validation) get the cross-entropy."""

    def __init__(self, temperature: float, alpha: float):
        self.kd = KDLoss(temperature, alpha, ignore_index=IGNORE)  # checks them

    def __call__(self, out: Tensor, target: Tensor) -> Tensor:
        t = target.array
        if t.ndim == 1:
            return cross_entropy(out, target)
        return self.kd(out, t[:, :-1], Tensor(np.rint(t[:, -1]).astype(np.int64)))


class TeacherAgreement(Accuracy):
    """``accuracy``: on training batches (teacher targets), how often the student's class is the teacher's; on
    validation batches (class indices), the accuracy."""

    def update(self, output: Any, target: Any) -> None:
        t = target.array if isinstance(target, Tensor) else np.asarray(target)
        super().update(output, t[:, :-1] if t.ndim == 2 else t)


def load_teacher(path: str | Path, classes: Sequence[str]) -> tuple[Any, Any, dict]:
    """(model, vocabulary or tokenizer, config) of the text-classification run ``path``, checked to have the
    student's ``classes``."""
    from .recipes import load_text_run

    model, config, vocab = load_text_run(path, "text-classification")
    if list(config.get("classes", [])) != list(classes):
        raise ValueError(f"teacher {path}: it classifies into {config.get('classes')}, the student's data into "
                         f"{list(classes)}: a teacher must have the student's classes, in the same order")
    return model, vocab, config
