"""The Multi30k loader: upstream's gzipped files, aligned splits, clear errors for mismatched, corrupt or
non-UTF-8 files, MD5-checked downloads (file:// URLs); the real files when LUCIDNET_DATA is set."""
import gzip
import os
from pathlib import Path

import pytest

from lucidnet.datasets import DatasetError, DatasetNotFoundError, Multi30k, md5sum

REAL = Path(os.environ["LUCIDNET_DATA"]) / "multi30k" if os.environ.get("LUCIDNET_DATA") else None


def write_pair(root: Path, split: str, de: list[str], en: list[str]) -> None:
    root.mkdir(parents=True, exist_ok=True)
    for lang, lines in (("de", de), ("en", en)):
        (root / f"{split}.{lang}.gz").write_bytes(gzip.compress(("\n".join(lines) + "\n").encode("utf-8")))


def test_reads_aligned_pairs_both_ways(tmp_path):
    write_pair(tmp_path, "test_2016_flickr", ["Ein Hund läuft.", "Zwei Männer."], ["A dog runs.", "Two men."])
    ds = Multi30k(tmp_path, "test")
    assert len(ds) == 2 and ds[0] == ("Ein Hund läuft.", "A dog runs.") and ds.src[1] == "Zwei Männer."
    back = Multi30k(tmp_path, "test_2016_flickr", language_pair=("en", "de"))
    assert back[1] == ("Two men.", "Zwei Männer.")
    assert "2 pairs" in repr(ds) and "de->en" in repr(ds)


def test_mismatched_line_counts_name_both_files(tmp_path):
    write_pair(tmp_path, "val", ["a", "b", "c"], ["x", "y"])
    with pytest.raises(DatasetError, match=r"val\.de\.gz has 3 lines but .*val\.en\.gz has 2"):
        Multi30k(tmp_path, "val")


def test_corrupt_and_non_utf8_files_are_clear_errors(tmp_path):
    write_pair(tmp_path, "val", ["a"], ["x"])
    (tmp_path / "val.de.gz").write_bytes(b"not gzip at all")
    with pytest.raises(DatasetError, match="val.de.gz: not a readable gzip file"):
        Multi30k(tmp_path, "val")
    (tmp_path / "val.de.gz").write_bytes(gzip.compress(b"fine\nbad \xff byte\n"))
    with pytest.raises(DatasetError, match="val.de.gz, line 2: not valid UTF-8"):
        Multi30k(tmp_path, "val")
    (tmp_path / "val.de.gz").write_bytes(gzip.compress(b""))
    with pytest.raises(DatasetError, match="holds no sentences"):
        Multi30k(tmp_path, "val")


def test_bad_arguments_and_missing_files(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="split must be one of"):
        Multi30k(tmp_path, "dev")
    with pytest.raises(ValueError, match="language_pair"):
        Multi30k(tmp_path, "val", language_pair=("de", "fr"))
    monkeypatch.setenv("LUCIDNET_DATA", str(tmp_path / "data"))
    with pytest.raises(DatasetNotFoundError, match="train.de.gz") as e:
        Multi30k(split="train")
    assert "download=True" in str(e.value) and "$LUCIDNET_DATA" in str(e.value)


def test_download_fetches_and_checks_md5(tmp_path, monkeypatch):
    src = tmp_path / "upstream"
    write_pair(src, "val", ["Ein Hund."], ["A dog."])
    sources = {f: ((src / f).as_uri(), md5sum(src / f)) for f in ("val.de.gz", "val.en.gz")}
    monkeypatch.setattr(Multi30k, "SOURCES", sources)
    monkeypatch.setenv("LUCIDNET_DATA", str(tmp_path / "data"))
    assert Multi30k(split="val", download=True)[0] == ("Ein Hund.", "A dog.")
    assert (tmp_path / "data" / "multi30k" / "val.en.gz").is_file()
    monkeypatch.setattr(Multi30k, "SOURCES", {f: (url, "0" * 32) for f, (url, _) in sources.items()})
    monkeypatch.setenv("LUCIDNET_DATA", str(tmp_path / "other"))
    with pytest.raises(DatasetError, match="MD5 checksum mismatch"):
        Multi30k(split="val", download=True)


@pytest.mark.skipif(REAL is None, reason="LUCIDNET_DATA is not set")
def test_real_multi30k_files():
    sizes = {"train": 29000, "val": 1014, "test": 1000}
    for split, n in sizes.items():
        assert len(Multi30k(split=split)) == n
    assert Multi30k(split="test")[0] == ("Ein Mann mit einem orangefarbenen Hut, der etwas anstarrt.",
                                         "A man in an orange hat starring at something.")
    for fname, (_, md5) in Multi30k.SOURCES.items():
        assert md5sum(REAL / fname) == md5
