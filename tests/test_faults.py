"""Faults injected into real training runs (``fault_harness``; ``python benchmarks/faults.py`` runs the full
figures): SIGKILL at random moments and inside a checkpoint write, a file too large, a full disk, two runs into
one directory, NaN in the data or the loss. After each: the checkpoint readable and never older, a clear error,
no temporary file left, and the resumed run bit-identical to one that never stopped."""
import errno
import json
import os
import subprocess
import sys
import time

import pytest

import fault_child
from fault_harness import (child_env, disk_full, file_too_large, identical, kill_inside_write, kill_runs, nan_run,
                           reference, temps, weights)
from lucidnet.serialization import load_checkpoint
from lucidnet.train import rundir

KILLS = int(os.environ.get("LUCIDNET_FAULT_KILLS", 20))


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("faults")


@pytest.fixture(scope="module")
def ref(workdir):
    return reference(workdir)


def test_sigkill_at_random_moments_loses_nothing(workdir, ref):
    c = kill_runs(workdir / "kills", ref, KILLS, seed=0)
    assert c.problems == []
    assert c.kills == KILLS and c.lost == 0 and c.leftovers == 0
    assert c.runs >= KILLS // 5 and c.identical == c.runs


@pytest.mark.parametrize("step", [1, 10, 17])  # the first checkpoint, one mid-epoch, the first of epoch 2
def test_sigkill_inside_a_checkpoint_write(workdir, ref, step):
    r = kill_inside_write(workdir, ref, step)
    assert r.ok, r


def test_file_too_large(workdir, ref):
    r = file_too_large(workdir, ref)
    assert r.ok, r
    assert "OSError: [Errno 27] File too large: " in r.error


def _half_then_enospc(real_save):
    """A safetensors writer that writes half the file, then fails as a full disk does."""
    def save_file(tensors, filename, metadata=None):
        real_save(tensors, filename, metadata=metadata)
        with open(filename, "r+b") as f:
            f.truncate(os.path.getsize(filename) // 2)
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    return save_file


def test_disk_full_during_a_checkpoint_write(tmp_path, monkeypatch, capsys):
    import safetensors.numpy
    fault_child.main([str(tmp_path / "ref.safetensors"), str(tmp_path / "ref-final.safetensors")])
    ckpt, final = tmp_path / "checkpoint.safetensors", tmp_path / "final.safetensors"
    real = safetensors.numpy.save_file
    full_from = 12

    class FullDisk(fault_child.Callback):
        def on_batch_begin(self, batch, logs=None):
            if self.trainer.global_step + 1 == full_from:
                monkeypatch.setattr(safetensors.numpy, "save_file", _half_then_enospc(real))

    capsys.readouterr()
    assert fault_child.main([str(ckpt), str(final)], extra=[FullDisk()]) == 3
    out = capsys.readouterr().out
    assert f"error: OSError: [Errno 28] No space left on device: '{ckpt}'" in out
    assert load_checkpoint(ckpt)["step"] == full_from - 1          # the previous checkpoint, intact
    assert temps(tmp_path) == [] and not final.exists()           # no partial file
    monkeypatch.undo()                                             # space again: resume
    assert fault_child.main([str(ckpt), str(final)]) == 0
    assert identical(weights(final), weights(tmp_path / "ref-final.safetensors"))


def test_disk_full_during_a_json_write(tmp_path, monkeypatch):
    from lucidnet.serialization import atomic
    path = tmp_path / "metrics.json"
    rundir.write_json(path, {"test_accuracy": 0.5})

    class FullFile:
        def __init__(self, name, mode):
            self.f = open(name, mode)

        def write(self, b):
            self.f.write(b[: len(b) // 2])
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

    monkeypatch.setattr(atomic, "open", FullFile, raising=False)
    with pytest.raises(OSError, match=r"\[Errno 28\] No space left on device: .*metrics.json"):
        rundir.write_json(path, {"test_accuracy": 0.9})
    assert json.loads(path.read_text()) == {"test_accuracy": 0.5} and temps(tmp_path) == []


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tiny tmpfs needs root")
def test_disk_full_on_a_real_file_system(workdir, ref):
    r = disk_full(workdir, ref)
    if r.error.startswith("not measured"):
        pytest.skip(r.error)
    assert r.ok, r


@pytest.mark.parametrize("target", [False, True], ids=["data", "target"])
def test_nan_stops_the_run_naming_the_cause_and_keeps_the_last_good_checkpoint(workdir, target):
    r = nan_run(workdir, target)
    assert r.ok, r


def _lucidnet(*args):
    return subprocess.Popen([sys.executable, "-m", "lucidnet", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=child_env())


def test_two_runs_into_one_directory(tmp_path):
    out = tmp_path / "run"
    first = _lucidnet("train", "--epochs", "1", "--quiet", "--out", str(out))
    try:
        deadline = time.monotonic() + 120
        while not (out / rundir.LOCK).exists():
            assert first.poll() is None and time.monotonic() < deadline, first.communicate()
            time.sleep(0.05)
        for extra in ([], ["--overwrite"]):
            second = _lucidnet("train", "--epochs", "1", "--quiet", "--out", str(out), *extra)
            _, err = second.communicate(timeout=120)
            assert second.returncode == 2 and f"in use by another run (process {first.pid})" in err, err
    finally:
        _, err = first.communicate(timeout=300)
    assert first.returncode == 0, err
    assert json.loads((out / "run.json").read_text())["status"] == "finished" and (out / "model.safetensors").is_file()


SLOW_TAKER = """
import os, sys, time
from lucidnet.train.rundir import open_run, RunDirError
if sys.argv[2] == "slow":              # a slow disk: the lock file exists, its pid not yet written
    fdopen = os.fdopen
    os.fdopen = lambda *a, **k: (time.sleep(1.5), fdopen(*a, **k))[1]
try:
    with open_run(sys.argv[1], "mlp", {}, 0, overwrite=True):
        print("held", flush=True)
        time.sleep(2)
except RunDirError as e:
    print("refused:", e, flush=True)
"""


def test_a_lock_being_taken_is_not_taken_twice(tmp_path):
    # without the turn-taking, the second process read the first's lock file while it was still empty (pid 0:
    # "stale"), removed it and took the directory too
    out = tmp_path / "run"
    out.mkdir()
    slow = subprocess.Popen([sys.executable, "-c", SLOW_TAKER, str(out), "slow"], stdout=subprocess.PIPE, text=True,
                            env=child_env())
    deadline = time.monotonic() + 60
    while not (out / rundir.LOCK).exists():
        assert time.monotonic() < deadline
        time.sleep(0.01)
    fast = subprocess.run([sys.executable, "-c", SLOW_TAKER, str(out), "fast"], capture_output=True, text=True,
                          env=child_env(), timeout=60)
    assert slow.communicate(timeout=60)[0].startswith("held")
    assert fast.stdout.startswith("refused:") and f"process {slow.pid}" in fast.stdout, fast.stdout + fast.stderr


def test_stale_temporary_files_are_removed_and_nothing_else(tmp_path):
    from lucidnet.serialization.atomic import remove_stale_temps
    names = [".checkpoint.safetensors.0123456789ab.tmp", ".checkpoint.safetensors.mine.tmp", "checkpoint.safetensors",
             ".model.safetensors.0123456789ab.tmp", ".checkpoint.safetensors.0123456789ab.tmp.keep"]
    for n in names:
        (tmp_path / n).write_bytes(b"x")
    assert remove_stale_temps(tmp_path / "checkpoint.safetensors") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(names[1:])
