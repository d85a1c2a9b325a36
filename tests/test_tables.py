"""Your own tables: reading CSV/TSV/JSON lines, inferring columns, the transforms, and the table recipe end to end
through the CLI (train, evaluate, predict) on real tables shipped inside scikit-learn."""
from __future__ import annotations

import csv
import json
import re

import numpy as np
import pytest

from lucidnet.cli import main
from lucidnet.datasets.errors import DatasetError
from lucidnet.datasets.tables import read_table
from lucidnet.tables import RECIPES, Preprocessor
from lucidnet.tables.preprocess import ONE_HOT_MAX
from lucidnet.tables.schema import infer_kinds, target_kind
from lucidnet.train.recipe import run

datasets = pytest.importorskip("sklearn.datasets")


def write_csv(path, header, rows, sep=","):
    with open(path, "w", newline="") as f:
        w = csv.writer(f, delimiter=sep)
        w.writerow(header)
        w.writerows(rows)
    return path


def sklearn_table(tmp_path, loader, name):
    d = loader()
    names = [str(n) for n in getattr(d, "feature_names", [])] or [f"f{i}" for i in range(d.data.shape[1])]
    return write_csv(tmp_path / f"{name}.csv", names + ["target"],
                     [[repr(float(v)) for v in x] + [t] for x, t in zip(d.data, d.target)])


# ---- reading -----------------------------------------------------------------------------------------------
def test_csv_tsv_and_json_lines_read_alike(tmp_path):
    rows = [["1.5", "Oslo", 'says "hi", twice'], ["", "Rome", "x"]]
    a = read_table(write_csv(tmp_path / "t.csv", ["x", "city", "note"], rows))
    b = read_table(write_csv(tmp_path / "t.tsv", ["x", "city", "note"], rows, sep="\t"))
    (tmp_path / "t.jsonl").write_text('{"x": 1.5, "city": "Oslo", "note": "says \\"hi\\", twice"}\n\n'
                                      '{"x": null, "city": "Rome", "note": "x"}\n')
    c = read_table(tmp_path / "t.jsonl")
    assert a.data == b.data and a.columns == b.columns == c.columns
    assert c.data["x"] == ["1.5", None] and c.data["note"] == a.data["note"] and c.lines == [1, 3]


@pytest.mark.parametrize("text, message", [
    ("a,b\n1,2\n3\n", "t.csv, line 3: expected 2 fields separated by ',' (as the header), found 1"),
    ("a,a\n1,2\n", "t.csv, line 1: the header names column 'a' twice"),
    ("", "the file is empty"),
    ('a,b\n1,"unclosed\n', "not valid CSV"),
])
def test_bad_csv_names_the_file_and_line(tmp_path, text, message):
    (tmp_path / "t.csv").write_text(text)
    with pytest.raises(DatasetError, match=message.replace("(", r"\(").replace(")", r"\)")):
        read_table(tmp_path / "t.csv")


def test_bad_json_lines_name_the_line(tmp_path):
    (tmp_path / "t.jsonl").write_text('{"a": 1}\n[1, 2]\n')
    with pytest.raises(DatasetError, match=r"t.jsonl, line 2: expected a JSON object per line"):
        read_table(tmp_path / "t.jsonl")
    (tmp_path / "u.jsonl").write_text('{"a": {"b": 1}}\n')
    with pytest.raises(DatasetError, match=r"line 1: field 'a' holds a dict"):
        read_table(tmp_path / "u.jsonl")


# ---- columns and transforms ----------------------------------------------------------------------------------
def test_kinds_targets_and_a_stray_value():
    data = {"n": [str(i) for i in range(100)], "c": ["a", "b"] * 50, "gap": ["", "1"] * 50}
    assert infer_kinds(data, ["n", "c", "gap"]) == {"n": "numeric", "c": "categorical", "gap": "numeric"}
    assert infer_kinds(data, ["n"], categorical=["n"]) == {"n": "categorical"}
    data["n"][37] = "abc"
    with pytest.raises(ValueError, match=r"row 38: column 'n' holds numbers but 'abc' here is not one"):
        infer_kinds(data, ["n"])
    assert target_kind(["yes", "no"]) == "classification" and target_kind([str(i) for i in range(50)]) == "regression"


def test_preprocessor_imputes_scales_encodes_and_round_trips():
    many = [f"v{i % 40}" for i in range(80)]
    data = {"x": ["1", "2", "", "5"] * 20, "c": ["a", "b", "a", ""] * 20, "e": many, "y": ["1.0", "2.0", "3.5", "9"] * 20}
    p = Preprocessor.fit(data, {"x": "numeric", "c": "categorical", "e": "categorical"}, "y", "regression")
    x, codes = p.transform(data)
    # x standardised + its missing indicator + one-hot of c's three values (a, b, <missing>); e is embedded
    assert x.shape == (80, 2 + 3) and codes.shape == (80, 1) and x.dtype == np.float32
    assert abs(x[:, 0].mean()) < 1e-6 and x[2, 1] == 1.0 and x[0, 1] == 0.0
    assert p.cardinalities == [41] and 40 > ONE_HOT_MAX
    new, new_codes = p.transform({"x": ["2"], "c": ["never seen"], "e": ["v3"]})
    assert new[0, 2:].tolist() == [0.0, 0.0, 0.0] and new_codes[0, 0] > 0
    q = Preprocessor.from_dict(json.loads(json.dumps(p.to_dict())))
    assert np.array_equal(q.transform(data)[0], x)
    y = p.target_to(data["y"])
    assert np.allclose(p.target_from(y), [float(v) for v in data["y"]], atol=1e-5)
    with pytest.raises(ValueError, match="lacks the column 'e'"):
        p.transform({"x": ["1"], "c": ["a"]})
    with pytest.raises(ValueError, match=r"column 'x' is numeric, but 'lots' is not a number"):
        p.transform({"x": ["lots"], "c": ["a"], "e": ["v1"]})
    with pytest.raises(ValueError, match="not a lucidnet table preprocessing file"):
        Preprocessor.from_dict({"numeric": [{"name": "x"}], "categorical": [], "target": {}})


# ---- the recipe through the CLI ------------------------------------------------------------------------------
def test_breast_cancer_trains_evaluates_and_predicts(tmp_path, capsys):
    path = sklearn_table(tmp_path, datasets.load_breast_cancer, "cancer")
    out = tmp_path / "run"
    assert main(["train", "--data", str(path), "--target", "target", "--out", str(out), "--quiet"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["test_accuracy"] > 0.93 and metrics["test_rows"] == 113
    assert (out / "preprocess.json").is_file() and json.loads((out / "config.json").read_text())["task"] == \
        "tabular-classification"
    capsys.readouterr()
    assert main(["evaluate", str(out)]) == 0
    assert f"accuracy {metrics['test_accuracy']:.4f}" in capsys.readouterr().out
    assert main(["predict", str(out), str(path), "--output", str(tmp_path / "pred.csv")]) == 0
    pred = read_table(tmp_path / "pred.csv")
    assert pred.columns[-3:] == ["prediction", "probability_0", "probability_1"] and len(pred) == 569
    accuracy = np.mean([a == b for a, b in zip(pred.data["prediction"], pred.data["target"])])
    assert accuracy > 0.95
    p = np.array([[float(v) for v in pred.data[f"probability_{c}"]] for c in "01"])
    assert np.allclose(p.sum(axis=0), 1.0, atol=1e-5)


def test_regression_on_diabetes_and_a_test_file(tmp_path, capsys):
    d = datasets.load_diabetes(scaled=False)
    header = [str(n) for n in d.feature_names] + ["progression"]
    rows = [[repr(float(v)) for v in x] + [repr(float(t))] for x, t in zip(d.data, d.target)]
    train = write_csv(tmp_path / "train.csv", header, rows[:350])
    test = write_csv(tmp_path / "test.tsv", header, rows[350:], sep="\t")
    out = tmp_path / "run"
    assert main(["train", "--data", str(train), "--target", "progression", "--test-data", str(test),
                 "--out", str(out), "--quiet"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["test_rows"] == 92 and metrics["test_r2"] > 0.3, metrics
    capsys.readouterr()
    assert main(["evaluate", str(out)]) == 0
    assert f"r2 {metrics['test_r2']:.4f}" in capsys.readouterr().out
    assert main(["predict", str(out), str(test)]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].endswith(",prediction") and len(printed) == 93


def test_categories_missing_values_and_an_identifier(tmp_path):
    rng = np.random.default_rng(0)
    rows = []
    for i in range(300):
        color = ["red", "green", "blue"][i % 3]
        size = rng.normal()
        city = f"city{rng.integers(40)}"
        label = "yes" if size + (1.5 if color == "red" else 0.0) > 0.75 else "no"
        rows.append([f"id-{i}", color, "" if i % 10 == 0 else f"{size:.4f}", city, label])
    path = write_csv(tmp_path / "t.csv", ["id", "color", "size", "city", "label"], rows)
    with pytest.warns(UserWarning, match="column 'id' has a different text in every row"):
        r = run(RECIPES["mlp"], {"target": "label"}, data=path, verbose=0)
    assert r.config["columns"] == {"color": "categorical", "size": "numeric", "city": "categorical"}
    assert r.config["dropped"] == ["id"] and r.config["model"]["cardinalities"][0] > ONE_HOT_MAX
    assert r.config["classes"] == ["no", "yes"] and r.metrics["test_accuracy"] > 0.8


@pytest.mark.parametrize("rows, options, message", [
    ([["1", "a"], ["2"]], [], r"t.csv, line 3: expected 2 fields"),
    ([["1", "a"]] * 30 + [["x", "b"]], [], r"t.csv, line 32: column 'x' holds numbers but 'x' here is not one"),
    ([["1", "a"], ["2", "a"]] * 10, [], "has one class only"),
    ([["1", "a"], ["2", ""]] * 10, [], r"line 3: the target column 'y' is empty"),
    ([["1", "a"], ["2", "b"]] * 10, ["--categorical", "nope"], "--categorical 'nope' is not a column"),
    ([["1", "a"], ["2", "b"]] * 10, ["--target-type", "regression"], r"column 'y' is numeric, but 'a' is not a number"),
])
def test_bad_tables_are_refused_by_file_line_and_column_leaving_no_run(tmp_path, capsys, rows, options, message):
    path = write_csv(tmp_path / "t.csv", ["x", "y"], rows)
    out = tmp_path / "run"
    assert main(["train", "--data", str(path), "--target", "y", *options, "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert re.search(message, err) and "Traceback" not in err, err
    assert not out.exists()


def test_bad_table_message_text(tmp_path, capsys):
    path = write_csv(tmp_path / "t.csv", ["x", "y"], [["1", "a"]] * 30 + [["x", "b"]])
    assert main(["train", "--data", str(path), "--target", "y", "--out", str(tmp_path / "r"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "t.csv, line 32: column 'x' holds numbers but 'x' here is not one" in err and "Traceback" not in err


def test_predict_refuses_a_file_without_the_training_columns(tmp_path, capsys):
    path = sklearn_table(tmp_path, datasets.load_wine, "wine")
    out = tmp_path / "run"
    assert main(["train", "--data", str(path), "--target", "target", "--epochs", "3", "--out", str(out),
                 "--quiet"]) == 0
    write_csv(tmp_path / "new.csv", ["alcohol"], [["13.1"]])
    capsys.readouterr()
    assert main(["predict", str(out), str(tmp_path / "new.csv")]) == 2
    assert "lacks the columns 'malic_acid'" in capsys.readouterr().err


def test_table_options_are_refused_elsewhere_and_image_options_here(tmp_path, capsys):
    path = write_csv(tmp_path / "t.csv", ["x", "y"], [["1", "a"], ["2", "b"]] * 10)
    assert main(["train", "--dataset", "sst2", "--target", "y", "--out", str(tmp_path / "r")]) == 2
    assert "--target does not apply to --dataset sst2" in capsys.readouterr().err
    assert main(["train", "--data", str(path), "--target", "y", "--augment", "--out", str(tmp_path / "r")]) == 2
    assert "--augment does not apply to --dataset table --model mlp" in capsys.readouterr().err
    assert main(["train", "--data", str(path), "--out", str(tmp_path / "r")]) == 2
    assert "a table needs --target COLUMN" in capsys.readouterr().err


def test_an_interrupted_table_run_resumes_to_the_model_of_an_uninterrupted_one(tmp_path, capsys, monkeypatch):
    from lucidnet.serialization.statedict import load
    from lucidnet.train import CSVLogger
    path = sklearn_table(tmp_path, datasets.load_wine, "wine")
    args = ["train", "--data", str(path), "--target", "target", "--epochs", "6", "--patience", "2", "--quiet"]
    assert main([*args, "--out", str(tmp_path / "straight")]) == 0

    def die(self, epoch, logs=None):
        if epoch == 3:
            raise KeyboardInterrupt

    with monkeypatch.context() as m:
        m.setattr(CSVLogger, "on_epoch_begin", die, raising=False)
        assert main([*args, "--out", str(tmp_path / "cut")]) == 130
    assert (tmp_path / "cut" / "checkpoint.safetensors").is_file()
    assert main([*args, "--out", str(tmp_path / "cut"), "--resume"]) == 0
    straight, resumed = (json.loads((tmp_path / d / "metrics.json").read_text()) for d in ("straight", "cut"))
    assert {k: v for k, v in straight.items() if k != "train_seconds"} == \
        {k: v for k, v in resumed.items() if k != "train_seconds"}
    a, b = (load(tmp_path / d / "model.safetensors") for d in ("straight", "cut"))
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])


def test_parquet_reads_like_csv(tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    import pyarrow as pa
    csv_table = read_table(write_csv(tmp_path / "t.csv", ["x", "c"], [["1.5", "a"], ["", "b"]]))
    pq.write_table(pa.table({"x": [1.5, None], "c": ["a", "b"]}), tmp_path / "t.parquet")
    t = read_table(tmp_path / "t.parquet")
    assert t.columns == csv_table.columns and t.data == {"x": ["1.5", None], "c": ["a", "b"]} and t.lines == [1, 2]
    (tmp_path / "bad.parquet").write_bytes(b"PAR1 not really")
    with pytest.raises(DatasetError, match="bad.parquet: not a readable Parquet file"):
        read_table(tmp_path / "bad.parquet")


def test_overwrite_with_a_bad_table_keeps_the_run_it_was_to_replace(tmp_path, capsys):
    path = sklearn_table(tmp_path, datasets.load_wine, "wine")
    out = tmp_path / "run"
    assert main(["train", "--data", str(path), "--target", "target", "--epochs", "2", "--out", str(out),
                 "--quiet"]) == 0
    before = {f.name: f.read_bytes() for f in out.iterdir() if f.is_file()}
    bad = write_csv(tmp_path / "bad.csv", ["x", "y"], [["1", "a"], ["2"]])
    assert main(["train", "--data", str(bad), "--target", "y", "--out", str(out), "--overwrite", "--quiet"]) == 2
    assert "bad.csv, line 3" in capsys.readouterr().err
    assert {f.name: f.read_bytes() for f in out.iterdir() if f.is_file()} == before
