"""Data-parallel training over MPI (``lucidnet.distributed``, ``DistributedDataParallel``, ``SyncBatchNorm``,
``DistributedSampler``, ``fit`` under mpiexec).

The first tests run in this process (no MPI): the sampler against PyTorch's, SyncBatchNorm's arithmetic with a
stand-in for the sum over ranks, what needs a world (the backward hooks DistributedDataParallel uses are
tested in test_autograd.py). The ``mpi`` tests start
``mpiexec -n 2`` on this machine (tests/mpi_programs.py), each with a timeout, one at a time: 2 ranks with
B/2 samples each against one process with B, a mismatched model, a killed and a failing rank, rank-0-only
output of ``lucidnet train --nproc 2``, a resumed run. In CI (CI=true) a skipped ``mpi`` test fails the
session (conftest.py): mpi4py and mpich come with the test extra.
"""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import lucidnet as ln
import lucidnet.distributed as dist
from lucidnet.data import DistributedSampler
from lucidnet.fused.norm import batch_norm, sync_batch_norm
from lucidnet.train.distributed import per_rank_batch, slice_batch

ROOT = Path(__file__).resolve().parent.parent
PROGRAMS = Path(__file__).resolve().parent / "mpi_programs.py"
TIMEOUT = 180  # seconds for any mpiexec run: no test can hang


# ---- DistributedSampler against PyTorch's ---------------------------------------------------------------

@pytest.mark.parity
def test_sampler_matches_pytorch_without_shuffle():
    from torch.utils.data.distributed import DistributedSampler as TorchSampler
    for n in (1, 2, 3, 5, 10, 11, 64, 101):
        for replicas in (1, 2, 3, 4, 8):
            for drop_last in (False, True):
                for rank in range(replicas):
                    theirs = TorchSampler(range(n), replicas, rank, shuffle=False, drop_last=drop_last)
                    ours = DistributedSampler(range(n), replicas, rank, shuffle=False, drop_last=drop_last)
                    assert list(ours) == list(theirs) and len(ours) == len(theirs), (n, replicas, rank, drop_last)


@pytest.mark.parity
def test_sampler_shards_its_permutation_as_pytorch_does():
    """Shuffled: PyTorch's padding and sharding applied to our permutation of the epoch (seed + epoch)."""
    from torch.utils.data.distributed import DistributedSampler as TorchSampler
    for n, replicas, drop_last in ((10, 3, False), (10, 3, True), (7, 4, False), (64, 2, False), (3, 5, False)):
        for epoch in (0, 1):
            whole = DistributedSampler(range(n), 1, 0, shuffle=True, seed=5)
            whole.set_epoch(epoch)
            order = list(whole)
            assert sorted(order) == list(range(n))
            shards = []
            for rank in range(replicas):
                ours = DistributedSampler(range(n), replicas, rank, shuffle=True, seed=5, drop_last=drop_last)
                ours.set_epoch(epoch)
                positions = TorchSampler(range(n), replicas, rank, shuffle=False, drop_last=drop_last)
                assert list(ours) == [order[i] for i in positions]
                shards.append(list(ours))
            if drop_last or n % replicas == 0:  # no padding: disjoint
                assert len({i for s in shards for i in s}) == sum(map(len, shards))


def test_sampler_epochs_and_errors():
    a, b = DistributedSampler(range(20), 2, 0, seed=1), DistributedSampler(range(20), 2, 1, seed=1)
    first = list(a)
    a.set_epoch(1)
    b.set_epoch(1)
    assert list(a) != first and sorted(list(a) + list(b)) == list(range(20))  # a new order, the same on every rank
    with pytest.raises(ValueError, match="Invalid rank 2"):
        DistributedSampler(range(5), 2, 2)
    with pytest.raises(ValueError, match="not been initialized"):
        DistributedSampler(range(5))  # no world: say so, as PyTorch does


def test_per_rank_batch_and_slices():
    assert per_rank_batch(128, 2) == 64 and per_rank_batch(7, 2) == 4 and per_rank_batch(1, 4) == 1
    x, y = np.arange(14).reshape(7, 2), np.arange(7)
    parts = [slice_batch((ln.tensor(x), y), r, 3) for r in range(3)]
    assert [p[1].tolist() for p in parts] == [[0, 1, 2], [3, 4], [5, 6]]
    assert np.array_equal(np.concatenate([p[0].numpy() for p in parts]), x)
    assert [slice_batch((x[:1], y[:1]), r, 2)[1].tolist() for r in range(2)] == [[0], [0]]
    assert slice_batch({"x": x, "n": 3}, 1, 2)["n"] == 3


# ---- SyncBatchNorm's arithmetic ----------------------------------------------------------------------------

def test_sync_batch_norm_is_batch_norm_of_every_ranks_batch():
    """A stand-in 'sum over 2 ranks' that doubles each sum (two ranks holding the same batch): the statistics
    and the input's gradient are those of the batch twice over, the parameter gradients this rank's share."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 3, 5, 5))
    g = rng.standard_normal((4, 3, 5, 5))

    def run(fn, inputs, **kw):
        xt = ln.from_numpy(inputs.copy()).requires_grad_()
        w, b = ln.from_numpy(np.full(3, 1.5)).requires_grad_(), ln.from_numpy(np.full(3, 0.2)).requires_grad_()
        rm, rv = ln.zeros(3, dtype=ln.float64), ln.ones(3, dtype=ln.float64)
        out = fn(xt, rm, rv, w, b, training=True, **kw)
        out.backward(ln.from_numpy(np.concatenate([g] * (len(inputs) // len(x)))))
        return out.numpy(), xt.grad.numpy(), w.grad.numpy(), b.grad.numpy(), rm.numpy(), rv.numpy()

    double = lambda a: a.__imul__(2)  # noqa: E731
    synced = run(sync_batch_norm, x, all_reduce=double)
    twice = run(batch_norm, np.concatenate([x, x]))
    np.testing.assert_allclose(synced[0], twice[0][:4], atol=1e-12)
    np.testing.assert_allclose(synced[1], twice[1][:4], atol=1e-12)      # d(both ranks' losses)/dx
    np.testing.assert_allclose(synced[2], twice[2] / 2, atol=1e-12)      # this rank's share
    np.testing.assert_allclose(synced[3], twice[3] / 2, atol=1e-12)
    np.testing.assert_allclose(synced[4:], twice[4:], atol=1e-12)        # running statistics of 2x the samples


def test_convert_sync_batchnorm_keeps_parameters_and_statistics():
    net = ln.nn.Sequential(ln.nn.Conv2d(2, 4, 3), ln.nn.BatchNorm2d(4), ln.nn.Sequential(ln.nn.BatchNorm1d(4)))
    bn = net[1]
    bn.running_mean.array[:] = 3.0
    converted = ln.nn.SyncBatchNorm.convert_sync_batchnorm(net)
    assert isinstance(converted[1], ln.nn.SyncBatchNorm) and isinstance(converted[2][0], ln.nn.SyncBatchNorm)
    assert converted[1].weight is bn.weight and converted[1].running_mean is bn.running_mean
    x = ln.randn(3, 2, 6, 6)
    ln.manual_seed(0)
    reference = ln.nn.Sequential(ln.nn.Conv2d(2, 4, 3), ln.nn.BatchNorm2d(4))
    ln.manual_seed(0)
    synced = ln.nn.SyncBatchNorm.convert_sync_batchnorm(ln.nn.Sequential(ln.nn.Conv2d(2, 4, 3), ln.nn.BatchNorm2d(4)))
    assert np.allclose(reference(x).numpy(), synced(x).numpy(), atol=1e-6)  # no world: BatchNorm


# ---- without a world --------------------------------------------------------------------------------------------

def test_ddp_without_a_world_and_without_mpi4py(monkeypatch):
    with pytest.raises(ValueError, match="lucidnet.distributed.init"):
        ln.nn.parallel.DistributedDataParallel(ln.nn.Linear(2, 2))
    monkeypatch.setitem(sys.modules, "mpi4py", None)
    with pytest.raises(ImportError, match=re.escape('pip install "lucidnet[mpi]"')):
        dist.init()
    assert not dist.is_initialized() and not dist.launched()
    assert dist.mpiexec_command(3, ["x.py"], mpiexec="m", python="p") == ["m", "-n", "3", "p", "x.py"]


# ---- under mpiexec -n 2 ----------------------------------------------------------------------------------------

def _mpiexec() -> str | None:
    try:
        return dist.find_mpiexec() if dist.is_available() else None
    except FileNotFoundError:
        return None


needs_mpi = pytest.mark.skipif(_mpiexec() is None, reason='no MPI: pip install "lucidnet[mpi]"')


def _env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    env.pop("LUCIDNET_NUM_THREADS", None)
    return env


def _run(args: list[str], *, nproc: int = 2, check: bool = True, timeout: float = TIMEOUT,
         cwd: str | None = None) -> subprocess.CompletedProcess:
    """``mpiexec -n nproc python *args`` (``nproc=0``: ``python *args``), ended with all its processes (its own
    process group) when it runs past ``timeout``."""
    cmd = dist.mpiexec_command(nproc, args, mpiexec=_mpiexec()) if nproc else [sys.executable, *args]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(), cwd=cwd,
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        pytest.fail(f"{' '.join(cmd)} ran past {timeout} s:\n{out[-3000:]}\n{err[-3000:]}")
    done = subprocess.CompletedProcess(cmd, proc.returncode, out, err)
    if check and done.returncode != 0:
        pytest.fail(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return done


def _json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


@pytest.mark.mpi
@needs_mpi
def test_two_ranks_with_half_batches_train_as_one_process_with_the_whole_batch():
    cases = ["float64:mlp", "float64:cnn", "float32:mlp", "float32:cnn"]
    results = {r["case"]: r for r in _json_lines(_run([str(PROGRAMS), "equivalence", *cases]).stdout)}
    assert sorted(results) == sorted(cases)
    for case, r in results.items():
        tolerance = 1e-10 if case.startswith("float64") else 1e-5
        assert r["max_diff"] <= tolerance, (case, r)
        assert r["ranks_diff"] == 0.0 and r["moved"] > 0.1, (case, r)  # the ranks agree; training moved
        assert r["buckets"] > 1 and r["allreduces"] == 50 * r["buckets"], r


@pytest.mark.mpi
@needs_mpi
def test_a_model_that_differs_across_ranks_is_refused():
    done = _run([str(PROGRAMS), "mismatch"], check=False)
    assert done.returncode != 0
    assert ("the model differs across ranks: rank 0 has parameter '0.weight' of shape (8, 4) float32, rank 1 has "
            "parameter '0.weight' of shape (9, 4) float32") in done.stderr


@pytest.mark.mpi
@needs_mpi
def test_a_killed_rank_ends_the_job_within_seconds():
    done = _run([str(PROGRAMS), "fails", "kill"], check=False)
    ended = time.time()
    killed = re.search(r"killing rank 1 at ([0-9.]+)", done.stdout)
    assert killed, done.stdout + done.stderr
    assert done.returncode != 0 and ended - float(killed.group(1)) < 30
    assert "BAD TERMINATION" in done.stdout + done.stderr and "signal 9" in done.stdout + done.stderr


@pytest.mark.mpi
@needs_mpi
def test_the_launcher_names_the_rank_that_was_killed():
    """``lucidnet train --nproc`` launches through dist.launch: mpiexec's report names a pid, the launcher the rank."""
    launcher = ("import sys, lucidnet.distributed as dist; "
                f"sys.exit(dist.launch(2, [{str(PROGRAMS)!r}, 'fails', 'kill'], mpiexec={_mpiexec()!r}))")
    done = _run(["-c", launcher], nproc=0, check=False)
    killed = re.search(r"killing rank 1 at ", done.stdout)
    assert killed and done.returncode != 0, done.stdout + done.stderr
    assert re.search(r"lucidnet: rank 1 of 2 \(pid \d+ on \S+\) died: Killed \(signal 9\) \(out of memory, or "
                     r"kill -9\); mpiexec ended the others", done.stderr), done.stdout + done.stderr


@pytest.mark.mpi
@needs_mpi
def test_a_rank_that_raises_aborts_the_job_naming_the_rank_and_the_cause():
    start = time.time()
    done = _run([str(PROGRAMS), "fails", "raise"], check=False)
    assert done.returncode != 0 and time.time() - start < TIMEOUT
    assert "rank 1 of 2 failed (RuntimeError: a failure on rank 1); aborting the job" in done.stderr


@pytest.mark.mpi
@needs_mpi
def test_train_nproc_prints_once_and_writes_one_run_directory(tmp_path):
    out = tmp_path / "run"
    done = _run(["-m", "lucidnet", "train", "--nproc", "2", "--epochs", "1", "--labels-per-class", "30",
                 "--out", str(out)], nproc=0, cwd=str(tmp_path))
    text = done.stdout
    assert text.count("Epoch 1/1") == 1 and text.count("test accuracy:") == 1 and text.count("training mlp") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]
    assert {"model.safetensors", "history.csv", "metrics.json", "report.html"} <= {p.name for p in out.iterdir()}
    assert json.loads((out / "run.json").read_text())["status"] == "finished"
    again = _run(["-m", "lucidnet", "train", "--nproc", "2", "--epochs", "1", "--out", str(out)], nproc=0,
                 check=False, cwd=str(tmp_path))
    assert again.returncode == 2 and "already holds a finished run" in again.stderr  # rank 0's error ends the job


@pytest.mark.mpi
@needs_mpi
def test_train_nproc_with_sync_bn_trains_a_batch_norm_network(tmp_path):
    out = tmp_path / "vgg"
    done = _run(["-m", "lucidnet", "train", "--nproc", "2", "--model", "vgg", "--sync-bn", "--epochs", "1",
                 "--labels-per-class", "20", "--batch-size", "32", "--out", str(out)], nproc=0, cwd=str(tmp_path))
    assert done.stdout.count("test accuracy:") == 1, done.stdout + done.stderr
    assert json.loads((out / "config.json").read_text())["train"]["sync_bn"] is True


@pytest.mark.mpi
@needs_mpi
def test_a_stopped_run_resumes_on_every_rank_to_the_same_weights(tmp_path):
    full = _json_lines(_run([str(PROGRAMS), "resume", "full", str(tmp_path / "full.ck")]).stdout)[0]
    stopped = _run([str(PROGRAMS), "resume", "stop", str(tmp_path / "run.ck")], check=False)
    assert stopped.returncode != 0 and "stopped at step 10" in stopped.stderr
    resumed = _json_lines(_run([str(PROGRAMS), "resume", "resume", str(tmp_path / "run.ck")]).stdout)[0]
    assert resumed == full
