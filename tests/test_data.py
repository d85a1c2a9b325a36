"""lucidnet.data: datasets, collation, the DataLoader (fast path, prefetch, resuming) and random_split."""
import collections
import threading

import numpy as np
import pytest

import lucidnet as ln
from lucidnet.data import DataLoader, Dataset, Subset, TensorDataset, default_collate, random_split


def _xy(n=23, d=3):
    x = np.arange(n * d, dtype=np.float64).reshape(n, d) / 7.0
    y = (np.arange(n) % 5).astype(np.int32)
    return x, y


class PlainDataset:
    """A dataset with only __getitem__/__len__: forces the per-sample path."""

    def __init__(self, inner):
        self.inner = inner

    def __len__(self):
        return len(self.inner)

    def __getitem__(self, i):
        return self.inner[i]


def _labels(loader):
    return [y.numpy().copy() for _, y in loader]


def _prefetch_threads():
    return [t for t in threading.enumerate() if t.name == "lucidnet-prefetch" and t.is_alive()]


# ---- datasets ------------------------------------------------------------------------------------------
def test_tensor_dataset_rows_and_arrays_kept_as_given():
    x, y = _xy()
    ds = TensorDataset(ln.tensor(x, dtype=ln.float64), y)
    assert len(ds) == 23
    assert ds.arrays[1] is y and ds.arrays[0].dtype == np.float64
    xi, yi = ds[4]
    np.testing.assert_array_equal(xi, x[4])
    assert yi == y[4]
    bx, by = ds.get_batch(np.array([3, 0, 7]))
    np.testing.assert_array_equal(bx, x[[3, 0, 7]])
    np.testing.assert_array_equal(by, y[[3, 0, 7]])


def test_tensor_dataset_bad_input():
    with pytest.raises(ValueError, match=r"same first dimension.*\[4, 5\]"):
        TensorDataset(np.zeros((4, 2)), np.zeros(5))
    with pytest.raises(ValueError, match="at least one array"):
        TensorDataset()
    with pytest.raises(ValueError, match="0-d"):
        TensorDataset(np.float32(1.0))


def test_dataset_base_class_default_get_batch():
    class Squares(Dataset):
        def __len__(self):
            return 6

        def __getitem__(self, i):
            return {"x": np.array([i, i * i], dtype=np.float64), "i": i}

    b = Squares().get_batch(np.array([2, 5]))
    np.testing.assert_array_equal(b["x"], [[2, 4], [5, 25]])
    np.testing.assert_array_equal(b["i"], [2, 5])
    with pytest.raises(NotImplementedError, match="Dataset must define __len__"):
        len(Dataset())


def test_subset_maps_indices_and_batches_through():
    x, y = _xy()
    sub = Subset(TensorDataset(x, y), [5, 1, 9])
    assert len(sub) == 3
    np.testing.assert_array_equal(sub[0][0], x[5])
    bx, by = sub.get_batch(np.array([2, 0]))
    np.testing.assert_array_equal(bx, x[[9, 5]])
    plain = Subset(PlainDataset(TensorDataset(x, y)), [5, 1, 9])  # inner dataset without get_batch
    np.testing.assert_array_equal(plain.get_batch(np.array([2, 0]))[0], x[[9, 5]])
    with pytest.raises(IndexError, match=r"\[0, 23\)"):
        Subset(TensorDataset(x, y), [0, 23])
    with pytest.raises(ValueError, match="1-D sequence of integers"):
        Subset(TensorDataset(x, y), [0.5])


def test_random_split_counts_fractions_and_seed():
    x, y = _xy(n=10)
    ds = TensorDataset(x, y)
    parts = random_split(ds, [6, 4])
    assert [len(p) for p in parts] == [6, 4]
    allidx = np.concatenate([p.indices for p in parts])
    assert sorted(allidx.tolist()) == list(range(10))
    assert [len(p) for p in random_split(ds, [0.7, 0.3])] == [7, 3]
    assert [len(p) for p in random_split(ds, [0.33, 0.33, 0.34])] == [4, 3, 3]  # remainder round-robin
    ln.manual_seed(5)
    a = [p.indices.copy() for p in random_split(ds, [0.5, 0.5])]
    ln.manual_seed(5)
    b = [p.indices.copy() for p in random_split(ds, [0.5, 0.5])]
    ln.manual_seed(6)
    c = [p.indices.copy() for p in random_split(ds, [0.5, 0.5])]
    assert all(np.array_equal(u, v) for u, v in zip(a, b))
    assert not all(np.array_equal(u, v) for u, v in zip(a, c))
    with pytest.raises(ValueError, match="sum to the dataset's length 10"):
        random_split(ds, [6, 5])
    with pytest.raises(ValueError, match="sum to 1"):
        random_split(ds, [0.5, 0.4])


# ---- collation -----------------------------------------------------------------------------------------
def test_default_collate_dtypes_follow_lucidnet_tensor():
    samples = [(np.full(3, i, dtype=np.float64), np.int32(i), np.uint8(i), i, float(i), bool(i % 2)) for i in range(4)]
    fx, i32, u8, pyint, pyfloat, flag = default_collate(samples)
    assert isinstance(fx, ln.Tensor) and fx.dtype == np.float32 and fx.shape == (4, 3)
    np.testing.assert_array_equal(fx.numpy()[:, 0], [0, 1, 2, 3])
    assert i32.dtype == np.int64 and u8.dtype == np.uint8 and pyint.dtype == np.int64
    assert pyfloat.dtype == np.float32 and flag.dtype == np.bool_
    assert flag.tolist() == [False, True, False, True]


def test_default_collate_respects_default_dtype_float64():
    ln.set_default_dtype(ln.float64)
    try:
        assert default_collate([np.zeros(2, np.float32)] * 2).dtype == np.float64
    finally:
        ln.set_default_dtype(ln.float32)
    assert default_collate([np.zeros(2, np.float16)] * 2).dtype == np.float32


def test_default_collate_nested_structures():
    Pair = collections.namedtuple("Pair", "a b")
    samples = [{"img": np.ones((2, 2)) * i, "meta": [i, Pair(np.float32(i), "s%d" % i)],
                "t": ln.tensor([i, i + 1])} for i in range(3)]
    out = default_collate(samples)
    assert set(out) == {"img", "meta", "t"}
    assert out["img"].shape == (3, 2, 2) and out["img"].dtype == np.float32
    assert isinstance(out["meta"], list) and out["meta"][0].tolist() == [0, 1, 2]
    pair = out["meta"][1]
    assert isinstance(pair, Pair) and pair.a.dtype == np.float32 and pair.b == ["s0", "s1", "s2"]
    assert out["t"].tolist() == [[0, 1], [1, 2], [2, 3]] and out["t"].dtype == np.int64


def test_default_collate_errors():
    with pytest.raises(ValueError, match=r"different shapes \[\(2,\), \(3,\)\]"):
        default_collate([np.zeros(2), np.zeros(3)])
    with pytest.raises(TypeError, match="cannot batch samples of type object"):
        default_collate([object(), object()])
    with pytest.raises(ValueError, match="different lengths"):
        default_collate([(1, 2), (1,)])
    with pytest.raises(ValueError, match="empty list"):
        default_collate([])


# ---- DataLoader basics ---------------------------------------------------------------------------------
@pytest.mark.parametrize("n,bs,drop,expected", [(23, 5, False, 5), (23, 5, True, 4), (20, 5, True, 4),
                                                 (3, 5, False, 1), (3, 5, True, 0), (0, 4, False, 0)])
def test_len_matches_batches_yielded(n, bs, drop, expected):
    ds = TensorDataset(np.zeros((n, 2)), np.zeros(n, np.int64))
    loader = DataLoader(ds, batch_size=bs, drop_last=drop)
    assert len(loader) == expected
    sizes = [len(y) for _, y in loader]
    assert len(sizes) == expected
    assert all(s == bs for s in sizes[:-1])
    if drop and sizes:
        assert sizes[-1] == bs


def test_sequential_order_dtypes_and_last_batch():
    x, y = _xy()
    loader = DataLoader(TensorDataset(x, y), batch_size=5)
    batches = list(loader)
    bx = np.concatenate([b[0].numpy() for b in batches])
    by = np.concatenate([b[1].numpy() for b in batches])
    assert all(b[0].dtype == np.float32 and b[1].dtype == np.int64 for b in batches)
    np.testing.assert_array_equal(bx, x.astype(np.float32))
    np.testing.assert_array_equal(by, y)
    assert batches[-1][0].shape == (3, 3)


def test_batches_are_copies_not_views_of_the_dataset():
    x = np.zeros((8, 2), np.float32)
    loader = DataLoader(TensorDataset(x), batch_size=4)
    (b,) = next(iter(loader))
    b.data[...] = 7
    assert (x == 0).all()


def test_shuffle_is_a_permutation_per_epoch_and_follows_the_seed():
    x, y = _xy(n=40)
    ds = TensorDataset(x, np.arange(40))
    loader = DataLoader(ds, batch_size=8, shuffle=True)
    ln.manual_seed(3)
    e1 = np.concatenate(_labels(loader))
    e2 = np.concatenate(_labels(loader))
    assert sorted(e1.tolist()) == list(range(40)) and sorted(e2.tolist()) == list(range(40))
    assert not np.array_equal(e1, e2) and not np.array_equal(e1, np.arange(40))
    ln.manual_seed(3)
    np.testing.assert_array_equal(np.concatenate(_labels(loader)), e1)
    ln.manual_seed(4)
    assert not np.array_equal(np.concatenate(_labels(loader)), e1)


def test_fast_path_uses_get_batch_not_getitem_and_matches_per_sample_path():
    class Counting(TensorDataset):
        getitem_calls = 0
        batch_calls = 0

        def __getitem__(self, i):
            Counting.getitem_calls += 1
            return super().__getitem__(i)

        def get_batch(self, idx):
            Counting.batch_calls += 1
            return super().get_batch(idx)

    x, y = _xy(n=50)
    fast = DataLoader(Counting(x, y), batch_size=8, shuffle=True)
    slow = DataLoader(PlainDataset(TensorDataset(x, y)), batch_size=8, shuffle=True)
    ln.manual_seed(11)
    fb = list(fast)
    assert Counting.getitem_calls == 0 and Counting.batch_calls == len(fast) == 7
    ln.manual_seed(11)
    sb = list(slow)
    for (fx, fy), (sx, sy) in zip(fb, sb, strict=True):
        assert fx.dtype == sx.dtype == np.float32 and fy.dtype == sy.dtype == np.int64
        np.testing.assert_array_equal(fx.numpy(), sx.numpy())
        np.testing.assert_array_equal(fy.numpy(), sy.numpy())


def test_custom_collate_fn_receives_list_of_samples():
    x, y = _xy(n=6)
    seen = []

    def collate(samples):
        seen.append(len(samples))
        return sum(int(s[1]) for s in samples)

    out = list(DataLoader(TensorDataset(x, y), batch_size=4, collate_fn=collate))
    assert seen == [4, 2] and out == [int(y[:4].sum()), int(y[4:].sum())]


def test_dataloader_bad_arguments():
    ds = TensorDataset(np.zeros((4, 1)))
    for bad in (0, -1, 1.5, True, None):
        with pytest.raises(ValueError, match="batch_size must be a positive integer"):
            DataLoader(ds, batch_size=bad)
    with pytest.raises(TypeError, match="map-style dataset"):
        DataLoader(42)
    with pytest.raises(TypeError, match="collate_fn must be callable"):
        DataLoader(ds, collate_fn=3)


# ---- prefetch ------------------------------------------------------------------------------------------
def test_prefetch_gives_the_same_batches():
    x, y = _xy(n=57)
    ds = TensorDataset(x, y)
    ln.manual_seed(2)
    ref = [(a.numpy().copy(), b.numpy().copy()) for a, b in DataLoader(ds, 8, shuffle=True)]
    ln.manual_seed(2)
    got = [(a.numpy().copy(), b.numpy().copy()) for a, b in DataLoader(ds, 8, shuffle=True, prefetch=True)]
    assert len(ref) == len(got) == 8
    for (ra, rb), (ga, gb) in zip(ref, got):
        np.testing.assert_array_equal(ra, ga)
        np.testing.assert_array_equal(rb, gb)
    assert not _prefetch_threads()


def test_prefetch_runs_in_a_background_thread():
    main = threading.get_ident()
    where = []

    class Where(TensorDataset):
        def get_batch(self, idx):
            where.append(threading.get_ident())
            return super().get_batch(idx)

    list(DataLoader(Where(np.zeros((6, 1))), 2, prefetch=True))
    assert len(where) == 3 and all(w != main for w in where)


def test_prefetch_propagates_dataset_errors_and_stops_its_thread():
    class Broken(Dataset):
        def __len__(self):
            return 10

        def __getitem__(self, i):
            if i == 6:
                raise KeyError(f"sample {i} is broken")
            return np.float32(i)

    loader = DataLoader(Broken(), batch_size=2, prefetch=True)
    got = []
    with pytest.raises(KeyError, match="sample 6 is broken"):
        for b in loader:
            got.append(b.tolist())
    assert got == [[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]]
    assert not _prefetch_threads()


def test_prefetch_thread_ends_when_iteration_is_abandoned():
    loader = DataLoader(TensorDataset(np.zeros((100, 2))), batch_size=2, prefetch=True)
    it = iter(loader)
    next(it)
    assert len(_prefetch_threads()) == 1
    it.close()  # what a `break` out of a for loop does when the iterator is dropped
    assert not _prefetch_threads()
    for i, _ in enumerate(loader):
        if i == 3:
            break
    assert not _prefetch_threads()


# ---- resuming mid-epoch --------------------------------------------------------------------------------
@pytest.mark.parametrize("prefetch", [False, True])
def test_resume_mid_epoch_continues_same_order_and_later_epochs(prefetch):
    ds = TensorDataset(np.zeros((23, 1)), np.arange(23))

    def make():
        return DataLoader(ds, batch_size=4, shuffle=True, prefetch=prefetch)

    ln.manual_seed(1)
    ref_loader = make()
    ref = [_labels(ref_loader) for _ in range(3)]

    ln.manual_seed(1)
    first = make()
    _labels(first)                   # epoch 0
    it = iter(first)                 # epoch 1: take 3 batches, then "checkpoint"
    head = [next(it)[1].numpy().copy() for _ in range(3)]
    state, rng = first.state_dict(), ln.get_rng_state()
    assert state["position"] == 3 and state["permutation"].shape == (23,)
    it.close()

    ln.manual_seed(999)              # a new process: different RNG, new loader
    resumed = make()
    resumed.load_state_dict(state)
    ln.set_rng_state(rng)
    assert resumed.state_dict()["position"] == 3
    tail = _labels(resumed)
    assert len(tail) == len(ref[1]) - 3
    for a, b in zip(head + tail, ref[1], strict=True):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(_labels(resumed), ref[2], strict=True):  # the next epoch matches the uninterrupted run
        np.testing.assert_array_equal(a, b)


def test_state_dict_between_epochs_and_after_break():
    ds = TensorDataset(np.zeros((10, 1)), np.arange(10))
    loader = DataLoader(ds, batch_size=3, shuffle=True)
    s = loader.state_dict()
    assert s["position"] == 0 and s["permutation"] is None and s["num_samples"] == 10
    _labels(loader)
    assert loader.state_dict()["permutation"] is None  # a finished epoch leaves nothing to resume
    for i, _ in enumerate(loader):
        if i == 1:
            break
    s = loader.state_dict()
    assert s["position"] == 2
    assert sorted(s["permutation"].tolist()) == list(range(10))
    s["permutation"][:] = 0  # the returned state is a copy
    assert sorted(loader.state_dict()["permutation"].tolist()) == list(range(10))
    fresh = _labels(loader)  # a new iter() after a break starts a new full epoch
    assert sum(len(b) for b in fresh) == 10


def test_resume_without_shuffle_and_at_end_of_epoch():
    ds = TensorDataset(np.zeros((10, 1)), np.arange(10))
    loader = DataLoader(ds, batch_size=3)
    it = iter(loader)
    next(it)
    state = loader.state_dict()
    assert state["permutation"] is None and state["position"] == 1
    other = DataLoader(ds, batch_size=3)
    other.load_state_dict(state)
    assert np.concatenate(_labels(other)).tolist() == list(range(3, 10))
    assert np.concatenate(_labels(other)).tolist() == list(range(10))  # then whole epochs again
    done = dict(state, position=len(loader))
    other.load_state_dict(done)
    assert _labels(other) == []


def test_load_state_dict_rejects_mismatches():
    ds = TensorDataset(np.zeros((10, 1)))
    loader = DataLoader(ds, batch_size=3, shuffle=True)
    for i, _ in enumerate(loader):
        break
    good = loader.state_dict()
    cases = [(dict(good, batch_size=4), "batch_size=4"), (dict(good, num_samples=11), "num_samples=11"),
             (dict(good, shuffle=False), "shuffle=False"), (dict(good, position=5), "outside"),
             (dict(good, permutation=np.zeros(10, np.int64)), "permutation of 0..9"),
             (dict(good, permutation=np.arange(9)), "permutation of 0..9"),
             (dict(good, permutation=None), "needs its 'permutation'")]
    for state, msg in cases:
        with pytest.raises(ValueError, match=msg):
            DataLoader(ds, batch_size=3, shuffle=True).load_state_dict(state)
    with pytest.raises(KeyError, match="position"):
        DataLoader(ds, batch_size=3, shuffle=True).load_state_dict({k: v for k, v in good.items() if k != "position"})
