"""Run one fuzzing target for N inputs and count the outcomes, recording each distinct unexpected failure
instead of stopping at the first (what ``benchmarks/faults.py`` reports). ``python tests/fuzz_run.py [N]
[TARGET ...]`` prints them."""
from __future__ import annotations

import re
import sys
import warnings
import time
from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from fuzz_mutations import Unexpected, check, memory_cap


@dataclass
class Counts:
    target: str
    inputs: int = 0
    ok: int = 0
    refused: int = 0
    unexpected: int = 0
    hangs: int = 0
    seconds: float = 0.0
    failures: dict[str, tuple[bytes, str]] = field(default_factory=dict)  # kind of failure -> (input, message)


def _key(message: str) -> str:
    """A failure's kind: its first line without the numbers, quoted text and paths that vary per input."""
    line = re.sub(r"'[^']*'|\"[^\"]*\"|/\S+", "…", message.splitlines()[0])
    return re.sub(r"\d+(\.\d+)?", "N", line)[:120]


def run_target(target, workdir: Path, n: int, seed: int = 0, keep: Path | None = None) -> Counts:
    """``n`` mutated inputs through ``target``'s reader; failing inputs saved under ``keep`` when given."""
    counts = Counts(target.name)
    target.seed(workdir)

    @settings(max_examples=n, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(st.data())
    def one(data):
        raw, edited = data.draw(target.inputs(workdir))
        counts.inputs += 1
        try:
            outcome = check(target, raw, workdir, exact=edited and target.checksummed)
        except Unexpected as e:
            counts.unexpected += 1
            counts.hangs += "hang" in str(e).split(":", 2)[1]
            key = _key(str(e))
            if key not in counts.failures:
                counts.failures[key] = (raw, str(e))
                if keep is not None:
                    keep.mkdir(parents=True, exist_ok=True)
                    (keep / f"{target.name.replace(' ', '_')}-{len(counts.failures)}-{target.file}").write_bytes(raw)
            return
        setattr(counts, outcome, getattr(counts, outcome) + 1)

    t0 = time.perf_counter()
    warnings.simplefilter("ignore")  # the readers' warnings (duplicate zip members, odd PNG chunks) are not faults
    one._hypothesis_internal_use_seed = seed
    with memory_cap():
        one()
    counts.seconds = time.perf_counter() - t0
    return counts


if __name__ == "__main__":
    import tempfile
    from fuzz_targets import TARGET_NAMES, all_targets
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    names = sys.argv[2:] or TARGET_NAMES
    targets = all_targets()
    work = Path(tempfile.mkdtemp(prefix="fuzz-", dir="/dev/shm" if Path("/dev/shm").is_dir() else None))
    for name in names:
        c = run_target(targets[name], work, n, keep=work / "failures")
        print(f"{name:22s} {c.inputs:6d} inputs  ok {c.ok:5d}  refused {c.refused:5d}  unexpected {c.unexpected:4d}  "
              f"{c.seconds:6.1f} s", flush=True)
        for key, (raw, message) in c.failures.items():
            print("    ", message[:400].replace("\n", " | "), flush=True)
    print("failing inputs in", work / "failures")
