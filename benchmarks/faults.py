#!/usr/bin/env python3
"""Reliability in figures, one command: every reader fuzzed, training runs killed, starved of disk and poisoned.

    python benchmarks/faults.py [--inputs 10000] [--kills 200] [--cli-kills 5] [--jobs 1] [--seed 0]
                                [--only fuzz|faults] [--readers NAME ...]

Fuzzing: ``--inputs`` mutated files per reader (tests/fuzz_targets.py: the property of tests/test_fuzz_readers.py,
with more inputs), each input's outcome counted: read, refused with the reader's own error naming the file, or
unexpected (another exception, a hang past 10 s, an allocation past what the input justifies, a changed result
from a checksummed file). ``--jobs`` readers run at a time, each in its own process.

Faults (tests/fault_harness.py): ``--kills`` SIGKILLs of a training run that checkpoints after every step, at
uniform random moments of its training, each run resumed until it finishes and compared bit for bit with an
uninterrupted run; kills inside a checkpoint write (just before its rename); ``--cli-kills`` kills of ``lucidnet
train`` resumed with ``--resume``; a checkpoint write failing with "File too large" (RLIMIT_FSIZE) and "No space
left on device" (injected, and on a full tmpfs where this runs as root); two ``lucidnet train`` into one
directory; NaN in the data and in the targets. Failing fuzz inputs are kept in the scratch folder printed at the end.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent / "tests"
sys.path.insert(0, str(TESTS))
sys.path.insert(0, str(TESTS.parent))


def _scratch(memory: bool) -> Path:
    """A scratch folder: in memory (/dev/shm) for the fuzzing, on disk for the training runs (fsync is real)."""
    shm = Path("/dev/shm")
    return Path(tempfile.mkdtemp(prefix="lucidnet-faults-", dir=shm if memory and shm.is_dir() else None))


def _fuzz_one(name: str, inputs: int, seed: int, workdir: str):
    import warnings
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)  # what the libraries print while reading garbage is not the table
    from fuzz_mutations import memory_cap
    from fuzz_run import run_target
    from fuzz_targets import all_targets
    warnings.simplefilter("ignore")  # the readers' warnings (odd PNG chunks, duplicate zip members) are not faults
    with memory_cap():
        return run_target(all_targets()[name], Path(workdir), inputs, seed=seed, keep=Path(workdir) / "failures")


def fuzz(names: list[str], inputs: int, seed: int, jobs: int, workdir: Path) -> list:
    print(f"\nFuzzing: {inputs} mutated inputs per reader ({jobs} at a time)", flush=True)
    print("| reader | inputs | read | refused (own error) | unexpected | hangs | inputs/s |\n"
          "|---|---:|---:|---:|---:|---:|---:|", flush=True)
    results = []
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        futures = [pool.submit(_fuzz_one, n, inputs, seed + i, str(workdir / n.replace(" ", "_")))
                   for i, n in enumerate(names)]
        for f in futures:
            c = f.result()
            results.append(c)
            print(f"| {c.target} | {c.inputs:,} | {c.ok:,} | {c.refused:,} | {c.unexpected} | {c.hangs} | "
                  f"{c.inputs / max(c.seconds, 1e-9):.0f} |", flush=True)
            for key, (_, message) in c.failures.items():
                print(f"    unexpected: {message[:300]}", flush=True)
    total = sum(c.inputs for c in results)
    print(f"| all {len(results)} readers | {total:,} | {sum(c.ok for c in results):,} | "
          f"{sum(c.refused for c in results):,} | {sum(c.unexpected for c in results)} | "
          f"{sum(c.hangs for c in results)} | |", flush=True)
    return results


def faults(kills: int, cli_kills: int, seed: int, workdir: Path) -> bool:
    import fault_harness as fh
    print("\nFaults (tests/fault_child.py: an MLP, Adam, a step schedule, dropout; a checkpoint after every step)",
          flush=True)
    ref = fh.reference(workdir)
    print(f"uninterrupted run: {ref.steps} steps in {ref.seconds:.2f} s of training", flush=True)
    rows = []
    t0 = time.perf_counter()
    k = fh.kill_runs(workdir / "kills", ref, kills, seed=seed,
                     progress=lambda c: c.kills % 50 == 0 and print(f"  {c.kills} kills ...", flush=True))
    rows.append(("SIGKILL at a random moment", f"{k.kills} kills ({k.in_write} inside a checkpoint write, "
                 f"{k.before_first} before the first checkpoint) over {k.runs} runs, each resumed", k.lost,
                 f"{k.identical}/{k.runs}", "-", k.leftovers))
    print(f"  ({time.perf_counter() - t0:.0f} s)", *k.problems, sep="\n  ", flush=True)
    steps = (1, 10, 17, 33, 48)
    writes = [fh.kill_inside_write(workdir, ref, step) for step in steps]
    rows.append(("SIGKILL inside a checkpoint write, before its rename", f"{len(writes)} kills (steps "
                 f"{', '.join(map(str, steps))})", sum(w.kept_step != (s - 1 or None) for w, s in zip(writes, steps)),
                 f"{sum(w.identical for w in writes)}/{len(writes)}", "-", sum(len(w.leftovers) for w in writes)))
    if cli_kills:
        c = fh.kill_cli_runs(workdir / "cli", cli_kills, seed=seed)
        rows.append(("SIGKILL of `lucidnet train`, then `--resume`", f"{c.kills} kills ({c.before_first} before "
                     f"the first checkpoint: --overwrite; {c.after_training} once the weights were final)", c.lost,
                     f"{c.identical}/{c.runs}", "-", "-"))
        print(*c.problems, sep="\n  ", flush=True)
    for r in (fh.file_too_large(workdir, ref), fh.disk_full_injected(workdir), fh.disk_full(workdir, ref)):
        measured = not r.error.startswith("not measured")
        rows.append((r.kind, "1 write" if measured else r.error, int(not r.intact) if measured else "-",
                     f"{int(r.identical)}/1" if measured else "-", r.error.removeprefix("error: ") if measured else "-",
                     len(r.leftovers) if measured else "-"))
    conc = fh.concurrent_cli_runs(workdir)
    rows.append(("two `lucidnet train` into one directory", "refused twice (plain, --overwrite)" if conc.ok else
                 f"NOT refused: {conc}", 0, "-", conc.refused[0].splitlines()[-1] if conc.refused else "-", "-"))
    slow, fast, pid = fh.lock_race(workdir)
    raced = slow.startswith("held") and fast.startswith("refused:")
    rows.append(("a second process taking the lock while the first writes its pid", "refused" if raced else
                 f"NOT refused: {fast.strip()}", 0, "-", fast.strip()[:100], "-"))
    for target in (False, True):
        n = fh.nan_run(workdir, target)
        rows.append((n.kind, "stopped" if n.ok else f"NOT stopped as expected: {n}", int(not n.kept_finite),
                     "-", n.reason, "-"))
    print("\n| fault | what happened | lost or unreadable checkpoints | resumed bit-identical | error | temporary "
          "files left |\n|---|---|---:|---:|---|---:|")
    for row in rows:
        print("| " + " | ".join(str(v) for v in row) + " |")
    return (k.lost == 0 and k.identical == k.runs and not k.problems and all(w.ok for w in writes) and conc.ok
            and raced)


def main() -> int:
    from fuzz_targets import TARGET_NAMES
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--inputs", type=int, default=10_000, help="mutated inputs per reader (default: %(default)s)")
    p.add_argument("--kills", type=int, default=200, help="SIGKILLs of training runs (default: %(default)s)")
    p.add_argument("--cli-kills", type=int, default=5, help="SIGKILLs of `lucidnet train` (default: %(default)s)")
    p.add_argument("--jobs", type=int, default=1, help="readers fuzzed at a time (default: %(default)s)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--only", choices=["fuzz", "faults"], default=None)
    p.add_argument("--readers", nargs="*", default=TARGET_NAMES, metavar="NAME", help=", ".join(TARGET_NAMES))
    args = p.parse_args()
    t0 = time.perf_counter()
    ok, folders = True, []
    if args.only != "faults":
        folders.append(_scratch(memory=True))
        results = fuzz(args.readers, args.inputs, args.seed, args.jobs, folders[-1])
        ok = ok and not any(c.unexpected for c in results)
    if args.only != "fuzz":
        folders.append(_scratch(memory=False))
        ok = faults(args.kills, args.cli_kills, args.seed, folders[-1]) and ok
    print(f"\n{time.perf_counter() - t0:.0f} s in all; scratch folders (failing inputs, run directories): "
          + ", ".join(map(str, folders)))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
