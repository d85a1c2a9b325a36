"""Text classification for ``lucidnet predict RUN_DIR "some text" ...`` when RUN_DIR holds a text classifier
(``lucidnet train --dataset sst2``): each text's predicted label and its probability (then the next labels,
up to ``--top``)."""
from __future__ import annotations

import numpy as np

from ..text.classify import predict_proba
from .train_text import run_vocab

TASK = "text-classification"


def is_text_run(config: dict) -> bool:
    return config.get("task") == TASK


def run(args, model, config: dict) -> int:
    """Classify the texts given as predict's positional arguments with the run's ``model`` and vocabulary."""
    texts = list(args.images)
    probs = predict_proba(model, run_vocab(args.run_dir, config), texts)
    classes = config["classes"]
    k = max(1, min(int(getattr(args, "top", 1)), len(classes)))
    for text, pr in zip(texts, probs):
        top = np.argsort(-pr)[:k]
        print(f"{text!r}: " + ", ".join(f"{classes[i]} {pr[i]:.3f}" for i in top))
    return 0
