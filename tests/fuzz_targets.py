"""Every lucidnet reader of outside bytes, as a fuzzing target: a valid file to start from, the reader called as
lucidnet's own code calls it, the error types it may raise, and format-aware mutations beyond the byte-level
ones. ``tests/test_fuzz_readers.py`` runs a few hundred inputs per target; ``benchmarks/faults.py`` ten thousand.
"""
from __future__ import annotations

import gzip
import io
import json
import shutil
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
from hypothesis import strategies as st

import lucidnet as ln
from fuzz_formats import (idx_header, jpeg_header, pickle_inside, png_header, pth_storage_bomb, resigned,
                          safetensors_header, wav_header, zip_contents)
from fuzz_mutations import byte_mutations, json_mutations, ratio_limit

DEFLATE = 1032  # the largest expansion of deflate (gzip, zip, PNG)


@dataclass
class Target:
    """One reader: ``make(folder)`` gives a valid file's bytes, ``read(path)`` reads a file as lucidnet does,
    ``errors`` are the reader's own error types; ``formats`` are strategies of format-aware variants (functions
    of the seed bytes); ``checksummed``: a result read from byte-level edits must equal the seed's."""

    name: str
    file: str
    make: Callable[[Path], bytes]
    read: Callable[[Path], Any]
    errors: tuple
    formats: tuple = ()
    checksummed: bool = False
    compression: float = 1.0
    setup: Callable[[Path], None] | None = None
    names: Callable[[Path, str], bool] | None = None
    _seed: bytes | None = field(default=None, repr=False)
    _inputs: Any = field(default=None, repr=False)

    @property
    def alloc_ratio(self) -> int:
        return ratio_limit(self.compression)

    def folder(self, workdir: Path) -> Path:
        d = workdir / self.name
        if not d.is_dir():
            d.mkdir(parents=True)
            if self.setup is not None:
                self.setup(d)
        return d

    def seed(self, workdir: Path) -> bytes:
        if self._seed is None:
            scratch = workdir / f"{self.name}-seed"
            scratch.mkdir(parents=True, exist_ok=True)
            self._seed = self.make(scratch)
        return self._seed

    def place(self, data: bytes, workdir: Path) -> Path:
        path = self.folder(workdir) / self.file
        path.write_bytes(data)
        return path

    def read_seed(self, workdir: Path) -> Any:
        return self.read(self.place(self.seed(workdir), workdir))

    def names_file(self, path: Path, message: str) -> bool:
        if self.names is not None:
            return self.names(path, message)
        return str(path) in message or path.name in message

    def same(self, a: Any, b: Any) -> bool:
        return _equal(a, b)

    def inputs(self, workdir: Path) -> st.SearchStrategy[tuple[bytes, bool]]:
        """(bytes, whether they are byte-level edits) of mutated files."""
        if self._inputs is None:
            seed = self.seed(workdir)
            edits = byte_mutations(seed).map(lambda b: (b, True))
            self._inputs = st.one_of(edits, *(f(seed).map(lambda b: (b, False)) for f in self.formats))
        return self._inputs


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, ln.Tensor):
        a = a.numpy()
    if isinstance(b, ln.Tensor):
        b = b.numpy()
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.dtype == b.dtype
                and a.shape == b.shape and np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))
    if isinstance(a, dict) and isinstance(b, dict):
        return list(a) == list(b) and all(_equal(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b))
    return a == b


def _text(make: Callable[[], str]) -> Callable[[Path], bytes]:
    return lambda folder: make().encode("utf-8")


def _json_variants(seed: bytes) -> st.SearchStrategy[bytes]:
    return json_mutations(json.loads(seed)).map(lambda s: s.encode("utf-8"))


def _lines_of_json(seed: bytes) -> st.SearchStrategy[bytes]:
    """A JSON-lines file with one line's value mutated."""
    lines = seed.decode().splitlines()

    @st.composite
    def build(draw):
        i = draw(st.integers(0, len(lines) - 1))
        out = list(lines)
        out[i] = draw(json_mutations(json.loads(lines[i])))
        return ("\n".join(out) + "\n").encode()
    return build()


# ---- IDX ----------------------------------------------------------------------------------------------

def _idx(gz: bool) -> Target:
    from lucidnet.datasets.errors import DatasetError
    from lucidnet.datasets.idx import read_idx, write_idx

    def make(folder: Path) -> bytes:
        path = folder / ("x-idx3-ubyte" + (".gz" if gz else ""))
        write_idx(path, np.arange(60, dtype=np.uint8).reshape(3, 4, 5))
        return path.read_bytes()

    def gz_header(seed: bytes):
        return idx_header(gzip.decompress(seed)).map(lambda raw: gzip.compress(raw, mtime=0))

    return Target("idx.gz" if gz else "idx", "x-idx3-ubyte" + (".gz" if gz else ""), make, read_idx, (DatasetError,),
                  formats=(gz_header,) if gz else (idx_header,), compression=DEFLATE if gz else 1)


# ---- safetensors: state dicts, checkpoints, ln.save objects -----------------------------------------

def _state_dict_target() -> Target:
    from lucidnet.serialization import CheckpointError, load, save

    def make(folder: Path) -> bytes:
        path = folder / "model.safetensors"
        save(OrderedDict([("fc.weight", np.arange(12, dtype=np.float32).reshape(3, 4)),
                          ("fc.bias", np.ones(3, np.float32)), ("steps", np.array(7, np.int64))]), path,
             metadata={"epochs": 3, "note": "fuzz"})
        return path.read_bytes()

    return Target("safetensors", "model.safetensors", make, lambda p: load(p, return_metadata=True),
                  (CheckpointError,), formats=(safetensors_header, lambda s: resigned(s, "lucidnet.metadata")),
                  checksummed=True)


def _checkpoint_objects():
    ln.manual_seed(0)
    model = ln.nn.Sequential(ln.nn.Linear(4, 3), ln.nn.BatchNorm1d(3), ln.nn.Linear(3, 2))
    opt = ln.optim.Adam(model.parameters(), lr=0.01)
    sched = ln.optim.lr_scheduler.StepLR(opt, step_size=2)
    return model, opt, sched


def _checkpoint_target() -> Target:
    from lucidnet.serialization import CheckpointError, load_checkpoint, save_checkpoint

    def make(folder: Path) -> bytes:
        model, opt, sched = _checkpoint_objects()
        x = ln.randn(8, 4)
        for _ in range(2):
            opt.zero_grad()
            model(x).pow(2).mean().backward()
            opt.step()
            sched.step()
        path = folder / "checkpoint.safetensors"
        save_checkpoint(path, model=model, optimizer=opt, scheduler=sched, epoch=2, step=2,
                        history={"loss": [0.5, 0.25]}, extra={"note": "fuzz", "arr": np.arange(3)})
        return path.read_bytes()

    def read(path: Path) -> Any:
        model, opt, sched = _checkpoint_objects()
        ck = load_checkpoint(path, model=model, optimizer=opt, scheduler=sched)
        return {"model": model.state_dict(), "epoch": ck["epoch"], "step": ck["step"], "history": ck["history"],
                "optimizer": ck["optimizer_state_dict"], "extra": ck["extra"]}

    return Target("checkpoint", "checkpoint.safetensors", make, read, (CheckpointError,),
                  formats=(safetensors_header, lambda s: resigned(s, "lucidnet.state")), checksummed=True)


def _objects_target() -> Target:
    from lucidnet.serialization import CheckpointError

    def make(folder: Path) -> bytes:
        path = folder / "object.pt"
        ln.save({"epoch": 3, "model": {"w": ln.ones(2, 3)}, "betas": (0.9, 0.999), "lr": [1e-3, float("inf")],
                 "ids": np.arange(4), "name": "run"}, path)
        return path.read_bytes()

    return Target("ln.load", "object.pt", make, ln.load, (CheckpointError,),
                  formats=(safetensors_header, lambda s: resigned(s, "lucidnet.object")), checksummed=True)


# ---- run directories ---------------------------------------------------------------------------------

def _mlp_config() -> dict:
    return {"name": "mlp", "in_features": 4, "hidden": [5], "num_classes": 3}


def _run_config_target() -> Target:
    from lucidnet.train import rundir

    def setup(folder: Path) -> None:
        ln.manual_seed(0)
        rundir.save_run(folder, ln.models.build(_mlp_config()), {"model": _mlp_config(), "task": "classification"})

    def make(folder: Path) -> bytes:
        return json.dumps({"model": _mlp_config(), "task": "classification", "classes": ["a", "b", "c"],
                           "input": {"shape": [4], "mean": 0.5, "std": 2.0}}, indent=2).encode()

    def read(path: Path) -> Any:
        model, config = rundir.load_run(path.parent)
        return config, model.state_dict()

    return Target("run config.json", "config.json", make, read, (ValueError,), formats=(_json_variants,),
                  setup=setup)


def _run_json_target() -> Target:
    from lucidnet.train import rundir

    def make(folder: Path) -> bytes:
        return json.dumps({"test_accuracy": 0.75, "test_loss": 0.61, "epochs": 2, "train_seconds": 1.5}).encode()

    return Target("run metrics.json", "metrics.json", make, rundir.read_json, (ValueError,),
                  formats=(_json_variants,))


def _history_target() -> Target:
    from lucidnet.train import rundir
    make = _text(lambda: "epoch,loss,accuracy,val_loss,lr\n0,0.91,0.66,0.8,0.001\n1,0.55,0.8,,0.001\n")
    return Target("run history.csv", "history.csv", make, rundir.read_history, (ValueError,))


def _preprocess_target() -> Target:
    from lucidnet.tables.preprocess import Preprocessor
    from lucidnet.train import rundir

    def make(folder: Path) -> bytes:
        p = Preprocessor.fit({"x": ["1", "3", ""], "c": ["a", "b", "a"], "y": ["0", "1", "1"]},
                             {"x": "numeric", "c": "categorical"}, "y", "classification")
        return json.dumps(p.to_dict()).encode()

    def read(path: Path) -> Any:
        """The preprocessor, and what it makes of rows of its own values (which a valid file always takes)."""
        pre = Preprocessor.from_dict(rundir.read_json(path), str(path))
        rows = {c["name"]: ["1.5", ""] for c in pre.numeric}
        rows.update({c["name"]: [(c["values"] or ["x"])[0], "never seen"] for c in pre.categorical})
        x, codes = pre.transform(rows, source=str(path))
        y = pre.target_to(pre.classes[:1] * 2) if pre.classes is not None else pre.target_to(["1.5", "2"])
        assert x.shape == (2, pre.num_features) and codes.shape == (2, len(pre.cardinalities)), "inconsistent"
        return x, codes, y

    return Target("preprocess.json", "preprocess.json", make, read, (ValueError,), formats=(_json_variants,))


# ---- text -------------------------------------------------------------------------------------------

def _vocab_target() -> Target:
    from lucidnet.text.vocab import CharVocab, Vocab, load_vocab

    def make(folder: Path) -> bytes:
        path = folder / "vocab.json"
        Vocab.build([["a", "good", "film"], ["a", "bad", "film"], ["é", "🎬"]]).save(path)
        return path.read_bytes()

    def make_char() -> bytes:  # what CharVocab.save writes
        return json.dumps(CharVocab.build(["hello world"]).to_dict(), ensure_ascii=False).encode("utf-8") + b"\n"

    def read(path: Path) -> Any:
        v = load_vocab(path)
        some = v.tokens[:3]
        return v.tokens, v.encode(some if v.kind == "word" else "".join(t for t in some if len(t) == 1)).tolist()

    char_seed = make_char()
    return Target("vocab", "vocab.json", make, read, (ValueError,),
                  formats=(_json_variants, lambda s: byte_mutations(char_seed), lambda s: _json_variants(char_seed)))


_TOKENIZER_TEXTS = ["a gripping film , truly", "a dull film", "the best film of the year !", "Ein Hund ."] * 5


def _subword_target() -> Target:
    from lucidnet.text.subword import SubwordTokenizer

    def make(folder: Path) -> bytes:
        path = folder / "tokenizer.json"
        SubwordTokenizer.train(_TOKENIZER_TEXTS, vocab_size=60, model="wordpiece").save(path)
        return path.read_bytes()

    def read(path: Path) -> Any:
        tok = SubwordTokenizer.load(path)
        return tok("a gripping film"), tok.encode("the film").tolist()

    return Target("subword tokenizer", "tokenizer.json", make, read, (ValueError,), formats=(_json_variants,))


def _wordpiece_target() -> Target:
    from lucidnet.text.subword import SubwordTokenizer
    from lucidnet.text.wordpiece import WordPieceTokenizer

    def make(folder: Path) -> bytes:
        path = folder / "tokenizer.json"
        SubwordTokenizer.train(_TOKENIZER_TEXTS, vocab_size=60, model="wordpiece", pad_token="[PAD]",
                               unk_token="[UNK]", specials=["[CLS]", "[SEP]"]).save(path)
        return path.read_bytes()

    def read(path: Path) -> Any:
        b = WordPieceTokenizer(path, max_length=32)(["a gripping film", "the best film of the year !"])
        return b.input_ids.tolist(), b.attention_mask.tolist()

    return Target("wordpiece tokenizer", "tokenizer.json", make, read, (ValueError,), formats=(_json_variants,))


def _labeled_text_target() -> Target:
    from lucidnet.datasets.errors import DatasetError
    from lucidnet.datasets.textfiles import LabeledText
    make = _text(lambda: "1 a stirring , funny film\r\n0 a sour little movie\n\n2\tcafé 🎬 \"quoted\"\n")

    def read(path: Path) -> Any:
        ds = LabeledText(path)
        return ds.texts, ds.targets.tolist(), ds.classes

    return Target("labelled text", "train.txt", make, read, (DatasetError,))


# ---- tables -----------------------------------------------------------------------------------------

def _table_target(fmt: str) -> Target:
    from lucidnet.datasets.errors import DatasetError
    from lucidnet.datasets.tables import read_table
    texts = {"csv": 'age,city,note\n31,Oslo,"likes, commas"\n,Rome,\n45,"Bergen",x\n',
             "tsv": "age\tcity\tnote\n31\tOslo\tlikes, commas\n\tRome\t\n",
             "jsonl": '{"age": 31, "city": "Oslo", "ok": true}\n{"age": null, "city": "Rome", "ok": false}\n'}
    formats = (_lines_of_json,) if fmt == "jsonl" else ()

    def read(path: Path) -> Any:
        t = read_table(path)
        return t.columns, t.data, t.lines

    return Target(f"table {fmt}", f"table.{fmt}", _text(lambda: texts[fmt]), read, (DatasetError,), formats=formats)


# ---- MovieLens ---------------------------------------------------------------------------------------

def _movielens_target() -> Target:
    from lucidnet.datasets.errors import DatasetError
    from lucidnet.recsys.data import MovieLens100K, safe_extract
    from movielens_fixture import write_movielens, zip_of

    def make(folder: Path) -> bytes:
        write_movielens(folder / "src", n_users=4, n_items=5, per_user=3)
        return zip_of(folder / "src")

    def read(path: Path) -> Any:
        out = path.parent / "extracted"
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir()
        safe_extract(path, out, strip="ml-100k")
        written = sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
        if written > EXTRACT_RATIO * path.stat().st_size + (1 << 20):
            raise AssertionError(f"extracted {written} bytes from a {path.stat().st_size}-byte archive")
        ds = MovieLens100K(out)
        train, test = ds.split("u1")
        return len(ds.ratings), len(train), len(test), ds.titles

    def names(path: Path, message: str) -> bool:
        return str(path) in message or str(path.parent / "extracted") in message

    return Target("movielens zip", "ml-100k.zip", make, read, (DatasetError,),
                  formats=(lambda s: zip_contents(s, "ml-100k/"),), compression=DEFLATE, names=names)


EXTRACT_RATIO = 100  # bytes an archive may write per byte of its own (ml-100k's: about 3)


# ---- images -----------------------------------------------------------------------------------------

def _image_target(fmt: str) -> Target:
    from lucidnet.datasets.images import read_images

    def make(folder: Path) -> bytes:
        from PIL import Image
        rng = np.random.default_rng(0)
        buf = io.BytesIO()
        Image.fromarray(rng.integers(0, 255, (12, 10, 3), dtype=np.uint8)).save(buf, format=fmt.upper())
        return buf.getvalue()

    def read(path: Path) -> Any:
        return read_images([path], size=(8, 8), mode="RGB")

    header = png_header if fmt == "png" else jpeg_header
    return Target(fmt, f"image.{fmt}", make, read, (ValueError,), formats=(header,), compression=DEFLATE)


# ---- audio ------------------------------------------------------------------------------------------

def _wav_target(backend: str) -> Target:
    """A stereo 16-bit WAV file at 16 kHz read as a model at 8 kHz reads it (mono, resampled), decoded by soundfile
    or by the standard library's wave (``backend``)."""
    from lucidnet.audio import AudioError, read_audio, write_wav
    from lucidnet.audio import wav as wav_module

    def make(folder: Path) -> bytes:
        import scipy.signal  # noqa: F401 - imported once here, not counted as the reader's allocations
        if backend == "soundfile":
            import soundfile  # noqa: F401
        t = np.arange(400) / 16000
        write_wav(folder / "clip.wav", np.stack([np.sin(2 * np.pi * 440 * t), 0.5 * np.cos(2 * np.pi * 300 * t)], 1),
                  16000)
        return (folder / "clip.wav").read_bytes()

    def read(path: Path) -> Any:
        if backend == "soundfile":
            return read_audio(path, sample_rate=8000)
        real = wav_module.backend
        wav_module.backend = lambda: "wave"
        try:
            return read_audio(path, sample_rate=8000)
        finally:
            wav_module.backend = real

    return Target(f"wav {backend}", "clip.wav", make, read, (AudioError,), formats=(wav_header,))


# ---- .pth --------------------------------------------------------------------------------------------

def _pth_target(zip_format: bool) -> Target:
    from lucidnet.serialization.pth import PthError
    from lucidnet.vision.pretrained import load_pth

    def make(folder: Path) -> bytes:
        import torch
        g = torch.Generator().manual_seed(0)
        base = torch.randn(4, 5, generator=g)
        sd = OrderedDict([("w", base), ("t", base.t()), ("row", base[2]), ("n", torch.tensor(7)),
                          ("h", torch.randn(3, generator=g).half())])
        buf = io.BytesIO()
        torch.save(sd, buf, _use_new_zipfile_serialization=zip_format)
        return buf.getvalue()

    formats = (pickle_inside, lambda s: st.just(pth_storage_bomb(s))) if zip_format else ()
    return Target("pth zip" if zip_format else "pth legacy", "weights.pth", make, load_pth, (PthError,),
                  formats=formats)


def all_targets() -> dict[str, Target]:
    """Every target by name (built lazily: some need optional packages)."""
    targets = [_idx(False), _idx(True), _state_dict_target(), _checkpoint_target(), _objects_target(),
               _run_config_target(), _run_json_target(), _history_target(), _preprocess_target(), _vocab_target(),
               _subword_target(), _wordpiece_target(), _labeled_text_target(), _table_target("csv"),
               _table_target("tsv"), _table_target("jsonl"), _movielens_target(), _image_target("png"),
               _image_target("jpeg"), _pth_target(True), _pth_target(False), _wav_target("soundfile"),
               _wav_target("wave")]
    return {t.name: t for t in targets}


TARGET_NAMES = ["idx", "idx.gz", "safetensors", "checkpoint", "ln.load", "run config.json", "run metrics.json",
                "run history.csv", "preprocess.json", "vocab", "subword tokenizer", "wordpiece tokenizer",
                "labelled text", "table csv", "table tsv", "table jsonl", "movielens zip", "png", "jpeg", "pth zip",
                "pth legacy", "wav soundfile", "wav wave"]
