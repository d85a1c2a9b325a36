"""MovieLens-100K in its upstream layout: ``u.data``, ``u.item``, ``u.user`` and the u1..u5, ua/ub splits.

Ratings become :class:`Ratings`: parallel arrays ``user``, ``item`` (0-based contiguous indices, int64),
``rating`` (float32) and ``time`` (Unix seconds, int64). The raw ids of the files map to indices and back:
``ds.user_ids[u]`` is the raw id of index ``u``; ``ds.user_index(raw)`` the index of a raw id (an
:class:`UnknownIdError` for an id the data does not hold, never an IndexError). Same for items.

Where the files are looked for (``root=None``): ``$LUCIDNET_DATA/ml-100k``, then ``~/.cache/lucidnet/ml-100k``.
``download=True`` fetches ``ml-100k.zip`` from GroupLens, checks its MD5 and extracts it member by member,
refusing any member that would land outside the target directory (absolute paths, ``..``, links).
The data's terms (see its README): research use, no redistribution, acknowledge GroupLens.

>>> import numpy as np
>>> r = Ratings(np.array([0, 1]), np.array([2, 0]), np.array([4.0, 3.0], np.float32), np.array([10, 20]))
>>> len(r), r.rating.dtype, r.subset(np.array([1])).item.tolist(), len(Ratings.concat(r, r))
(2, dtype('float32'), [0], 4)
"""
from __future__ import annotations

import os
import stat
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Iterator

import numpy as np

from ..datasets.download import data_roots, download_file
from ..datasets.errors import DatasetError, DatasetNotFoundError, not_found
from ..serialization.atomic import atomic_write

__all__ = ["MovieLens100K", "Ratings", "IdMaps", "UnknownIdError", "safe_extract", "SPLITS"]

URL = "https://files.grouplens.org/datasets/movielens/ml-100k.zip"
MD5 = "0e33842e24a9c977be4e0107933c0723"
SPLITS = ("u1", "u2", "u3", "u4", "u5", "ua", "ub")
_REQUIRED = ("u.data", "u.item", "u.user")


class UnknownIdError(ValueError):
    """A user or item id that the data (or a trained model's catalog) does not know."""


@dataclass
class Ratings:
    """Interactions as parallel arrays: ``user``, ``item`` (indices), ``rating`` (float32), ``time`` (int64)."""

    user: np.ndarray
    item: np.ndarray
    rating: np.ndarray
    time: np.ndarray

    def __len__(self) -> int:
        return len(self.user)

    def subset(self, index: np.ndarray) -> "Ratings":
        """The interactions at ``index`` (integer positions or a boolean mask)."""
        return Ratings(self.user[index], self.item[index], self.rating[index], self.time[index])

    @staticmethod
    def concat(*parts: "Ratings") -> "Ratings":
        """One ``Ratings`` holding ``parts`` one after the other."""
        return Ratings(*(np.concatenate([getattr(p, f) for p in parts]) for f in ("user", "item", "rating", "time")))

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(user, item, rating)``: what ``fit(model, ratings.arrays(), loss="mse")`` trains on."""
        return self.user, self.item, self.rating

    def __repr__(self) -> str:
        return f"Ratings({len(self)} interactions)"


def _read_table(path: Path, columns: int) -> np.ndarray:
    """A whitespace-separated integer table (``u.data`` and the split files) as an int64 (N, columns) array."""
    try:
        table = np.loadtxt(path, dtype=np.int64, ndmin=2)
    except ValueError as e:
        raise DatasetError(f"{path}: expected rows of {columns} whitespace-separated integers "
                           f"(user, item, rating, timestamp): {e}") from None
    if table.size == 0:
        return np.zeros((0, columns), np.int64)
    if table.shape[1] != columns:
        raise DatasetError(f"{path}: rows have {table.shape[1]} columns, expected {columns} "
                           "(user, item, rating, timestamp)")
    return table


def _read_pipe(path: Path, min_fields: int) -> list[list[str]]:
    """Rows of a '|'-separated Latin-1 file (``u.item``, ``u.user``, ``u.genre``)."""
    rows = []
    for n, line in enumerate(path.read_bytes().decode("latin-1").splitlines(), 1):
        if not line.strip():
            continue
        fields = line.split("|")
        if len(fields) < min_fields:
            raise DatasetError(f"{path}, line {n}: expected at least {min_fields} '|'-separated fields, "
                               f"found {len(fields)}")
        rows.append(fields)
    return rows


def _ints(values: list[str], path: Path, what: str) -> np.ndarray:
    try:
        return np.array([int(v) for v in values], dtype=np.int64)
    except (ValueError, OverflowError) as e:  # not a number; past int64
        raise DatasetError(f"{path}: {what} must be integers ({e})") from None


MAX_RATIO = 100          # how much a member of more than a MiB may expand (ml-100k's members: about 3)
MAX_EXTRACT = 1 << 30    # bytes one archive may extract in all (ml-100k: 16 MB)
_UNREADABLE = (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError, RuntimeError, ValueError)


def safe_extract(archive: str | os.PathLike, target: str | os.PathLike, strip: str | None = None) -> list[Path]:
    """Extract the regular files of a zip archive into ``target``; returns the paths written.

    ``strip``: a leading folder removed from member names (``"ml-100k"``). A member with an absolute
    name, a drive, a ``..`` component, or a symbolic link, a member that would expand more than ``MAX_RATIO``
    times (a zip bomb), more than ``MAX_EXTRACT`` bytes in all, or an archive that is not a readable zip raises
    ``DatasetError`` naming the archive, before anything is written where possible. Each file is written to a
    temporary file and renamed into place, so a file is whole or absent.
    """
    target = Path(target)
    try:
        zf = zipfile.ZipFile(archive)
    except _UNREADABLE as e:
        raise DatasetError(f"{archive}: not a readable zip archive ({e})") from None
    with zf:
        plan = _plan(zf, archive, target, strip)
        written = []
        for info, dest in plan:
            dest.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(dest, _member(zf, info, archive))
            written.append(dest)
    return written


def _plan(zf: zipfile.ZipFile, archive: Any, target: Path,
          strip: str | None = None) -> list[tuple[zipfile.ZipInfo, Path]]:
    """(member, destination) of every regular file, once every member is checked (names, links, sizes)."""
    root = target.resolve()
    plan: list[tuple[zipfile.ZipInfo, Path]] = []
    total = 0
    for info in zf.infolist():
        name = info.filename.replace("\\", "/")
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            raise DatasetError(f"{archive}: member {info.filename!r} is a symbolic link; refusing to extract")
        parts = PurePosixPath(name).parts
        if name.startswith("/") or (parts and ":" in parts[0]) or ".." in parts or "\0" in name:
            raise DatasetError(f"{archive}: member {info.filename!r} would land outside {target}; "
                               "refusing to extract")
        if strip and parts and parts[0] == strip:
            parts = parts[1:]
        if info.is_dir() or not parts:
            continue
        if info.file_size > max(MAX_RATIO * info.compress_size, 1 << 20):
            raise DatasetError(f"{archive}: member {info.filename!r} would expand from {info.compress_size} to "
                               f"{info.file_size} bytes (more than {MAX_RATIO} times: a zip bomb?); refusing to "
                               "extract")
        total += info.file_size
        if total > MAX_EXTRACT:
            raise DatasetError(f"{archive}: its members hold more than {MAX_EXTRACT} bytes; refusing to extract")
        dest = target.joinpath(*parts)
        resolved = dest.resolve()
        if resolved != root and root not in resolved.parents:
            raise DatasetError(f"{archive}: member {info.filename!r} would land outside {target}; "
                               "refusing to extract")
        plan.append((info, dest))
    return plan


def _member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, archive: Any) -> Iterator[bytes]:
    """The bytes of a member in chunks (never more than its declared size), a ``DatasetError`` naming the archive
    when they cannot be read (corrupt data, a bad checksum, an unsupported compression)."""
    try:
        with zf.open(info) as src:
            while chunk := src.read(1 << 20):
                yield chunk
    except _UNREADABLE as e:
        raise DatasetError(f"{archive}: member {info.filename!r} cannot be read ({type(e).__name__}: {e})") from None


class IdMaps:
    """Raw ids <-> indices: ``user_ids[u]`` / ``item_ids[i]`` is the raw id of index u / i (sorted, distinct)."""

    user_ids: np.ndarray
    item_ids: np.ndarray

    @property
    def n_users(self) -> int:
        return len(self.user_ids)

    @property
    def n_items(self) -> int:
        return len(self.item_ids)

    def user_index(self, raw_id) -> np.ndarray | int:
        """Index of a raw user id (or an array of them); ``UnknownIdError`` for an id not known here."""
        return _lookup(self.user_ids, raw_id, "user")

    def item_index(self, raw_id) -> np.ndarray | int:
        """Index of a raw item id (or an array of them); ``UnknownIdError`` for an id not known here."""
        return _lookup(self.item_ids, raw_id, "item")


class MovieLens100K(IdMaps):
    """MovieLens-100K: 100,000 ratings (1-5) of 1,682 movies by 943 users (GroupLens).

    Attributes: ``ratings`` (all of ``u.data``), ``user_ids``/``item_ids`` (raw id of each index),
    ``titles`` (one per item), ``genres`` ((n_items, 19) uint8) and ``genre_names``, ``user_age``,
    ``user_gender``, ``user_occupation``, ``user_zip`` (per user index). ``split("u1")`` gives the
    official ``(u1.base, u1.test)`` pair; ``folds()`` the five u1..u5 pairs.
    """

    name = "ml-100k"

    def __init__(self, root: str | os.PathLike | None = None, download: bool = False, url: str = URL,
                 md5: str = MD5):
        self.root = self._find_root(root, download, url, md5)
        raw = _read_table(self.root / "u.data", 4)
        item_rows = _read_pipe(self.root / "u.item", 5)
        user_rows = _read_pipe(self.root / "u.user", 5)
        item_raw = _ints([r[0] for r in item_rows], self.root / "u.item", "movie ids")
        user_raw = _ints([r[0] for r in user_rows], self.root / "u.user", "user ids")
        self.user_ids = np.unique(np.concatenate([user_raw, raw[:, 0]]))
        self.item_ids = np.unique(np.concatenate([item_raw, raw[:, 1]]))
        titles = {int(i): r[1] for i, r in zip(item_raw, item_rows)}
        self.titles = [titles.get(int(i), f"item {int(i)}") for i in self.item_ids]
        genre_file = self.root / "u.genre"
        self.genre_names = [r[0] for r in _read_pipe(genre_file, 2)] if genre_file.is_file() else []
        ng = len(self.genre_names)
        self.genres = np.zeros((len(self.item_ids), ng), np.uint8)
        if ng:
            flags = _ints([f or "0" for r in item_rows for f in r[5:5 + ng] + [""] * (ng - len(r[5:5 + ng]))],
                          self.root / "u.item", "genre flags")
            if flags.size and (flags.min() < 0 or flags.max() > 1):
                raise DatasetError(f"{self.root / 'u.item'}: genre flags must be 0 or 1, found "
                                   f"{flags.min()}..{flags.max()}")
            self.genres[np.searchsorted(self.item_ids, item_raw)] = flags.reshape(len(item_rows), ng)
        u = np.searchsorted(self.user_ids, user_raw)
        n = len(self.user_ids)
        self.user_age = np.zeros(n, np.int64)
        self.user_age[u] = _ints([r[1] for r in user_rows], self.root / "u.user", "ages")
        self.user_gender = [""] * n
        self.user_occupation = [""] * n
        self.user_zip = [""] * n
        for k, r in zip(u.tolist(), user_rows):
            self.user_gender[k], self.user_occupation[k], self.user_zip[k] = r[2], r[3], r[4]
        self.ratings = self._to_ratings(raw, self.root / "u.data")

    # ---- files ----------------------------------------------------------------------------------
    @classmethod
    def _complete(cls, path: Path) -> bool:
        return all((path / f).is_file() for f in _REQUIRED)

    def _find_root(self, root, download: bool, url: str, md5: str) -> Path:
        if root is not None:  # the folder holding the files, or one holding ml-100k/
            r = Path(root).expanduser()
            candidates = [(r, "given"), (r / self.name, "given")]
        else:
            candidates = data_roots(self.name)
        for path, _ in candidates:
            if self._complete(path):
                return path
        target = candidates[0][0]
        if download:
            self.download(target, url, md5)
            return target
        raise not_found("MovieLens100K", _REQUIRED, candidates,
                        f"download it (download=True in Python, --download on the command line; fetches {url} into "
                        f"{target}), or set LUCIDNET_DATA to a directory holding ml-100k/ with the extracted files, or "
                        "point at that directory (root= in Python, --data on the command line).")

    @staticmethod
    def download(target: str | os.PathLike, url: str = URL, md5: str = MD5) -> Path:
        """Fetch the archive (MD5-checked) and extract it safely into ``target``; the zip is then removed."""
        target = Path(target)
        target.mkdir(parents=True, exist_ok=True)
        archive = target / "ml-100k.zip"
        download_file(url, archive, md5=md5)
        try:
            safe_extract(archive, target, strip="ml-100k")
        finally:
            archive.unlink(missing_ok=True)
        if not MovieLens100K._complete(target):
            raise DatasetError(f"{url}: the archive did not contain {', '.join(_REQUIRED)}")
        return target

    def _to_ratings(self, raw: np.ndarray, path: Path) -> Ratings:
        try:
            u = _lookup(self.user_ids, raw[:, 0], "user")
            i = _lookup(self.item_ids, raw[:, 1], "item")
        except UnknownIdError as e:
            raise DatasetError(f"{path}: {e}") from None
        r = raw[:, 2]
        if r.size and (r.min() < 1 or r.max() > 5):
            raise DatasetError(f"{path}: ratings must lie in 1..5, found {int(r.min())}..{int(r.max())}")
        return Ratings(u, i, r.astype(np.float32), raw[:, 3].copy())

    # ---- splits ---------------------------------------------------------------------------------
    def split(self, name: str) -> tuple[Ratings, Ratings]:
        """The official ``(NAME.base, NAME.test)`` pair: ``"u1"``..``"u5"`` (5-fold, 80/20) or ``"ua"``/``"ub"``
        (10 ratings per user in test)."""
        if name not in SPLITS:
            raise ValueError(f"MovieLens100K.split: unknown split {name!r}; expected one of {', '.join(SPLITS)}")
        out = []
        for part in ("base", "test"):
            path = self.root / f"{name}.{part}"
            if not path.is_file():
                raise DatasetNotFoundError(f"MovieLens100K: {path} is missing (the split files come with the "
                                           "upstream archive; download=True fetches it)")
            out.append(self._to_ratings(_read_table(path, 4), path))
        return out[0], out[1]

    def folds(self) -> Iterator[tuple[str, Ratings, Ratings]]:
        """``(name, base, test)`` for u1..u5: the five disjoint 20% test sets."""
        for name in SPLITS[:5]:
            yield (name, *self.split(name))

    def __repr__(self) -> str:
        return (f"MovieLens100K({len(self.ratings)} ratings, {self.n_users} users, {self.n_items} items, "
                f"root='{self.root}')")


def _lookup(ids: np.ndarray, raw, what: str):
    """Positions of ``raw`` in the sorted ``ids``; ``UnknownIdError`` naming the first id not there."""
    arr = np.asarray(raw)
    if arr.dtype.kind not in "iu":
        try:
            arr = arr.astype(np.int64)
        except (TypeError, ValueError):
            raise UnknownIdError(f"unknown {what} id {raw!r}: ids are integers") from None
        if not np.array_equal(arr, np.asarray(raw, dtype=float)):
            raise UnknownIdError(f"unknown {what} id {raw!r}: ids are integers")
    pos = np.searchsorted(ids, arr)
    pos_c = np.minimum(pos, max(len(ids) - 1, 0))
    ok = (pos < len(ids)) & (ids[pos_c] == arr) if len(ids) else np.zeros(arr.shape, bool)
    if not np.all(ok):
        bad = arr[~ok].reshape(-1)[0]
        lo, hi = (int(ids[0]), int(ids[-1])) if len(ids) else (None, None)
        raise UnknownIdError(f"unknown {what} id {int(bad)}: the data has {len(ids)} {what}s"
                             + (f" with ids from {lo} to {hi}" if len(ids) else ""))
    return int(pos) if arr.ndim == 0 else pos
