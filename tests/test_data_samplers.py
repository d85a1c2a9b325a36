"""``torch.utils.data`` under PyTorch's names (issue 24, point 4): samplers, the DataLoader's PyTorch options
(sampler, batch_sampler, num_workers, pin_memory, generator, ...) with PyTorch's argument checks, random_split
with a generator, and resuming mid-epoch with a sampler."""
import numpy as np
import pytest

import lucidnet as ln
from lucidnet.utils.data import (BatchSampler, DataLoader, RandomSampler, SequentialSampler, SubsetRandomSampler,
                                 TensorDataset, WeightedRandomSampler, get_worker_info, random_split)


@pytest.fixture(scope="module")
def th():
    return pytest.importorskip("torch")


def _ds(n=10):
    return TensorDataset(np.arange(n, dtype=np.float32)[:, None], np.arange(n))


def _labels(loader):
    return [y.tolist() for _, y in loader]


def test_sequential_and_batch_samplers_match_pytorch(th):
    from torch.utils import data as tud
    for drop_last in (False, True):
        ours = list(BatchSampler(SequentialSampler(range(7)), 3, drop_last))
        theirs = list(tud.BatchSampler(tud.SequentialSampler(range(7)), 3, drop_last))
        assert ours == theirs and len(BatchSampler(SequentialSampler(range(7)), 3, drop_last)) == len(theirs)
    with pytest.raises(ValueError, match="batch_size"):
        BatchSampler(SequentialSampler(range(3)), 0, False)


def test_random_samplers_draw_what_they_promise():
    ln.manual_seed(0)
    perm = list(RandomSampler(range(20)))
    assert sorted(perm) == list(range(20)) and perm != list(range(20))
    draws = list(RandomSampler(range(5), replacement=True, num_samples=50))
    assert len(draws) == 50 and set(draws) <= set(range(5))
    more = list(RandomSampler(range(4), num_samples=10))   # more than the data: whole permutations, then part
    assert len(more) == 10 and sorted(more[:4]) == sorted(more[4:8]) == [0, 1, 2, 3]
    g1, g2 = ln.Generator().manual_seed(5), ln.Generator().manual_seed(5)
    assert list(RandomSampler(range(30), generator=g1)) == list(RandomSampler(range(30), generator=g2))
    sub = list(SubsetRandomSampler([3, 7, 9]))
    assert sorted(sub) == [3, 7, 9]
    w = list(WeightedRandomSampler([0.0, 1.0, 3.0], 4000))
    counts = np.bincount(w, minlength=3)
    assert counts[0] == 0 and 2.6 < counts[2] / counts[1] < 3.4
    assert sorted(WeightedRandomSampler([1, 0, 2, 5], 3, replacement=False)) == [0, 2, 3]
    with pytest.raises(ValueError, match="without replacement"):
        WeightedRandomSampler([1, 0, 2], 3, replacement=False)
    with pytest.raises(ValueError, match="non-negative"):
        WeightedRandomSampler([1, -1], 3)


def test_dataloader_takes_samplers_and_pytorchs_options(th):
    ds = _ds()
    assert _labels(DataLoader(ds, batch_size=3, sampler=[9, 8, 7, 6, 5])) == [[9, 8, 7], [6, 5]]
    assert len(DataLoader(ds, batch_size=3, sampler=[9, 8, 7, 6, 5])) == 2
    batches = BatchSampler(SequentialSampler(range(10)), 4, drop_last=True)
    assert _labels(DataLoader(ds, batch_sampler=batches)) == [[0, 1, 2, 3], [4, 5, 6, 7]]
    seen = []
    loader = DataLoader(ds, batch_size=4, num_workers=2, pin_memory=True, worker_init_fn=seen.append,
                        persistent_workers=True, prefetch_factor=2, timeout=5)
    assert _labels(loader) == _labels(DataLoader(ds, batch_size=4)) and seen == [0]
    assert get_worker_info() is None
    from torch.utils import data as tud
    tds = tud.TensorDataset(th.arange(10))
    bad = [dict(sampler=[0, 1], shuffle=True), dict(batch_sampler=batches, batch_size=2),
           dict(batch_sampler=batches, shuffle=True), dict(batch_sampler=batches, drop_last=True),
           dict(num_workers=-1), dict(prefetch_factor=2), dict(persistent_workers=True), dict(timeout=-1)]
    for kw in bad:
        with pytest.raises(ValueError):
            DataLoader(ds, **kw)
        with pytest.raises(ValueError):
            tud.DataLoader(tds, **{**kw, "batch_sampler": tud.BatchSampler(range(10), 4, True)}
                           if "batch_sampler" in kw else kw)


def test_generators_fix_shuffles_and_splits():
    ds = _ds(50)
    a = _labels(DataLoader(ds, batch_size=50, shuffle=True, generator=ln.Generator().manual_seed(1)))
    ln.manual_seed(123)                          # the global seed does not touch a loader with its own generator
    b = _labels(DataLoader(ds, batch_size=50, shuffle=True, generator=ln.Generator().manual_seed(1)))
    assert a == b and sorted(a[0]) == list(range(50))
    s1 = [s.indices.tolist() for s in random_split(ds, [0.6, 0.4], generator=ln.Generator().manual_seed(7))]
    s2 = [s.indices.tolist() for s in random_split(ds, [30, 20], generator=ln.Generator().manual_seed(7))]
    assert s1 == s2 and len(s1[0]) == 30 and not set(s1[0]) & set(s1[1])
    g = ln.Generator().manual_seed(3)
    x = ln.randn(4, generator=g).tolist()
    assert ln.randn(4, generator=ln.Generator().manual_seed(3)).tolist() == x
    assert ln.rand(2, generator=g).shape == (2,) and ln.randint(0, 5, (3,), generator=g).shape == (3,)
    with pytest.raises(TypeError, match="Generator"):
        ln.randn(2, generator=np.random.default_rng(0))


@pytest.mark.parametrize("kind", ["sampler", "batch_sampler"])
def test_a_loader_with_a_sampler_resumes_mid_epoch(kind):
    ds = _ds(12)

    def make():
        if kind == "sampler":
            return DataLoader(ds, batch_size=4, sampler=RandomSampler(ds))
        return DataLoader(ds, batch_sampler=BatchSampler(RandomSampler(ds), 5, drop_last=False))

    ln.manual_seed(0)
    full = _labels(make())
    ln.manual_seed(0)
    loader = make()
    it = iter(loader)
    first = [next(it)[1].tolist()]
    state = loader.state_dict()
    resumed = make()
    resumed.load_state_dict(state)
    assert first + _labels(resumed) == full
    if kind == "batch_sampler":
        with pytest.raises(ValueError, match="batch_sampler"):
            DataLoader(ds).load_state_dict(state)
