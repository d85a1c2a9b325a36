"""Speech on FSDD: the splits, connected-digit utterances, the recipes learning (on synthetic tones, in seconds;
the full targets on the real data are the slow tests), evaluate, transcribe and the command line."""
import json
from pathlib import Path

import numpy as np
import pytest

from lucidnet.cli import main
from lucidnet.datasets import FSDD
from lucidnet.datasets.errors import DatasetError
from lucidnet.speech import RECIPES, evaluate, transcribe
from lucidnet.speech.data import connected_digits, load_split
from lucidnet.speech.recipes import TEST_SEED
from lucidnet.speech.scoring import align, edit_distance, error_rate
from lucidnet.train.recipe import run
from speech_fixture import SPEAKERS, write_fsdd

REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "fsdd"
SMALL_CNN = {"channels": [8, 16], "epochs": 8, "batch_size": 32, "lr": 1e-2}
SMALL_CRNN = {"channels": [32], "hidden": 32, "epochs": 12, "batch_size": 16, "lr": 1e-2, "utterances": 160,
              "test_utterances": 60}


@pytest.fixture(scope="module")
def fsdd(tmp_path_factory):
    return write_fsdd(tmp_path_factory.mktemp("fsdd"))


def test_official_split_never_mixes_recordings(fsdd):
    train, test = FSDD(fsdd).split("official")
    assert not {r.path for r in train} & {r.path for r in test}
    assert {r.index for r in test} == set(range(5)) and {r.index for r in train} == {5, 6, 7}
    assert {(r.speaker, r.digit) for r in test} == {(r.speaker, r.digit) for r in train}  # every pair on both sides
    assert len(train) + len(test) == len(FSDD(fsdd))


@pytest.mark.parametrize("speaker", SPEAKERS)
def test_speaker_folds_hold_one_speaker_out(fsdd, speaker):
    train, test = FSDD(fsdd).split(f"speaker:{speaker}")
    assert {r.speaker for r in test} == {speaker} and speaker not in {r.speaker for r in train}
    assert len(test) == 80 and len(train) == 160


def test_bad_splits_and_folders_are_refused(fsdd, tmp_path):
    with pytest.raises(ValueError, match="no speaker 'dan'; the speakers: ann, bob, cy"):
        FSDD(fsdd).split("speaker:dan")
    with pytest.raises(ValueError, match="split must be 'official' or 'speaker:NAME'"):
        FSDD(fsdd).split("random")
    (tmp_path / "x.wav").write_bytes(b"")
    with pytest.raises(DatasetError, match="not named DIGIT_SPEAKER_INDEX.wav"):
        FSDD(tmp_path)
    with pytest.raises(DatasetError, match="FSDD: the data was not found"):
        FSDD(tmp_path / "nothing")


def test_validation_comes_from_training_and_utterances_from_their_split(fsdd):
    split = load_split(fsdd, "official", 0.25, seed=0)
    paths = {k: {r.path for r in v} for k, v in split.recordings.items()}
    assert not paths["val"] & paths["train"] and not (paths["val"] | paths["train"]) & paths["test"]
    assert {r.index for r in split.recordings["val"]} <= {5, 6, 7}
    # each test utterance is made of test recordings only: the clips it holds are found among them
    utts = connected_digits(split.test, split.test_digits, 20, seed=TEST_SEED)
    for u in utts:
        assert 2 <= len(u.digits) <= 7 and u.digits == [int(split.test_digits[i]) for i in u.sources]
    again = connected_digits(split.test, split.test_digits, 20, seed=TEST_SEED)
    assert all(np.array_equal(a.audio, b.audio) for a, b in zip(utts, again))   # the fixed seed repeats them
    train_clips = {w.tobytes() for w in split.train}
    assert not any(split.test[i].tobytes() in train_clips for u in utts for i in u.sources)


def test_speed_perturbed_utterances_keep_their_digits(fsdd):
    split = load_split(fsdd, "official", 0.0, seed=0)
    for seed in range(10):    # one utterance a seed: the noise drawn after an utterance depends on its length
        (fast,), (slow,) = (connected_digits(split.train, split.train_digits, 1, seed=seed, speeds=(f,))
                            for f in (1.25, 0.8))
        assert fast.sources == slow.sources       # the same clips, gains and gaps are drawn
        assert fast.digits == [int(split.train_digits[i]) for i in fast.sources]
        speech = sum(len(split.train[i]) for i in fast.sources)
        silence = [len(fast.audio) - speech / 1.25, len(slow.audio) - speech / 0.8]
        assert abs(silence[0] - silence[1]) < 2 * 7, silence     # only the clips changed length, by the factor


def test_bad_speech_settings_are_refused(fsdd):
    for key, value, match in [("normalise", "speaker", "normalise must be one of global, utterance"),
                              ("warp", 0.7, r"warp \(the largest relative change, 0 for none\) must be in"),
                              ("speed", -0.1, "speed .* must be in")]:
        with pytest.raises(ValueError, match=match):
            run(RECIPES["crnn-ctc"], {key: value}, data=fsdd, verbose=0)


def test_scoring():
    assert edit_distance([1, 2, 3], [1, 3]) == 1 and edit_distance([], [4, 4]) == 2
    assert align([5], []) == [(5, None)]
    assert error_rate([[1, 2], [3, 4, 5, 6]], [[1, 2], [3, 4, 5, 6]]) == 0.0


def test_cnn_learns_and_evaluates_and_transcribes(fsdd, tmp_path):
    r = run(RECIPES["cnn"], SMALL_CNN, data=fsdd, out=tmp_path / "run", verbose=0)
    assert r.metrics["test_accuracy"] >= 0.9, r.metrics
    m = evaluate(tmp_path / "run")      # no data given: the folder the run trained on, from its config
    assert abs(m["accuracy"] - r.metrics["test_accuracy"]) < 1e-9 and np.sum(m["confusion_matrix"]) == 150
    out = transcribe(tmp_path / "run", [fsdd / "recordings" / "7_bob_1.wav"], top=2)
    assert out[0]["digits"] == "7" and len(out[0]["top"]) == 2 and out[0]["top"][0][1] > out[0]["top"][1][1]
    html = (tmp_path / "run" / "report.html").read_text()
    assert 'id="confusion"' in html


def test_crnn_ctc_learns_digit_strings(fsdd, tmp_path):
    r = run(RECIPES["crnn-ctc"], {**SMALL_CRNN, "split": "speaker:cy"}, data=fsdd, out=tmp_path / "run", verbose=0)
    # a few hundred steps take CTC past emitting only blanks (about 2.7 nats per digit here) but not yet to
    # clean best paths: the validation loss is what shows it learnt; the real-data test checks the error rate
    val = r.history.history["val_loss"]
    assert val[-1] < 1.8 and val[-1] < val[0] / 5, val
    # evaluate and transcribe normalise the features as the run did: the config records how
    assert r.config["features"]["normalise"] == RECIPES["crnn-ctc"].data["normalise"]
    m = evaluate(tmp_path / "run", fsdd)
    assert abs(m["digit_error_rate"] - r.metrics["test_digit_error_rate"]) < 1e-9
    beam = evaluate(tmp_path / "run", fsdd, beam=4)     # prefix beam search over the same outputs
    assert beam["utterances"] == 60 and 0 <= beam["digit_error_rate"] <= 7
    aligned = json.loads((tmp_path / "run" / "alignment.json").read_text())
    assert len(aligned) == 4 and len(aligned[0]["frames"]) == len(aligned[0]["labels"])
    html = (tmp_path / "run" / "report.html").read_text()
    assert 'id="alignment"' in html and 'id="confusion"' in html


def test_command_line(fsdd, tmp_path, capsys):
    out = tmp_path / "cli"
    assert main(["train", "--dataset", "fsdd", "--model", "cnn", "--data", str(fsdd), "--split", "speaker:ann",
                 "--epochs", "1", "--out", str(out), "--quiet"]) == 0
    assert json.loads((out / "config.json").read_text())["split"] == "speaker:ann"
    capsys.readouterr()
    assert main(["evaluate", str(out)]) == 0
    assert "fsdd speaker:ann test split (80 recordings)" in capsys.readouterr().out
    wav = str(fsdd / "recordings" / "3_ann_0.wav")
    assert main(["transcribe", str(out), wav]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith(f"{wav}: ") and line.count("(") == 1
    assert main(["train", "--dataset", "fsdd", "--split", "speaker:zed", "--data", str(fsdd), "--out",
                 str(tmp_path / "x"), "--quiet"]) == 2
    assert "no speaker 'zed'" in capsys.readouterr().err
    assert main(["train", "--dataset", "fsdd", "--model", "cnn", "--utterances", "10", "--data", str(fsdd)]) == 2
    assert "--utterances does not apply to --dataset fsdd --model cnn" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["train", "--dataset", "fsdd", "--split", "random"])
    assert main(["transcribe", str(out), str(tmp_path / "none.wav")]) == 2
    assert "none.wav: no such audio file" in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.skipif(not REAL.is_dir(), reason="FSDD is not in ../shared/data")
def test_short_cnn_on_real_fsdd(tmp_path):
    """CI's short version of the real runs below: the cnn recipe, 2 epochs, official split, on the real recordings."""
    r = run(RECIPES["cnn"], {"split": "official", "epochs": 2}, data=REAL, out=tmp_path / "run", verbose=0)
    assert r.metrics["test_accuracy"] >= 0.90, r.metrics   # 0.947 when written


@pytest.mark.slow
@pytest.mark.long
@pytest.mark.skipif(not REAL.is_dir(), reason="FSDD is not in ../shared/data")
@pytest.mark.parametrize("model,split,key,target", [
    ("cnn", "official", "test_accuracy", 0.99), ("crnn-ctc", "official", "test_digit_error_rate", 0.02)])
def test_full_targets_on_fsdd(model, split, key, target, tmp_path):
    r = run(RECIPES[model], {"split": split}, data=REAL, out=tmp_path / "run", verbose=0)
    value = r.metrics[key]
    assert (value >= target) if key == "test_accuracy" else (value <= target), r.metrics


@pytest.mark.slow
@pytest.mark.long
@pytest.mark.skipif(not REAL.is_dir(), reason="FSDD is not in ../shared/data")
def test_speaker_held_out_mean_on_fsdd(tmp_path):
    """The README's isolated-digit folds with the recipe's defaults: each speaker held out in turn; the mean
    accuracy is the target."""
    speakers = FSDD(REAL).speakers
    acc = [run(RECIPES["cnn"], {"split": f"speaker:{s}"}, data=REAL, verbose=0).metrics["test_accuracy"]
           for s in speakers]
    assert len(acc) == 6 and np.mean(acc) >= 0.85, dict(zip(speakers, acc))


@pytest.mark.slow
@pytest.mark.long
@pytest.mark.skipif(not REAL.is_dir(), reason="FSDD is not in ../shared/data")
def test_connected_digit_speaker_folds_on_fsdd(tmp_path):
    """The README's connected-digit folds with the recipe's defaults: the mean digit error rate is the target."""
    speakers = FSDD(REAL).speakers
    der = [run(RECIPES["crnn-ctc"], {"split": f"speaker:{s}"}, data=REAL, verbose=0).metrics["test_digit_error_rate"]
           for s in speakers]
    assert len(der) == 6 and np.mean(der) <= 0.15, dict(zip(speakers, der))
