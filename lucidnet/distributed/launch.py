"""Starting a world: the ``mpiexec`` command that runs a program as N processes on this machine.

``lucidnet train --nproc N ...`` runs ``mpiexec -n N <this python> -m lucidnet train ...``: the mpiexec
installed beside the running Python (the ``mpich`` wheel puts it there), else the first on ``PATH``.

>>> mpiexec_command(2, ["-m", "lucidnet", "train"], mpiexec="mpiexec", python="python")
['mpiexec', '-n', '2', 'python', '-m', 'lucidnet', 'train']
"""
from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import Sequence

from .world import INSTALL_HINT

__all__ = ["find_mpiexec", "mpiexec_command"]


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
