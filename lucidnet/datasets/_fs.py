"""Atomic file writes: a temporary file beside the target, fsync, ``os.replace``, fsync of the directory."""
from __future__ import annotations

import os
from pathlib import Path

from ..serialization.atomic import create_temp


def temp_beside(path: Path) -> tuple[int, str]:
    """An open temporary file in ``path``'s directory (created if needed), with the usual file mode (0o666
    less the umask, as for any new file: created with that mode, so the umask is never read or changed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = create_temp(str(path.parent), path.name)
    return os.open(tmp, os.O_WRONLY | getattr(os, "O_BINARY", 0)), tmp


def fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # e.g. Windows: a directory cannot be opened
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def commit(tmp: str, path: Path) -> None:
    """Move the finished temporary file into place, durably."""
    os.replace(tmp, path)
    fsync_dir(path.parent)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the whole new one, never a part."""
    fd, tmp = temp_beside(path)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        commit(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
