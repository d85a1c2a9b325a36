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
