"""lucidnet.text: padding with lengths, SequenceDataset batches, length bucketing and BucketLoader resume."""
import numpy as np
import pytest

import lucidnet as ln
from lucidnet.text import BucketLoader, SequenceDataset, bucket_batches, pad_sequences


def test_pad_sequences_pads_truncates_and_keeps_lengths():
    tokens, lengths = pad_sequences([[1, 2, 3], [4], [5, 6]], pad_id=9)
    assert tokens.tolist() == [[1, 2, 3], [4, 9, 9], [5, 6, 9]] and lengths.tolist() == [3, 1, 2]
    assert tokens.dtype == lengths.dtype == np.int64
    tokens, lengths = pad_sequences([[1, 2, 3], [4]], max_len=2)
    assert tokens.tolist() == [[1, 2], [4, 0]] and lengths.tolist() == [2, 1]
    tokens, lengths = pad_sequences([[1], [2]], min_len=3)
    assert tokens.shape == (2, 3) and lengths.tolist() == [1, 1]
    with pytest.raises(ValueError, match="max_len"):
        pad_sequences([[1]], max_len=0)


def test_sequence_dataset_batches_and_checks():
    ds = SequenceDataset([[1, 2], [3], [4, 5, 6]], labels=[1, 0, 1], pad_id=0, max_len=2)
    tokens, lengths, labels = ds.get_batch(np.array([2, 1]))
    assert tokens.tolist() == [[4, 5], [3, 0]] and lengths.tolist() == [2, 1] and labels.tolist() == [1, 0]
    assert ds.lengths.tolist() == [2, 1, 2] and len(ds) == 3
    unlabeled = SequenceDataset([[1], [2, 3]])
    assert len(unlabeled.get_batch(np.array([0, 1]))) == 2
    with pytest.raises(ValueError, match="sequence 1 is empty"):
        SequenceDataset([[1], []])
    with pytest.raises(ValueError, match="2 sequences but 1 labels"):
        SequenceDataset([[1], [2]], labels=[0])


def test_bucket_batches_cover_every_index_once_with_similar_lengths():
    rng = np.random.default_rng(0)
    lengths = rng.integers(1, 60, size=1000)
    batches = bucket_batches(lengths, 32, shuffle=True, pool=10, rng=np.random.default_rng(1))
    flat = np.concatenate(batches)
    assert sorted(flat.tolist()) == list(range(1000))
    assert max(len(b) for b in batches) == 32
    spread = np.mean([lengths[b].max() - lengths[b].min() for b in batches])
    random_spread = np.mean([np.ptp(lengths[rng.permutation(1000)[:32]]) for _ in range(20)])
    assert spread < random_spread / 4
    ordered = bucket_batches(lengths, 100, shuffle=False)
    assert all(lengths[a].max() <= lengths[b].min() for a, b in zip(ordered, ordered[1:]))
    with pytest.raises(ValueError, match="batch_size"):
        bucket_batches(lengths, 0)


def test_bucket_loader_yields_tensors_and_reshuffles_each_epoch():
    ln.manual_seed(0)
    ds = SequenceDataset([[i + 1] * (1 + i % 7) for i in range(40)], labels=np.arange(40) % 2)
    loader = BucketLoader(ds, batch_size=8, pool=2)
    assert len(loader) == 5
    e1 = [b for b in loader]
    e2 = [b for b in loader]
    tokens, lengths, labels = e1[0]
    assert isinstance(tokens, ln.Tensor) and tokens.dtype == np.int64 and tokens.shape[1] == int(lengths.array.max())
    seen = np.sort(np.concatenate([b[0].array[:, 0] for b in e1]))
    assert seen.tolist() == list(range(1, 41))
    assert [b[0].array[:, 0].tolist() for b in e1] != [b[0].array[:, 0].tolist() for b in e2]


def test_bucket_loader_resumes_mid_epoch():
    ds = SequenceDataset([[i + 1] * (1 + i % 5) for i in range(30)], labels=np.zeros(30, np.int64))
    ln.manual_seed(3)
    loader = BucketLoader(ds, batch_size=4)
    it = iter(loader)
    first = [next(it)[0].array.copy() for _ in range(3)]
    state = loader.state_dict()
    rest = [b[0].array for b in it]
    fresh = BucketLoader(ds, batch_size=4)
    fresh.load_state_dict(state)
    again = [b[0].array for b in fresh]
    assert len(first) + len(rest) == len(loader) and len(again) == len(rest)
    assert all(np.array_equal(a, b) for a, b in zip(rest, again))
    assert loader.state_dict()["order"] is None  # the epoch finished
    with pytest.raises(ValueError, match="covers"):
        BucketLoader(SequenceDataset([[1]]), 2).load_state_dict(state)


def test_word_dropout_replaces_tokens_with_unk_but_never_padding():
    ln.manual_seed(0)
    ds = SequenceDataset([[5] * 50, [6] * 10], labels=[0, 1], pad_id=0, word_dropout=0.3, unk_id=1)
    tokens, lengths, _ = ds.get_batch(np.array([0, 1]))
    assert set(np.unique(tokens[0]).tolist()) == {1, 5} and 0.15 < (tokens[0] == 1).mean() < 0.45
    assert (tokens[1, 10:] == 0).all() and set(np.unique(tokens[1, :10]).tolist()) <= {1, 6}
    assert ds.sequences[0].tolist() == [5] * 50  # the stored data is untouched
    with pytest.raises(ValueError, match="unk_id"):
        SequenceDataset([[1]], word_dropout=0.1)
    with pytest.raises(ValueError, match="word_dropout"):
        SequenceDataset([[1]], word_dropout=1.0, unk_id=1)
