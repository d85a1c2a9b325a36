"""Mutations of a valid file, as hypothesis strategies, and the property every reader must keep on them.

Byte-level mutations (any format): truncation, bit flips, overwritten bytes, integers of awkward size written
over any 2, 4 or 8 bytes (big- or little-endian: inflated lengths and counts, huge dimensions), inserted,
deleted and repeated runs, a wrong magic number. Format-aware mutations (JSON values replaced by awkward ones,
deep nesting) live here too; the targets (``fuzz_targets``) add their own (re-signed safetensors, PNG headers
with valid CRCs, zip bombs).

``check(target, data, workdir)`` writes ``data`` where the target's reader looks, runs the reader under a
time limit and with its allocations traced, and returns ``"ok"`` (a result) or ``"refused"`` (the reader's own
error type, its message naming the file). Anything else raises :class:`Unexpected`.
"""
from __future__ import annotations

import json
import math
import signal
import tracemalloc
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from hypothesis import strategies as st

# integers that break size arithmetic: zero, one, sign bits, all ones, powers of two, 10**12
AWKWARD_INTS = (0, 1, 2, 3, 7, 8, 127, 128, 255, 256, 1023, 65535, 65536, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32,
                2 ** 40, 10 ** 12, 2 ** 62, 2 ** 63 - 1, 2 ** 64 - 1)
AWKWARD_BYTES = (b"\x00", b"\xff", b"\x7f", b"\x80", b"\n", b"\r", b'"', b",", b"\t", b"\\", b"{", b"[", b"|",
                 b"\xc3", b"\xe2\x80\xa8", b"\xef\xbb\xbf", b"\x00" * 8, b"\xff" * 8)
TIME_LIMIT = 10.0           # seconds one read may take before it counts as a hang
ALLOC_BASE = 8 << 20        # bytes any read may allocate (interpreter, library state)


class Unexpected(AssertionError):
    """A reader broke the property: another exception type, a hang, a message not naming the file, too much
    memory, or a changed result from a checksummed file."""


class Hang(BaseException):
    """Raised by the alarm inside a read that runs past ``TIME_LIMIT`` (a BaseException, so no reader's
    ``except Exception`` swallows it)."""


# ---- byte-level mutations -------------------------------------------------------------------------

@st.composite
def _one_edit(draw, data: bytes) -> bytes:
    n = len(data)
    pos = draw(st.integers(0, max(n - 1, 0)))
    kind = draw(st.sampled_from(["truncate", "flip", "overwrite", "int", "insert", "delete", "repeat", "magic"]))
    if kind == "truncate":
        return data[:draw(st.integers(0, max(n - 1, 0)))]
    if kind == "flip":
        out = bytearray(data)
        for p, bit in draw(st.lists(st.tuples(st.integers(0, max(n - 1, 0)), st.integers(0, 7)), min_size=1,
                                    max_size=8)):
            if out:
                out[p] ^= 1 << bit
        return bytes(out)
    if kind == "overwrite":
        chunk = draw(st.sampled_from(AWKWARD_BYTES) | st.binary(min_size=1, max_size=8))
        return data[:pos] + chunk + data[pos + len(chunk):]
    if kind == "int":
        width = draw(st.sampled_from([2, 4, 8]))
        value = draw(st.sampled_from(AWKWARD_INTS)) % (1 << (8 * width))
        chunk = value.to_bytes(width, draw(st.sampled_from(["big", "little"])))
        return data[:pos] + chunk + data[pos + width:]
    if kind == "insert":
        return data[:pos] + draw(st.sampled_from(AWKWARD_BYTES) | st.binary(min_size=1, max_size=16)) + data[pos:]
    if kind == "delete":
        return data[:pos] + data[pos + draw(st.integers(1, 64)):]
    if kind == "repeat":
        chunk = data[pos:pos + draw(st.integers(1, 64))]
        return data[:pos] + chunk * draw(st.integers(2, 64)) + data[pos:]
    k = draw(st.integers(1, 8))
    return draw(st.binary(min_size=k, max_size=k)) + data[k:]


@st.composite
def byte_mutations(draw, seed: bytes) -> bytes:
    """``seed`` after one to three byte-level edits."""
    data = seed
    for _ in range(draw(st.integers(1, 3))):
        data = draw(_one_edit(data))
    return data


# ---- JSON-level mutations -------------------------------------------------------------------------

def awkward_json() -> st.SearchStrategy:
    """JSON values that readers trip over: huge and negative numbers, floats, empty and odd strings, nulls,
    wrong containers."""
    scalars = (st.sampled_from([None, True, False, 0, -1, 1.5, 1e308, -1e308, 2 ** 63, 10 ** 12, -(10 ** 12), "",
                                "\x00", "../../etc/passwd", "\u2028", "nan", "[SEP]", "<pad>"])
               | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8))
    return st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6),
                                                                                             inner, max_size=4),
                        max_leaves=8)


def _paths(obj: Any, prefix: tuple = ()) -> Iterator[tuple]:
    yield prefix
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj[:16]):
            yield from _paths(v, prefix + (i,))


def _replace(obj: Any, path: tuple, value: Any) -> Any:
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(obj, dict):
        return {**obj, head: _replace(obj[head], rest, value)}
    out = list(obj)
    out[head] = _replace(obj[head], rest, value)
    return out


def _get(obj: Any, path: tuple) -> Any:
    for p in path:
        obj = obj[p]
    return obj


@st.composite
def json_mutations(draw, seed: Any) -> str:
    """The JSON text of ``seed`` (a parsed value) with one part replaced, dropped, repeated or nested deep."""
    paths = list(_paths(seed))
    path = draw(st.sampled_from(paths))
    kind = draw(st.sampled_from(["replace", "replace", "drop", "repeat", "deep", "bigint"]))
    if kind == "deep":  # nesting far past the recursion limit: built as text, as json.dumps would recurse
        depth = draw(st.sampled_from([1000, 100_000]))
        inner = json.dumps(_get(seed, path))
        return json.dumps(_replace(seed, path, "\x00DEEP\x00")).replace('"\\u0000DEEP\\u0000"',
                                                                         "[" * depth + inner + "]" * depth)
    if kind == "bigint":  # more digits than int() converts by default
        return json.dumps(_replace(seed, path, "\x00BIG\x00")).replace('"\\u0000BIG\\u0000"', "9" * 5000)
    if kind == "drop" and path:
        parent = _get(seed, path[:-1])
        if isinstance(parent, dict):
            value = {k: v for k, v in parent.items() if k != path[-1]}
        else:
            value = [v for i, v in enumerate(parent) if i != path[-1]]
        return json.dumps(_replace(seed, path[:-1], value))
    if kind == "repeat" and path:
        parent = _get(seed, path[:-1])
        if isinstance(parent, list):
            times = draw(st.sampled_from([2, 100]))
            return json.dumps(_replace(seed, path[:-1], list(parent) * times))
    return json.dumps(_replace(seed, path, draw(awkward_json())))


# ---- the property -----------------------------------------------------------------------------------

@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise :class:`Hang` in the block once ``seconds`` have passed (SIGALRM: the main thread only)."""
    def alarm(signum, frame):
        raise Hang(f"still reading after {seconds} s")
    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@contextmanager
def memory_cap(extra: int = 3 << 30) -> Iterator[None]:
    """Cap the process's address space at its current size plus ``extra`` bytes for the block (RLIMIT_AS), so a
    reader that tries to allocate far more than its input fails with MemoryError (reported as unexpected)
    instead of taking the machine's memory."""
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    with open("/proc/self/statm") as f:
        current = int(f.read().split()[0]) * resource.getpagesize()
    cap = current + extra if hard == resource.RLIM_INFINITY else min(current + extra, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def _size(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return ""


def check(target: Any, data: bytes, workdir: Path, exact: bool = False) -> str:
    """Run ``target``'s reader on ``data``: ``"ok"`` or ``"refused"``, else :class:`Unexpected`.

    ``exact``: the bytes came from byte-level edits of a checksummed file, so a result must equal the seed's.
    Allocations (Python and NumPy, traced by ``tracemalloc``) may not pass ``ALLOC_BASE`` plus
    ``target.alloc_ratio`` times the input's size.
    """
    path = target.place(data, workdir)
    size = len(data)
    limit = ALLOC_BASE + target.alloc_ratio * size
    started = tracemalloc.is_tracing()
    if not started:
        tracemalloc.start()
    tracemalloc.reset_peak()
    before = tracemalloc.get_traced_memory()[0]
    outcome, result = "ok", None
    try:
        with time_limit(TIME_LIMIT):
            result = target.read(path)
    except Hang as e:
        raise Unexpected(f"{target.name}: hang on {size} bytes ({e})") from None
    except target.errors as e:
        outcome, message = "refused", str(e)
        if not target.names_file(path, message):
            raise Unexpected(f"{target.name}: {type(e).__name__} does not name the file {path}: {message[:300]!r}")
        if len(message) < len(str(path)) + 10:
            raise Unexpected(f"{target.name}: {type(e).__name__} does not say what is wrong: {message!r}")
    except Exception as e:
        raise Unexpected(f"{target.name}: {type(e).__name__} (not {', '.join(t.__name__ for t in target.errors)}) "
                         f"on {size} bytes: {str(e)[:300]}") from e
    finally:
        peak = tracemalloc.get_traced_memory()[1] - before
        if not started:
            tracemalloc.stop()
    if peak > limit:
        raise Unexpected(f"{target.name}: allocated {_size(peak)} reading {size} bytes (at most {_size(limit)})")
    if outcome == "ok" and exact and not target.same(result, target.read_seed(workdir)):
        raise Unexpected(f"{target.name}: a corrupted checksummed file was read as different data")
    return outcome


def ratio_limit(compression: float) -> int:
    """The ``alloc_ratio`` of a format: how many bytes of objects one input byte may become (``compression``:
    the format's largest legitimate expansion, 1 for uncompressed data)."""
    return int(math.ceil(64 * compression))
