"""Spoken-digit recipes on FSDD (``lucidnet train --dataset fsdd --model cnn|crnn-ctc [--split ...]``, or ``run``).

``cnn``: isolated digits, a :class:`SpeechCNN` over the 1 s log-mel window of each recording (cross-entropy).
``crnn-ctc``: connected digits, a :class:`CRNN` trained with CTC on utterances of 2-7 digits joined from the
split's recordings (``lucidnet.speech.data.connected_digits``: ``utterances`` for training from the training
recordings, half of ``test_utterances`` from the validation recordings, ``test_utterances`` from the test
recordings with the fixed seed ``TEST_SEED``, so every run of a split is tested on the same utterances); decoded greedily (``beam`` 1)
or by prefix beam search, scored by the digit error rate (edit distance over reference digits) and the sequence
accuracy.

``split``: ``official`` (takes 0-4 of every speaker and digit are the test set) or ``speaker:NAME`` (NAME's
recordings are the test set); ``val_split`` of the training recordings (stratified by digit, drawn with the run's
seed) are held out for validation, and the weights of the epoch with the best validation loss are kept.
``augment``: ``specaugment`` masks one band of up to 6 mel bins and one span of up to 8 frames (``crnn-ctc``: up
to two spans) per training example, and shifts each isolated digit by up to 8 frames (128 ms); ``none`` does not.
``crnn-ctc`` also has ``normalise``: ``utterance`` (the default) subtracts each utterance's per-band mean of the
log-mels (``lucidnet.audio.cmvn``) before the training set's standardisation, in training, ``evaluate`` and
``transcribe`` alike (the run's config records it; ``utterance-variance`` also divides by the per-band std,
``global`` only standardises); ``warp``: a vocal-tract-length warp of the mel axis by a factor in 1 -+ ``warp``
per training utterance (``FrequencyWarp``; default 0, none); ``speed``: each training clip played at 1 - ``speed``,
1 or 1 + ``speed`` times its speed (default 0, none). On the speaker-held-out folds, the per-utterance mean
lowered the digit error rate and the two perturbations, at 0.1, raised it (README).

>>> sorted(RECIPES), RECIPES["cnn"].data["split"]
(['cnn', 'crnn-ctc'], 'official')
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .. import __version__, models
from ..audio import Chain, FrequencyWarp, SpecAugment, TimeShift, cmvn, read_audio
from ..data import BucketLoader, DataLoader, TensorDataset
from ..datasets.fsdd import FSDD, parse_split
from ..decoding import ctc_beam_search, ctc_greedy_decode
from ..inspect import Monitor
from ..inspect.report import finish_run
from ..nn import CrossEntropyLoss
from ..nn.losses import cross_entropy, ctc_loss
from ..ops import softmax
from ..optim.factory import build_optimizer, build_scheduler
from ..random import manual_seed
from ..tensor import from_numpy
from ..train import EVAL_BATCH_SIZE, CSVLogger, EarlyStopping, fit, predict, rundir, steps_per_epoch
from ..train.metrics import confusion_matrix
from ..train.recipe import Recipe, Run, RunOptions, data_dir
from .models import CRNN
from .data import FEATURES, Split, Utterance, connected_digits, load_split, log_mels, standardise
from .scoring import align, error_rate, sequence_accuracy

__all__ = ["RECIPES", "DATASETS", "TASKS", "AUGMENTATIONS", "evaluate", "transcribe", "TEST_SEED"]

DATASETS = ("fsdd",)
TASKS = ("speech-classification", "speech-recognition")
AUGMENTATIONS = ("specaugment", "none")
NORMALISATIONS = ("global", "utterance", "utterance-variance")
CLASSES = [str(d) for d in range(10)]
BLANK = 0                 # CTC's blank; digit d is class d + 1
TEST_SEED, VAL_SEED = 1234, 4321
ALIGNMENT_EXAMPLES = 4    # test utterances drawn with their alignment in report.html
SILENCE_DB = -80.0        # the floor of the log-mels (dB below each utterance's peak): what padding holds


# ---- isolated digits ------------------------------------------------------------------------------------
def _statistics(x: np.ndarray) -> dict[str, float]:
    return {"mean": float(x.mean(dtype=np.float64)), "std": max(float(x.std(dtype=np.float64)), 1e-6)}


def _isolated_augment(policy: str, stats: dict) -> Chain | None:
    if policy == "none":
        return None
    floor = (SILENCE_DB - stats["mean"]) / stats["std"]
    return Chain([TimeShift(8, fill=floor), SpecAugment(freq_mask=6, time_mask=8, fill=0.0)])


def _run_cnn(recipe: Recipe, s: dict, split: Split, options: RunOptions, t0: float) -> Run:
    x_train = log_mels(split.train)
    stats = _statistics(x_train)
    x_train = standardise(x_train, stats)
    x_val = standardise(log_mels(split.val), stats) if len(split.val) else None
    x_test = standardise(log_mels(split.test), stats)
    config = _config(recipe, s, options, {**recipe.model, "n_mels": FEATURES["n_mels"], "num_classes": 10},
                     list(x_train.shape[1:]), stats)
    config["classes"] = CLASSES
    augment = _isolated_augment(s["augment"], stats)
    train = DataLoader(TensorDataset(x_train, split.train_digits), batch_size=s["batch_size"], shuffle=True,
                       transform=augment)
    val = None if x_val is None else (x_val, split.val_digits)
    model = models.build(config["model"])
    history, stop, monitor = _fit(model, train, val, CrossEntropyLoss(), ["accuracy"], s, options, len(x_train))
    train_time = time.perf_counter() - t0
    logits = predict(model, x_test, batch_size=EVAL_BATCH_SIZE)
    scores = _classifier_scores(logits, split.test_digits)
    metrics = {"test_accuracy": scores["accuracy"], "test_loss": scores["loss"], "test_examples": len(x_test),
               **_fit_metrics(history, stop, train_time)}
    message = (f"test accuracy: {metrics['test_accuracy']:.4f}  test loss: {metrics['test_loss']:.4f}  "
               f"({len(x_test)} test recordings of {s['split']}, epoch {metrics['best_epoch']} of "
               f"{metrics['epochs']}, {train_time:.1f} s)")
    finish_run(options.out, model, config, metrics, message, history, monitor, y_true=split.test_digits,
               logits=logits)
    return Run(model, history, metrics, config, train_time)


def _classifier_scores(logits: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    cm = confusion_matrix(logits, y, num_classes=10)
    loss = cross_entropy(from_numpy(logits), from_numpy(y)).item()
    return {"accuracy": float(np.trace(cm) / max(cm.sum(), 1)), "loss": float(loss), "classes": CLASSES,
            "confusion_matrix": cm.tolist()}


# ---- connected digits -------------------------------------------------------------------------------------
class Utterances:
    """Connected-digit utterances as log-mels, for ``BucketLoader``: ``lengths`` (frames), and
    ``get_batch(indices) -> (x (B, 1, n_mels, frames), input lengths, padded digit classes (B, 7), target
    lengths)``: padded with silence, normalised (:func:`normalise_batch`: ``normalise``, then the run's
    ``stats``), and augmented when ``augment`` is given."""

    def __init__(self, utterances: Sequence[Utterance], stats: dict, augment: Any = None,
                 features: Sequence[np.ndarray] | None = None, normalise: str = "global"):
        self.features = [_log_mel(u) for u in utterances] if features is None else list(features)
        self.labels = [np.asarray(u.digits, np.int64) + 1 for u in utterances]   # class 0 is the blank
        self.lengths = np.array([f.shape[1] for f in self.features], dtype=np.int64)
        self.stats, self.normalise, self.augment = stats, normalise, augment

    def __len__(self) -> int:
        return len(self.features)

    def get_batch(self, indices: np.ndarray) -> tuple[np.ndarray, ...]:
        t = int(self.lengths[indices].max())
        s = max(len(self.labels[i]) for i in indices)
        x = np.full((len(indices), 1, self.features[0].shape[0], t), SILENCE_DB, np.float32)
        y = np.zeros((len(indices), s), np.int64)
        for k, i in enumerate(indices):
            x[k, 0, :, :self.lengths[i]] = self.features[i]
            y[k, :len(self.labels[i])] = self.labels[i]
        x = normalise_batch(x, self.lengths[indices], self.normalise, self.stats)
        if self.augment is not None:
            x = self.augment(x)
        return x, self.lengths[indices], y, np.array([len(self.labels[i]) for i in indices], np.int64)


def normalise_batch(x: np.ndarray, lengths: np.ndarray | None, how: str, stats: dict | None) -> np.ndarray:
    """Log-mels (N, 1, n_mels, frames) normalised as a run says: ``how`` ``global`` leaves them, ``utterance``
    subtracts each utterance's per-band mean over its ``lengths`` frames (``cmvn``), ``utterance-variance``
    also divides by the per-band std; then the run's ``stats`` (None: not yet known) standardise them."""
    if how != "global":
        x = cmvn(x, lengths, variance=how == "utterance-variance")
    return x if stats is None else standardise(x, stats)


def _log_mel(u: Utterance) -> np.ndarray:
    """(n_mels, frames) log-mels of a whole utterance."""
    return log_mels([u.audio], length=len(u.audio))[0, 0]


def _split_ctc(batch: Any) -> tuple[tuple, Any]:
    x, lengths, y, y_lengths = batch
    return (x,), (lengths, y, y_lengths)


def _ctc_objective(output: Any, target: Any) -> Any:
    """CTC loss of the model's (T', N, C) logits (an input of T frames has ``CRNN.output_frames(T)``)."""
    lengths, y, y_lengths = target
    return ctc_loss(output.log_softmax(-1), y, CRNN.output_frames(lengths.numpy()), y_lengths, blank=BLANK,
                    zero_infinity=True)


def _utterances(split: Split, part: str, count: int, seed: int, speed: float = 0.0) -> list[Utterance]:
    """``count`` utterances of a part of the split; ``speed`` > 0: each clip played at 1 - speed, 1 or
    1 + speed times its speed (the training utterances' speed perturbation)."""
    waves, digits = {"train": (split.train, split.train_digits), "val": (split.val, split.val_digits),
                     "test": (split.test, split.test_digits)}[part]
    speeds = (1 - speed, 1.0, 1 + speed) if speed else ()
    return connected_digits(waves, digits, count, seed=seed, speeds=speeds) if len(waves) else []


def _decode(model: Any, data: Utterances, beam: int) -> list[list[int]]:
    """Digit strings of every utterance (greedy with ``beam`` 1, else prefix beam search), and the greedy
    alignments (start frames) of the first ``ALIGNMENT_EXAMPLES``."""
    hyps: list[list[int]] = [[] for _ in range(len(data))]
    order = np.argsort(data.lengths, kind="stable")
    for lo in range(0, len(order), 64):
        idx = order[lo:lo + 64]
        x, lengths, _, _ = data.get_batch(idx)
        out = predict(model, x, batch_size=len(idx))                               # (T', B, C)
        lp = from_numpy(out).log_softmax(-1).numpy()
        out_lengths = CRNN.output_frames(lengths)
        found = (ctc_greedy_decode(lp, out_lengths, blank=BLANK) if beam == 1
                 else [h[0] for h in ctc_beam_search(lp, out_lengths, blank=BLANK, beam_width=beam)])
        for i, h in zip(idx, found):
            hyps[int(i)] = [c - 1 for c in h.labels]
    return hyps


def _alignments(model: Any, data: Utterances, utterances: Sequence[Utterance], k: int) -> list[dict]:
    """The log-mels of the first ``k`` test utterances with the greedy path's digits and start frames."""
    out = []
    for i in range(min(k, len(data))):
        x, lengths, _, _ = data.get_batch(np.array([i]))
        lp = from_numpy(predict(model, x, batch_size=1)).log_softmax(-1).numpy()[:, 0]
        h = ctc_greedy_decode(lp, blank=BLANK)
        out.append({"spectrogram": np.round(data.features[i], 2).tolist(), "reference": utterances[i].digits,
                    "labels": [c - 1 for c in h.labels], "frames": [2 * f for f in h.frames],
                    "frame_seconds": FEATURES["hop_length"] / FEATURES["sample_rate"],
                    "posteriors": np.round(np.exp(lp), 3).T.tolist()})
    return out


def _string_scores(refs: list[list[int]], hyps: list[list[int]]) -> dict[str, Any]:
    pairs = [p for r, h in zip(refs, hyps) for p in align(r, h)]
    none = 10   # the class of a missing digit: a deletion's hypothesis, an insertion's reference
    y_true = np.array([none if a is None else a for a, _ in pairs], np.int64)
    y_pred = np.array([none if b is None else b for _, b in pairs], np.int64)
    return {"digit_error_rate": error_rate(refs, hyps), "sequence_accuracy": sequence_accuracy(refs, hyps),
            "utterances": len(refs), "digits": int(sum(len(r) for r in refs)), "y_true": y_true, "y_pred": y_pred}


def _ctc_augment(s: dict) -> Any:
    """The training batches' augmentation: SpecAugment's masks, after a vocal-tract-length warp of the mel axis
    by a factor in 1 -+ ``warp`` when ``warp`` > 0."""
    if s["augment"] == "none":
        return None
    masks = SpecAugment(freq_mask=6, time_mask=8, n_time=2, fill=0.0)
    return masks if not s["warp"] else Chain([FrequencyWarp((1 - s["warp"], 1 + s["warp"])), masks])


def _run_crnn(recipe: Recipe, s: dict, split: Split, options: RunOptions, t0: float) -> Run:
    train_utts = _utterances(split, "train", s["utterances"], options.seed,
                             s["speed"] if s["augment"] != "none" else 0.0)
    raw = [_log_mel(u) for u in train_utts]
    how = s["normalise"]
    stats = _statistics(np.concatenate([normalise_batch(f[None, None], None, how, None).ravel() for f in raw]))
    train = Utterances(train_utts, stats, _ctc_augment(s), features=raw, normalise=how)
    val_utts = _utterances(split, "val", max(1, s["test_utterances"] // 2), VAL_SEED)
    val = BucketLoader(Utterances(val_utts, stats, normalise=how), EVAL_BATCH_SIZE, shuffle=False) \
        if val_utts else None
    test_utts = _utterances(split, "test", s["test_utterances"], TEST_SEED)
    test = Utterances(test_utts, stats, normalise=how)
    median = int(np.median(train.lengths))
    config = _config(recipe, s, options, {**recipe.model, "n_mels": FEATURES["n_mels"], "num_classes": 11},
                     [1, FEATURES["n_mels"], median], stats)
    config["features"]["normalise"] = how
    config["classes"] = CLASSES + ["none"]
    config["utterances"] = {"train": len(train_utts), "val": len(val_utts), "test": len(test_utts),
                            "test_seed": TEST_SEED}
    model = models.build(config["model"])
    history, stop, monitor = _fit(model, BucketLoader(train, s["batch_size"]), val, _ctc_objective, [], s, options,
                                  len(train), split_batch=_split_ctc, clip=5.0)
    train_time = time.perf_counter() - t0
    refs = [u.digits for u in test_utts]
    scores = _string_scores(refs, _decode(model, test, s["beam"]))
    metrics = {"test_digit_error_rate": scores["digit_error_rate"], "test_sequence_accuracy":
               scores["sequence_accuracy"], "test_utterances": scores["utterances"], "test_digits": scores["digits"],
               **_fit_metrics(history, stop, train_time)}
    message = (f"test digit error rate: {metrics['test_digit_error_rate']:.4f}  sequence accuracy: "
               f"{metrics['test_sequence_accuracy']:.4f}  ({len(test_utts)} test utterances of {s['split']}, "
               f"epoch {metrics['best_epoch']} of {metrics['epochs']}, {train_time:.1f} s)")
    if options.out is not None:
        rundir.write_json(Path(options.out) / rundir.ALIGNMENT, _alignments(model, test, test_utts,
                                                                            ALIGNMENT_EXAMPLES))
    finish_run(options.out, model, config, metrics, message, history, monitor, y_true=scores["y_true"],
               y_pred=scores["y_pred"])
    return Run(model, history, metrics, config, train_time)


# ---- shared -------------------------------------------------------------------------------------------------
def _config(recipe: Recipe, s: dict, options: RunOptions, model: dict, shape: list, stats: dict) -> dict:
    return {"model": model, "recipe": recipe.name, "task": recipe.task, "dataset": "fsdd",
            "data_dir": data_dir(options), "split": s["split"], "features": dict(FEATURES),
            "input": {"shape": [int(v) for v in shape], **stats}, "train": {**s, "seed": options.seed},
            "lucidnet_version": __version__}


def _fit(model: Any, train: Any, val: Any, loss: Any, metrics: list, s: dict, options: RunOptions, n: int,
         split_batch: Any = None, clip: float | None = None) -> tuple:
    opt = build_optimizer(s["optimizer"], model.parameters(), lr=s["lr"], weight_decay=s["weight_decay"])
    scheduler = build_scheduler(s["schedule"], opt, s["epochs"] * steps_per_epoch(n, s["batch_size"]))
    out = None if options.out is None else Path(options.out)
    monitor = Monitor() if out is not None else None
    stop = EarlyStopping("val_loss" if val is not None else "loss", patience=s["epochs"], restore_best_weights=True)
    callbacks = [stop] + ([] if out is None else [CSVLogger(out / rundir.HISTORY), monitor])
    history = fit(model, train, loss=loss, optimizer=opt, epochs=s["epochs"], batch_size=s["batch_size"],
                  val_data=val, scheduler=scheduler, scheduler_interval="step", metrics=metrics,
                  verbose=options.verbose, callbacks=callbacks, split_batch=split_batch, clip_grad_norm=clip,
                  checkpoint=None if out is None else out / rundir.CHECKPOINT,
                  resume=True if options.resume else None)
    return history, stop, monitor


def _fit_metrics(history: Any, stop: Any, seconds: float) -> dict[str, Any]:
    return {"epochs": len(history.history.get("loss", [])), "best_epoch": stop.best_epoch + 1,
            "train_seconds": round(seconds, 2)}


def _check(recipe: Recipe) -> dict[str, Any]:
    s = {**recipe.model, **recipe.train, **recipe.data}
    parse_split(s["split"])
    if s["augment"] not in AUGMENTATIONS:
        raise ValueError(f"recipe {recipe.name!r}: augment must be one of {', '.join(AUGMENTATIONS)}, got "
                         f"{s['augment']!r}")
    if s.get("normalise", "global") not in NORMALISATIONS:
        raise ValueError(f"recipe {recipe.name!r}: normalise must be one of {', '.join(NORMALISATIONS)}, got "
                         f"{s['normalise']!r}")
    for key in ("warp", "speed"):
        if key in s and (isinstance(s[key], bool) or not isinstance(s[key], (int, float)) or not 0 <= s[key] < 0.5):
            raise ValueError(f"recipe {recipe.name!r}: {key} (the largest relative change, 0 for none) must be in "
                             f"[0, 0.5), got {s[key]!r}")
    if not 0 <= s["val_split"] < 1:
        raise ValueError(f"recipe {recipe.name!r}: val_split must be in [0, 1), got {s['val_split']}")
    for key in ("utterances", "test_utterances", "beam"):
        if key in s and (isinstance(s[key], bool) or not isinstance(s[key], int) or s[key] < 1):
            raise ValueError(f"recipe {recipe.name!r}: {key} must be a positive int, got {s[key]!r}")
    return s


def _run(recipe: Recipe, options: RunOptions) -> Run:
    """Train a speech recipe on FSDD (``options.data``: its folder; default ``$LUCIDNET_DATA/fsdd``)."""
    s = _check(recipe)
    if options.download:
        raise ValueError("--download does not apply to fsdd: give its folder (--data DIR) or put it in "
                         "$LUCIDNET_DATA/fsdd")
    manual_seed(options.seed)
    t0 = time.perf_counter()
    split = load_split(options.data, s["split"], s["val_split"], options.seed)
    if options.verbose:
        print(f"lucidnet {__version__}: training {recipe.name} on fsdd {s['split']} ({len(split.train)} train / "
              f"{len(split.val)} validation / {len(split.test)} test recordings)"
              + (f" -> {options.out}" if options.out else ""))
    runner = _run_cnn if recipe.task == "speech-classification" else _run_crnn
    return runner(recipe, s, split, options, t0)


# ---- a trained run -------------------------------------------------------------------------------------------
def evaluate(run_dir: str | Path, data: str | Path | None = None, beam: int | None = None) -> dict[str, Any]:
    """A speech run's test metrics on the split it was trained with (FSDD read from ``data``, default the folder
    it trained on): accuracy, loss and confusion matrix (``cnn``), or digit error rate and sequence accuracy
    on the same test utterances (``crnn-ctc``; decoded with the run's ``beam`` setting, or ``beam``)."""
    model, config = rundir.load_run(run_dir)
    stats, split_name = config["input"], config["split"]
    fsdd = FSDD(data if data is not None else config.get("data_dir"))
    _, test = fsdd.split(split_name)
    waves, digits = fsdd.read(test), np.array([r.digit for r in test], np.int64)
    if config["task"] == "speech-classification":
        logits = predict(model, standardise(log_mels(waves), stats), batch_size=EVAL_BATCH_SIZE)
        return {"data": f"fsdd {split_name} test split ({len(test)} recordings)", **_classifier_scores(logits, digits)}
    count = int(config["utterances"]["test"])
    utts = connected_digits(waves, digits, count, seed=int(config["utterances"]["test_seed"]))
    beam = int(config["train"].get("beam", 1)) if beam is None else int(beam)
    if beam < 1:
        raise ValueError(f"evaluate: beam must be a positive int, got {beam}")
    data = Utterances(utts, stats, normalise=config["features"].get("normalise", "global"))
    scores = _string_scores([u.digits for u in utts], _decode(model, data, beam))
    return {"data": f"fsdd {split_name}: {len(utts)} connected-digit test utterances", **{
        k: scores[k] for k in ("digit_error_rate", "sequence_accuracy", "utterances", "digits")}}


def transcribe(run_dir: str | Path, paths: Sequence[str], top: int = 3) -> list[dict[str, Any]]:
    """For each audio file (read at the run's rate, mono): ``{"path", "digits"}`` (the digit string), and for an
    isolated-digit classifier ``"top"``: the ``top`` most probable digits with their probabilities."""
    model, config = rundir.load_run(run_dir)
    if config.get("task") not in TASKS:
        raise ValueError(f"{run_dir} holds a {config.get('task')!r} run, not a speech run (lucidnet train --dataset "
                         "fsdd)")
    rate = int(config["features"]["sample_rate"])
    waves = [read_audio(p, sample_rate=rate)[0] for p in paths]
    stats = config["input"]
    if config["task"] == "speech-classification":
        probs = softmax(from_numpy(predict(model, standardise(log_mels(waves), stats))), 1).numpy()
        out = []
        for p, pr in zip(paths, probs):
            best = np.argsort(-pr, kind="stable")[:top]
            out.append({"path": str(p), "digits": CLASSES[best[0]],
                        "top": [(CLASSES[i], float(pr[i])) for i in best]})
        return out
    utts = [Utterance(w, [], []) for w in waves]
    data = Utterances(utts, stats, normalise=config["features"].get("normalise", "global"))
    hyps = _decode(model, data, int(config["train"].get("beam", 1)))
    return [{"path": str(p), "digits": "".join(str(d) for d in h)} for p, h in zip(paths, hyps)]


_DATA = {"split": "official"}
RECIPES: dict[str, Recipe] = {r.name: r for r in (
    Recipe("cnn", family="speech", task="speech-classification", datasets=DATASETS,
           model={"name": "speech_cnn", "channels": [32, 64, 128, 128], "dropout": 0.3},
           train={"epochs": 20, "batch_size": 64, "optimizer": "adamw", "lr": 3e-3, "weight_decay": 0.05,
                  "schedule": "onecycle", "val_split": 0.1, "augment": "specaugment"},
           data=dict(_DATA), runner=_run,
           description="isolated digits: four conv3x3-BN-ReLU stages (32-64-128-128) over 40 log-mels of 1 s, "
                       "an average over time, a linear layer"),
    Recipe("crnn-ctc", family="speech", task="speech-recognition", datasets=DATASETS,
           model={"name": "crnn_ctc", "channels": [128, 128], "kernel": 5, "hidden": 128, "rnn": "gru",
                  "dropout": 0.2},
           train={"epochs": 12, "batch_size": 32, "optimizer": "adamw", "lr": 3e-3, "weight_decay": 0.01,
                  "schedule": "onecycle", "val_split": 0.1, "augment": "specaugment", "utterances": 6000, "beam": 1,
                  "warp": 0.0, "speed": 0.0},
           data={**_DATA, "test_utterances": 600, "normalise": "utterance"}, runner=_run,
           description="connected digits: two conv1d stages over time (128 channels, 5 frames, the first with "
                       "stride 2), a bidirectional GRU (128 per direction), per-frame digit or blank, CTC"),
)}
