"""Negative sampling, leave-one-out, ranking and rating metrics, and the baselines."""
import numpy as np
import pytest

import lucidnet as ln
import lucidnet.recsys.sampling as sampling
from lucidnet.recsys import Ratings
from lucidnet.recsys.baselines import GlobalMean, Popularity, UserItemBias
from lucidnet.recsys.evaluation import build_leave_one_out, leave_one_out, ranking_metrics, rating_errors
from lucidnet.recsys.sampling import ImplicitEpochs, InteractionSet, NegativeSampler, sample_eval_negatives
from movielens_fixture import make_ratings


def _ratings(rows):
    rows = np.asarray(rows)
    return Ratings(rows[:, 0] - 1, rows[:, 1] - 1, rows[:, 2].astype(np.float32), rows[:, 3])


class Table:
    """A 'model' whose scores are a fixed user x item table."""

    def __init__(self, table):
        self.table = np.asarray(table, np.float32)

    def score(self, users, items):
        return self.table[users, items]


@pytest.mark.parametrize("dense", [True, False])
def test_interaction_set_dense_and_sparse_agree(monkeypatch, dense):
    if not dense:
        monkeypatch.setattr(sampling, "_DENSE_LIMIT", 0)
    s = InteractionSet(np.array([0, 0, 2, 2, 2]), np.array([1, 3, 0, 0, 4]), 3, 5)
    assert (s.dense is not None) == dense
    assert s.contains(np.array([0, 0, 1, 2, 2]), np.array([1, 2, 1, 0, 4])).tolist() == [True, False, False, True,
                                                                                        True]
    assert s.counts.tolist() == [2, 0, 2]  # distinct items per user (the repeated pair counts once)
    assert s.item_counts.tolist() == [2, 1, 0, 1, 1]


@pytest.mark.parametrize("dense", [True, False])
def test_negatives_are_never_seen(monkeypatch, dense):
    if not dense:
        monkeypatch.setattr(sampling, "_DENSE_LIMIT", 0)
    rows = make_ratings(n_users=40, n_items=30, per_user=20)
    r = _ratings(rows)
    seen = InteractionSet(r.user, r.item, 40, 30)
    for mode in ("uniform", "popularity"):
        neg = NegativeSampler(seen, mode).sample(r.user, 4)
        assert neg.shape == (len(r), 4) and neg.dtype == np.int64
        assert not seen.contains(np.repeat(r.user, 4), neg.reshape(-1)).any()


def test_uniform_and_popularity_distributions():
    ln.manual_seed(1)
    # user 0 saw nothing; item popularity comes from users 1..3
    users = np.array([1, 1, 2, 3, 1, 2, 3, 2])
    items = np.array([0, 1, 0, 0, 2, 2, 2, 3])  # counts: item0 3, item1 1, item2 3, item3 1, item4 0
    seen = InteractionSet(users, items, 4, 5)
    uni = NegativeSampler(seen).sample(np.zeros(20000, np.int64), 1).ravel()
    np.testing.assert_allclose(np.bincount(uni, minlength=5) / uni.size, 0.2, atol=0.02)
    pop = NegativeSampler(seen, "popularity").sample(np.zeros(20000, np.int64), 1).ravel()
    freq = np.bincount(pop, minlength=5) / pop.size
    np.testing.assert_allclose(freq, [3 / 8, 1 / 8, 3 / 8, 1 / 8, 0], atol=0.02)
    flat = NegativeSampler(seen, "popularity", alpha=0.0).sample(np.zeros(20000, np.int64), 1).ravel()
    np.testing.assert_allclose(np.bincount(flat, minlength=5) / flat.size, 0.2, atol=0.02)  # alpha 0: uniform
    with pytest.raises(ValueError, match="mode must be"):
        NegativeSampler(seen, "magic")


def test_sampling_errors_when_nothing_is_left():
    seen = InteractionSet(np.array([0, 0, 0]), np.array([0, 1, 2]), 2, 3)
    with pytest.raises(ValueError, match="user 0 has interacted with every item"):
        NegativeSampler(seen).sample(np.array([1, 0]), 2)
    with pytest.raises(ValueError, match="only 0 items"):
        sample_eval_negatives(seen, np.array([0]), 1)


def test_eval_negatives_are_distinct_and_unseen():
    ln.manual_seed(0)
    r = _ratings(make_ratings(n_users=25, n_items=120, per_user=15))
    seen = InteractionSet(r.user, r.item, 25, 120)
    neg = sample_eval_negatives(seen, np.arange(25), 99)
    assert neg.shape == (25, 99)
    assert all(len(set(row)) == 99 for row in neg.tolist())  # distinct within each row
    assert not seen.contains(np.repeat(np.arange(25), 99), neg.reshape(-1)).any()


def test_implicit_epochs_redraw_negatives_every_epoch():
    ln.manual_seed(0)
    r = _ratings(make_ratings(n_users=10, n_items=50, per_user=5))
    seen = InteractionSet(r.user, r.item, 10, 50)
    ep = ImplicitEpochs(r.user, r.item, NegativeSampler(seen), negatives=3, batch_size=32)
    assert len(ep) == -(-50 * 4 // 32)
    a, b = ep.epoch_arrays(), ep.epoch_arrays()
    for users, items, labels in (a, b):
        assert labels.dtype == np.float32 and labels.sum() == 50 and len(labels) == 200
        pos = labels == 1
        assert seen.contains(users[pos], items[pos]).all() and not seen.contains(users[~pos], items[~pos]).any()
    assert not np.array_equal(a[1], b[1])
    batches = list(ep)
    assert sum(len(x[0]) for x in batches) == 200 and batches[0][2].dtype == np.float32


def test_leave_one_out_holds_the_latest():
    rows = [(1, 1, 5, 100), (1, 2, 3, 300), (1, 3, 4, 200),   # user 1: latest is item 2
            (2, 4, 2, 50),                                     # user 2: a single interaction stays in train
            (3, 5, 1, 70), (3, 6, 2, 70), (3, 7, 3, 10)]       # user 3: a tie at 70: the later line wins
    rest, held = leave_one_out(_ratings(rows))
    assert held.user.tolist() == [0, 2] and held.item.tolist() == [1, 5]
    assert len(rest) == 5 and 3 in rest.item.tolist()
    ln.manual_seed(0)
    r = _ratings(make_ratings(n_users=30, n_items=130, per_user=8))
    loo = build_leave_one_out(r, 30, 130, negatives=99)
    assert len(loo.test) == len(loo.val) == 30 and len(loo.train) == len(r) - 60
    assert loo.test_negatives.shape == (30, 99) and loo.val_negatives.shape == (30, 99)
    assert not loo.seen_all.contains(np.repeat(loo.test.user, 99), loo.test_negatives.ravel()).any()
    # the test item is each user's latest, the validation item the latest of the rest
    assert np.all(loo.test.time >= loo.val.time)
    for u in range(30):
        assert loo.val.time[u] >= loo.train.time[loo.train.user == u].max()


def test_ranking_metrics_exact_values():
    users, pos = np.array([0, 1, 2]), np.array([0, 0, 0])
    negs = np.tile(np.arange(1, 100), (3, 1))
    table = np.zeros((3, 100))
    table[0, 0] = 10            # user 0: held-out item first -> hit, ndcg 1
    table[1, 1:3] = 5           # user 1: two negatives above -> rank 2: ndcg 1/log2(4) = 0.5
    table[1, 0] = 1
    table[2, 0] = -1            # user 2: below all 99 -> miss
    m = ranking_metrics(Table(table), users, pos, negs, k=10)
    assert m["hr"] == pytest.approx(2 / 3) and m["ndcg"] == pytest.approx((1 + 0.5) / 3)
    # all tied: rank uniform over 0..99 -> HR@10 = 0.1, NDCG = mean of 1/log2(r+2) over r < 10, / 100
    const = ranking_metrics(Table(np.zeros((3, 100))), users, pos, negs, k=10)
    assert const["hr"] == pytest.approx(0.1)
    assert const["ndcg"] == pytest.approx(sum(1 / np.log2(r + 2) for r in range(10)) / 100)
    with pytest.raises(ValueError, match="one positive and one row"):
        ranking_metrics(Table(table), users, pos, negs[:2])


def test_rating_errors_and_baselines():
    rows = make_ratings(n_users=60, n_items=40, per_user=20)
    r = _ratings(rows)
    perm = np.random.default_rng(0).permutation(len(r))
    train, test = r.subset(perm[200:]), r.subset(perm[:200])
    gm = GlobalMean().fit(train)
    e = rating_errors(gm, test)
    assert e["rmse"] == pytest.approx(np.sqrt(np.mean((train.rating.mean() - test.rating) ** 2)), rel=1e-5)
    assert e["mae"] == pytest.approx(np.mean(np.abs(train.rating.mean() - test.rating)), rel=1e-5)
    bias = UserItemBias(reg_user=2, reg_item=2).fit(train, 60, 40)
    assert rating_errors(bias, test)["rmse"] < e["rmse"]  # the planted biases are learnt
    pop = Popularity().fit(train, 40)
    assert pop.score(np.zeros(40, np.int64), np.arange(40)).tolist() == np.bincount(train.item, minlength=40).tolist()
    with pytest.raises(ValueError, match="no ratings"):
        rating_errors(gm, r.subset(np.zeros(0, np.int64)))
