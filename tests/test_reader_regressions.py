"""One test per fault the fuzzing of the readers found (``tests/test_fuzz_readers.py``): each input, written out
by hand, now gets the reader's own error naming the file, early and without a large allocation."""
import gzip
import io
import json
import pickle
import struct
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pytest

import lucidnet as ln
from lucidnet.datasets.errors import DatasetError
from lucidnet.datasets.idx import read_idx
from lucidnet.datasets.images import read_images
from lucidnet.datasets.tables import read_table
from lucidnet.serialization import CheckpointError, load_checkpoint
from lucidnet.serialization.pth import PthError, load_pth
from lucidnet.serialization.tensorfile import write
from lucidnet.tables.preprocess import Preprocessor
from lucidnet.text.vocab import load_vocab
from lucidnet.train import rundir

CORPUS = Path(__file__).parent / "fuzz_corpus"
DEEP = "[" * 100_000 + "]" * 100_000


def _peak(fn) -> int:
    """Bytes ``fn()`` allocated at its peak (it is expected to raise)."""
    tracemalloc.start()
    try:
        fn()
    except Exception:
        pass
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


# ---- IDX ----------------------------------------------------------------------------------------------

def test_idx_dimensions_whose_product_overflows_int64(tmp_path):
    path = tmp_path / "x-idx4-ubyte"  # 65536**4 == 2**64: np.prod(int64) wrapped to 0, matching 0 bytes of data
    path.write_bytes(bytes([0, 0, 8, 4]) + struct.pack(">4I", *[65536] * 4))
    with pytest.raises(DatasetError, match=r"x-idx4-ubyte: the header declares shape .* too large"):
        read_idx(path)


def test_idx_zero_size_shape_with_huge_dimensions(tmp_path):
    path = tmp_path / "x-idx3-ubyte"  # NumPy's "array is too big" ValueError before
    path.write_bytes(bytes([0, 0, 8, 3]) + struct.pack(">3I", 0, 2 ** 32 - 1, 2 ** 32 - 1))
    with pytest.raises(DatasetError, match="x-idx3-ubyte: the header declares shape"):
        read_idx(path)


def test_idx_gz_claiming_more_than_gzip_can_hold_is_refused_before_decompressing(tmp_path):
    path = tmp_path / "x-idx1-ubyte.gz"  # 1 KB claiming 10**9 bytes, with 10**6 zero bytes that deflate to nothing
    path.write_bytes(gzip.compress(bytes([0, 0, 8, 1]) + struct.pack(">I", 10 ** 9) + bytes(10 ** 6)))
    with pytest.raises(DatasetError, match="more than a gzip file of"):
        read_idx(path)
    assert _peak(lambda: read_idx(path)) < 1 << 20


def test_idx_plain_claiming_10_to_12_elements_allocates_nothing(tmp_path):
    path = tmp_path / "x-idx1-ubyte"
    path.write_bytes(bytes([0, 0, 8, 1]) + struct.pack(">I", 10 ** 9) + bytes(1000))
    with pytest.raises(DatasetError, match=r"truncated data: .* the file holds 1000 bytes"):
        read_idx(path)
    assert _peak(lambda: read_idx(path)) < 1 << 20


# ---- safetensors: nesting past the recursion limit ----------------------------------------------------

@pytest.mark.parametrize("key, load", [
    ("lucidnet.object", lambda p: ln.load(p)),
    ("lucidnet.state", lambda p: load_checkpoint(p)),
    ("lucidnet.metadata", lambda p: ln.serialization.load(p, return_metadata=True)),
])
def test_signed_safetensors_with_deeply_nested_json(tmp_path, key, load):
    path = tmp_path / "deep.safetensors"
    fmt = {"lucidnet.state": "checkpoint", "lucidnet.metadata": "state_dict"}.get(key, "object")
    write(path, {"w": np.ones(2, np.float32)}, {key: DEEP, "lucidnet.format": fmt, "lucidnet.format_version": "1"})
    with pytest.raises(CheckpointError, match="deep.safetensors: .*nested too deeply"):
        load(path)


def test_safetensors_header_nested_too_deeply(tmp_path):
    path = tmp_path / "deep.safetensors"
    header = ('{"__metadata__": {"a": "b"}, "x": ' + DEEP + "}").encode()
    path.write_bytes(len(header).to_bytes(8, "little") + header)
    with pytest.raises(CheckpointError, match="deep.safetensors: bad header: its JSON nests too deeply"):
        ln.load(path)


# ---- run directories ----------------------------------------------------------------------------------

@pytest.mark.parametrize("text, why", [(DEEP, "nested too deeply"), ('{"epochs": ' + "9" * 5000 + "}", "digits"),
                                       (b"\xff\xfe", "utf-8")])
def test_run_json_files_that_are_not_json(tmp_path, text, why):
    path = tmp_path / "metrics.json"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(ValueError, match=f"metrics.json: not valid JSON .*{why}"):
        rundir.read_json(path)


def _run_dir(tmp_path, model_config):
    good = {"name": "mlp", "in_features": 4, "hidden": [5], "num_classes": 3}
    rundir.save_run(tmp_path, ln.models.build(good), {"model": model_config, "task": "classification"})
    return tmp_path


@pytest.mark.parametrize("model_config, why", [
    ({"name": ["mlp"], "in_features": 4}, "unhashable"),                       # TypeError before
    ({"name": "mlp", "in_features": 4, "colour": "red"}, "colour"),             # TypeError before
    ({"name": "no-such-model"}, "unknown model"),                                # ValueError without the file
])
def test_run_config_whose_model_does_not_build(tmp_path, model_config, why):
    d = _run_dir(tmp_path, model_config)
    with pytest.raises(ValueError, match=f"config.json: its 'model' entry does not build a model .*{why}"):
        rundir.load_run(d)


def test_run_config_claiming_a_model_far_larger_than_its_weights(tmp_path):
    # a 190-byte config.json built a 44 MB model before the weights were compared with it
    d = _run_dir(tmp_path, {"name": "mlp", "in_features": 4, "hidden": [200_000], "num_classes": 3})
    with pytest.raises(ValueError, match=r"config.json: .*Linear\(4, 200000\): .*past the 1.0 MiB that the weights in "
                                         r".*model.safetensors can fill"):
        rundir.load_run(d)
    assert _peak(lambda: rundir.load_run(d)) < 1 << 20


def test_run_config_whose_model_does_not_fit_the_weights(tmp_path):
    d = _run_dir(tmp_path, {"name": "mlp", "in_features": 4, "hidden": [6], "num_classes": 3})  # RuntimeError before
    with pytest.raises(ValueError, match="model.safetensors does not fit the model of .*config.json"):
        rundir.load_run(d)


@pytest.mark.parametrize("name", ["/etc/passwd", "../../vocab.json", "sub/vocab.json", "..", "", 7])
def test_run_config_naming_a_file_outside_the_run_directory(tmp_path, name):
    # found reading the fuzzed configs: config.json's "vocab" / "preprocess" were joined to the run directory as
    # given, so an absolute path or ``..`` made evaluate read any file
    with pytest.raises(ValueError, match="config.json: its 'vocab' entry .* is not the name of a file of the run"):
        rundir.run_file(tmp_path, {"vocab": name}, "vocab", "vocab.json")
    assert rundir.run_file(tmp_path, {}, "vocab", "vocab.json") == tmp_path / "vocab.json"


@pytest.mark.parametrize("content, match", [(b"epoch,loss\n0,0.5\n1,lots\n", r"history.csv, line 3: 'lots' is not a"),
                                            (b"epoch,loss\n0,\xff\n", r"history.csv, line \d: not a history file")])
def test_history_that_is_not_numbers(tmp_path, content, match):
    path = tmp_path / "history.csv"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=match):
        rundir.read_history(path)


# ---- preprocessing, vocabularies, tokenizers, tables ----------------------------------------------------

def _preprocess(**change):
    d = Preprocessor.fit({"x": ["1", "3"], "c": ["a", "b"], "y": ["0", "1"]}, {"x": "numeric", "c": "categorical"},
                         "y", "classification").to_dict()
    for path, value in change.items():
        section, key = path.split("__")
        target = d[section][0] if isinstance(d[section], list) else d[section]
        if value is KeyError:
            del target[key]
        else:
            target[key] = value
    return d


@pytest.mark.parametrize("change", [{"categorical__values": 3}, {"categorical__values": [["a"]]},
                                    {"target__classes": KeyError}, {"target__classes": []}, {"numeric__std": 0.0},
                                    {"target__classes": ["", "1"]}, {"target__classes": ["NA", "1"]},
                                    {"numeric__mean": 10 ** 400}, {"categorical__name": ["c"]}])
def test_preprocess_json_with_wrong_types(change):
    with pytest.raises(ValueError, match="preprocess.json: not a lucidnet table preprocessing file"):
        Preprocessor.from_dict(_preprocess(**change), "runs/t/preprocess.json")


def _vocab_file(tmp_path, **d):
    path = tmp_path / "vocab.json"
    path.write_text(json.dumps({"format": 1, "kind": "word", "tokens": ["<pad>", "<unk>", "a"], "pad_token": "<pad>",
                                "unk_token": "<unk>", **d}))
    return path


@pytest.mark.parametrize("d, why", [({"tokens": ["<pad>", "<unk>", ["a"]]}, "must be strings"),
                                    ({"kind": ["word"]}, "unknown vocabulary kind"),
                                    ({"pad_token": "<nothing>"}, "not among the tokens"),
                                    ({"tokens": ["<pad>", "<unk>", 5]}, "must be strings")])
def test_vocabulary_files_with_wrong_contents(tmp_path, d, why):
    with pytest.raises(ValueError, match=f"vocab.json: .*{why}"):
        load_vocab(_vocab_file(tmp_path, **d))


def test_vocabulary_with_many_repeated_tokens_is_refused(tmp_path):
    path = _vocab_file(tmp_path, tokens=["<pad>", "<unk>"] + [str(i % 1000) for i in range(100_000)])
    with pytest.raises(ValueError, match="vocab.json: not a valid vocabulary .*repeated"):
        load_vocab(path)


class _CountedStr(str):
    """A token that counts the equality tests made on it (all instances together)."""
    tests = 0

    def __eq__(self, other):
        type(self).tests += 1
        return str.__eq__(self, other)

    __hash__ = str.__hash__


def test_repeated_tokens_are_found_in_linear_work():
    # the duplicate count was quadratic (``tokens.count`` per token: minutes for the file above); counted in
    # equality tests, not timed: a quadratic count makes n * n / 2 of them, here ~2 million
    tokens = [_CountedStr(i % 100) for i in range(2000)]
    _CountedStr.tests = 0
    with pytest.raises(ValueError, match="tokens must be distinct; repeated: .'0', '1', '10'"):
        ln.text.Vocab(tokens)
    assert 0 < _CountedStr.tests < 10 * len(tokens)


def test_vocabulary_that_is_not_utf8(tmp_path):
    path = tmp_path / "vocab.json"
    path.write_bytes(b'{"tokens": ["\xff"]}')
    with pytest.raises(ValueError, match="vocab.json: not a vocabulary file"):
        load_vocab(path)


@pytest.mark.parametrize("content", [b"", b'{"version": "1.0"', b"null"])
def test_subword_tokenizer_file_the_library_cannot_read(tmp_path, content):
    pytest.importorskip("tokenizers")
    from lucidnet.text.subword import SubwordTokenizer
    path = tmp_path / "tokenizer.json"
    path.write_bytes(content)  # the library's own Exception escaped before
    with pytest.raises(ValueError, match="tokenizer.json: not a tokenizer file"):
        SubwordTokenizer.load(path)


@pytest.mark.parametrize("model", ["wordpiece", "bpe"])
def test_tokenizer_whose_vocabulary_lacks_its_unknown_token(tmp_path, model):
    # the library reads such a file, then fails on the first text with an unknown character
    pytest.importorskip("tokenizers")
    from lucidnet.text.subword import SubwordTokenizer
    from lucidnet.text.wordpiece import WordPieceTokenizer
    path = tmp_path / "tokenizer.json"
    tok = SubwordTokenizer.train(["a film", "the film"] * 3, vocab_size=30, model=model, specials=["[SEP]"])
    d = json.loads(tok.tokenizer.to_str())
    vocab = d["model"]["vocab"]
    del vocab["<unk>"]
    d["model"]["vocab"] = {k: i for i, k in enumerate(vocab)}
    path.write_text(json.dumps(d))
    for load in (SubwordTokenizer.load, WordPieceTokenizer):
        with pytest.raises(ValueError, match="tokenizer.json: not a tokenizer file .*(UNK|unk)"):
            load(path)


def test_subword_tokenizer_whose_vocabulary_lacks_pad(tmp_path):
    pytest.importorskip("tokenizers")
    from lucidnet.text.subword import SubwordTokenizer
    path = tmp_path / "tokenizer.json"
    SubwordTokenizer.train(["a film", "the film"] * 3, vocab_size=30).save(path)
    with pytest.raises(ValueError, match="tokenizer.json: Vocab: pad_token"):
        SubwordTokenizer.load(path, pad_token="[PAD]")


@pytest.mark.parametrize("line, why", [('{"a": ' + "9" * 5000 + "}", "digits"), ('{"a": ' + DEEP + "}", "deep")])
def test_json_lines_table_with_awkward_values(tmp_path, line, why):
    path = tmp_path / "t.jsonl"
    path.write_text('{"a": 1}\n' + line + "\n")
    with pytest.raises(DatasetError, match=f"t.jsonl, line 2: not valid JSON .*{why}"):
        read_table(path)


# ---- MovieLens zip ---------------------------------------------------------------------------------------

def _zip(members, method=zipfile.ZIP_DEFLATED):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as z:
        for name, data in members:
            z.writestr(name, data)
    return buf.getvalue()


def _extract(tmp_path, data):
    from lucidnet.recsys.data import safe_extract
    archive = tmp_path / "ml-100k.zip"
    archive.write_bytes(data)
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    return safe_extract(archive, out, strip="ml-100k"), out


def _patched(data, offset_in_central, value, width=2):
    """``data`` with a field of its first central-directory record set to ``value``."""
    i = data.rfind(b"PK\x01\x02")
    return data[:i + offset_in_central] + value.to_bytes(width, "little") + data[i + offset_in_central + width:]


@pytest.mark.parametrize("data, why", [
    (b"", "not a readable zip archive"),                                              # BadZipFile before
    (b"PK\x05\x06" + bytes(17), "not a readable zip archive"),
    (_patched(_zip([("ml-100k/u.data", b"1 1 1 1\n")]), 42, 2 ** 31, 4), "cannot be read"),   # EINVAL seek before
    (_patched(_zip([("ml-100k/u.data", b"1 1 1 1\n")]), 10, 99), "cannot be read"),   # compression 99
    (_patched(_zip([("ml-100k/u.data", b"1 1 1 1\n")]), 6, 99), "not a readable"),    # version 9.9
    (_patched(_zip([("ml-100k/u.data", b"1 1 1 1\n")]), 16, 12345, 4), "cannot be read"),  # bad CRC
])
def test_zip_archives_that_cannot_be_read(tmp_path, data, why):
    with pytest.raises(DatasetError, match=f"ml-100k.zip: .*({why})"):
        _extract(tmp_path, data)


def test_zip_bomb_is_refused_before_anything_is_written(tmp_path):
    data = _zip([("ml-100k/u.item", b"1|x\n"), ("ml-100k/u.data", bytes(50 << 20))])  # 50 MB in about 50 KB
    assert len(data) < 100_000
    with pytest.raises(DatasetError, match="u.data' would expand from .* a zip bomb"):
        _extract(tmp_path, data)
    assert not any((tmp_path / "out").iterdir())


@pytest.mark.parametrize("flag, why", [("yes", "must be integers"), ("7", "must be 0 or 1"),
                                       ("-300", "must be 0 or 1")])
def test_movielens_genre_flags_that_are_not_0_or_1(tmp_path, flag, why):
    from lucidnet.recsys.data import MovieLens100K
    from movielens_fixture import write_movielens
    write_movielens(tmp_path, n_users=3, n_items=4, per_user=2)
    items = (tmp_path / "u.item").read_text(encoding="latin-1").splitlines()
    items[0] = "|".join(items[0].split("|")[:-1] + [flag])  # int() raised a ValueError naming no file before
    (tmp_path / "u.item").write_text("\n".join(items) + "\n", encoding="latin-1")
    with pytest.raises(DatasetError, match=f"u.item: genre flags {why}"):
        MovieLens100K(tmp_path)


def test_movielens_ids_past_int64(tmp_path):
    from lucidnet.recsys.data import MovieLens100K
    from movielens_fixture import write_movielens
    write_movielens(tmp_path, n_users=3, n_items=4, per_user=2)
    users = (tmp_path / "u.user").read_text().splitlines()
    (tmp_path / "u.user").write_text("\n".join(["9" * 30 + users[0][1:], *users[1:]]) + "\n")  # OverflowError before
    with pytest.raises(DatasetError, match="u.user: user ids must be integers"):
        MovieLens100K(tmp_path)


# ---- images ------------------------------------------------------------------------------------------------

def test_png_whose_chunk_length_says_64_mb(tmp_path):
    # a valid 10x12 PNG whose IDAT length field says 64 MB: Pillow skipped "the rest" of the chunk with one read of
    # that length, which allocated 64 MB for a 440-byte file (2 GB with the largest length)
    from PIL import Image
    buf = io.BytesIO()
    Image.fromarray(np.zeros((12, 10, 3), np.uint8)).save(buf, format="PNG")
    data = buf.getvalue()
    i = data.find(b"IDAT") - 4
    path = tmp_path / "long-chunk.png"
    path.write_bytes(data[:i] + (64 << 20).to_bytes(4, "big") + data[i + 4:])
    assert _peak(lambda: read_images([path], size=(8, 8), mode="RGB")) < 4 << 20


def test_jpeg_that_pillow_rejects_with_a_value_error(tmp_path):
    path = tmp_path / "bad.jpeg"  # a fuzzed JPEG: Pillow's "unknown raw mode" ValueError escaped without the name
    path.write_bytes((CORPUS / "jpeg-unknown-raw-mode.jpeg").read_bytes())
    with pytest.raises(ValueError, match="bad.jpeg: not a readable image"):
        read_images([path], size=(8, 8), mode="RGB")


# ---- .pth -------------------------------------------------------------------------------------------------

def _pth_zip(tmp_path, members, method=zipfile.ZIP_STORED):
    path = tmp_path / "w.pth"
    path.write_bytes(_zip(members, method))
    return path


def _tensor_pickle(numel, size, stride, memo_index=None):
    """A ``data.pkl`` of ``{"w": tensor}`` as torch writes it, by hand (protocol 2)."""
    p = io.BytesIO()
    p.write(b"\x80\x02}q\x00X\x01\x00\x00\x00wq\x01ctorch._utils\n_rebuild_tensor_v2\nq\x02(")
    p.write(b"(X\x07\x00\x00\x00storageq\x03ctorch\nFloatStorage\nq\x04X\x01\x00\x00\x000q\x05"
            b"X\x03\x00\x00\x00cpuq\x06")
    p.write(b"J" + struct.pack("<i", numel) + b"tq\x07QK\x00")
    p.write(pickle.dumps(tuple(size), protocol=2)[2:-1] + pickle.dumps(tuple(stride), protocol=2)[2:-1])
    p.write(b"\x89ccollections\nOrderedDict\nq\x08)Rq\x09tq\x0aRq\x0b")
    if memo_index is not None:
        p.write(b"r" + struct.pack("<I", memo_index))
    p.write(b"s.")
    return p.getvalue()


def test_pth_pickle_naming_a_huge_memo_index(tmp_path):
    # LONG_BINPUT 2**31: the C unpickler grew its memo array to that index (16 GB) before failing
    path = _pth_zip(tmp_path, [("w/data.pkl", _tensor_pickle(3, (3,), (1,), memo_index=2 ** 31)),
                               ("w/data/0", np.ones(3, np.float32).tobytes())])
    assert list(load_pth(path)) == ["w"]
    assert _peak(lambda: load_pth(path)) < 1 << 20


def test_pth_storage_entry_that_is_a_zip_bomb(tmp_path):
    path = _pth_zip(tmp_path, [("w/data.pkl", _tensor_pickle(3, (3,), (1,))), ("w/data/0", bytes(50 << 20))],
                    zipfile.ZIP_DEFLATED)
    with pytest.raises(PthError, match="w.pth: entry w/data/0 would expand"):
        load_pth(path)
    assert _peak(lambda: load_pth(path)) < 1 << 20


def test_pth_tensor_repeating_one_element_a_billion_times(tmp_path):
    path = _pth_zip(tmp_path, [("w/data.pkl", _tensor_pickle(1, (10 ** 9,), (0,))),
                               ("w/data/0", np.ones(1, np.float32).tobytes())])
    with pytest.raises(PthError, match="w.pth: a tensor of size .* repeats the 1 elements"):
        load_pth(path)


def test_pth_zip_needing_a_newer_zip_version(tmp_path):
    path = tmp_path / "w.pth"  # zipfile's NotImplementedError escaped before
    data = _zip([("w/data.pkl", _tensor_pickle(3, (3,), (1,))), ("w/data/0", np.ones(3, np.float32).tobytes())],
                zipfile.ZIP_STORED)
    i = data.find(b"PK\x01\x02")
    path.write_bytes(data[:i + 6] + (255).to_bytes(2, "little") + data[i + 8:])
    with pytest.raises(PthError, match="w.pth: not a readable PyTorch file"):
        load_pth(path)


def test_pth_round_trip_still_reads_a_hand_written_file(tmp_path):
    path = _pth_zip(tmp_path, [("w/data.pkl", _tensor_pickle(3, (3,), (1,))),
                               ("w/data/0", np.arange(3, dtype=np.float32).tobytes())])
    got = load_pth(path)
    assert list(got) == ["w"] and got["w"].tolist() == [0.0, 1.0, 2.0]


def test_a_png_chunk_claiming_64_mib_is_not_read_into_64_mib(tmp_path):
    """Found by the fuzzer in CI: a 440-byte PNG whose corrupt IDAT length made Pillow ask the file for 64 MiB,
    which a buffered read allocates before it finds the file shorter; the reader now never asks for more than
    the file holds."""
    import tracemalloc
    from lucidnet.datasets.images import read_images
    path = tmp_path / "f.png"
    path.write_bytes(b'\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\n\x00\x00\x00\x0c\x08\x02\x00\x00\x00\xd4\t\xbb\xf7\x04\x00\x01\x7fIDATx\x9c\x01t\x01\x8b\xfe\x00^\x81\xc1\xd8\xce\xea\x0e\xa2 \xd6\xd8\x81\xf7\xbc\x0fD\xb7\xe7\xccM\xa8<|\t\x1c\xefA\x12\xb5&\x01:\x03:\x16\xda\xf1\'\x9c\x06X\xd4\xeapX]\x19\x04p&\x08\x04\x01\xbf\x8e\xcc*\xcaN\xe7\xb3\x04$E\x85[\xe1\xbf"\'h%\xb1\xa4\xec\x19\xcb\xa2H\xff\xd1\xe8_\xd7\x95\x01\x90j\x8b\xe9\xb5\xc6\x02L\x1f\xb8\xf91v\n\xc3\xd8\xd7SP2\xd6\x91\xfel(9\x19-\x9c\x88v@\xd8\xfa\n\x16i\x00\xb8\xd7H\xc3\xf6+\r~\xda\x159J\xf8\xdb-x\xa7\x04\xd82\x9c\x897\x11\x94\x13\x1f\xea\xb8K\x028\xfe\xdd\xb7\xd8\x0e\'\xed1\x8d\x00\x1cD\x19\x11\x8e\xc0\xc5\x85\xce\xc3}\x99\r\x13\xd7\xfe\x17\xf0\xbe\x02\xbd\xd5\x95g\xbfL\x05\xca\xa2\x02\xf7\xff\xa1L\xb1\xd9!\xd3\x07\x199\xbcb\x92\x90w\xfc\xf3Uk\x00|%H\xfe>\xc4\x12\xcdU\x05\x17\xfa,p\'`\xf2\xac~\xae=\xc58\xf2\xc5~\x83\xa5\xbb\xa4\x02\xa1\xb17\x0c\xff\xeb\x9c\x9b\xe3\xae\xa4_c\xf2\x92\xda\x173\xbf\x00W\\\xdc\x11m\x155\xcf\xf7\x13\x02\x1d\x93\xf1\xcd\xb3\xee\xce\x1d\xdf\x9a_\x06e\x9f\xb2\x14\x0e-\t\xbd,\x92Jx\x10\x1fKC\xd3\xc1\x01\xb4\xe2\x91\xf1\xc9\x80,\xcd\x0b\x1d#\x03\x17\xec,q\x10\x0fZ\r\xdd\xdb\xc6\x8f\xa3\'&\x8f\x9bT\x02\x97%\xd4\xac\xf7\xc4_?\xdc\x1c\x88x<\x0c\xd5\n\x06\xfe\xb0\xb1\x84\xe6O\xfb@\x92T\x86\xbd\x08\x82\xd3\xaf9\xfcjH\xe4\x00\x00\x00\x00IEND\xaeB`\x82')
    read_images([path], size=(8, 8), mode="RGB")  # imports and caches warmed up
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        read_images([path], size=(8, 8), mode="RGB")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20
