"""MovieLens-100K reading (on a tiny synthetic copy in the upstream layout), id maps, splits, and the
checked, safe download (from a local file:// URL, no network)."""
import hashlib
import zipfile

import numpy as np
import pytest

from lucidnet.datasets import DatasetError, DatasetNotFoundError
from lucidnet.recsys import SPLITS, MovieLens100K, UnknownIdError
from lucidnet.recsys.data import safe_extract
from movielens_fixture import write_movielens, zip_of


@pytest.fixture
def ml(tmp_path):
    rows = write_movielens(tmp_path / "ml-100k")
    return MovieLens100K(tmp_path / "ml-100k"), rows


def test_reads_ratings_ids_titles_and_users(ml):
    ds, rows = ml
    assert (ds.n_users, ds.n_items, len(ds.ratings)) == (12, 20, 120)
    r = ds.ratings
    assert r.user.dtype == np.int64 and r.item.dtype == np.int64 and r.rating.dtype == np.float32
    assert r.time.dtype == np.int64
    # ids map both ways: index -> raw id -> index
    np.testing.assert_array_equal(ds.user_ids[r.user], rows[:, 0])
    np.testing.assert_array_equal(ds.item_ids[r.item], rows[:, 1])
    np.testing.assert_array_equal(ds.user_index(ds.user_ids), np.arange(12))
    assert ds.item_index(5) == 4 and isinstance(ds.item_index(5), int)
    np.testing.assert_array_equal(r.rating, rows[:, 2].astype(np.float32))
    np.testing.assert_array_equal(r.time, rows[:, 3])
    assert ds.titles[1] == "Caf\u00e9 Society (1999)"  # Latin-1 decoded
    assert ds.genre_names == ["unknown", "Action", "Comedy"] and ds.genres.shape == (20, 3)
    assert ds.genres[0].tolist() == [0, 1, 0]
    assert ds.user_age[0] == 21 and ds.user_gender[:2] == ["F", "M"] and ds.user_occupation[0] == "writer"


def test_unknown_ids_are_clear_errors_not_index_errors(ml):
    ds, _ = ml
    with pytest.raises(UnknownIdError, match="unknown user id 99: the data has 12 users with ids from 1 to 12"):
        ds.user_index(99)
    with pytest.raises(UnknownIdError, match="unknown item id 0"):
        ds.item_index(np.array([3, 0]))
    with pytest.raises(UnknownIdError, match="integers"):
        ds.user_index("abc")
    assert issubclass(UnknownIdError, ValueError) and not issubclass(UnknownIdError, IndexError)


def test_official_splits(ml):
    ds, _ = ml
    for name in SPLITS:
        base, test = ds.split(name)
        assert len(base) + len(test) == 120
        pairs = set(zip(base.user.tolist(), base.item.tolist()))
        assert not pairs & set(zip(test.user.tolist(), test.item.tolist()))
    tests = [ds.split(n)[1] for n in SPLITS[:5]]
    assert sum(len(t) for t in tests) == 120  # u1..u5 tests partition the data
    assert [name for name, _, _ in ds.folds()] == ["u1", "u2", "u3", "u4", "u5"]
    with pytest.raises(ValueError, match="unknown split 'u9'"):
        ds.split("u9")
    (ds.root / "ub.test").unlink()
    with pytest.raises(DatasetNotFoundError, match="ub.test is missing"):
        ds.split("ub")


def test_missing_and_corrupt_files(tmp_path, monkeypatch):
    monkeypatch.setenv("LUCIDNET_DATA", str(tmp_path / "nowhere"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    with pytest.raises(DatasetNotFoundError, match="download=True") as e:
        MovieLens100K()
    assert "nowhere" in str(e.value) and "user cache" in str(e.value)
    write_movielens(tmp_path / "nowhere" / "ml-100k")
    assert len(MovieLens100K().ratings) == 120  # found through $LUCIDNET_DATA
    assert MovieLens100K(tmp_path / "nowhere").root == tmp_path / "nowhere" / "ml-100k"  # root= may be the parent
    bad = tmp_path / "bad"
    write_movielens(bad)
    (bad / "u.data").write_text("1\t2\t3\n4\t5\t6\n")
    with pytest.raises(DatasetError, match="3 columns, expected 4"):
        MovieLens100K(bad)
    (bad / "u.data").write_text("1\t2\t9\t100\n")
    with pytest.raises(DatasetError, match="ratings must lie in 1..5"):
        MovieLens100K(bad)
    (bad / "u.data").write_text("1\tx\t3\t100\n")
    with pytest.raises(DatasetError, match="integers"):
        MovieLens100K(bad)


def test_users_only_in_ratings_get_ids(tmp_path):
    root = tmp_path / "ml"
    write_movielens(root)
    with open(root / "u.data", "a") as f:
        f.write("77\t3\t4\t999\n")  # a user u.user does not list: still mapped, no crash
    ds = MovieLens100K(root)
    assert ds.n_users == 13 and ds.user_ids[-1] == 77 and ds.user_gender[-1] == ""


def _serve(tmp_path, data: bytes):
    src = tmp_path / "served" / "ml-100k.zip"
    src.parent.mkdir()
    src.write_bytes(data)
    return src.as_uri(), hashlib.md5(data).hexdigest()


def test_download_checks_md5_and_extracts(tmp_path):
    write_movielens(tmp_path / "src")
    url, md5 = _serve(tmp_path, zip_of(tmp_path / "src"))
    target = tmp_path / "data" / "ml-100k"
    ds = MovieLens100K(target, download=True, url=url, md5=md5)
    assert len(ds.ratings) == 120 and (target / "u1.test").is_file()
    assert not (target / "ml-100k.zip").exists() and not (target / "ml-100k").exists()
    # a wrong checksum: nothing is written
    other = tmp_path / "other"
    with pytest.raises(DatasetError, match="MD5 checksum mismatch"):
        MovieLens100K(other, download=True, url=url, md5="0" * 32)
    assert not other.exists() or not any(other.iterdir())


@pytest.mark.parametrize("name", ["ml-100k/../../evil.txt", "/tmp/evil.txt", "../evil.txt", "C:/evil.txt",
                                  "ml-100k/sub/../../../evil.txt"])
def test_extraction_refuses_members_outside_the_target(tmp_path, name):
    write_movielens(tmp_path / "src")
    url, md5 = _serve(tmp_path, zip_of(tmp_path / "src", extra=[(name, b"gotcha")]))
    target = tmp_path / "a" / "b" / "ml-100k"
    with pytest.raises(DatasetError, match="outside"):
        MovieLens100K(target, download=True, url=url, md5=md5)
    assert not list(tmp_path.rglob("evil.txt"))
    assert not (target / "u.data").exists()  # checked before anything is written


def test_extraction_refuses_symlinks(tmp_path):
    archive = tmp_path / "links.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        info = zipfile.ZipInfo("ml-100k/u.data")
        info.external_attr = (0o120777 << 16)  # a symbolic link member
        zf.writestr(info, "/etc/passwd")
    with pytest.raises(DatasetError, match="symbolic link"):
        safe_extract(archive, tmp_path / "out", strip="ml-100k")
    assert not (tmp_path / "out" / "u.data").exists()


def test_safe_extract_strips_the_top_folder(tmp_path):
    archive = tmp_path / "a.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("ml-100k/", b"")
        zf.writestr("ml-100k/u.info", b"943 users\n")
        zf.writestr("ml-100k/nested/x.txt", b"x")
    written = safe_extract(archive, tmp_path / "out", strip="ml-100k")
    assert sorted(p.relative_to(tmp_path / "out").as_posix() for p in written) == ["nested/x.txt", "u.info"]
    assert (tmp_path / "out" / "u.info").read_text() == "943 users\n"
