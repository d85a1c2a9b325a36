"""A small FSDD-shaped folder of synthetic recordings: each digit a tone of its own pitch (with a speaker's
offset, a random length, a fade and noise), so a model that learns anything learns it in seconds."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from lucidnet.audio import write_wav

SPEAKERS = ("ann", "bob", "cy")


def write_fsdd(root: Path, takes: int = 8, speakers=SPEAKERS, rate: int = 8000) -> Path:
    rec = root / "recordings"
    rec.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for s, speaker in enumerate(speakers):
        for d in range(10):
            for i in range(takes):
                n = int(rng.uniform(0.25, 0.5) * rate)
                t = np.arange(n) / rate
                f = 250.0 + 300.0 * d + 20.0 * s
                x = 0.5 * np.sin(2 * np.pi * f * t) * np.hanning(n) + 0.01 * rng.standard_normal(n)
                write_wav(rec / f"{d}_{speaker}_{i}.wav", x, rate)
    return root
