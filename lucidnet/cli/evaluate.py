"""``lucidnet evaluate RUN_DIR``: test metrics of a trained run, per class and as a confusion matrix."""
from __future__ import annotations

import numpy as np

from ..train import predict
from ..train.metrics import confusion_matrix
from . import datasets, rundir


def add_parser(sub) -> None:
    p = sub.add_parser("evaluate", help="evaluate a trained run on its dataset's test split",
                       description="Evaluate a run directory written by 'lucidnet train' on the test split of the "
                                   "dataset it was trained on (or of --data).")
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("--data", metavar="DIR", default=None, help="directory with the dataset's IDX files")
    p.set_defaults(run=run)


def run(args) -> int:
    model, config = rundir.load_run(args.run_dir)
    data = datasets.load(config["dataset"], args.data, splits=("test",))
    logits = predict(model, rundir.normalise(data.x_test, config), batch_size=rundir.EVAL_BATCH_SIZE)
    cm = confusion_matrix(logits, data.y_test, num_classes=len(config["classes"]))
    acc = np.trace(cm) / max(cm.sum(), 1)
    print(f"{config['dataset']} test split: {cm.sum()} images, accuracy {acc:.4f}\n")
    width = max(len(c) for c in config["classes"])
    print(f"{'class':<{width}}  accuracy   images")
    for i, name in enumerate(config["classes"]):
        n = cm[i].sum()
        print(f"{name:<{width}}  {cm[i, i] / max(n, 1):8.4f}  {n:7d}")
    print("\nconfusion matrix (rows: true class, columns: predicted):")
    print("     " + " ".join(f"{j:5d}" for j in range(len(cm))))
    for i, row in enumerate(cm):
        print(f"{i:4d} " + " ".join(f"{v:5d}" for v in row))
    return 0
