"""The recommendation commands on a tiny synthetic MovieLens: ``lucidnet train --dataset ml-100k`` and
``lucidnet recommend RUN_DIR --user ID -k K``."""
import argparse
import json

import numpy as np
import pytest

from lucidnet.cli import main, recommend
from lucidnet.recsys import UnknownIdError
from movielens_fixture import write_movielens


def _train(tmp_path, model, **kw):
    """``lucidnet train --dataset ml-100k --model MODEL`` on the fixture, small: its exit code."""
    opts = dict(data=str(tmp_path / "ml-100k"), epochs=2, batch_size=64, lr=0.01, out=str(tmp_path / f"run-{model}"))
    if model in ("neumf", "gmf", "ncf_mlp"):
        opts["negatives"] = 2
    opts.update(kw)
    argv = ["train", "--dataset", "ml-100k", "--model", model, "--quiet"]
    for k, v in opts.items():
        argv += [f"--{k.replace('_', '-')}", str(v)]
    return main(argv)


def _recommend(argv):
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="command", required=True)
    recommend.add_parser(sub)
    args = p.parse_args(["recommend", *argv])
    return args.run(args)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    write_movielens(root / "ml-100k", n_users=20, n_items=130, per_user=10)
    return root


@pytest.mark.parametrize("model", ["mf", "autorec", "neumf"])
def test_train_writes_a_run_that_recommend_reads(data, model, capsys):
    assert _train(data, model) == 0
    out = data / f"run-{model}"
    for name in ("model.safetensors", "config.json", "history.csv", "metrics.json", "catalog.json", "report.html"):
        assert (out / name).is_file(), name
    config = json.loads((out / "config.json").read_text())
    metrics = json.loads((out / "metrics.json").read_text())
    assert config["model"]["name"] == model and config["dataset"] == "ml-100k"
    if model == "neumf":
        assert config["task"] == "ranking" and 0 <= metrics["test_hr10"] <= 1
        assert set(metrics["baselines"]) == {"global_mean", "user_item_bias", "popularity"}
    else:
        assert config["task"] == "rating-prediction" and config["data"]["split"] == "u1" and metrics["test_rmse"] > 0
        assert metrics["baselines"]["global_mean"]["rmse"] > 0
    assert "run saved to" in capsys.readouterr().out
    assert _recommend([str(out), "--user", "3", "-k", "4"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 5 and "top 4 for user 3" in lines[0]
    assert all("[item " in line for line in lines[1:])
    scores = [float(line.split()[1]) for line in lines[1:]]
    assert scores == sorted(scores, reverse=True)
    # evaluate recomputes the test metrics of metrics.json; report rebuilds report.html
    assert main(["evaluate", str(out), "--data", str(data / "ml-100k")]) == 0
    printed = capsys.readouterr().out
    if model == "neumf":
        assert f"hr@10 {metrics['test_hr10']:.4f}" in printed and f"ndcg@10 {metrics['test_ndcg10']:.4f}" in printed
    else:
        assert f"rmse {metrics['test_rmse']:.4f}" in printed and f"mae {metrics['test_mae']:.4f}" in printed
    (out / "report.html").unlink()
    assert main(["report", str(out)]) == 0 and (out / "report.html").is_file()
    assert main(["predict", str(out), "42"]) == 2            # a recommender: recommend, not predict
    assert "lucidnet recommend" in capsys.readouterr().err


def test_recommend_errors_are_clear(data, capsys):
    _train(data, "mf", out=str(data / "run-err"))
    with pytest.raises(UnknownIdError, match="unknown user id 4242"):
        _recommend([str(data / "run-err"), "--user", "4242"])
    (data / "run-err" / "catalog.json").unlink()
    with pytest.raises(FileNotFoundError, match="catalog"):
        _recommend([str(data / "run-err"), "--user", "1"])
    assert _train(data, "mlp") == 2
    assert "--dataset ml-100k takes --model autorec, gmf, mf, ncf_mlp, neumf; got 'mlp'" in capsys.readouterr().err


def test_cli_exit_code_for_unknown_user(data, capsys):
    """Through the real entry point when the command is wired in (UnknownIdError is a ValueError: exit 2)."""
    from lucidnet import cli
    if "recommend" not in cli.COMMANDS:
        pytest.skip("lucidnet recommend is not wired into lucidnet.cli yet")
    _train(data, "mf", out=str(data / "run-main"))
    assert cli.main(["recommend", str(data / "run-main"), "--user", "999"]) == 2
    assert "unknown user id 999" in capsys.readouterr().err


def test_explicit_training_never_reads_the_test_file(data, monkeypatch):
    """The explicit recipe trains on SPLIT.base only: the validation ratings come out of it, and the refit
    uses all of it."""
    from lucidnet.recsys import MovieLens100K, recipes
    calls = []
    real = recipes.train_explicit

    def spy(model, train, val=None, **kw):
        calls.append((train, val, kw["epochs"]))
        return real(model, train, val, **kw)
    monkeypatch.setattr(recipes, "train_explicit", spy)
    assert _train(data, "mf", out=str(data / "run-spy"), epochs=5) == 0
    base, test = MovieLens100K(data / "ml-100k").split("u1")
    key = lambda r: set(zip(r.user.tolist(), r.item.tolist()))  # noqa: E731
    (train, val, epochs), (refit, no_val, refit_epochs) = calls
    assert key(train) | key(val) == key(base) and not key(train) & key(val)
    assert np.isclose(len(val) / len(base), 0.05, atol=0.01)
    assert key(refit) == key(base) and no_val is None and 1 <= refit_epochs <= epochs == 5
    for r in (train, val, refit):
        assert not key(r) & key(test)
