"""Write a file so that readers see the old content or the new, never a mix: ``atomic_path``,
``atomic_write``; ``remove_stale_temps`` clears what killed writers left.

The content goes to a hidden temporary file in the same directory, which is fsynced, then renamed over
the destination with ``os.replace`` (atomic on POSIX and Windows), and the directory is fsynced so the
rename itself survives a power cut. On any error (or KeyboardInterrupt) the temporary file is removed
and the destination is left as it was, and an ``OSError`` without a file name (a full disk, a file too
large) gets the destination's. A process killed outright (SIGKILL, power loss) may leave a
``.<name>.<random>.tmp`` file behind, but never a damaged destination; the next writer that holds the file
(a resumed run) removes those with ``remove_stale_temps``.
"""
from __future__ import annotations

import os
import secrets
import stat
from contextlib import contextmanager
from typing import Iterable, Iterator

__all__ = ["atomic_path", "atomic_write", "create_temp", "remove_stale_temps"]

_BINARY = getattr(os, "O_BINARY", 0)


def create_temp(directory: str, base: str) -> str:
    """Create an empty hidden file ``.<base>.<random>.tmp`` in ``directory``, with the usual file mode."""
    # O_EXCL with a random name: no clash with a concurrent writer; mode 0o666 so the umask applies
    # as for any new file (mkstemp would make it 0o600).
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _BINARY
    for _ in range(100):
        tmp = os.path.join(directory, f".{base[:200]}.{secrets.token_hex(6)}.tmp")
        try:
            os.close(os.open(tmp, flags, 0o666))
            return tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"atomic_write: could not create a temporary file in {directory!r}")


def _fsync_file(path: str) -> None:
    fd = os.open(path, os.O_RDWR | _BINARY)  # writable: Windows' fsync (_commit) needs it
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(directory: str) -> None:
    if os.name == "nt":  # directories cannot be opened for fsync on Windows; the rename is durable there
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError:  # some file systems do not support fsync on a directory
        pass
    finally:
        os.close(fd)


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[str]:
    """The path of an empty temporary file beside ``path``, for a writer that takes a file name; when
    the ``with`` block ends without error, the file is fsynced and renamed over ``path``.

    >>> import os, tempfile
    >>> dest = os.path.join(tempfile.mkdtemp(), "out.txt")
    >>> with atomic_path(dest) as tmp:
    ...     with open(tmp, "w") as f:
    ...         _ = f.write("all or nothing")
    >>> open(dest).read()
    'all or nothing'
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    tmp = create_temp(directory, os.path.basename(path))
    mode = stat.S_IMODE(os.stat(tmp).st_mode)  # 0o666 less the umask, as for any new file
    try:
        yield tmp
        if stat.S_IMODE(os.stat(tmp).st_mode) != mode:  # a writer that re-created the file (safetensors: 0o600)
            os.chmod(tmp, mode)
        _fsync_file(tmp)
        os.replace(tmp, path)
    except BaseException as e:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        if isinstance(e, OSError) and e.errno is not None and e.filename is None:
            raise OSError(e.errno, e.strerror, path) from e  # "[Errno 28] No space left on device: 'path'"
        raise
    _fsync_dir(directory)


def atomic_write(path: str | os.PathLike, chunks: Iterable) -> None:
    """Write the bytes-like ``chunks``, in order, to ``path``, atomically and durably."""
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        for chunk in chunks:
            f.write(chunk)


def remove_stale_temps(path: str | os.PathLike) -> int:
    """Remove the temporary files that writers of ``path`` killed mid-write left beside it; returns how many.
    Only for a caller that holds ``path`` (no other process writes it now)."""
    path = os.fspath(path)
    directory, base = os.path.dirname(os.path.abspath(path)), os.path.basename(path)[:200]
    prefix, removed = f".{base}.", 0
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        return 0
    for name in names:
        middle = name[len(prefix):-len(".tmp")]
        if name.startswith(prefix) and name.endswith(".tmp") and len(middle) == 12 and \
                all(c in "0123456789abcdef" for c in middle):
            try:
                os.unlink(os.path.join(directory, name))
                removed += 1
            except FileNotFoundError:
                pass
    return removed
