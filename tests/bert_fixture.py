"""A small BERT folder in the Hugging Face layout (config.json, model.safetensors, tokenizer.json) made by the
test itself: random weights, a WordPiece vocabulary of the given words, the tokenizer built with the
``tokenizers`` library as BERT's (lower-casing normaliser, BERT pre-tokenizer, [CLS] ... [SEP])."""
import json
from pathlib import Path

import numpy as np

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
# the words of text_fixture's sentences, and punctuation
FILL_WORDS = ["good", "great", "moving", "funny", "beautiful", "gripping", "superb", "bad", "dull", "boring", "awful",
              "tedious", "clumsy", "lifeless", "the", "film", "a", "story", "is", "and", "acting", "its", "plot",
              "director", "'", "s", ",", "!", ".", "'s"]


def make_tokenizer(path: Path, words) -> None:
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
    vocab = {w: i for i, w in enumerate(SPECIALS + sorted(set(words)))}
    tok = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.post_processor = processors.TemplateProcessing(single="[CLS] $A [SEP]", special_tokens=[
        ("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])])
    tok.save(str(path))


def make_bert_folder(folder: Path, words=("good", "bad", "film", "a", "very", "not", ".", ",", "!"), seed=0,
                     **config) -> Path:
    import safetensors.numpy
    import lucidnet as ln
    from lucidnet.text.bert import BertConfig, BertModel
    folder.mkdir(parents=True, exist_ok=True)
    make_tokenizer(folder / "tokenizer.json", words)
    cfg = dict(vocab_size=len(SPECIALS) + len(set(words)), hidden_size=16, num_hidden_layers=2,
               num_attention_heads=2, intermediate_size=32, max_position_embeddings=32, model_type="bert",
               hidden_act="gelu", layer_norm_eps=1e-12, **config)
    ln.manual_seed(seed)
    model = BertModel(BertConfig.from_dict(cfg))
    state = {k: np.asarray(v) for k, v in model.state_dict().items()}
    state["embeddings.position_ids"] = np.arange(cfg["max_position_embeddings"], dtype=np.int64)[None]
    safetensors.numpy.save_file(state, str(folder / "model.safetensors"))
    (folder / "config.json").write_text(json.dumps(cfg))
    return folder
