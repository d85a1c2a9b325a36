"""Translation end to end on a toy Multi30k: ``lucidnet train --dataset multi30k`` (both recipes),
``lucidnet translate`` (arguments, --file, stdin), ``lucidnet evaluate`` (the same BLEU as the run's), errors."""
import io
import json

import numpy as np
import pytest

from lucidnet.cli import main
from text_fixture import write_multi30k, write_sst2

pytest.importorskip("tokenizers")
pytest.importorskip("sacrebleu")


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("m30k")
    write_multi30k(root / "multi30k")
    return root


@pytest.fixture(scope="module")
def run_dir(data, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "transformer"
    assert main(["train", "--dataset", "multi30k", "--data", str(data), "--out", str(out), "--quiet", "--epochs", "2",
                 "--vocab-size", "100", "--batch-size", "32", "--beam", "2"]) == 0
    return out


def test_train_writes_a_translation_run(run_dir, capsys):
    for f in ("model.safetensors", "config.json", "tokenizer.json", "history.csv", "metrics.json", "report.html",
              "sample.txt"):
        assert (run_dir / f).is_file(), f
    m = json.loads((run_dir / "metrics.json").read_text())
    assert m["beam"] == 2 and m["test_pairs"] == 10 and m["train_pairs"] == 150 and m["epochs"] == 2
    assert "case:lc" in m["bleu_signature"] and "case:mixed" in m["bleu_signature_cased"]
    assert 0 <= m["bleu"] <= 100 and 0 <= m["bleu_greedy"] <= 100
    config = json.loads((run_dir / "config.json").read_text())
    assert config["task"] == "translation" and config["tokenizer"] == "subword"
    assert config["language_pair"] == ["de", "en"] and config["train"]["label_smoothing"] == 0.1
    assert "->" in (run_dir / "sample.txt").read_text(encoding="utf-8")
    maps = json.loads((run_dir / "attention.json").read_text(encoding="utf-8"))
    assert len(maps) == 3 and maps[0]["target"][-1] == "</s>"
    for e in maps:
        w = np.asarray(e["weights"])
        assert w.shape == (len(e["target"]), len(e["source"])) and np.allclose(w.sum(axis=1), 1, atol=1e-3)
    html = (run_dir / "report.html").read_text(encoding="utf-8")
    assert (run_dir / "plots" / "attention.png").is_file() and "attends to each source subword" in html


def test_evaluate_gives_the_runs_bleu_and_translate_one_line_per_sentence(run_dir, data, capsys, tmp_path,
                                                                        monkeypatch):
    capsys.readouterr()
    assert main(["evaluate", str(run_dir), "--data", str(data)]) == 0
    printed = capsys.readouterr().out
    m = json.loads((run_dir / "metrics.json").read_text())
    assert f"bleu {m['bleu']:.4f}" in printed
    assert main(["translate", str(run_dir), "Ein Hund läuft.", "Eine Katze sitzt im Park."]) == 0
    assert len(capsys.readouterr().out.strip().splitlines()) == 2
    f = tmp_path / "in.txt"
    f.write_text("Ein Mann.\nEin Kind springt.\nEine Frau.\n", encoding="utf-8")
    assert main(["translate", str(run_dir), "--file", str(f), "--beam", "1"]) == 0
    assert len(capsys.readouterr().out.strip().splitlines()) == 3
    monkeypatch.setattr("sys.stdin", io.StringIO("Ein Hund.\n"))
    assert main(["translate", str(run_dir)]) == 0
    assert len(capsys.readouterr().out.strip().splitlines()) == 1


def test_translate_errors(run_dir, tmp_path, capsys):
    assert main(["translate", str(run_dir), "Ein Hund.", "  "]) != 0
    assert "sentence 2 is blank" in capsys.readouterr().err
    assert main(["translate", str(run_dir), "Ein Hund.", "--beam", "0"]) != 0
    assert "--beam must be a positive int" in capsys.readouterr().err
    write_sst2(tmp_path / "data" / "sst2")
    out = tmp_path / "clf"
    assert main(["train", "--dataset", "sst2", "--model", "textcnn", "--data", str(tmp_path / "data"), "--out",
                 str(out), "--quiet", "--epochs", "1", "--embed-dim", "8"]) == 0
    capsys.readouterr()
    assert main(["translate", str(out), "Ein Hund."]) != 0
    assert "not a translation model" in capsys.readouterr().err


def test_attention_gru_recipe_and_refused_options(data, tmp_path, capsys):
    out = tmp_path / "gru"
    assert main(["train", "--dataset", "multi30k", "--model", "attention-gru", "--data", str(data), "--out", str(out),
                 "--quiet", "--epochs", "1", "--vocab-size", "100", "--embed-dim", "16", "--hidden-size", "16",
                 "--beam", "1"]) == 0
    assert json.loads((out / "config.json").read_text())["model"]["name"] == "attention_gru"
    capsys.readouterr()
    assert main(["train", "--dataset", "multi30k", "--data", str(data), "--out", str(tmp_path / "x"), "--quiet",
                 "--pooling", "max"]) != 0
    assert "--pooling does not apply to --dataset multi30k --model transformer" in capsys.readouterr().err


def test_an_interrupted_translation_run_resumes_to_the_model_of_an_uninterrupted_one(data, tmp_path, capsys,
                                                                                   monkeypatch):
    from lucidnet.train import CSVLogger
    from lucidnet.serialization.statedict import load

    tiny = ["train", "--dataset", "multi30k", "--model", "attention-gru", "--data", str(data), "--quiet", "--epochs",
            "3", "--vocab-size", "100", "--embed-dim", "16", "--hidden-size", "16", "--beam", "1"]
    assert main([*tiny, "--out", str(tmp_path / "straight")]) == 0

    def die(self, epoch, logs=None):  # Ctrl-C as the third epoch starts, after the second one's checkpoint
        if epoch == 2:
            raise KeyboardInterrupt

    with monkeypatch.context() as m:
        m.setattr(CSVLogger, "on_epoch_begin", die, raising=False)
        assert main([*tiny, "--out", str(tmp_path / "cut")]) == 130
    assert "interrupted" in capsys.readouterr().err
    cut = tmp_path / "cut"
    assert (cut / "checkpoint.safetensors").is_file() and not (cut / "metrics.json").exists()
    seen = []
    with monkeypatch.context() as m:
        m.setattr(CSVLogger, "on_epoch_begin", lambda self, epoch, logs=None: seen.append(epoch), raising=False)
        assert main([*tiny, "--out", str(cut), "--resume"]) == 0
    assert seen == [2]                          # only the epoch that was cut is trained again
    straight, resumed = (json.loads((tmp_path / d / "metrics.json").read_text()) for d in ("straight", "cut"))
    assert resumed["epochs"] == 3 and resumed["bleu"] == straight["bleu"] and resumed["val_loss"] == straight["val_loss"]
    assert (cut / "history.csv").read_text() == (tmp_path / "straight" / "history.csv").read_text()
    a, b = (load(tmp_path / d / "model.safetensors") for d in ("straight", "cut"))
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])
