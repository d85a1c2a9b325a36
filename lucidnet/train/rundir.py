"""A run directory: everything a trained model needs to be evaluated, used or rebuilt. This module owns its
file names and how they are saved and loaded; the applications, ``lucidnet.inspect`` and the CLI use it.

    model.safetensors       the weights (lucidnet.save)
    config.json             what ran: the architecture (rebuilt with lucidnet.models.build), the recipe and its
                            settings, the data, the task, and what the task needs (input normalisation, classes);
                            for a quantized run, the layers lucidnet.quantization replaced ("quantization")
    history.csv             per-epoch loss and metrics
    validations.csv         every validation (step, fractional epoch, val_*) of a run that validates inside its
                            epochs (``val_check_interval``)
    metrics.json            final test metrics
    checkpoint.safetensors  the training state while a run is in progress (removed when it finishes)
    report.html             curves, per-layer statistics and the doctor's findings (lucidnet.inspect), with
                            plots/*.png, monitor.json, diagnosis.json and predictions.npz beside it
    vocab.json              a text run's vocabulary; sample.txt: a language model's sample
    catalog.json            a recommender's ids, titles and seen items
    preprocess.json         a table run's column transforms (imputation, scaling, categories, classes)
    run.json                the recipe's settings and seed, and whether the run is running or finished
    .lock                   held (with the process id) while a run writes the directory

``open_run`` guards a run directory: one run at a time (the lock), a new run never overwrites another
unless asked (``overwrite``), and ``resume`` continues only an interrupted run with the same settings.

>>> import tempfile, lucidnet as ln
>>> d = tempfile.mkdtemp()
>>> model = ln.models.build({"name": "mlp", "in_features": 4, "hidden": [8], "num_classes": 3})
>>> save_run(d, model, {"model": ln.models.config_of(model), "task": "image-classification"})
>>> load_run(d)[1]["task"]
'image-classification'
"""
from __future__ import annotations

import csv
import json
import os
import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Mapping

from .. import models
from ..limits import budget
from ..serialization import load, save
from ..serialization.atomic import atomic_write, remove_stale_temps

__all__ = ["MODEL", "CONFIG", "HISTORY", "METRICS", "CHECKPOINT", "REPORT", "MONITOR", "PREDICTIONS", "DIAGNOSIS",
           "PLOTS", "VOCAB", "TOKENIZER", "SAMPLE", "CATALOG", "ATTENTION", "ALIGNMENT", "PREPROCESS", "VALIDATIONS",
           "save_run", "load_run", "load_config", "write_json", "read_json", "read_history", "read_validations",
           "write_metrics", "open_run", "run_file", "RunDirError"]

MODEL, CONFIG, HISTORY, METRICS, CHECKPOINT = ("model.safetensors", "config.json", "history.csv", "metrics.json",
                                               "checkpoint.safetensors")
REPORT, MONITOR, PREDICTIONS, DIAGNOSIS, PLOTS = ("report.html", "monitor.json", "predictions.npz", "diagnosis.json",
                                                  "plots")
VOCAB, TOKENIZER, SAMPLE, CATALOG = "vocab.json", "tokenizer.json", "sample.txt", "catalog.json"
ATTENTION = "attention.json"  # a translation run's attention maps of a few test sentences, for the report
ALIGNMENT = "alignment.json"  # a CTC run's log-mels and predicted alignments of a few test utterances, for the report
PREPROCESS = "preprocess.json"  # a table run's column transforms (lucidnet.tables.preprocess)
VALIDATIONS = "validations.csv"  # every validation of a run that validates inside its epochs (CSVLogger)
RUN, LOCK = "run.json", ".lock"
REPLACED = ".replaced"  # the run --overwrite replaces, kept until the new run has trained something
# the files of a run: what --overwrite removes (nothing else in the directory is touched)
RUN_FILES = (MODEL, CONFIG, HISTORY, METRICS, CHECKPOINT, REPORT, MONITOR, PREDICTIONS, DIAGNOSIS, VOCAB, TOKENIZER,
             SAMPLE, CATALOG, ATTENTION, ALIGNMENT, PREPROCESS, VALIDATIONS, RUN)


def write_json(path: str | os.PathLike, obj: Any) -> None:
    """``obj`` as indented JSON, written atomically."""
    atomic_write(Path(path), [json.dumps(obj, indent=2).encode() + b"\n"])


def read_json(path: str | os.PathLike) -> Any:
    """A JSON file, with an error naming the file when it is not valid JSON (or nests past the recursion limit,
    or holds an integer of more digits than Python converts)."""
    p = Path(path)
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except ValueError as e:  # JSONDecodeError, UnicodeDecodeError, too many digits
        raise ValueError(f"{p}: not valid JSON ({e})") from None
    except RecursionError:
        raise ValueError(f"{p}: not valid JSON (nested too deeply)") from None


def save_run(out: str | os.PathLike, model: Any, config: dict) -> None:
    """The model's weights and its config."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    save(model.state_dict(), out / MODEL)
    write_json(out / CONFIG, config)


def write_metrics(out: str | os.PathLike, metrics: dict) -> None:
    """``metrics.json``; the run is finished, so its training checkpoint goes."""
    write_json(Path(out) / METRICS, metrics)
    (Path(out) / CHECKPOINT).unlink(missing_ok=True)


def load_config(run_dir: str | os.PathLike) -> dict:
    """The ``config.json`` of a run directory, with clear errors for a missing directory or file."""
    d = Path(run_dir)
    if not d.is_dir():
        raise FileNotFoundError(f"run directory {str(d)!r} does not exist (expected the --out of 'lucidnet train')")
    if not (d / CONFIG).is_file():
        raise FileNotFoundError(f"{d / CONFIG} is missing: {d} is not a complete run directory")
    config = read_json(d / CONFIG)
    if not isinstance(config, dict) or not isinstance(config.get("model"), dict):
        raise ValueError(f"{d / CONFIG}: expected an object with a 'model' entry (a lucidnet run's config)")
    return config


def run_file(run_dir: str | os.PathLike, config: Mapping[str, Any], key: str, default: str) -> Path:
    """The file of the run directory that ``config[key]`` names (``default`` when it names none); a ValueError
    when it names something else than a file of the directory (a path, ``..``): a config never reaches out."""
    name = config.get(key, default)
    if not isinstance(name, str) or not name or Path(name).name != name or name in (".", ".."):
        raise ValueError(f"{Path(run_dir) / CONFIG}: its {key!r} entry {name!r} is not the name of a file of the "
                         "run directory")
    return Path(run_dir) / name


def load_run(run_dir: str | os.PathLike) -> tuple[Any, dict]:
    """(model in eval mode, config) from a run directory, with clear errors for what is missing."""
    d = Path(run_dir)
    config = load_config(d)
    if not (d / MODEL).is_file():
        raise FileNotFoundError(f"{d / MODEL} is missing: {d} is not a complete run directory")
    # its tensors are in model.safetensors: building it takes no more memory than a few times what that file holds
    # (a network may build parts it then drops: a pretrained backbone's classifier); an int8 run's float32
    # architecture is built first, 4 bytes for each of the file's int8 weights
    factor = 16 if "quantization" in config else 4
    try:
        with budget(factor * (d / MODEL).stat().st_size + (1 << 20), f"the weights in {d / MODEL} can fill"):
            model = models.build(config["model"])
    except (TypeError, ValueError, KeyError) as e:
        raise ValueError(f"{d / CONFIG}: its 'model' entry does not build a model ({e})") from None
    if "quantization" in config:  # an int8 run (lucidnet quantize): the float architecture, its layers replaced
        from ..quantization import restore
        model = restore(model, config["quantization"], where=f"{d / CONFIG}: 'quantization'")
    try:
        model.load_state_dict(load(d / MODEL))
    except RuntimeError as e:
        raise ValueError(f"{d / MODEL} does not fit the model of {d / CONFIG}: {e}") from None
    model.eval()
    return model, config


def read_history(path: str | os.PathLike, index: str | None = "epoch") -> dict[str, list]:
    """``history.csv`` (written by ``CSVLogger``) as ``{column: [float or None per epoch]}``, without the
    ``index`` column (``epoch``); a ValueError naming the file and line for one that is not such a file."""
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        try:
            rows = list(reader)
        except (UnicodeDecodeError, csv.Error) as e:
            raise ValueError(f"{path}, line {reader.line_num + 1}: not a history file ({e})") from None
    header, body = (rows[0], rows[1:]) if rows else ([], [])
    return {k: [_number(path, line, r, i) for line, r in enumerate(body, 2) if r]
            for i, k in enumerate(header) if k != index}


def read_validations(path: str | os.PathLike) -> dict[str, list]:
    """``validations.csv`` (``CSVLogger(validations=...)``) as ``{column: [float or None per validation]}``:
    ``step``, ``epoch`` (fractional: 0.25 after a quarter of the first epoch) and the ``val_*`` quantities."""
    return read_history(path, index=None)


def _number(path: str | os.PathLike, line: int, row: list[str], i: int) -> float | None:
    if i >= len(row) or row[i] == "":
        return None
    try:
        return float(row[i])
    except ValueError:
        raise ValueError(f"{path}, line {line}: {row[i][:40]!r} is not a number (a history file holds "
                         "numbers)") from None


class RunDirError(ValueError):
    """A run directory cannot be used as asked: another run holds it, it holds a run that would be overwritten,
    or there is nothing (or something else) to resume there."""


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


@contextmanager
def _one_at_a_time(d: Path) -> Iterator[None]:
    """Processes taking the lock of ``d`` take turns (``flock`` on the directory, held for the few lines that
    read, remove and create the lock file), so none reads another's lock before its pid is in it, nor removes
    a lock just taken over; nothing where ``fcntl`` is missing (Windows)."""
    try:
        import fcntl
    except ImportError:
        yield
        return
    fd = os.open(d, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _lock(d: Path) -> None:
    """Take the directory's lock (a file holding our pid, created exclusively); a stale lock (its process is
    gone) is taken over; a live one is an error naming the process."""
    with _one_at_a_time(d):
        _take(d)


def _take(d: Path) -> None:
    path = d / LOCK
    for _ in range(2):
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            try:
                pid = int(path.read_text().strip() or 0)
            except (OSError, ValueError):
                pid = 0
            if pid == os.getpid():
                raise RunDirError(f"{d} is in use by another run of this process") from None
            if pid and _pid_alive(pid):
                raise RunDirError(f"{d} is in use by another run (process {pid}); wait for it to finish or choose "
                                  "another --out") from None
            path.unlink(missing_ok=True)  # stale: its process is gone
            continue
        with os.fdopen(fd, "w") as f:
            f.write(str(os.getpid()))
        return
    raise RunDirError(f"{d}: could not take the lock {path}")


def _differences(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    keys = sorted(set(old) | set(new))
    return [f"{k}: {old.get(k)!r} -> {new.get(k)!r}" for k in keys if old.get(k) != new.get(k)]


def _trained(d: Path) -> bool:
    """Whether the run in ``d`` has trained something worth keeping: a checkpoint, a model or its metrics."""
    return any((d / name).is_file() for name in (CHECKPOINT, MODEL, METRICS))


def _remove_run_files(d: Path) -> None:
    for name in RUN_FILES:
        target = d / name
        shutil.rmtree(target) if target.is_dir() else target.unlink(missing_ok=True)
    shutil.rmtree(d / PLOTS, ignore_errors=True)


def _set_aside(d: Path, names: list[str]) -> None:
    """Move the files of the run that ``--overwrite`` replaces (and its plots) into ``d/.replaced``, from where
    a run that fails before it trains anything gives them back."""
    aside = d / REPLACED
    shutil.rmtree(aside, ignore_errors=True)
    aside.mkdir()
    for name in [*names, PLOTS]:
        if (d / name).exists():
            os.replace(d / name, aside / name)


def _restore_set_aside(d: Path) -> None:
    aside = d / REPLACED
    if aside.is_dir():
        for item in aside.iterdir():
            os.replace(item, d / item.name)
        aside.rmdir()


@contextmanager
def open_run(out: str | os.PathLike, recipe: str, settings: Mapping[str, Any], seed: int, *, resume: bool = False,
             overwrite: bool = False) -> Iterator[Path]:
    """Hold run directory ``out`` for a run of ``recipe`` with ``settings`` and ``seed`` (a context manager).

    A new run into a directory that holds a run (finished or interrupted) is refused unless ``overwrite``
    (which removes that run's files, and only those). ``resume`` needs an interrupted run there (a training
    checkpoint) of the same recipe, settings and seed; any difference is refused with the list of them. The
    directory is locked for the duration (and the temporary files that killed writers left are removed);
    ``run.json`` records the settings and ``"status": "finished"`` once the block ends without error. A run
    that fails before its first checkpoint (and before it saved a model) leaves nothing behind, and the run it
    was to replace is put back: the replaced run's files wait in ``.replaced`` until the new run has trained
    something (a process killed meanwhile finds them there)."""
    d = Path(out)
    if d.exists() and not d.is_dir():
        raise RunDirError(f"--out {d} is a file, not a directory")
    created = not d.exists()
    d.mkdir(parents=True, exist_ok=True)
    _lock(d)
    try:
        for name in RUN_FILES:  # what writers killed mid-write left (the lock says none is writing now)
            remove_stale_temps(d / name)
        if (d / REPLACED).is_dir():  # a process killed while replacing a run: the replaced run, unless superseded
            if _trained(d):
                shutil.rmtree(d / REPLACED, ignore_errors=True)
            else:
                _remove_run_files(d)
                _restore_set_aside(d)
        record = {"recipe": recipe, "seed": seed, "settings": json.loads(json.dumps(dict(settings)))}
        previous = read_json(d / RUN) if (d / RUN).is_file() else None
        has_run = [name for name in RUN_FILES if (d / name).exists()]
        if resume:
            if not (d / CHECKPOINT).is_file():
                what = "a finished run" if (d / METRICS).is_file() else ("no run" if not has_run else "no checkpoint")
                raise RunDirError(f"nothing to resume in {d}: it holds {what} (resume continues an interrupted run "
                                  "from its checkpoint.safetensors)")
            if previous is not None:
                old = {"recipe": previous.get("recipe"), "seed": previous.get("seed"), **previous.get("settings", {})}
                diffs = _differences(old, {"recipe": recipe, "seed": seed, **record["settings"]})
                if diffs:
                    raise RunDirError(f"cannot resume {d} with other settings than it started with ("
                                      + "; ".join(diffs) + "); resume with the same options, or start a new run")
        elif has_run:
            if not overwrite:
                kind = "a finished run" if (d / METRICS).is_file() else "an interrupted run"
                raise RunDirError(f"{d} already holds {kind}; resume it (--resume), replace it (--overwrite) or "
                                  "choose another --out")
            _set_aside(d, has_run)
        write_json(d / RUN, {**record, "status": "running"})
        try:
            yield d
        except BaseException:
            if _trained(d):  # an interrupted run to resume: it holds the directory now
                shutil.rmtree(d / REPLACED, ignore_errors=True)
            else:
                # nothing to resume and nothing trained: leave no half-run behind (bad input, say), and give
                # back the run that --overwrite was to replace
                _remove_run_files(d)
                _restore_set_aside(d)
            raise
        shutil.rmtree(d / REPLACED, ignore_errors=True)
        write_json(d / RUN, {**record, "status": "finished"})
    finally:
        (d / LOCK).unlink(missing_ok=True)
        if created and not any(d.iterdir()):
            d.rmdir()
