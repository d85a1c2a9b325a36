"""A tiny synthetic MovieLens-100K in the upstream layout (tab-separated ratings, '|'-separated Latin-1 item
and user files, u1..u5 / ua / ub splits), for the recsys tests. Ratings follow a planted structure
(user and item biases plus a low-rank term) so that models can learn something from them."""
import io
import zipfile
from pathlib import Path

import numpy as np

GENRES = ["unknown", "Action", "Comedy"]


def make_ratings(n_users=12, n_items=20, per_user=10, seed=0):
    """(user ids, item ids, ratings, times) with raw ids 1..n, every user with ``per_user`` distinct items."""
    rng = np.random.default_rng(seed)
    bu, bi = rng.normal(0, 0.6, n_users), rng.normal(0, 0.6, n_items)
    p, q = rng.normal(0, 0.7, (n_users, 2)), rng.normal(0, 0.7, (n_items, 2))
    rows = []
    for u in range(n_users):
        items = rng.choice(n_items, per_user, replace=False)
        for k, i in enumerate(items):
            r = int(np.clip(np.rint(3.5 + bu[u] + bi[i] + p[u] @ q[i]), 1, 5))
            rows.append((u + 1, i + 1, r, 880000000 + 1000 * u + 10 * k))
    return np.array(rows, dtype=np.int64)


def _write_table(path, rows):
    path.write_text("".join(f"{u}\t{i}\t{r}\t{t}\n" for u, i, r, t in rows))


def write_movielens(root, n_users=12, n_items=20, per_user=10, seed=0):
    """Write the files into ``root`` (created); returns the (N, 4) ratings table written to u.data."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    rows = make_ratings(n_users, n_items, per_user, seed)
    _write_table(root / "u.data", rows)
    items = []
    for i in range(1, n_items + 1):
        title = "Caf\u00e9 Society (1999)" if i == 2 else f"Movie {i} (199{i % 10})"
        flags = ["1" if (i % len(GENRES)) == g else "0" for g in range(len(GENRES))]
        items.append("|".join([str(i), title, "01-Jan-1995", "", "http://example.com"] + flags))
    (root / "u.item").write_bytes(("\n".join(items) + "\n").encode("latin-1"))
    users = [f"{u}|{20 + u}|{'MF'[u % 2]}|writer|{10000 + u}" for u in range(1, n_users + 1)]
    (root / "u.user").write_text("\n".join(users) + "\n")
    (root / "u.genre").write_text("".join(f"{g}|{k}\n" for k, g in enumerate(GENRES)) + "\n")
    rng = np.random.default_rng(seed + 1)
    fold = rng.permutation(len(rows)) % 5
    for k in range(5):
        _write_table(root / f"u{k + 1}.base", rows[fold != k])
        _write_table(root / f"u{k + 1}.test", rows[fold == k])
    for name, n_test in (("ua", 2), ("ub", 3)):
        test = np.zeros(len(rows), bool)
        for u in np.unique(rows[:, 0]):
            test[np.flatnonzero(rows[:, 0] == u)[:n_test]] = True
        _write_table(root / f"{name}.base", rows[~test])
        _write_table(root / f"{name}.test", rows[test])
    return rows


def zip_of(root, prefix="ml-100k/", extra=()):
    """The bytes of a zip of ``root``'s files under ``prefix`` (as upstream ships it), plus ``extra``
    (name, bytes) members."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(prefix, b"") if prefix else None
        for f in sorted(Path(root).iterdir()):
            zf.write(f, prefix + f.name)
        for name, data in extra:
            zf.writestr(name, data)
    return buf.getvalue()
