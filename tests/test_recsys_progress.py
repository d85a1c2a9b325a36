"""What a recommender run prints: each block of progress output headed by its phase (model selection on
validation, the refits), and the final line's account of the epoch count in plain English."""
import importlib.util
import json
import re
from pathlib import Path

import pytest

from lucidnet.cli import main
from lucidnet.recsys.evaluation import build_leave_one_out
from lucidnet.recsys.recipes import RECIPES, run_implicit
from lucidnet.recsys import MovieLens100K
from lucidnet.train.recipe import run
from movielens_fixture import write_movielens


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("progress") / "ml-100k"
    write_movielens(root, n_users=20, n_items=130, per_user=10)
    return root


def _neumf(data, out, epochs, capsys, *extra):
    argv = ["train", "--dataset", "ml-100k", "--model", "neumf", "--data", str(data), "--epochs", str(epochs),
            "--batch-size", "64", "--lr", "0.01", "--negatives", "2", "--out", str(out), *extra]
    assert main(argv) == 0
    return capsys.readouterr().out


def test_neumf_progress_blocks_are_labelled(data, tmp_path, capsys):
    out = _neumf(data, tmp_path / "run", 3, capsys)
    labels = [line for line in out.splitlines() if re.match(r"\[\d/6\] ", line)]
    assert [line[:5] for line in labels] == [f"[{k}/6]" for k in range(1, 7)]
    what = ["GMF tower", "MLP tower", "NeuMF from the two towers"]
    for k, (label, tower) in enumerate(zip(labels[:3], what), 1):
        assert label.startswith(f"[{k}/6] selecting the epoch count on validation (HR@10): {tower}, at most 3 epochs")
    config = json.loads((tmp_path / "run" / "config.json").read_text())["train"]
    counts = [config["gmf_epochs"], config["mlp_epochs"], config["epochs_chosen"]]
    for label, tower, n in zip(labels[3:], what, counts):
        assert label.endswith(f"refit on train + validation: {tower}, {n} epoch{'' if n == 1 else 's'}")
    # every block of epoch lines comes right after its label
    lines = out.splitlines()
    for label in labels:
        assert lines[lines.index(label) + 1].startswith("Epoch 1/")
    final = next(line for line in lines if line.startswith("leave-one-out HR@10"))
    assert "1 epochs" not in final and "then refit on train + validation" in final
    n = config["epochs_chosen"]
    if n < 3:
        assert f"NeuMF {n} epoch{'' if n == 1 else 's'} chosen on validation, the best of" in final
    else:
        assert "NeuMF 3 epochs, the epochs setting" in final


def test_fixed_single_epoch_is_not_said_to_be_chosen_on_validation(data, tmp_path, capsys):
    out = _neumf(data, tmp_path / "run", 1, capsys)
    final = next(line for line in out.splitlines() if line.startswith("leave-one-out HR@10"))
    assert "NeuMF 1 epoch, the epochs setting; its towers GMF 1 epoch, MLP 1 epoch" in final
    assert "chosen on validation" not in final and "1 epochs" not in final
    assert "[1/6] training: GMF tower, 1 epoch" in out
    assert "[6/6] refit on train + validation: NeuMF from the two towers, 1 epoch" in out
    assert "Epoch 1/1" in out


def test_quiet_prints_no_progress(data, tmp_path, capsys):
    out = _neumf(data, tmp_path / "run", 2, capsys, "--quiet")
    assert "[1/6]" not in out and "Epoch 1/" not in out


def test_python_paths_show_labelled_progress_by_default(data, capsys):
    ds = MovieLens100K(data)
    loo = build_leave_one_out(ds.ratings, ds.n_users, ds.n_items)
    run_implicit("gmf", ds, loo, overrides={"epochs": 2, "batch_size": 64})
    out = capsys.readouterr().out
    assert "[1/2] selecting the epoch count on validation (HR@10): GMF, at most 2 epochs" in out
    assert "[2/2] refit on train + validation: GMF" in out and "Epoch 1/2" in out
    run_implicit("gmf", ds, loo, overrides={"epochs": 2, "batch_size": 64}, verbose=0)
    assert capsys.readouterr().out == ""
    run(RECIPES["mf"], {"epochs": 2}, data=str(data))  # the recipe path: RunOptions' verbose=1 by default
    out = capsys.readouterr().out
    assert "[1/2] selecting the epoch count on validation (5% of the base file, RMSE): MF" in out
    assert "[2/2] refit on the whole base file: MF" in out
    assert re.search(r"u1\.test RMSE [\d.]+ +MAE [\d.]+ +\(\d+ epochs?", out)


def test_benchmark_gives_the_cli_figure_for_the_same_seed(data, tmp_path, capsys, monkeypatch):
    """benchmarks/recsys_accuracy.py runs the recipe as ``lucidnet train`` does: the same figures, seed for seed."""
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "recsys_accuracy.py"
    spec = importlib.util.spec_from_file_location("recsys_accuracy", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    small = {"epochs": 3, "batch_size": 64, "negatives": 2}
    monkeypatch.setitem(RECIPES, "neumf", RECIPES["neumf"].with_overrides(small))
    fig = bench.implicit(str(data), seed=1)["neumf"]
    argv = ["train", "--dataset", "ml-100k", "--model", "neumf", "--data", str(data), "--seed", "1",
                       "--epochs", "3", "--batch-size", "64", "--negatives", "2", "--out", str(tmp_path / "r"),
                       "--quiet"]
    assert main(argv) == 0
    metrics = json.loads((tmp_path / "r" / "metrics.json").read_text())
    assert (fig["hr"], fig["ndcg"]) == (metrics["test_hr10"], metrics["test_ndcg10"])
