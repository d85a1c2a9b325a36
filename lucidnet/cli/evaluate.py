"""``lucidnet evaluate RUN_DIR``: the test metrics of any trained run (classifiers: accuracy per class and the
confusion matrix; language models: loss and perplexity; recommenders: RMSE/MAE or HR@10/NDCG@10)."""
from __future__ import annotations

from . import tasks


def add_parser(sub) -> None:
    p = sub.add_parser("evaluate", help="evaluate a trained run on its dataset's test split",
                       description="Evaluate a run directory written by 'lucidnet train' on the test split of the "
                                   "dataset it was trained on (read from --data, if given).")
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("--data", metavar="DIR", default=None,
                   help="directory with the dataset's files (default: the one the run was trained on)")
    p.set_defaults(run=run)


def run(args) -> int:
    family, config = tasks.family_of_run(args.run_dir)
    m = family.evaluate(args.run_dir, args.data or config.get("data_dir"))
    print(f"{config['model'].get('name')} ({config.get('recipe', '?')}), {m.pop('data')}:")
    classes, cm = m.pop("classes", None), m.pop("confusion_matrix", None)
    for key, value in m.items():
        print(f"  {key} {value:.4f}" if isinstance(value, float) else f"  {key} {value}")
    if cm is None:
        return 0
    width = max(len(c) for c in classes)
    print(f"\n{'class':<{width}}  accuracy    count")
    for i, name in enumerate(classes):
        n = sum(cm[i])
        print(f"{name:<{width}}  {cm[i][i] / max(n, 1):8.4f}  {n:7d}")
    print("\nconfusion matrix (rows: true class, columns: predicted):")
    print("     " + " ".join(f"{j:5d}" for j in range(len(cm))))
    for i, row in enumerate(cm):
        print(f"{i:4d} " + " ".join(f"{v:5d}" for v in row))
    return 0
