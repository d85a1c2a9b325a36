"""``lucidnet.train.rundir.open_run``: what a run directory keeps when a run fails, and its lock."""
import pytest

from lucidnet.train import rundir
from lucidnet.train.rundir import RunDirError, open_run


def test_a_run_that_fails_before_it_trained_leaves_nothing(tmp_path):
    out = tmp_path / "run"
    with pytest.raises(RuntimeError):
        with open_run(out, "mlp", {"epochs": 1}, 0):
            (out / rundir.HISTORY).write_text("epoch,loss\n")
            raise RuntimeError("bad input")
    assert not out.exists()


def test_a_failure_after_the_model_is_saved_keeps_the_run(tmp_path):
    """The report failing (or Ctrl-C while it is drawn) must not cost the trained model."""
    out = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        with open_run(out, "mlp", {"epochs": 1}, 0):
            (out / rundir.MODEL).write_bytes(b"weights")
            (out / rundir.METRICS).write_text("{}")
            raise KeyboardInterrupt
    assert (out / rundir.MODEL).read_bytes() == b"weights" and (out / rundir.METRICS).is_file()
    assert not (out / rundir.LOCK).exists()


def test_the_lock_is_not_taken_twice_by_one_process(tmp_path):
    out = tmp_path / "run"
    with open_run(out, "mlp", {"epochs": 1}, 0):
        with pytest.raises(RunDirError, match="in use by another run of this process"):
            with open_run(out, "mlp", {"epochs": 1}, 0, overwrite=True):
                pass
        assert (out / rundir.LOCK).is_file()        # the outer run still holds it
    assert not (out / rundir.LOCK).exists()


def _finished_run(out, weights=b"old weights"):
    with open_run(out, "mlp", {"epochs": 1}, 0):
        (out / rundir.MODEL).write_bytes(weights)
        (out / rundir.METRICS).write_text("{}")
        (out / rundir.PLOTS).mkdir()
        (out / rundir.PLOTS / "loss.png").write_bytes(b"png")


def test_overwrite_that_fails_before_training_gives_the_replaced_run_back(tmp_path):
    out = tmp_path / "run"
    _finished_run(out)
    with pytest.raises(ValueError):
        with open_run(out, "mlp", {"epochs": 2}, 0, overwrite=True):
            assert not (out / rundir.MODEL).exists()           # set aside while the new run starts
            (out / rundir.PREPROCESS).write_text("{}")
            raise ValueError("an unreadable file")
    assert (out / rundir.MODEL).read_bytes() == b"old weights" and (out / rundir.PLOTS / "loss.png").is_file()
    assert not (out / rundir.PREPROCESS).exists() and not (out / rundir.REPLACED).exists()
    assert rundir.read_json(out / rundir.RUN)["settings"] == {"epochs": 1}


def test_overwrite_that_trains_replaces_the_run(tmp_path):
    out = tmp_path / "run"
    _finished_run(out)
    with open_run(out, "mlp", {"epochs": 2}, 0, overwrite=True):
        (out / rundir.MODEL).write_bytes(b"new weights")
    assert (out / rundir.MODEL).read_bytes() == b"new weights" and not (out / rundir.PLOTS).exists()
    assert not (out / rundir.REPLACED).exists()


def test_a_process_killed_while_replacing_finds_the_replaced_run_again(tmp_path):
    out = tmp_path / "run"
    _finished_run(out)
    rundir._set_aside(out, [rundir.MODEL, rundir.METRICS, rundir.RUN])  # as a killed overwrite leaves it
    (out / rundir.RUN).write_text('{"recipe": "mlp", "seed": 0, "settings": {}, "status": "running"}')
    with pytest.raises(RunDirError, match="already holds a finished run"):
        with open_run(out, "mlp", {"epochs": 2}, 0):
            pass
    assert (out / rundir.MODEL).read_bytes() == b"old weights" and not (out / rundir.REPLACED).exists()
