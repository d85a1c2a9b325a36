"""SubwordTokenizer: BPE and WordPiece trained through the optional ``tokenizers`` library, its Vocab, save/load."""
import numpy as np
import pytest

from lucidnet.text import SubwordTokenizer, encode_texts

pytest.importorskip("tokenizers")

TEXTS = ["a gripping , beautifully shot film", "a dull , lifeless film", "the film is gripping and beautiful",
         "beautifully acted , beautifully shot", "lifeless and dull and shot badly"] * 20


@pytest.mark.parametrize("model", ["bpe", "wordpiece"])
def test_train_encode_save_load(tmp_path, model):
    tok = SubwordTokenizer.train(TEXTS, vocab_size=60, model=model, min_frequency=2)
    assert tok.vocab.tokens[:2] == ["<pad>", "<unk>"] and len(tok) <= 60
    pieces = tok("A Gripping film")
    assert len(pieces) >= 3 and "".join(p.replace("##", "") for p in pieces) == "agrippingfilm"
    assert tok("film !")[-1] == "<unk>"  # a character never seen in training
    ids = tok.encode("a gripping film")
    assert ids.dtype == np.int64 and ids.tolist() == tok.vocab.encode(tok("a gripping film")).tolist()
    assert encode_texts(["a gripping film"], tok.vocab, tokenizer=tok)[0].tolist() == ids.tolist()
    tok.save(tmp_path / "tok.json")
    back = SubwordTokenizer.load(tmp_path / "tok.json")
    assert back("a dull film") == tok("a dull film") and back.vocab == tok.vocab


def test_unknown_model_is_an_error():
    with pytest.raises(ValueError, match="bpe"):
        SubwordTokenizer.train(TEXTS, model="unigram")


def test_reversible_bpe_decodes_back_to_the_text_and_keeps_case():
    """reversible=True (for translation): specials after <pad>/<unk>, case kept, decode(encode(s)) == s for
    text made of seen characters; it refuses lowercase=True."""
    de = ["Ein Mann fährt Fahrrad auf der Straße.", "Zwei Hunde spielen im Schnee!", "Eine Frau, die lacht."] * 10
    tok = SubwordTokenizer.train(de, vocab_size=120, lowercase=False, reversible=True, specials=["<s>", "</s>"])
    assert tok.vocab.tokens[:4] == ["<pad>", "<unk>", "<s>", "</s>"]
    for s in ("Ein Hund fährt im Schnee.", "Zwei Frauen, die spielen!"):
        assert tok.decode(tok.encode(s)) == s
    assert tok.decode([2, *tok.encode("Ein Mann").tolist(), 3]) == "Ein Mann"  # specials left out
    with pytest.raises(ValueError, match="lowercase=False"):
        SubwordTokenizer.train(de, reversible=True)
