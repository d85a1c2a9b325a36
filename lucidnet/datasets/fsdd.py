"""The Free Spoken Digit Dataset (FSDD v1.0.10): 3,000 recordings of the digits 0-9, 8 kHz mono WAV, 6 speakers x
10 digits x 50 takes, named ``{digit}_{speaker}_{index}.wav``; CC BY-SA 4.0
(https://github.com/Jakobovski/free-spoken-digit-dataset).

Splits (:func:`split_recordings`): ``"official"``, the dataset's own: takes 0-4 of every speaker and digit are the
test set (300 recordings), the others train (2,700); ``"speaker:NAME"``, speaker-held-out: every recording of NAME
is the test set, the other speakers' train (six folds). A split never puts one recording on both sides.

>>> rs = [Recording(Path(f"{d}_{s}_{i}.wav"), d, s, i) for d in range(2) for s in ("ann", "bob") for i in range(7)]
>>> train, test = split_recordings(rs, "official")
>>> len(train), len(test), sorted({r.index for r in test})
(8, 20, [0, 1, 2, 3, 4])
>>> train, test = split_recordings(rs, "speaker:bob")
>>> {r.speaker for r in train}, {r.speaker for r in test}
({'ann'}, {'bob'})
"""
from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from .download import data_roots
from .errors import DatasetError, not_found

__all__ = ["FSDD", "Recording", "split_recordings", "parse_split", "OFFICIAL_TEST_TAKES", "SAMPLE_RATE"]

SAMPLE_RATE = 8000
OFFICIAL_TEST_TAKES = range(5)     # takes 0-4 of every speaker and digit: the official test set
_NAME = re.compile(r"^([0-9])_([A-Za-z][A-Za-z0-9-]*)_([0-9]+)\.wav$")


@dataclass(frozen=True)
class Recording:
    """One recording: its file, the digit spoken, the speaker and the take's index."""

    path: Path
    digit: int
    speaker: str
    index: int


def parse_split(split: str, speakers: Sequence[str] | None = None) -> tuple[str, str | None]:
    """(``"official"`` or ``"speaker"``, the held-out speaker or None) of a split name; with ``speakers``, a
    speaker not among them is an error listing them."""
    if split == "official":
        return "official", None
    if isinstance(split, str) and split.startswith("speaker:") and len(split) > len("speaker:"):
        name = split[len("speaker:"):]
        if speakers is not None and name not in speakers:
            raise ValueError(f"split {split!r}: no speaker {name!r}; the speakers: {', '.join(speakers)}")
        return "speaker", name
    raise ValueError(f"split must be 'official' or 'speaker:NAME' (a speaker held out), got {split!r}")


def split_recordings(recordings: Sequence[Recording], split: str = "official") -> tuple[list[Recording], list[Recording]]:
    """(train, test) recordings of ``split`` (see the module's docstring)."""
    kind, held = parse_split(split, sorted({r.speaker for r in recordings}))
    is_test = (lambda r: r.index in OFFICIAL_TEST_TAKES) if kind == "official" else (lambda r: r.speaker == held)
    train = [r for r in recordings if not is_test(r)]
    test = [r for r in recordings if is_test(r)]
    return train, test


class FSDD:
    """The recordings of FSDD found in ``root`` (its ``recordings/`` folder, or the folder of WAV files itself;
    default: ``$LUCIDNET_DATA/fsdd`` or ``~/.cache/lucidnet/fsdd``), sorted by speaker, digit and take.

    ``split(name)`` gives (train, test) recordings, ``read(recordings)`` their samples, ``verify()`` checks the
    files against the ``SHA256SUMS`` beside ``recordings/``."""

    name = "fsdd"

    def __init__(self, root: str | os.PathLike | None = None):
        self.dir = self._locate(root)
        recordings, odd = [], []
        for path in sorted(self.dir.glob("*.wav")):
            m = _NAME.match(path.name)
            if m is None:
                odd.append(path.name)
                continue
            recordings.append(Recording(path, int(m.group(1)), m.group(2), int(m.group(3))))
        if odd:
            raise DatasetError(f"{self.dir}: {len(odd)} WAV file(s) not named DIGIT_SPEAKER_INDEX.wav, e.g. {odd[0]!r}")
        if not recordings:
            raise DatasetError(f"{self.dir}: no FSDD recordings (DIGIT_SPEAKER_INDEX.wav files)")
        self.recordings = sorted(recordings, key=lambda r: (r.speaker, r.digit, r.index))
        self.speakers = sorted({r.speaker for r in recordings})

    @staticmethod
    def _locate(root: str | os.PathLike | None) -> Path:
        candidates = [(Path(root), "root")] if root is not None else data_roots("fsdd")
        for base, _ in candidates:
            for d in (base / "recordings", base):
                if d.is_dir() and any(d.glob("*.wav")):
                    return d
        raise not_found("FSDD", ["recordings/*.wav"], candidates,
                        "git clone https://github.com/Jakobovski/free-spoken-digit-dataset and give its folder "
                        "(--data DIR), or put it in $LUCIDNET_DATA/fsdd")

    def __len__(self) -> int:
        return len(self.recordings)

    def split(self, split: str = "official") -> tuple[list[Recording], list[Recording]]:
        return split_recordings(self.recordings, split)

    @staticmethod
    def read(recordings: Sequence[Recording], sample_rate: int = SAMPLE_RATE) -> list[np.ndarray]:
        """The samples of each recording: float32, mono, at ``sample_rate``."""
        from ..audio.wav import read_audio  # lucidnet.audio imports this package's errors: imported when used
        return [read_audio(r.path, sample_rate=sample_rate)[0] for r in recordings]

    def verify(self) -> int:
        """Check every file listed in ``SHA256SUMS`` (beside ``recordings/``; its paths are relative to the
        folder above): the number checked, or a :class:`DatasetError` naming the first file that differs."""
        sums = self.dir.parent / "SHA256SUMS"
        if not sums.is_file():
            raise DatasetError(f"{sums}: no checksum file beside {self.dir}")
        checked = 0
        for n, line in enumerate(sums.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            digest, _, name = line.partition("  ")
            path = self.dir.parent.parent / name.strip()
            if not path.is_file():
                path = self.dir / Path(name.strip()).name
            if not path.is_file():
                raise DatasetError(f"{sums}:{n}: {name.strip()} is missing")
            if hashlib.sha256(path.read_bytes()).hexdigest() != digest.strip().lower():
                raise DatasetError(f"{path}: its SHA-256 differs from {sums}:{n}: the file is damaged")
            checked += 1
        return checked
