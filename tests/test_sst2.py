"""SST-2 and the generic labelled-text reader: layouts, clear errors naming file and line, finding and
downloading (file:// URLs, MD5-checked); the real files when LUCIDNET_DATA is set."""
import os
from pathlib import Path

import numpy as np
import pytest

from lucidnet.datasets.download import md5sum
from lucidnet.datasets.errors import DatasetError, DatasetNotFoundError
from lucidnet.datasets.sst2 import SST2
from lucidnet.datasets.textfiles import LabeledText, locate_files, read_labeled_lines
from text_fixture import write_sst2

REAL = Path(os.environ["LUCIDNET_DATA"]) / "sst2" if os.environ.get("LUCIDNET_DATA") else None


def test_sst2_reads_every_split_of_the_fixture(tmp_path):
    splits = write_sst2(tmp_path / "sst2", n_train=30, n_dev=5, n_test=7)
    for name in ("train", "dev", "test"):
        ds = SST2(tmp_path, name)  # root may hold sst2/ ...
        assert len(ds) == len(splits[name]) and ds.texts[0] == splits[name][0][1]
        assert ds.targets.dtype == np.int64 and ds.targets.tolist() == [y for y, _ in splits[name]]
    phrases = SST2(tmp_path / "sst2", "phrases")  # ... or be the directory itself
    assert len(phrases) == 2 * 30 + 1 and not any("\r" in t for t in phrases.texts)
    assert phrases.classes == ["0", "1"] and phrases.class_names == ["negative", "positive"]
    assert "split='phrases'" in repr(phrases)
    with pytest.raises(ValueError, match="split must be one of"):
        SST2(tmp_path, "validation")


@pytest.mark.parametrize("content, match", [
    ("1 fine\n2 a film with label two\n", r"line 2: the label '2' is not one of \['0', '1'\]"),
    ("1 fine\n\n0\n", "line 3: expected a label and a text"),
    ("1 fine\n0 \n", "line 2: the text is empty"),
])
def test_sst2_malformed_lines_name_the_file_and_line(tmp_path, content, match):
    write_sst2(tmp_path / "sst2", 5, 5, 5)
    (tmp_path / "sst2" / "stsa.binary.dev").write_text(content)
    with pytest.raises(DatasetError, match=match) as e:
        SST2(tmp_path, "dev")
    assert "stsa.binary.dev" in str(e.value)


@pytest.mark.parametrize("content, match", [
    ("sentence\tscore\r\nfine\t1\r\n", "line 1: the header .* has no column 'label'"),
    ("label\tsentence\r\n1\tfine\r\n0\tbad\textra\r\n", "line 3: expected 2 fields"),
    ("", "the file is empty"),
])
def test_phrase_file_errors(tmp_path, content, match):
    write_sst2(tmp_path / "sst2", 5, 5, 5)
    (tmp_path / "sst2" / "glue-train.tsv").write_text(content)
    with pytest.raises(DatasetError, match=match):
        SST2(tmp_path, "phrases")


def test_invalid_utf8_names_the_line(tmp_path):
    p = tmp_path / "x.txt"
    p.write_bytes(b"1 fine\n0 caf\xe9\n")
    with pytest.raises(DatasetError, match="line 2: not valid UTF-8"):
        read_labeled_lines(p)


def test_generic_reader_label_last_string_labels_and_custom_separator(tmp_path):
    p = tmp_path / "reviews.tsv"
    p.write_text("great fun\tpos\r\nso ; so\tneutral\r\nawful\tneg\r\n")
    ds = LabeledText(p, sep="\t", label_first=False)
    assert ds.classes == ["neg", "neutral", "pos"] and ds.targets.tolist() == [2, 1, 0]
    assert ds.texts == ["great fun", "so ; so", "awful"] and ds.num_classes == 3
    q = tmp_path / "numeric.txt"
    q.write_text("10|a\n2|b\n-1|c\n")
    assert LabeledText(q, sep="|").classes == ["-1", "2", "10"]
    with pytest.raises(DatasetError, match="line 1: the label 'pos' is not one of"):
        LabeledText(p, ["neg", "neutral"], sep="\t", label_first=False)
    with pytest.raises(DatasetNotFoundError, match="no such file"):
        read_labeled_lines(tmp_path / "missing.txt")


def test_not_found_lists_where_it_looked(tmp_path, monkeypatch):
    monkeypatch.setenv("LUCIDNET_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    with pytest.raises(DatasetNotFoundError) as e:
        SST2(split="test")
    msg = str(e.value)
    assert "stsa.binary.test" in msg and "$LUCIDNET_DATA" in msg and "user cache" in msg and "download=True" in msg


def test_download_fetches_and_checks_md5(tmp_path, monkeypatch):
    src = tmp_path / "upstream"
    write_sst2(src, 8, 4, 4)
    sources = {f: ((src / f).as_uri(), md5sum(src / f)) for f in SST2.SOURCES}
    monkeypatch.setattr(SST2, "SOURCES", sources)
    monkeypatch.setenv("LUCIDNET_DATA", str(tmp_path / "data"))
    ds = SST2(split="phrases", download=True)
    assert (tmp_path / "data" / "sst2" / "glue-train.tsv").is_file() and len(ds) == 17
    bad = {f: (url, "0" * 32) for f, (url, _) in sources.items()}
    monkeypatch.setattr(SST2, "SOURCES", bad)
    with pytest.raises(DatasetError, match="MD5 checksum mismatch"):
        SST2(split="dev", download=True)
    assert not (tmp_path / "data" / "sst2" / "stsa.binary.dev").exists()
    assert [p.name for p in (tmp_path / "data" / "sst2").iterdir()] == ["glue-train.tsv"]  # no partial file


def test_locate_files_without_sources_cannot_download(tmp_path):
    with pytest.raises(DatasetError, match="no download source"):
        locate_files("thing", ["a.txt"], tmp_path, download=True)


@pytest.mark.skipif(REAL is None, reason="LUCIDNET_DATA is not set")
def test_real_sst2_files():
    sizes = {"train": (6920, 3310), "dev": (872, 428), "test": (1821, 912), "phrases": (67349, None)}
    for split, (n, neg) in sizes.items():
        ds = SST2(split=split)
        assert len(ds) == n
        if neg is not None:
            assert int((ds.targets == 0).sum()) == neg
    phrases = SST2(split="phrases")
    assert abs(phrases.targets.mean() - 0.558) < 0.001
    for fname, (_, md5) in SST2.SOURCES.items():
        assert md5sum(REAL / fname) == md5
