"""lucidnet.text: the word tokenizer and the vocabularies (build, limits, encode/decode, JSON save/load)."""
import json

import numpy as np
import pytest

from lucidnet.text import CharVocab, Vocab, load_vocab, split_words, tokenize


@pytest.mark.parametrize("text, tokens", [
    ("Don't stop, it's GREAT!", ["do", "n't", "stop", ",", "it", "'s", "great", "!"]),
    ("a re-imagining of beauty and the beast", ["a", "re-imagining", "of", "beauty", "and", "the", "beast"]),
    ("wo n't sit still ... for a lesson", ["wo", "n't", "sit", "still", "...", "for", "a", "lesson"]),
    ("-LRB- the u.s. -RRB- , mr. smith", ["(", "the", "u.s.", ")", ",", "mr.", "smith"]),
    ("`` quills '' writer\\/director", ['"', "quills", '"', "writer", "/", "director"]),
    ("it’s crème brûlée -- really", ["it", "'s", "crème", "brûlée", "--", "really"]),
    ("o'neill's film", ["o'neill", "'s", "film"]),
    ("", []),
])
def test_tokenize_splits_words_punctuation_and_clitics(text, tokens):
    assert tokenize(text) == tokens


def test_tokenize_is_stable_on_treebank_text_and_keeps_case_on_request():
    treebank = "it 's not a bad film -- the director 's `` best '' , i think ."
    once = tokenize(treebank)
    assert tokenize(" ".join(once)) == once
    assert tokenize("The Film", lower=False) == ["The", "Film"]
    assert split_words("  a  b ") == ["a", "b"]
    with pytest.raises(TypeError, match="expected a str"):
        tokenize(["a"])


def test_vocab_orders_specials_then_counts_then_tokens():
    v = Vocab.build([["b", "a", "c", "a"], ["c", "d", "a"]])
    assert v.tokens == ["<pad>", "<unk>", "a", "c", "b", "d"]
    assert (v.pad_id, v.unk_id) == (0, 1)
    assert v.encode(["a", "zzz", "d"]).tolist() == [2, 1, 5]
    assert v.encode(["a"]).dtype == np.int64
    assert v.decode([2, 3]) == ["a", "c"]
    assert v["zzz"] == 1 and "a" in v and "zzz" not in v


def test_vocab_min_freq_max_size_and_extra_specials():
    seqs = [["x"] * 5 + ["y"] * 3 + ["z"] * 2 + ["w"]]
    assert Vocab.build(seqs, min_freq=2).tokens == ["<pad>", "<unk>", "x", "y", "z"]
    assert Vocab.build(seqs, max_size=4).tokens == ["<pad>", "<unk>", "x", "y"]
    v = Vocab.build(seqs, max_size=4, specials=["<bos>"])
    assert v.tokens == ["<pad>", "<unk>", "<bos>", "x"] and len(v) == 4
    with pytest.raises(ValueError, match="max_size"):
        Vocab.build(seqs, max_size=1)
    with pytest.raises(ValueError, match="min_freq"):
        Vocab.build(seqs, min_freq=0)


def test_vocab_without_unk_rejects_unknown_tokens():
    v = Vocab.build([["a", "b"]], unk_token=None)
    assert v.unk_id is None and v.tokens == ["<pad>", "a", "b"]
    with pytest.raises(KeyError, match="'q' is not in the vocabulary"):
        v.encode(["a", "q"])
    with pytest.raises(KeyError, match="not in the vocabulary"):
        v["q"]
    with pytest.raises(IndexError, match="out of range"):
        v.decode([7])


def test_vocab_save_load_round_trip(tmp_path):
    v = Vocab.build([["é", "b", "b"]], min_freq=1)
    path = tmp_path / "vocab.json"
    v.save(path)
    assert json.loads(path.read_text(encoding="utf-8"))["kind"] == "word"
    back = load_vocab(path)
    assert type(back) is Vocab and back == v and back.encode(["b", "é", "?"]).tolist() == [2, 3, 1]
    assert Vocab.load(path) == v
    assert not list(tmp_path.glob(".*tmp"))  # the atomic write left no temporary file


@pytest.mark.parametrize("content, match", [
    ("{not json", "invalid JSON"),
    ('{"tokens": 3}', "'tokens' list"),
    ('{"format": 99, "kind": "word", "tokens": []}', "format 99"),
    ('{"format": 1, "kind": "bpe", "tokens": []}', "unknown vocabulary kind"),
])
def test_load_vocab_errors_name_the_file(tmp_path, content, match):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(ValueError, match=match) as e:
        load_vocab(path)
    assert "bad.json" in str(e.value)


def test_char_vocab_encodes_and_decodes_strings(tmp_path):
    text = "hello world\nhello!"
    v = CharVocab.build([text])
    assert len(v) == len(set(text)) and v.pad_id is None and v.unk_id is None
    assert v.tokens[0] == "l"  # the most frequent character first
    ids = v.encode(text)
    assert ids.dtype == np.int64 and v.decode(ids) == text
    with pytest.raises(KeyError, match="'z'"):
        v.encode("hez")
    v.save(tmp_path / "c.json")
    back = load_vocab(tmp_path / "c.json")
    assert isinstance(back, CharVocab) and back.decode(back.encode("world")) == "world"


def test_char_vocab_with_unk_maps_unknown_characters():
    v = CharVocab.build(["aab"], unk_token="<unk>")
    assert v.encode("abc").tolist() == [v["a"], v["b"], v.unk_id]
    assert v.encode("").shape == (0,)
    with pytest.raises(ValueError, match="one character"):
        CharVocab(["ab", "c"])
