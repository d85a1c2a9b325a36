"""Recommendation models: forward values, registry round trips, scoring, recommend(), and the
training recipes on a tiny synthetic MovieLens."""
import numpy as np
import pytest

import lucidnet as ln
from helpers import check_grad, check_parity, parity, rand
from lucidnet import models
from lucidnet.recsys import (GMF, NCFMLP, BiasedMF, Catalog, IAutoRec, MovieLens100K, NeuMF, Ratings,
                             UnknownIdError, masked_mse)
from lucidnet.recsys.evaluation import build_leave_one_out, rating_errors
from lucidnet.recsys.training import split_validation, train_explicit, train_implicit
from movielens_fixture import write_movielens

U = ln.tensor(np.array([0, 3, 3, 1]))
I = ln.tensor(np.array([2, 2, 5, 0]))


@pytest.fixture(scope="module")
def ml(tmp_path_factory):
    root = tmp_path_factory.mktemp("ml") / "ml-100k"
    write_movielens(root, n_users=30, n_items=25, per_user=12)
    return MovieLens100K(root)


def test_biased_mf_forward_is_the_formula():
    m = BiasedMF(4, 6, dim=3, global_mean=3.2)
    m.user_bias.weight.data[:] = rand(4, 1, seed=1, dtype=np.float32)
    m.item_bias.weight.data[:] = rand(6, 1, seed=2, dtype=np.float32)
    out = m(U, I)
    p, q = m.user.weight.array[U.numpy()], m.item.weight.array[I.numpy()]
    ref = (p * q).sum(1) + m.user_bias.weight.array[U.numpy(), 0] + m.item_bias.weight.array[I.numpy(), 0] + 3.2
    assert out.dtype == np.float32 and out.shape == (4,)
    np.testing.assert_allclose(out.numpy(), ref, rtol=1e-6)
    # score() clips to the rating range; score_items agrees with score on the full grid
    np.testing.assert_allclose(m.score(U, I), np.clip(ref, 1, 5), rtol=1e-6)
    grid = m.score_items([0, 3])
    np.testing.assert_allclose(grid, m.score(np.repeat([0, 3], 6), np.tile(np.arange(6), 2)).reshape(2, 6), rtol=1e-6)


def test_biased_mf_l2_penalty_only_while_training():
    m = BiasedMF(4, 6, dim=3, l2=0.5, l2_bias=0.1)
    out = m(U, I)
    p, q = m.user.weight.array[U.numpy()], m.item.weight.array[I.numpy()]
    expected = 0.5 * ((p ** 2).sum() + (q ** 2).sum()) / 4  # biases start at zero
    np.testing.assert_allclose(m.penalty.item(), expected, rtol=1e-5)
    target = ln.tensor(np.array([4.0, 3.0, 5.0, 1.0], np.float32))
    loss = m.loss(out, target)
    np.testing.assert_allclose(loss.item(), ((out.numpy() - target.numpy()) ** 2).mean() + expected, rtol=1e-5)
    loss.backward()
    assert m.user.weight.grad.dtype == np.float32
    m.eval()
    m(U, I)
    assert m.penalty is None


def test_mf_gradients_float64():
    # the MF objective (product of two lookups, biases, penalty) against finite differences, on the
    # model's own parameters
    m = BiasedMF(4, 6, dim=2, l2=0.3, l2_bias=0.2).double()
    for p in m.parameters():
        p.data[...] = rand(*p.shape, seed=p.numel())
    ps = [m.user.weight, m.item.weight, m.user_bias.weight, m.item_bias.weight, m.global_bias]
    assert ln.autograd.gradcheck(lambda *_: m(U, I) + m.penalty, ps)


@parity
def test_neumf_matches_torch():
    torch = pytest.importorskip("torch")
    m = NeuMF(5, 7, gmf_dim=4, mlp_dim=3, layers=(6, 4))
    ref = _torch_neumf(torch, m)
    u, i = np.array([0, 4, 4, 2, 1]), np.array([6, 6, 0, 3, 3])
    out, out_ref = m(ln.tensor(u), ln.tensor(i)), ref(torch.tensor(u), torch.tensor(i))
    np.testing.assert_allclose(out.numpy(), out_ref.detach().numpy(), rtol=1e-5, atol=1e-6)
    t = np.array([1, 0, 1, 0, 0], np.float32)
    ln.nn.functional.binary_cross_entropy_with_logits(out, ln.tensor(t)).backward()
    torch.nn.functional.binary_cross_entropy_with_logits(out_ref, torch.tensor(t)).backward()
    grads = dict(ref.named_parameters())
    for name, p in m.named_parameters():
        np.testing.assert_allclose(p.grad, grads[name].grad.numpy(), rtol=1e-4, atol=1e-7, err_msg=name)


def _torch_neumf(torch, m):
    nn = torch.nn

    class Ref(nn.Module):
        def __init__(s):
            super().__init__()
            c = m.config
            s.gmf_user, s.gmf_item = nn.Embedding(5, c["gmf_dim"]), nn.Embedding(7, c["gmf_dim"])
            s.mlp_user, s.mlp_item = nn.Embedding(5, c["mlp_dim"]), nn.Embedding(7, c["mlp_dim"])
            sizes = [2 * c["mlp_dim"], *c["layers"]]
            layers = []
            for a, b in zip(sizes, sizes[1:]):
                layers += [nn.Linear(a, b), nn.ReLU()]
            s.mlp = nn.Sequential(*layers)
            s.out = nn.Linear(c["gmf_dim"] + sizes[-1], 1)

        def forward(s, u, i):
            g = s.gmf_user(u) * s.gmf_item(i)
            h = s.mlp(torch.cat([s.mlp_user(u), s.mlp_item(i)], 1))
            return s.out(torch.cat([g, h], 1)).squeeze(1)
    ref = Ref()
    ref.load_state_dict({k: torch.tensor(np.ascontiguousarray(v)) for k, v in m.state_dict().items()})
    return ref


@parity
def test_masked_mse_matches_torch():
    torch = pytest.importorskip("torch")
    target = np.array([[4.0, 0.0, 2.0], [0.0, 0.0, 5.0]], np.float32)
    mask = torch.tensor(target != 0)
    check_parity(lambda x: masked_mse(x, target),
                 lambda x: ((x - torch.tensor(target))[mask] ** 2).mean(),
                 rand(2, 3, seed=4))
    check_grad(lambda x: masked_mse(x, target.astype(np.float64)), rand(2, 3, seed=5))


def test_gmf_mlp_shapes_and_pretrained_neumf():
    gmf, mlp = GMF(5, 7, dim=4), NCFMLP(5, 7, dim=3, layers=(6, 4))
    for m in (gmf, mlp):
        assert m(U, I).shape == (4,) and m(U, I).dtype == np.float32
    mlp.out.bias.data[:] = 0.3
    neu = NeuMF.from_pretrained(gmf, mlp, alpha=0.25)
    np.testing.assert_allclose(neu(U, I).numpy(), 0.25 * gmf(U, I).numpy() + 0.75 * mlp(U, I).numpy(), rtol=1e-5,
                               atol=1e-6)


@pytest.mark.parametrize("cfg", [
    {"name": "mf", "n_users": 4, "n_items": 6, "dim": 3, "l2": 0.1},
    {"name": "gmf", "n_users": 4, "n_items": 6, "dim": 2},
    {"name": "ncf_mlp", "n_users": 4, "n_items": 6, "dim": 2, "layers": [4, 2]},
    {"name": "neumf", "n_users": 4, "n_items": 6, "gmf_dim": 2, "mlp_dim": 2, "layers": [4, 2]},
    {"name": "autorec", "n_users": 4, "n_items": 6, "hidden": 5},
])
def test_registry_rebuilds_the_same_model(cfg):
    a = models.build(cfg)
    if isinstance(a, IAutoRec):
        a.set_ratings(Ratings(np.array([0, 1, 3]), np.array([2, 2, 5]), np.array([4.0, 2.0, 5.0], np.float32),
                              np.zeros(3, np.int64)))
    assert models.config_of(a) == {**a.config, "name": cfg["name"]}
    b = models.build(models.config_of(a))
    b.load_state_dict(a.state_dict())
    users, items = np.repeat(np.arange(4), 6), np.tile(np.arange(6), 4)
    np.testing.assert_array_equal(a.score(users, items), b.score(users, items))


def test_score_rejects_bad_indices():
    m = GMF(4, 6, dim=2)
    with pytest.raises(ValueError, match="user index 4 is out of range; the model has 4 users"):
        m.score([4], [0])
    with pytest.raises(ValueError, match="item index -1"):
        m.score([0], [-1])
    with pytest.raises(ValueError, match="one of each per pair"):
        m.score([0, 1], [0])


def test_recommend_returns_ids_titles_scores(ml):
    base, _ = ml.split("u1")
    m = BiasedMF(ml.n_users, ml.n_items, dim=4)
    m.catalog = Catalog.from_dataset(ml, base)
    rec = m.recommend(int(ml.user_ids[3]), k=5)
    assert len(rec) == 5 and rec.user_id == ml.user_ids[3]
    seen = set(ml.item_ids[base.item[base.user == 3]].tolist())
    assert not seen & set(rec.item_ids.tolist())
    assert np.all(np.diff(rec.scores) <= 0) and rec.scores.dtype == np.float32
    assert rec.titles == [ml.titles[ml.item_index(int(i))] for i in rec.item_ids]
    full = m.score_items([3])[0]
    best_unseen = max(full[j] for j in range(ml.n_items) if ml.item_ids[j] not in seen)
    assert rec.scores[0] == pytest.approx(best_unseen)
    rows = list(rec)
    assert rows[0] == (int(rec.item_ids[0]), rec.titles[0], float(rec.scores[0]))
    assert "top 5 for user" in str(rec)
    everything = m.recommend(int(ml.user_ids[3]), k=1000, exclude_seen=False)
    assert len(everything) == ml.n_items
    with pytest.raises(UnknownIdError, match="unknown user id 999"):
        m.recommend(999)
    raw_u, raw_i = int(ml.user_ids[3]), ml.item_ids[:4]
    np.testing.assert_allclose(m.predict(raw_u, raw_i), m.score([3] * 4, [0, 1, 2, 3]), rtol=1e-6)
    assert m.predict([raw_u], [int(raw_i[0])]).shape == (1,)
    with pytest.raises(UnknownIdError, match="unknown item id 5000"):
        m.predict(raw_u, [int(raw_i[0]), 5000])
    with pytest.raises(ValueError, match="positive int"):
        m.recommend(int(ml.user_ids[0]), k=0)
    implicit = NeuMF(ml.n_users, ml.n_items)
    with pytest.raises(ValueError, match="no catalog"):
        implicit.recommend(1)
    with pytest.raises(ValueError, match="no catalog"):
        implicit.predict(1, 1)
    implicit.catalog = m.catalog
    probs = implicit.recommend(int(ml.user_ids[0]), k=3).scores
    assert np.all((probs > 0) & (probs < 1))
    p = implicit.predict(int(ml.user_ids[0]), ml.item_ids[:3])
    np.testing.assert_allclose(p, 1 / (1 + np.exp(-implicit.score([0] * 3, [0, 1, 2]))), rtol=1e-5)


def test_catalog_round_trip(ml, tmp_path):
    base, _ = ml.split("u2")
    cat = Catalog.from_dataset(ml, base)
    cat.save(tmp_path / "c.json")
    back = Catalog.load(tmp_path / "c.json")
    np.testing.assert_array_equal(back.user_ids, cat.user_ids)
    assert back.titles == cat.titles and back.seen_items(2).tolist() == cat.seen_items(2).tolist()
    assert sorted(cat.seen_items(2).tolist()) == sorted(base.item[base.user == 2].tolist())
    with pytest.raises(FileNotFoundError, match="no item catalog"):
        Catalog.load(tmp_path / "missing.json")


def test_train_explicit_mf_learns_and_keeps_best_epoch(ml):
    ln.manual_seed(0)
    base, test = ml.split("u1")
    train, val = split_validation(base, 0.2)
    assert len(train) + len(val) == len(base)
    m = BiasedMF(ml.n_users, ml.n_items, dim=4, l2=0.01, global_mean=float(train.rating.mean()))
    before = rating_errors(m, val)["rmse"]
    h = train_explicit(m, train, val, epochs=30, batch_size=16, lr=0.02, patience=3)
    hist = h.history["val_rmse"]
    assert min(hist) < before
    assert rating_errors(m, val)["rmse"] == pytest.approx(min(hist), rel=1e-6)  # the best epoch's weights


def test_train_explicit_autorec(ml):
    ln.manual_seed(0)
    base, _ = ml.split("u1")
    train, val = split_validation(base, 0.2)
    m = IAutoRec(ml.n_users, ml.n_items, hidden=8)
    h = train_explicit(m, train, val, epochs=15, batch_size=8, lr=0.01, weight_decay=1e-4, patience=20)
    assert len(h.history["val_rmse"]) == 15 and h.history["loss"][-1] < h.history["loss"][0]
    stored = m.ratings.array
    assert stored[train.item, train.user].tolist() == train.rating.tolist() and (stored > 0).sum() == len(train)
    with pytest.raises(TypeError, match="BiasedMF or IAutoRec"):
        train_explicit(GMF(2, 2), train)


def test_train_implicit_uses_validation_not_test(ml):
    ln.manual_seed(0)
    loo = build_leave_one_out(ml.ratings, ml.n_users, ml.n_items, negatives=5)
    train_pairs = set(zip(loo.train.user.tolist(), loo.train.item.tolist()))
    for held in (loo.val, loo.test):
        assert not train_pairs & set(zip(held.user.tolist(), held.item.tolist()))
    m = NeuMF(ml.n_users, ml.n_items, gmf_dim=4, mlp_dim=4, layers=(8, 4))
    h = train_implicit(m, loo, epochs=3, batch_size=64, lr=0.01, negatives=2, patience=5)
    assert set(h.history) >= {"loss", "val_hr", "val_ndcg"} and len(h.history["loss"]) == 3
    assert all(0 <= v <= 1 for v in h.history["val_hr"])


def test_implicit_recipe_selects_on_validation_then_refits(ml, monkeypatch):
    """neumf's recipe: GMF and MLP towers, then NeuMF, each with its epoch count chosen on validation, then the
    same again on train + validation. No step ever trains on a test interaction."""
    from lucidnet.recsys import recipes
    ln.manual_seed(0)
    loo = build_leave_one_out(ml.ratings, ml.n_users, ml.n_items, negatives=5)
    calls = []
    real = recipes.train_implicit

    def spy(model, split, **kw):
        calls.append((type(model).__name__, split, kw["epochs"]))
        return real(model, split, **kw)
    monkeypatch.setattr(recipes, "train_implicit", spy)
    run = recipes.run_implicit("neumf", ml, loo, overrides={"epochs": 3, "batch_size": 64, "negatives": 2},
                               pretrain=True)
    assert [c[0] for c in calls] == ["GMF", "NCFMLP", "NeuMF"] * 2
    key = lambda r: set(zip(r.user.tolist(), r.item.tolist()))  # noqa: E731
    test, val = key(loo.test), key(loo.val)
    for i, (_, split, epochs) in enumerate(calls):
        assert not key(split.train) & test
        if i < 3:
            assert split.val is loo.val and epochs == 3 and not key(split.train) & val
        else:  # the refit: validation interactions included, epochs as chosen
            assert split.val is None and val <= key(split.train) and 1 <= epochs <= 3
    assert calls[5][2] == run.epochs and run.pretrained == {"gmf_epochs": calls[3][2], "mlp_epochs": calls[4][2]}
    assert isinstance(run.model, NeuMF) and run.refit and len(run.train) == len(loo.train) + len(loo.val)
    assert set(run.model.catalog.seen_items(0).tolist()) == set(run.train.item[run.train.user == 0].tolist())
    with pytest.raises(ValueError, match="not an implicit-feedback recipe"):
        recipes.run_implicit("mf", ml, loo)
    with pytest.raises(ValueError, match="recipe 'gmf' has no setting 'depth'"):
        recipes.run_implicit("gmf", ml, loo, overrides={"depth": 3})


def test_biased_mf_fused_and_penalised_paths_agree():
    """Without a per-rating penalty the forward is one fused node (embedding_dot); with one, separate lookups.
    Both give the same predictions and the same gradients of the data term."""
    m = BiasedMF(5, 7, dim=3)
    m.user_bias.weight.data[:] = rand(5, 1, seed=3, dtype=np.float32)
    fused = m(U, I)
    assert fused._node.name == "Add"
    fused.sum().backward()
    g_fused = {n: p.grad.array.copy() for n, p in m.named_parameters()}
    m.zero_grad()
    m.l2 = 1e-12  # takes the other path; the penalty itself is negligible
    unfused = m(U, I)
    unfused.sum().backward()
    np.testing.assert_allclose(fused.numpy(), unfused.numpy(), rtol=1e-6)
    for n, p in m.named_parameters():
        np.testing.assert_allclose(p.grad, g_fused[n], rtol=1e-5, atol=1e-7, err_msg=n)
