"""``lucidnet prune RUN_DIR --out OUT --sparsity S --finetune-epochs E [--structured]``: a pruned, fine-tuned copy
of a trained image-classification run (``lucidnet.vision.prune``), as a run directory of its own."""
from __future__ import annotations

from pathlib import Path

from ..train import rundir
from ..vision.prune import prune_run
from . import tasks
from .train import OPEN_FRACTION, POSITIVE, POSITIVE_INT


def add_parser(sub) -> None:
    p = sub.add_parser("prune", help="prune a trained image run and fine-tune it into a new run directory",
                       description="Prune the model of a run directory written by 'lucidnet train' (an image "
                                   "classifier: cnn, vgg, mlp) and fine-tune it with the run's own training settings "
                                   "on its dataset. Default: global magnitude pruning of the conv and linear weights "
                                   "to --sparsity on a polynomial schedule during the fine-tuning (Zhu & Gupta "
                                   "2017), the masks made permanent at the end. --structured: remove --sparsity of "
                                   "the channels of every conv and hidden linear layer (a smaller, faster network), "
                                   "then fine-tune. 'lucidnet evaluate OUT' and 'lucidnet predict OUT' read the result.")
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("--out", metavar="DIR", required=True, help="the run directory to write")
    p.add_argument("--sparsity", type=OPEN_FRACTION, required=True, metavar="S",
                   help="the fraction of weights (or with --structured, of each layer's channels) to remove, in (0, 1)")
    p.add_argument("--finetune-epochs", type=POSITIVE_INT, required=True, metavar="E", help="fine-tuning epochs")
    p.add_argument("--structured", action="store_true",
                   help="remove whole channels and hidden units (plain chains of layers: cnn, vgg, mlp)")
    p.add_argument("--lr", type=POSITIVE, default=None, help="the fine-tuning learning rate (default: the run's)")
    p.add_argument("--data", metavar="DIR", default=None,
                   help="directory with the dataset's files (default: the one the run was trained on)")
    p.add_argument("--seed", type=int, default=None, help="random seed (default: the run's)")
    p.add_argument("--overwrite", action="store_true", help="replace a run that --out already holds")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.set_defaults(run=run)


def run(args) -> int:
    family, config = tasks.family_of_run(args.run_dir)
    task = tasks.task_of(config)
    if task != "image-classification":
        what = "--structured (channel pruning) and pruning" if args.structured else "pruning"
        raise ValueError(f"lucidnet prune: {what} applies to image-classification runs (cnn, vgg, mlp); "
                         f"{args.run_dir} is a {task} run")
    if Path(args.out).resolve() == Path(args.run_dir).resolve():
        raise ValueError("--out must be another directory than RUN_DIR: the pruned run does not replace the original")
    result = prune_run(args.run_dir, args.out, sparsity=args.sparsity, finetune_epochs=args.finetune_epochs,
                       structured=args.structured, data=args.data, lr=args.lr, seed=args.seed,
                       overwrite=args.overwrite, verbose=0 if args.quiet else 1)
    info = result.config["pruning"]
    before = rundir.read_json(Path(args.run_dir) / rundir.METRICS) if (Path(args.run_dir) / rundir.METRICS).is_file() \
        else {}
    acc = before.get("test_accuracy")
    print(f"pruned ({info['method']}, sparsity {info['sparsity']:g}): {info['parameters_before']} -> "
          f"{info['parameters_after']} parameters, {100 * info['zero_weights']:.1f}% of the conv/linear weights zero; "
          f"test accuracy " + (f"{acc:.4f} -> " if isinstance(acc, float) else "")
          + f"{result.metrics['test_accuracy']:.4f}; written to {args.out}")
    return 0
