"""Integration on the real MovieLens-100K ($LUCIDNET_DATA/ml-100k; skipped when absent). Under a minute."""
import os
from pathlib import Path

import numpy as np
import pytest

import lucidnet as ln
from lucidnet.recsys import BiasedMF, Catalog, MovieLens100K
from lucidnet.recsys.baselines import Popularity, UserItemBias
from lucidnet.recsys.evaluation import build_leave_one_out, ranking_metrics, rating_errors
from lucidnet.recsys.training import split_validation, train_explicit


@pytest.fixture(scope="module")
def ml():
    root = os.environ.get("LUCIDNET_DATA")
    if not root or not (Path(root) / "ml-100k" / "u.data").is_file():
        pytest.skip("LUCIDNET_DATA is not set or has no ml-100k/ (CI sets it to ../shared/data)")
    return MovieLens100K()


@pytest.mark.slow
def test_movielens_100k_end_to_end(ml):
    assert (len(ml.ratings), ml.n_users, ml.n_items) == (100_000, 943, 1682)
    assert ml.titles[0] == "Toy Story (1995)" and ml.user_index(42) == 41
    for name, sizes in (("u1", (80_000, 20_000)), ("ua", (90_570, 9_430))):
        base, test = ml.split(name)
        assert (len(base), len(test)) == sizes

    # explicit: a short MF run on u1.base (validation carved out of it) beats the bias baseline's 0.96
    ln.manual_seed(0)
    base, test = ml.split("u1")
    train, val = split_validation(base, 0.05)
    model = BiasedMF(ml.n_users, ml.n_items, dim=32, l2=0.1, l2_bias=0.001, global_mean=float(train.rating.mean()))
    train_explicit(model, train, val, epochs=6, batch_size=512, lr=3e-3, patience=3)
    rmse = rating_errors(model, test)["rmse"]
    bias = rating_errors(UserItemBias().fit(base, ml.n_users, ml.n_items), test)["rmse"]
    assert 0.94 < bias < 0.98 and rmse < bias

    # implicit: leave-one-out with 99 negatives; popularity lands near its known HR@10 of ~0.40
    loo = build_leave_one_out(ml.ratings, ml.n_users, ml.n_items)
    assert len(loo.test) == len(loo.val) == 943 and len(loo.train) == 100_000 - 2 * 943
    pop = ranking_metrics(Popularity().fit(loo.train, ml.n_items), loo.test.user, loo.test.item, loo.test_negatives)
    assert 0.36 < pop["hr"] < 0.45 and 0.19 < pop["ndcg"] < 0.27

    model.catalog = Catalog.from_dataset(ml, base)
    rec = model.recommend(42, k=10)
    assert len(rec) == 10 and all(isinstance(t, str) and t for t in rec.titles)
    rated = set(ml.item_ids[base.item[base.user == 41]].tolist())
    assert not rated & set(rec.item_ids.tolist())
    assert np.all(rec.scores <= 5.0)
