"""Tiny Shakespeare: the 90/10 split, errors, download; the real file when LUCIDNET_DATA is set."""
import os
from pathlib import Path

import pytest

from lucidnet.datasets.download import md5sum
from lucidnet.datasets.errors import DatasetError, DatasetNotFoundError
from lucidnet.datasets.tinyshakespeare import TinyShakespeare, split_text
from text_fixture import write_shakespeare

REAL = Path(os.environ["LUCIDNET_DATA"]) / "tinyshakespeare" if os.environ.get("LUCIDNET_DATA") else None


def test_splits_are_the_first_90_and_last_10_percent(tmp_path):
    text = write_shakespeare(tmp_path / "tinyshakespeare", repeats=3)
    train, val, full = (TinyShakespeare(tmp_path, s) for s in ("train", "val", "all"))
    assert full.text == text and train.text + val.text == text
    assert len(train) == round(0.9 * len(text)) and "characters" in repr(val)
    assert split_text("abcd", "val", val_fraction=0.5) == "cd"
    with pytest.raises(ValueError, match="split must be one of"):
        TinyShakespeare(tmp_path, "test")
    with pytest.raises(ValueError, match="val_fraction"):
        split_text("abc", "train", 1.0)


def test_errors_and_download(tmp_path, monkeypatch):
    (tmp_path / "empty" / "tinyshakespeare").mkdir(parents=True)
    (tmp_path / "empty" / "tinyshakespeare" / "input.txt").write_text("")
    with pytest.raises(DatasetError, match="empty"):
        TinyShakespeare(tmp_path / "empty")
    monkeypatch.setenv("LUCIDNET_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    with pytest.raises(DatasetNotFoundError, match="input.txt"):
        TinyShakespeare()
    src = tmp_path / "up"
    text = write_shakespeare(src, repeats=2)
    monkeypatch.setattr(TinyShakespeare, "SOURCES", {"input.txt": ((src / "input.txt").as_uri(),
                                                                   md5sum(src / "input.txt"))})
    assert TinyShakespeare(split="all", download=True).text == text


@pytest.mark.skipif(REAL is None, reason="LUCIDNET_DATA is not set")
def test_real_tiny_shakespeare():
    full = TinyShakespeare(split="all")
    assert len(full.text) == 1_115_394 and full.text.startswith("First Citizen:")
    assert len(TinyShakespeare(split="train")) == 1_003_855
    assert md5sum(REAL / "input.txt") == TinyShakespeare.SOURCES["input.txt"][1]
