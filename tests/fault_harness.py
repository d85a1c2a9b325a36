"""Faults injected into real training processes (``fault_child.py``), and what must hold after each.

- ``kill_runs``: runs killed with SIGKILL at random moments (most land inside a checkpoint write: one is written
  after every step), each resumed until it finishes; after every kill the checkpoint must be readable and no
  older than before, and every finished run's weights bit-identical to the uninterrupted run's.
- ``file_too_large``: the checkpoint write fails with EFBIG (RLIMIT_FSIZE): a clear error naming the file, the
  previous checkpoint intact, no temporary file left, and the resumed run bit-identical.
- ``disk_full``: the same with ENOSPC on a tiny tmpfs (root only); ``disk_full_injected``: ENOSPC injected in
  this process, half the file written first.
- ``nan_run``: NaN in the data or the target: the run stops naming the step and the layer (or the loss), and
  the checkpoint kept is the last finite one.
- ``concurrent_cli_runs``: two ``lucidnet train`` into one directory, the second refused; ``lock_race``: a
  second process taking the lock while the first is still writing its pid into it.
- ``kill_cli_runs``: ``lucidnet train`` itself killed and resumed (``--resume``), its ``model.safetensors``
  compared with an uninterrupted run's.
"""
from __future__ import annotations

import errno
import io
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import lucidnet as ln
from lucidnet.serialization import load_checkpoint
from lucidnet.train import Callback, rundir

CHILD = Path(__file__).with_name("fault_child.py")
ROOT = Path(__file__).resolve().parent.parent


def child_env() -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.update(OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1", NUMBA_NUM_THREADS="1")
    return env


def start(folder: Path, *extra: str) -> subprocess.Popen:
    """The child training into ``folder`` (checkpoint and final weights there), its stdout a pipe."""
    return subprocess.Popen([sys.executable, str(CHILD), str(folder / "checkpoint.safetensors"),
                             str(folder / "final.safetensors"), *extra], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=child_env(), cwd=folder)


def finish(folder: Path, *extra: str, timeout: float = 300) -> tuple[int, str]:
    """Run the child to its end: (exit status, output)."""
    p = start(folder, *extra)
    out, _ = p.communicate(timeout=timeout)
    return p.returncode, out


def weights(path: Path) -> dict[str, np.ndarray]:
    return {k: np.asarray(v) for k, v in ln.serialization.load(path).items()}


def identical(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> bool:
    """Bit for bit: the same names, dtypes, shapes and bytes."""
    return list(a) == list(b) and all(a[k].dtype == b[k].dtype and a[k].shape == b[k].shape
                                      and a[k].tobytes() == b[k].tobytes() for k in a)


def temps(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".") and p.name.endswith(".tmp"))


def checkpoint_step(path: Path) -> int | None:
    """The step of the checkpoint at ``path`` (None when there is none); raises if it cannot be read."""
    return load_checkpoint(path)["step"] if path.exists() else None


@dataclass
class Reference:
    weights: dict[str, np.ndarray]
    seconds: float          # from "ready" to the end of training, uninterrupted
    steps: int


def reference(workdir: Path) -> Reference:
    """The uninterrupted run: its final weights and how long its training takes."""
    folder = workdir / "reference"
    folder.mkdir(parents=True, exist_ok=True)
    p = start(folder)
    assert p.stdout.readline().strip() == "ready"
    t0 = time.perf_counter()
    out = p.stdout.read()
    p.wait()
    seconds = time.perf_counter() - t0
    assert p.returncode == 0, out
    return Reference(weights(folder / "final.safetensors"), seconds, checkpoint_step(folder / "checkpoint.safetensors"))


@dataclass
class KillCounts:
    kills: int = 0                 # SIGKILLs delivered to a training process
    in_write: int = 0              # of them, inside a checkpoint write (its temporary file was there)
    before_first: int = 0          # of them, before the first checkpoint existed
    lost: int = 0                  # a checkpoint gone, unreadable or older than before a kill
    runs: int = 0                  # runs killed at least once, then resumed to the end
    identical: int = 0             # of them, final weights bit-identical to the uninterrupted run
    leftovers: int = 0             # temporary files still there once a run finished
    problems: list[str] = field(default_factory=list)


def kill_runs(workdir: Path, ref: Reference, kills: int, seed: int = 0, per_run: tuple[int, int] = (1, 5),
              progress=None) -> KillCounts:
    """``kills`` SIGKILLs over runs of 1 to 5 kills each, every run resumed to its end and compared with ``ref``. A
    kill lands at a uniform moment of the training the (re)started process has left to do: from when it is set up,
    over the uninterrupted run's time for the steps after its checkpoint's."""
    rng = random.Random(seed)
    c = KillCounts()
    attempt = 0
    while c.kills < kills:
        folder = workdir / f"run{attempt}"
        attempt += 1
        folder.mkdir(parents=True)
        ckpt = folder / "checkpoint.safetensors"
        last, killed = None, 0
        for _ in range(min(rng.randint(*per_run), kills - c.kills)):
            p = start(folder)
            if p.stdout.readline().strip() != "ready":
                c.problems.append(f"{folder}: the child did not start: {p.communicate()[0][-500:]}")
                break
            left = ref.steps - (last or 0)
            time.sleep(rng.uniform(0, ref.seconds * left / ref.steps))
            p.kill()  # SIGKILL
            p.communicate()
            if p.returncode != -9:  # it finished (or failed) before the kill landed
                if p.returncode != 0:
                    c.problems.append(f"{folder}: exit status {p.returncode}")
                break
            c.kills += 1
            killed += 1
            c.in_write += any(t.startswith(".checkpoint") for t in temps(folder))
            try:
                step = checkpoint_step(ckpt)
            except Exception as e:  # noqa: BLE001 - any failure to read is a lost checkpoint
                c.lost += 1
                c.problems.append(f"{folder}: unreadable checkpoint after a kill: {type(e).__name__}: {e}")
                break
            if step is None:
                c.before_first += 1
                if last is not None:
                    c.lost += 1
                    c.problems.append(f"{folder}: the checkpoint of step {last} disappeared")
            elif last is not None and step < last:
                c.lost += 1
                c.problems.append(f"{folder}: the checkpoint went back from step {last} to {step}")
            last = step if step is not None else last
            if progress:
                progress(c)
        if not killed:  # every kill came too late: an uninterrupted run, nothing to resume
            continue
        code, out = finish(folder)
        c.runs += 1
        if code != 0:
            c.problems.append(f"{folder}: the resumed run failed: {out[-500:]}")
            continue
        same = identical(weights(folder / "final.safetensors"), ref.weights)
        c.identical += same
        if not same:
            c.problems.append(f"{folder}: the resumed run's weights differ from the uninterrupted run's")
        c.leftovers += len(temps(folder))
    return c


@dataclass
class KillInWrite:
    killed: bool = False           # the process died by SIGKILL
    temp_left: bool = False        # inside the write: its temporary file, whole and fsynced, not yet renamed
    kept_step: int | None = None   # the step of the checkpoint after the kill
    identical: bool = False        # resumed: bit-identical to the uninterrupted run
    leftovers: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.killed and self.temp_left and self.identical and not self.leftovers


def kill_inside_write(workdir: Path, ref: Reference, step: int = 10) -> KillInWrite:
    """The child kills itself inside the checkpoint write of ``step``, just before the rename (the moment a
    non-atomic writer would have half a file), then is resumed."""
    folder = workdir / f"die-in-write-{step}"
    folder.mkdir(parents=True)
    code, _ = finish(folder, "--die-in-write", str(step))
    r = KillInWrite(killed=code == -9, temp_left=any(t.startswith(".checkpoint") for t in temps(folder)))
    r.kept_step = checkpoint_step(folder / "checkpoint.safetensors")
    code, _ = finish(folder)
    r.identical = code == 0 and r.kept_step == (step - 1 or None) and identical(weights(folder / "final.safetensors"),
                                                                          ref.weights)
    r.leftovers = temps(folder)
    return r


@dataclass
class WriteFailure:
    kind: str
    error: str = ""
    clear: bool = False            # the error names the checkpoint file and the fault
    intact: bool = False           # the previous checkpoint reads, at the step before the failure
    leftovers: list[str] = field(default_factory=list)
    identical: bool = False        # resumed afterwards, bit-identical to the uninterrupted run

    @property
    def ok(self) -> bool:
        return self.clear and self.intact and not self.leftovers and self.identical


def file_too_large(workdir: Path, ref: Reference, after: int = 10) -> WriteFailure:
    """The checkpoint write of step ``after`` fails with EFBIG (RLIMIT_FSIZE in the child, SIGXFSZ ignored)."""
    folder = workdir / "fsize"
    folder.mkdir(parents=True)
    code, out = finish(folder, "--fsize-after", str(after))
    return _after_failure("file too large (RLIMIT_FSIZE)", folder, ref, code, out, "File too large", after - 1)


def disk_full(workdir: Path, ref: Reference) -> WriteFailure:
    """The checkpoint write fails with ENOSPC on a real, tiny file system (a tmpfs with room for one checkpoint
    and a half; needs root). The run is then resumed from a copy of the directory on a roomy disk."""
    import shutil
    folder = workdir / "enospc"
    folder.mkdir(parents=True)
    size = (ref_ckpt_size(workdir) * 3) // 2
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        return WriteFailure("disk full (tmpfs)", error=f"not measured: cannot mount a tmpfs ({mounted.stderr.strip()})")
    try:
        code, out = finish(folder)
        copy = workdir / "enospc-resume"
        shutil.copytree(folder, copy)
        result = _after_failure("disk full (a full tmpfs)", folder, ref, code, out, "No space left on device", None,
                                resume_in=copy)
    finally:
        subprocess.run(["umount", str(folder)], capture_output=True)
    return result


def ref_ckpt_size(workdir: Path) -> int:
    return (workdir / "reference" / "checkpoint.safetensors").stat().st_size


def _after_failure(kind: str, folder: Path, ref: Reference, code: int, out: str, fault: str, step: int | None,
                   resume_in: Path | None = None) -> WriteFailure:
    r = WriteFailure(kind, error=out.strip().splitlines()[-1] if out.strip() else f"exit status {code}")
    ckpt = folder / "checkpoint.safetensors"
    r.clear = code == 3 and fault in r.error and str(ckpt) in r.error
    try:
        saved = checkpoint_step(ckpt)
        r.intact = saved is not None and (step is None or saved == step)
    except Exception as e:  # noqa: BLE001
        r.error += f" (and the checkpoint is unreadable: {e})"
    r.leftovers = temps(folder)
    target = resume_in or folder
    code, out = finish(target)
    r.identical = code == 0 and identical(weights(target / "final.safetensors"), ref.weights)
    return r


@dataclass
class NanRun:
    kind: str
    reason: str = ""
    named: bool = False            # the step and the layer (or the loss) named
    kept_step: int | None = None   # the step of the checkpoint kept
    kept_finite: bool = False

    @property
    def ok(self) -> bool:
        return self.named and self.kept_finite and self.kept_step is not None


def nan_run(workdir: Path, target: bool = False) -> NanRun:
    """Sample 37's features (or, ``target``, its regression target) are NaN."""
    kind = "NaN in a target (the loss)" if target else "NaN in the data"
    folder = workdir / ("nan-target" if target else "nan-data")
    folder.mkdir(parents=True)
    code, out = finish(folder, "--nan-at", "37", *(["--nan-target"] if target else []))
    r = NanRun(kind)
    line = next((s for s in out.splitlines() if s.startswith("nan: ")), "")
    r.reason = line[5:]
    want = "the loss (mse_loss) made it" if target else "the input batch holds NaN or infinity (layer '0' (Linear)"
    r.named = code == 0 and r.reason.startswith("step ") and want in r.reason
    ckpt = folder / "checkpoint.safetensors"
    try:
        ck = load_checkpoint(ckpt)
        r.kept_step = ck["step"]
        r.kept_finite = all(np.isfinite(v).all() for v in ck["model_state_dict"].values() if v.dtype.kind == "f")
        r.kept_step = r.kept_step if r.reason.startswith(f"step {r.kept_step + 1} ") else None
    except Exception as e:  # noqa: BLE001
        r.reason += f" (checkpoint unreadable: {e})"
    return r


def _half_then_enospc(real_save):
    """A safetensors writer that writes half the file, then fails as a full disk does."""
    def save_file(tensors, filename, metadata=None):
        real_save(tensors, filename, metadata=metadata)
        with open(filename, "r+b") as f:
            f.truncate(os.path.getsize(filename) // 2)
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    return save_file


def disk_full_injected(workdir: Path, full_from: int = 12) -> WriteFailure:
    """In this process: the checkpoint write of step ``full_from`` writes half its file and fails with ENOSPC;
    then the disk has room again and the run resumes (compared with an uninterrupted run of this process)."""
    import contextlib
    import safetensors.numpy
    import fault_child
    folder = workdir / "enospc-injected"
    folder.mkdir(parents=True)
    quiet = contextlib.redirect_stdout(io.StringIO())
    with quiet:
        fault_child.main([str(folder / "ref.safetensors"), str(folder / "ref-final.safetensors")])
    ckpt, final = folder / "checkpoint.safetensors", folder / "final.safetensors"
    real = safetensors.numpy.save_file

    class FullDisk(Callback):
        def on_batch_begin(self, batch, logs=None):
            if self.trainer.global_step + 1 == full_from:
                safetensors.numpy.save_file = _half_then_enospc(real)

    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            code = fault_child.main([str(ckpt), str(final)], extra=[FullDisk()])
    finally:
        safetensors.numpy.save_file = real
    r = WriteFailure("disk full (ENOSPC injected)", error=out.getvalue().strip().splitlines()[-1])
    r.clear = code == 3 and f"OSError: [Errno 28] No space left on device: '{ckpt}'" in r.error
    r.intact = checkpoint_step(ckpt) == full_from - 1
    r.leftovers = temps(folder) + (["final.safetensors"] if final.exists() else [])
    with quiet:
        code = fault_child.main([str(ckpt), str(final)])
    r.identical = code == 0 and identical(weights(final), weights(folder / "ref-final.safetensors"))
    return r


def _lucidnet(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "lucidnet", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=child_env())


def _wait_for(path: Path, p: subprocess.Popen, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        if p.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"{path} never appeared: {p.communicate()}")
        time.sleep(0.02)


@dataclass
class Concurrent:
    refused: list[str] = field(default_factory=list)   # the second run's errors (plain, then --overwrite)
    first_pid: int = 0
    first_finished: bool = False

    @property
    def ok(self) -> bool:
        return (len(self.refused) == 2 and self.first_finished
                and all(f"in use by another run (process {self.first_pid})" in e for e in self.refused))


def concurrent_cli_runs(workdir: Path) -> Concurrent:
    """``lucidnet train`` into a directory while another one trains there: refused (also with --overwrite), and
    the first run finishes untouched."""
    out = workdir / "concurrent"
    first = _lucidnet("train", "--epochs", "1", "--quiet", "--out", str(out))
    r = Concurrent(first_pid=first.pid)
    try:
        _wait_for(out / rundir.LOCK, first)
        for extra in ([], ["--overwrite"]):
            second = _lucidnet("train", "--epochs", "1", "--quiet", "--out", str(out), *extra)
            _, err = second.communicate(timeout=120)
            if second.returncode == 2:
                r.refused.append(err.strip())
    finally:
        first.communicate(timeout=300)
    r.first_finished = (first.returncode == 0 and (out / "model.safetensors").is_file()
                        and json.loads((out / "run.json").read_text())["status"] == "finished")
    return r


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


def lock_race(workdir: Path) -> tuple[str, str, int]:
    """(the slow taker's output, the fast one's, the slow one's pid): the fast one starts while the slow one's
    lock file exists but is still empty."""
    out = workdir / "lock-race"
    out.mkdir(parents=True)
    slow = subprocess.Popen([sys.executable, "-c", SLOW_TAKER, str(out), "slow"], stdout=subprocess.PIPE, text=True,
                            env=child_env())
    _wait_for(out / rundir.LOCK, slow, 60)
    fast = subprocess.run([sys.executable, "-c", SLOW_TAKER, str(out), "fast"], capture_output=True, text=True,
                          env=child_env(), timeout=60)
    return slow.communicate(timeout=60)[0], fast.stdout + fast.stderr, slow.pid


@dataclass
class CliKills:
    kills: int = 0
    before_first: int = 0          # killed before the first checkpoint: started again with --overwrite
    after_training: int = 0        # killed once the weights were final (writing the report): nothing to resume
    lost: int = 0                  # a checkpoint unreadable after a kill
    runs: int = 0
    identical: int = 0
    problems: list[str] = field(default_factory=list)


CLI_RUN = ("train", "--epochs", "3", "--quiet")


def kill_cli_runs(workdir: Path, kills: int, seed: int = 0) -> CliKills:
    """``lucidnet train`` (an MLP on the bundled Fashion-MNIST subset, 3 epochs, a checkpoint at every epoch end)
    killed once and resumed with ``--resume``, ``kills`` times; the final ``model.safetensors`` compared with an
    uninterrupted run's. A kill lands at a uniform moment of the uninterrupted run's training (every other one
    after the moment its first checkpoint was written)."""
    rng = random.Random(seed)
    ref_dir = workdir / "cli-reference"
    t0 = time.perf_counter()
    p = _lucidnet(*CLI_RUN, "--out", str(ref_dir))
    _wait_for(ref_dir / rundir.CHECKPOINT, p, 600)
    first = time.perf_counter() - t0          # the first checkpoint (epoch 1) is written
    _wait_for(ref_dir / rundir.MODEL, p, 600)
    trained = time.perf_counter() - t0        # training is over: the final weights are written
    _, err = p.communicate(timeout=600)
    assert p.returncode == 0, err
    ref = weights(ref_dir / "model.safetensors")
    c = CliKills()
    for i in range(kills):
        out = workdir / f"cli-run{i}"
        p = _lucidnet(*CLI_RUN, "--out", str(out))
        time.sleep(rng.uniform(first if i % 2 else 0.5, trained))
        p.kill()
        p.communicate()
        if p.returncode != -9:
            c.problems.append(f"{out}: finished before the kill ({p.returncode})")
            continue
        c.kills += 1
        ckpt = out / rundir.CHECKPOINT
        try:
            step = checkpoint_step(ckpt)
        except Exception as e:  # noqa: BLE001
            c.lost += 1
            c.problems.append(f"{out}: unreadable checkpoint: {e}")
            continue
        finished = step is None and (out / rundir.METRICS).is_file()  # killed writing the report
        c.before_first += step is None and not finished
        c.after_training += finished
        if not finished:
            again = _lucidnet(*CLI_RUN, "--out", str(out), "--resume" if step is not None else "--overwrite")
            _, err = again.communicate(timeout=600)
            if again.returncode != 0:
                c.problems.append(f"{out}: the resumed run failed: {err[-300:]}")
                continue
        c.runs += 1
        same = identical(weights(out / "model.safetensors"), ref)
        c.identical += same
        if not same:
            c.problems.append(f"{out}: the resumed run's weights differ from the uninterrupted run's")
    return c


def scratch(prefix: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=prefix))
