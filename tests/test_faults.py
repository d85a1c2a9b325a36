"""Faults injected into real training runs (``fault_harness``; ``python benchmarks/faults.py`` runs the full
figures): SIGKILL at random moments and inside a checkpoint write, a file too large, a full disk, two runs into
one directory, NaN in the data or the loss. After each: the checkpoint readable and never older, a clear error,
no temporary file left, and the resumed run bit-identical to one that never stopped."""
import errno
import json
import os

import pytest

from fault_harness import (concurrent_cli_runs, disk_full, disk_full_injected, file_too_large, kill_inside_write,
                           kill_runs, lock_race, nan_run, reference, temps)
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


def test_disk_full_during_a_checkpoint_write(workdir):
    r = disk_full_injected(workdir)
    assert r.ok, r


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


def test_two_runs_into_one_directory(workdir):
    r = concurrent_cli_runs(workdir)
    assert r.ok, r


def test_a_lock_being_taken_is_not_taken_twice(workdir):
    # without the turn-taking, the second process read the first's lock file while it was still empty (pid 0:
    # "stale"), removed it and took the directory too
    slow, fast, pid = lock_race(workdir)
    assert slow.startswith("held") and fast.startswith("refused:") and f"process {pid}" in fast, (slow, fast)


def test_stale_temporary_files_are_removed_and_nothing_else(tmp_path):
    from lucidnet.serialization.atomic import remove_stale_temps
    names = [".checkpoint.safetensors.0123456789ab.tmp", ".checkpoint.safetensors.mine.tmp", "checkpoint.safetensors",
             ".model.safetensors.0123456789ab.tmp", ".checkpoint.safetensors.0123456789ab.tmp.keep"]
    for n in names:
        (tmp_path / n).write_bytes(b"x")
    assert remove_stale_temps(tmp_path / "checkpoint.safetensors") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(names[1:])
