"""Where datasets live on disk, and verified, atomic downloads.

Data roots, in the order they are searched: ``$LUCIDNET_DATA/<name>`` (when the variable is set), then
the user cache ``$XDG_CACHE_HOME/lucidnet/<name>`` (default ``~/.cache/lucidnet/<name>``).
A download streams into a temporary file beside the target, checks the MD5, fsyncs, and only then
``os.replace``s it into place: an interrupted or corrupt download never leaves a file that looks valid.
"""
from __future__ import annotations

import hashlib
import http.client
import os
import urllib.error
import urllib.request
from pathlib import Path

from ..serialization.atomic import atomic_path
from .errors import DatasetError

__all__ = ["data_roots", "cache_dir", "md5sum", "download_file"]

_CHUNK = 1 << 20


def cache_dir() -> Path:
    """lucidnet's user cache directory: ``$XDG_CACHE_HOME/lucidnet`` or ``~/.cache/lucidnet``."""
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    base = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".cache"
    return base / "lucidnet"


def data_roots(name: str) -> list[tuple[Path, str]]:
    """The directories searched for dataset ``name``, each with a note on where it comes from."""
    roots = []
    env = os.environ.get("LUCIDNET_DATA", "")
    if env:
        roots.append((Path(env).expanduser() / name, "$LUCIDNET_DATA"))
    roots.append((cache_dir() / name, "user cache"))
    return roots


def md5sum(path: str | os.PathLike) -> str:
    h = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def download_file(url: str, dest: str | os.PathLike, md5: str | None = None, timeout: float = 60.0) -> Path:
    """Fetch ``url`` into ``dest`` atomically; with ``md5``, the file is kept only if its checksum matches.

    Raises ``DatasetError`` (naming the URL) on a network error, an incomplete transfer or a checksum mismatch;
    ``dest`` is then left untouched and no temporary file remains.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(dest) as tmp:  # on any error the temporary file goes and ``dest`` stays as it was
        h = hashlib.md5(usedforsecurity=False)
        size = 0
        with open(tmp, "wb") as out:
            try:
                with urllib.request.urlopen(url, timeout=timeout) as resp:
                    expected = resp.headers.get("Content-Length")
                    while chunk := resp.read(_CHUNK):
                        h.update(chunk)
                        out.write(chunk)
                        size += len(chunk)
            except (urllib.error.URLError, http.client.HTTPException, OSError) as e:
                raise DatasetError(f"downloading {url} failed: {e}") from None
            if expected is not None and expected.isdigit() and int(expected) != size:
                raise DatasetError(f"downloading {url} failed: the connection closed after {size} of "
                                   f"{int(expected)} bytes")
        if md5 is not None and h.hexdigest() != md5.lower():
            raise DatasetError(f"downloading {url}: MD5 checksum mismatch (expected {md5}, got {h.hexdigest()}, "
                               f"{size} bytes); the file is corrupt or changed upstream, and was not saved")
    return dest
