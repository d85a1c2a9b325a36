"""Starting a world: the ``mpiexec`` command that runs a program as N processes on this machine.

``lucidnet train --nproc N ...`` runs ``mpiexec -n N <this python> -m lucidnet train ...`` (:func:`launch`): the
mpiexec installed beside the running Python (the ``mpich`` wheel puts it there), else the first on ``PATH``.
When a rank dies without a word (SIGKILL: the out-of-memory killer, ``kill -9``), mpiexec ends the others and
names the dead process by its pid; :func:`launch` adds which rank that was, from the table rank 0 wrote.

>>> mpiexec_command(2, ["-m", "lucidnet", "train"], mpiexec="mpiexec", python="python")
['mpiexec', '-n', '2', 'python', '-m', 'lucidnet', 'train']
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Sequence

from .world import INSTALL_HINT, RANK_TABLE_VARIABLE

__all__ = ["find_mpiexec", "mpiexec_command", "launch", "explain_failure"]


def find_mpiexec() -> str:
    """The path of ``mpiexec``: beside ``sys.executable`` (a virtual environment's), else on ``PATH``; a
    FileNotFoundError saying what to install when there is none."""
    for name in ("mpiexec", "mpirun"):
        beside = Path(sys.executable).parent / name
        if beside.is_file() and os.access(beside, os.X_OK):
            return str(beside)
    for name in ("mpiexec", "mpirun"):
        found = shutil.which(name)
        if found:
            return found
    raise FileNotFoundError(f"no mpiexec found beside {sys.executable} or on PATH: {INSTALL_HINT}")


def mpiexec_command(nproc: int, args: Sequence[str], *, mpiexec: str | None = None,
                    python: str | None = None) -> list[str]:
    """``mpiexec -n nproc python *args``: ``args`` are the Python interpreter's arguments (``-m module ...``
    or a script and its arguments)."""
    if isinstance(nproc, bool) or not isinstance(nproc, int) or nproc < 1:
        raise ValueError(f"mpiexec_command: nproc must be a positive int, got {nproc!r}")
    return [mpiexec or find_mpiexec(), "-n", str(nproc), python or sys.executable, *args]


def launch(nproc: int, args: Sequence[str], *, mpiexec: str | None = None, python: str | None = None) -> int:
    """Run ``mpiexec -n nproc python *args`` (:func:`mpiexec_command`), its output passed through as it comes,
    and return its exit status; when a rank ended the job by dying, a line on stderr says which rank it was
    (:func:`explain_failure`)."""
    cmd = mpiexec_command(nproc, args, mpiexec=mpiexec, python=python)
    with tempfile.TemporaryDirectory(prefix="lucidnet-ranks-") as folder:
        table = os.path.join(folder, "ranks.json")
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, env={**os.environ, RANK_TABLE_VARIABLE: table})
        tail = b""
        out = getattr(sys.stdout, "buffer", None)
        try:
            while chunk := os.read(proc.stdout.fileno(), 1 << 16):  # as it comes: progress bars redraw in place
                if out is not None:
                    out.write(chunk)
                    out.flush()
                else:
                    sys.stdout.write(chunk.decode(errors="replace"))
                tail = (tail + chunk)[-8192:]
        finally:
            code = proc.wait()
            proc.stdout.close()
        if code != 0:
            ranks = None
            try:
                with open(table) as f:
                    ranks = json.load(f)
            except (OSError, ValueError):
                pass
            message = explain_failure(tail.decode(errors="replace"), ranks)
            if message:
                print(message, file=sys.stderr, flush=True)
    return code


def explain_failure(output: str, ranks: list | None) -> str | None:
    """Which rank mpiexec's report of a process that died names, from ``ranks`` (the table rank 0 wrote: a
    list of ``{"rank", "host", "pid"}``); None when ``output`` holds no such report.

    >>> report = ["=   PID 4242 RUNNING AT node7", "=   EXIT CODE: 9", "EXIT STRING: Killed (signal 9)"]
    >>> ranks = [{"rank": 0, "host": "node7", "pid": 4241}, {"rank": 1, "host": "node7", "pid": 4242}]
    >>> print(explain_failure(chr(10).join(report), ranks))
    lucidnet: rank 1 of 2 (pid 4242 on node7) died: Killed (signal 9) (out of memory, or kill -9); mpiexec ended the others
    """
    found = re.search(r"PID (\d+) RUNNING AT (\S+)", output)
    if not found:
        return None
    pid, host = int(found.group(1)), found.group(2)
    why = re.search(r"EXIT STRING: (.+)", output)
    code = re.search(r"EXIT CODE: (\d+)", output)
    cause = why.group(1).strip() if why else f"exit code {code.group(1)}" if code else "it ended"
    if "signal 9" in cause:
        cause += " (out of memory, or kill -9)"
    who = f"the process with pid {pid} on {host}"
    for entry in ranks or []:
        if isinstance(entry, dict) and entry.get("pid") == pid and entry.get("host") == host:
            who = f"rank {entry.get('rank')} of {len(ranks)} (pid {pid} on {host})"
    return f"lucidnet: {who} died: {cause}; mpiexec ended the others"
