"""Text: tokenizers, vocabularies, padded batches, text models and language-model training.

- ``tokenize`` (lowercase words, punctuation and clitics split), ``SubwordTokenizer`` (BPE/WordPiece through
  the optional ``tokenizers`` library);
- ``Vocab`` / ``CharVocab`` (min_freq, max_size, pad and unk tokens; JSON save/load), ``load_vocab``;
- ``pad_sequences``, ``SequenceDataset``, ``BucketLoader`` (batches of similar lengths);
- models (registered in ``lucidnet.models``): ``TextCNN``, ``LSTMClassifier``, ``CharLSTM``;
- ``encode_texts``, ``predict_proba`` (classification); ``evaluate_lm`` (language models are trained by
  ``lucidnet.train.Trainer`` with a ``TBPTTStep``), ``generate`` (sampling with temperature and top-k).

>>> from lucidnet.text import tokenize, Vocab, pad_sequences
>>> texts = ["A fine film.", "A dull film."]
>>> vocab = Vocab.build(tokenize(t) for t in texts)
>>> tokens, lengths = pad_sequences([vocab.encode(tokenize(t)) for t in texts + ["fine"]], vocab.pad_id)
>>> tokens.shape, lengths.tolist()
((3, 4), [4, 4, 1])
"""
from .batching import BucketLoader, SequenceDataset, bucket_batches, pad_sequences
from .classify import encode_texts, predict_proba
from .generate import generate, sample_next
from .lm import evaluate_lm
from .models import CharLSTM, LSTMClassifier, TextCNN, length_mask
from .subword import SubwordTokenizer
from .tokenize import split_words, tokenize
from .vocab import CharVocab, Vocab, load_vocab

__all__ = ["tokenize", "split_words", "SubwordTokenizer", "Vocab", "CharVocab", "load_vocab", "pad_sequences",
           "SequenceDataset", "bucket_batches", "BucketLoader", "TextCNN", "LSTMClassifier", "CharLSTM",
           "length_mask", "encode_texts", "predict_proba", "evaluate_lm", "generate", "sample_next"]
