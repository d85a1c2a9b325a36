"""The text commands end to end on tiny fixtures: ``lucidnet train --dataset sst2 | tinyshakespeare``,
``lucidnet predict RUN_DIR "text"``, ``lucidnet generate RUN_DIR``."""
import json

import pytest

from lucidnet.cli import main
from lucidnet.train.rundir import read_validations
from text_fixture import write_shakespeare, write_sst2


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("textdata")
    write_sst2(root / "sst2")
    write_shakespeare(root / "tinyshakespeare")
    return root


def _train(data, out, *argv):
    return main(["train", "--data", str(data), "--out", str(out), "--quiet", *argv])


@pytest.mark.parametrize("model, extra", [
    ("textcnn", ["--embed-dim", "16"]),
    ("bilstm", ["--embed-dim", "8", "--hidden-size", "8"]),
])
def test_train_sst2_then_predict(data, tmp_path, capsys, model, extra):
    out = tmp_path / model
    assert _train(data, out, "--dataset", "sst2", "--model", model, "--epochs", "5", "--batch-size", "16",
                  "--lr", "0.02", *extra) == 0
    printed = capsys.readouterr().out
    assert "test accuracy" in printed
    for f in ("model.safetensors", "config.json", "vocab.json", "history.csv", "metrics.json", "report.html"):
        assert (out / f).is_file(), f
    assert not (out / "checkpoint.safetensors").exists()
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["test_accuracy"] > 0.9 and 1 <= metrics["best_epoch"] <= 5
    assert metrics["phrases_dropped_as_dev_or_test"] >= 1  # the fixture plants one
    config = json.loads((out / "config.json").read_text())
    assert config["task"] == "text-classification" and config["classes"] == ["negative", "positive"]
    assert main(["predict", str(out), "A gripping, superb film!", "dull and boring"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("'A gripping, superb film!': positive") and "negative" in lines[1].split(":")[1][:10]
    # evaluate reads the test split again: the accuracy of metrics.json, per class, and the confusion matrix
    assert main(["evaluate", str(out), "--data", str(data)]) == 0
    printed = capsys.readouterr().out
    assert f"accuracy {metrics['test_accuracy']:.4f}" in printed and "negative" in printed
    assert "confusion matrix" in printed
    (out / "report.html").unlink()
    assert main(["report", str(out)]) == 0 and (out / "report.html").is_file()
    assert "Doctor:" in capsys.readouterr().out


def test_train_text_rejects_a_model_of_another_family(data, tmp_path, capsys):
    assert _train(data, tmp_path / "x", "--dataset", "sst2", "--model", "char-lstm") == 2
    assert "--dataset sst2 takes --model bilstm, bilstm-distilled, lstm, minilm, minilm-frozen, textcnn" in capsys.readouterr().err
    assert _train(data, tmp_path / "x", "--dataset", "tinyshakespeare", "--model", "mf") == 2


def test_generate_refuses_a_classifier_run(data, tmp_path, capsys):
    out = tmp_path / "cnn"
    assert _train(data, out, "--dataset", "sst2", "--model", "textcnn", "--epochs", "1", "--embed-dim", "8") == 0
    capsys.readouterr()
    assert main(["generate", str(out), "--prompt", "ROMEO:"]) == 2
    assert "not a language model" in capsys.readouterr().err


def test_train_char_lstm_then_generate(data, tmp_path, capsys):
    out = tmp_path / "lm"
    assert _train(data, out, "--dataset", "tinyshakespeare", "--model", "char-lstm", "--epochs", "4",
                  "--batch-size", "8", "--seq-len", "32", "--embed-dim", "8", "--hidden-size", "32",
                  "--num-layers", "1", "--lr", "0.02") == 0
    printed = capsys.readouterr().out
    assert "validation loss" in printed and "ROMEO:" in printed
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["val_loss"] < 1.5 and metrics["epochs"] == 4  # the fixture repeats one verse
    assert (out / "sample.txt").read_text().startswith("ROMEO:")
    assert "Doctor:" in printed and (out / "report.html").is_file()  # with the monitor's per-layer statistics
    assert json.loads((out / "monitor.json").read_text())
    target = tmp_path / "gen.txt"
    assert main(["generate", str(out), "--prompt", "JULIET:", "--length", "50", "--temperature", "0.5",
                 "--top-k", "5", "--seed", "1", "--out", str(target)]) == 0
    text = capsys.readouterr().out
    assert text.startswith("JULIET:") and len(text.rstrip("\n")) >= 50
    assert target.read_text() == text[:-1]
    assert main(["generate", str(out), "--prompt", "ROMEO~"]) == 2
    assert "never saw" in capsys.readouterr().err
    # evaluate: the validation loss of metrics.json again, and its perplexity (from the data the run was trained
    # on: no --data needed); report rebuilds report.html
    assert main(["evaluate", str(out)]) == 0
    printed = capsys.readouterr().out
    assert f"loss {metrics['val_loss']:.4f}" in printed and "perplexity" in printed
    (out / "report.html").unlink()
    assert main(["report", str(out)]) == 0 and (out / "report.html").is_file()
    assert main(["predict", str(out), "ROMEO"]) == 2
    assert "lucidnet generate" in capsys.readouterr().err


@pytest.mark.parametrize("model, extra, least", [
    ("minilm", ["--epochs", "4", "--lr", "3e-3", "--warmup", "0.1", "--layer-decay", "0.9", "--val-check-interval",
                "0.5"], 0.85),
    ("minilm", ["--epochs", "4", "--lr", "3e-3", "--warmup", "0.1", "--val-check-interval", "0.5", "--ema-decay",
                "0.8"], 0.85),  # dev evaluated and the best kept on the moving average of the weights
    # a frozen random encoder: its mean-pooled words carry the cue words only weakly (chance is 0.5)
    ("minilm-frozen", ["--epochs", "30", "--lr", "0.05"], 0.65),
])
def test_train_pretrained_bert_then_predict(data, tmp_path, capsys, model, extra, least):
    """Fine-tuning (and the frozen baseline) from a BERT folder in the Hugging Face layout, then predict and
    evaluate from the run directory alone (its tokenizer.json is copied there)."""
    pytest.importorskip("tokenizers")
    from bert_fixture import FILL_WORDS, make_bert_folder
    folder = make_bert_folder(tmp_path / "bert", words=FILL_WORDS)
    out = tmp_path / model
    assert _train(data, out, "--dataset", "sst2", "--model", model, "--pretrained", str(folder),
                  "--batch-size", "16", *extra) == 0
    assert "test accuracy" in capsys.readouterr().out
    for f in ("model.safetensors", "config.json", "tokenizer.json", "metrics.json", "report.html"):
        assert (out / f).is_file(), f
    assert not (out / "vocab.json").exists()
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["test_accuracy"] > least, metrics
    evals = metrics["dev_evaluations"]  # minilm: dev evaluated twice an epoch (--val-check-interval 0.5), the best kept
    assert len(evals) == metrics["epochs"] * (2 if model == "minilm" else 1)
    if model == "minilm":  # every evaluation in the run directory too, and drawn where it was made in the report
        v = read_validations(out / "validations.csv")
        assert v["step"] == [e["step"] for e in evals] and v["val_accuracy"] == [e["val_accuracy"] for e in evals]
        assert v["epoch"] == [0.5 * (i + 1) for i in range(len(evals))]
        assert "at every validation, inside the epochs" in (out / "report.html").read_text()
    else:
        assert not (out / "validations.csv").exists()
    best = max(evals, key=lambda e: e["val_accuracy"])  # the first of the best
    assert (metrics["dev_accuracy"], metrics["best_epoch"], metrics["best_step"]) == \
        (best["val_accuracy"], best["epoch"], best["step"])
    config = json.loads((out / "config.json").read_text())
    assert config["tokenizer"] == "wordpiece" and config["model"]["name"] == "bert_classifier"
    folder.rename(tmp_path / "moved")  # the run needs nothing from the pretrained folder any more
    assert main(["predict", str(out), "A gripping, superb film!", "dull and boring"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("'A gripping, superb film!':") and len(lines) == 2
    if model == "minilm":
        assert lines[0].startswith("'A gripping, superb film!': positive") and "negative" in lines[1].split(":")[1][:10]
    assert main(["evaluate", str(out), "--data", str(data)]) == 0
    assert f"accuracy {metrics['test_accuracy']:.4f}" in capsys.readouterr().out


def test_pretrained_options_are_refused_where_they_do_not_apply(data, tmp_path, capsys):
    assert _train(data, tmp_path / "x", "--dataset", "sst2", "--model", "bilstm", "--pretrained", "/x") == 2
    assert "--pretrained" in capsys.readouterr().err
    assert _train(data, tmp_path / "x", "--dataset", "sst2", "--model", "bilstm", "--ema-decay", "0.9") == 2
    assert "--ema-decay" in capsys.readouterr().err
    assert _train(data, tmp_path / "y", "--dataset", "sst2", "--model", "minilm", "--pretrained",
                  str(tmp_path / "nothing")) != 0
    assert "no such folder" in capsys.readouterr().err


def test_a_distilled_bilstm_learns_from_a_teacher_run(data, tmp_path, capsys):
    """bilstm-distilled: the teacher's logits on the training phrases and on augmented copies of them; the
    student (tiny here) learns the task from them; a missing or mismatched teacher is refused by name."""
    teacher = tmp_path / "teacher"
    assert _train(data, teacher, "--dataset", "sst2", "--model", "textcnn", "--embed-dim", "16", "--epochs", "5",
                  "--batch-size", "16", "--lr", "0.02") == 0
    student = tmp_path / "student"
    assert _train(data, student, "--dataset", "sst2", "--model", "bilstm-distilled", "--teacher", str(teacher),
                  "--embed-dim", "8", "--hidden-size", "8", "--epochs", "5", "--batch-size", "16", "--lr", "0.02",
                  "--temperature", "2", "--alpha", "0.5", "--augment-copies", "3", "--student-embeddings", "random") == 0
    metrics = json.loads((student / "metrics.json").read_text())
    taught = json.loads((teacher / "metrics.json").read_text())
    assert metrics["test_accuracy"] > 0.9, metrics
    assert metrics["train_phrases"] > 2 * taught["train_phrases"]  # the augmented copies
    config = json.loads((student / "config.json").read_text())
    assert config["train"]["teacher"] == str(teacher) and config["train"]["augment_copies"] == 3
    assert "val_accuracy" in (student / "history.csv").read_text()
    assert len(list(teacher.glob("distill-logits-*.safetensors"))) == 1  # kept for a later student
    capsys.readouterr()
    assert main(["predict", str(student), "A gripping, superb film!"]) == 0
    assert capsys.readouterr().out.startswith("'A gripping, superb film!': positive")
    assert _train(data, tmp_path / "x", "--dataset", "sst2", "--model", "bilstm-distilled") == 2
    assert "--teacher RUN" in capsys.readouterr().err
    assert _train(data, tmp_path / "y", "--dataset", "sst2", "--model", "bilstm", "--teacher", str(teacher)) == 2
    assert "--teacher" in capsys.readouterr().err
    assert _train(data, tmp_path / "z", "--dataset", "sst2", "--model", "bilstm-distilled", "--teacher",
                  str(tmp_path / "nowhere")) == 2
    assert "not a run directory" in capsys.readouterr().err
    assert not any((tmp_path / d).exists() for d in "xyz")  # refused before any run directory is made


def test_a_distilled_bilstm_reads_its_bert_teachers_tokens_and_embeddings(data, tmp_path, capsys):
    """--student-embeddings teacher: the student reads the teacher's WordPiece tokens from the teacher's word
    embeddings (teacher-frozen: left as they are); its run predicts and evaluates from its tokenizer.json; the
    option is refused by name with a teacher that has no such table, with a bad value, or with another embed_dim."""
    pytest.importorskip("tokenizers")
    import numpy as np
    from safetensors.numpy import load_file
    from bert_fixture import FILL_WORDS, make_bert_folder
    folder = make_bert_folder(tmp_path / "bert", words=FILL_WORDS)
    teacher = tmp_path / "teacher"
    assert _train(data, teacher, "--dataset", "sst2", "--model", "minilm", "--pretrained", str(folder),
                  "--batch-size", "16", "--epochs", "4", "--lr", "3e-3", "--warmup", "0.1") == 0
    table = load_file(str(teacher / "model.safetensors"))["bert.embeddings.word_embeddings.weight"]
    for how in ("teacher-frozen", "teacher"):
        student = tmp_path / f"student-{how}"
        assert _train(data, student, "--dataset", "sst2", "--model", "bilstm-distilled", "--teacher", str(teacher),
                      "--student-embeddings", how, "--hidden-size", "8", "--epochs", "5", "--batch-size", "16",
                      "--lr", "0.02") == 0
        config = json.loads((student / "config.json").read_text())
        assert config["tokenizer"] == "wordpiece" and config["train"]["student_embeddings"] == how
        assert config["model"]["embed_dim"] == table.shape[1] and config["model"]["vocab_size"] == table.shape[0]
        assert (student / "tokenizer.json").is_file() and not (student / "vocab.json").exists()
        learned = load_file(str(student / "model.safetensors"))["embedding.weight"]
        assert np.array_equal(learned, table) == (how == "teacher-frozen")
        metrics = json.loads((student / "metrics.json").read_text())
        assert metrics["test_accuracy"] > 0.9, metrics
        capsys.readouterr()
        assert main(["predict", str(student), "A gripping, superb film!"]) == 0
        assert capsys.readouterr().out.startswith("'A gripping, superb film!': positive")
        assert main(["evaluate", str(student), "--data", str(data)]) == 0
        assert f"accuracy {metrics['test_accuracy']:.4f}" in capsys.readouterr().out
    assert len(list(teacher.glob("distill-logits-*.safetensors"))) == 1  # both students: the same inputs, once
    words_teacher = tmp_path / "cnn"
    assert _train(data, words_teacher, "--dataset", "sst2", "--model", "textcnn", "--embed-dim", "8", "--epochs",
                  "1") == 0
    capsys.readouterr()
    assert _train(data, tmp_path / "x", "--dataset", "sst2", "--model", "bilstm-distilled", "--teacher",
                  str(words_teacher)) == 2  # the default, teacher-frozen, needs a BERT teacher
    err = capsys.readouterr().err
    assert "student_embeddings 'teacher'" in err and "TextCNN" in err and "word vocabulary" in err, err
    with pytest.raises(SystemExit) as bad:
        _train(data, tmp_path / "y", "--dataset", "sst2", "--model", "bilstm-distilled", "--teacher", str(teacher),
               "--student-embeddings", "word2vec")
    assert bad.value.code == 2 and "--student-embeddings: invalid choice: 'word2vec'" in capsys.readouterr().err
    assert _train(data, tmp_path / "z", "--dataset", "sst2", "--model", "bilstm-distilled", "--teacher",
                  str(teacher), "--student-embeddings", "teacher", "--embed-dim", "8") == 2
    assert "embed_dim 8 does not apply" in capsys.readouterr().err
    assert _train(data, tmp_path / "w", "--dataset", "sst2", "--model", "bilstm", "--student-embeddings",
                  "teacher") == 2
    assert "--student-embeddings" in capsys.readouterr().err


def test_student_embeddings_setting_is_checked_in_python():
    from lucidnet.text.recipes import RECIPES, _distiller
    tcfg = dict(RECIPES["bilstm-distilled"].train, teacher=".", student_embeddings="glove")
    with pytest.raises(ValueError, match="student_embeddings must be one of random, teacher, teacher-frozen"):
        _distiller("bilstm-distilled", tcfg)
