"""``lucidnet predict RUN_DIR INPUT...``: the top classes of images (an image run) or texts (a text classifier),
with probabilities."""
from __future__ import annotations

import numpy as np

from ..text.recipes import predict_texts
from ..vision.recipes import predict_files
from . import tasks


def add_parser(sub) -> None:
    p = sub.add_parser("predict", help="classify image files or texts with a trained run",
                       description="Classify PNG, JPEG (or other Pillow-readable) images with an image run, or texts "
                                   "with a text classifier (lucidnet train --dataset sst2). Images are turned to "
                                   "grayscale and resized to the model's input; a light background is inverted to "
                                   "match the dataset's light-on-dark images.")
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("inputs", metavar="INPUT", nargs="+", help="image files, or texts for a text classifier")
    p.add_argument("-k", "--top", type=int, default=3, help="how many classes to print")
    p.set_defaults(run=run)


def run(args) -> int:
    if args.top < 1:
        raise ValueError(f"--top must be positive, got {args.top}")
    task = tasks.task_of(tasks.family_of_run(args.run_dir)[1])
    if task == "image-classification":
        probs, classes = predict_files(args.run_dir, args.inputs)
        show = list(args.inputs)
    elif task == "text-classification":
        probs, classes = predict_texts(args.run_dir, args.inputs)
        show = [repr(t) for t in args.inputs]
    else:
        raise ValueError(f"{args.run_dir} holds a {task} run; lucidnet predict classifies with image or text "
                         "classifier runs (for a language model: lucidnet generate; a recommender: lucidnet recommend)")
    k = min(args.top, probs.shape[1])
    for name, pr in zip(show, probs):
        top = np.argsort(-pr)[:k]
        print(f"{name}: " + ", ".join(f"{classes[i]} {pr[i]:.3f}" for i in top))
    return 0
