"""lucidnet.datasets: the IDX reader, MNIST/Fashion-MNIST, data roots, downloads, the bundled subset."""
import gzip
import hashlib
import http.server
import importlib.util
import os
import struct
import threading
from pathlib import Path

import numpy as np
import pytest

import lucidnet as ln
from lucidnet.data import DataLoader
from lucidnet.datasets import (BUNDLED_DIR, MNIST, DatasetError, DatasetNotFoundError, FashionMNIST, download_file,
                               read_idx, write_idx)

REPO = Path(__file__).resolve().parent.parent
TRAIN = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz")
TEST = ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")


# ---- fixtures: IDX files written by hand (struct + gzip), independent of the library's writer ----------------
def idx_bytes(arr, magic=None, dims=None, extra=b"", cut=0):
    arr = np.asarray(arr, dtype=np.uint8)
    magic = magic if magic is not None else bytes([0, 0, 0x08, arr.ndim])
    dims = arr.shape if dims is None else dims
    raw = magic + struct.pack(f">{len(dims)}I", *dims) + arr.tobytes() + extra
    return raw[:len(raw) - cut]


def put(path, raw, gz=True):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(raw) if gz else raw)
    return path


def make_split(root, split="train", n=12, seed=0, gz=True):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    labels = (np.arange(n) % 10).astype(np.uint8)
    names = TRAIN if split == "train" else TEST
    if not gz:
        names = tuple(f[:-3] for f in names)
    put(Path(root) / names[0], idx_bytes(images), gz)
    put(Path(root) / names[1], idx_bytes(labels), gz)
    return images, labels


@pytest.fixture
def no_default_roots(tmp_path, monkeypatch):
    """Point $LUCIDNET_DATA and the user cache at empty temporary directories."""
    monkeypatch.setenv("LUCIDNET_DATA", str(tmp_path / "env"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path


# ---- the IDX format --------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
@pytest.mark.parametrize("name", ["a-idx.gz", "a-idx"])
def test_idx_roundtrip(tmp_path, dtype, name):
    arr = (np.arange(24).reshape(2, 3, 4) - 5).astype(dtype)
    write_idx(tmp_path / name, arr)
    back = read_idx(tmp_path / name)
    assert back.dtype == np.dtype(dtype) and back.dtype.isnative and back.flags.writeable
    np.testing.assert_array_equal(back, arr)
    assert [p.name for p in tmp_path.iterdir()] == [name]  # no temporary file left


def test_idx_writer_is_deterministic_and_reads_handmade_files(tmp_path):
    arr = np.arange(10, dtype=np.uint8)
    write_idx(tmp_path / "a.gz", arr)
    first = (tmp_path / "a.gz").read_bytes()
    write_idx(tmp_path / "a.gz", arr)
    assert (tmp_path / "a.gz").read_bytes() == first
    assert gzip.decompress(first) == idx_bytes(arr)
    with pytest.raises(ValueError, match="no IDX type code"):
        write_idx(tmp_path / "b.gz", np.zeros(3, np.int64))


# ---- reading MNIST-style datasets ------------------------------------------------------------------------
def test_fashion_mnist_reads_fixture(tmp_path):
    images, labels = make_split(tmp_path, "test", n=12)
    ds = FashionMNIST(tmp_path, split="test")
    assert len(ds) == 12 and ds.root == tmp_path and ds.num_classes == 10
    assert ds.data.dtype == np.uint8 and ds.data.shape == (12, 28, 28)
    assert ds.targets.dtype == np.int64
    np.testing.assert_array_equal(ds.data, images)
    np.testing.assert_array_equal(ds.targets, labels)
    img, lab = ds[3]
    assert img.dtype == np.float32 and img.shape == (1, 28, 28)
    np.testing.assert_array_equal(img[0], images[3].astype(np.float32) / np.float32(255))
    assert lab == labels[3]
    assert ds.classes[0] == "T-shirt/top" and ds.classes[9] == "Ankle boot"
    assert ds.class_to_idx["Bag"] == 8
    bx, by = ds.get_batch(np.array([5, 2]))
    np.testing.assert_array_equal(bx, np.stack([ds[5][0], ds[2][0]]))
    np.testing.assert_array_equal(by, labels[[5, 2]])
    x, y = ds.to_arrays()
    assert x.shape == (12, 1, 28, 28) and x.dtype == np.float32 and 0 <= x.min() and x.max() <= 1
    np.testing.assert_array_equal(x[:, 0], images / np.float32(255))
    xf, _ = ds.to_arrays(flatten=True)
    assert xf.shape == (12, 784)
    xr, _ = ds.to_arrays(normalize=False)
    assert xr.dtype == np.uint8 and xr.shape == (12, 1, 28, 28)
    assert "split='test'" in repr(ds)


def test_uncompressed_files_and_mnist(tmp_path):
    images, labels = make_split(tmp_path, "train", n=5, gz=False)
    ds = MNIST(tmp_path)
    np.testing.assert_array_equal(ds.data, images)
    assert ds.classes[7] == "7 - seven"


def test_transforms_and_loader(tmp_path):
    images, labels = make_split(tmp_path, "train", n=10)
    ds = FashionMNIST(tmp_path, transform=lambda im: im.reshape(-1) * 2, target_transform=lambda t: t + 100)
    img, lab = ds[1]
    assert img.shape == (784,) and lab == labels[1] + 100
    x, y = next(iter(DataLoader(ds, batch_size=4)))
    assert x.shape == (4, 784) and x.dtype == np.float32
    np.testing.assert_allclose(x.numpy(), images[:4].reshape(4, -1) / 255 * 2, rtol=1e-6)
    assert y.tolist() == (labels[:4] + 100).tolist()
    plain = FashionMNIST(tmp_path)
    ln.manual_seed(0)
    bx, by = next(iter(DataLoader(plain, batch_size=6, shuffle=True)))
    assert bx.shape == (6, 1, 28, 28) and bx.dtype == np.float32 and by.dtype == np.int64
    ln.manual_seed(0)
    perm = ln.random.generator().permutation(10)[:6]
    np.testing.assert_array_equal(by.numpy(), labels[perm])


def test_bad_split(tmp_path):
    with pytest.raises(ValueError, match="split must be 'train' or 'test', got 'val'"):
        FashionMNIST(tmp_path, split="val")


# ---- corrupt files ---------------------------------------------------------------------------------------
IMG = np.zeros((4, 28, 28), np.uint8)
LAB = np.arange(4, dtype=np.uint8)


def _gz_flip(raw):
    z = bytearray(gzip.compress(raw))
    z[-6] ^= 0xFF  # inside the CRC32 trailer
    return bytes(z)


CORRUPTIONS = {
    # name: (which file, raw bytes (None: use `gz_bytes`), gz_bytes, expected message fragment)
    "bad magic": ("images", idx_bytes(IMG, magic=b"\x12\x34\x08\x03"), None, "bad magic number 0x12340803"),
    "bad type code": ("images", idx_bytes(IMG, magic=b"\x00\x00\x07\x03"), None, "bad magic number 0x00000703"),
    "labels file as images": ("images", idx_bytes(LAB), None, "expected an IDX file with 3 dimension"),
    "wrong element type": ("labels", idx_bytes(LAB.astype(np.int32).view(np.uint8), magic=b"\x00\x00\x0c\x01",
                                               dims=(4,)), None, "expected elements of type uint8"),
    "truncated data": ("images", idx_bytes(IMG, cut=400), None, "truncated data"),
    "trailing data": ("images", idx_bytes(IMG, dims=(3, 28, 28)), None, "784 bytes of trailing data"),
    "truncated header": ("labels", b"\x00\x00\x08\x01\x00", None, "truncated header"),
    "empty": ("labels", b"", None, "too short for an IDX header"),
    "count mismatch": ("labels", idx_bytes(LAB[:3]), None, "holds 4 images but"),
    "label out of range": ("labels", idx_bytes(np.array([0, 1, 12, 3])), None, "label 12 at item 2 is out of range"),
    "wrong image size": ("images", idx_bytes(np.zeros((4, 32, 32))), None, r"expected images of size \(28, 28\)"),
    "not gzip": ("images", None, b"this is not gzip data at all", "not a valid gzip file"),
    "truncated gzip": ("images", None, gzip.compress(idx_bytes(IMG))[:30], "truncated gzip file"),
    "bad crc": ("images", None, _gz_flip(idx_bytes(IMG)), "not a valid gzip file"),
    "bad deflate stream": ("images", None, gzip.compress(idx_bytes(IMG))[:10] + b"\xff" * 40, "gzip"),
}


@pytest.mark.parametrize("case", sorted(CORRUPTIONS))
def test_corrupt_files_raise_dataset_error_naming_the_file(tmp_path, case):
    which, raw, gz_raw, fragment = CORRUPTIONS[case]
    put(tmp_path / TRAIN[0], idx_bytes(IMG))
    put(tmp_path / TRAIN[1], idx_bytes(LAB))
    target = tmp_path / (TRAIN[0] if which == "images" else TRAIN[1])
    if raw is not None:
        put(target, raw)
    else:
        target.write_bytes(gz_raw)
    with pytest.raises(DatasetError, match=fragment) as info:
        FashionMNIST(tmp_path)
    assert target.name in str(info.value)


def test_intact_fixture_of_the_corruption_tests_loads(tmp_path):
    put(tmp_path / TRAIN[0], idx_bytes(IMG))
    put(tmp_path / TRAIN[1], idx_bytes(LAB))
    assert len(FashionMNIST(tmp_path)) == 4


# ---- where the data is looked for ------------------------------------------------------------------------
def test_missing_data_error_says_where_and_how(no_default_roots):
    with pytest.raises(DatasetNotFoundError) as info:
        FashionMNIST(split="test")
    msg = str(info.value)
    assert isinstance(info.value, FileNotFoundError) and isinstance(info.value, DatasetError)
    assert str(no_default_roots / "env" / "fashion-mnist") in msg
    assert str(no_default_roots / "cache" / "lucidnet" / "fashion-mnist") in msg
    for hint in ("t10k-images-idx3-ubyte.gz", "download=True", "LUCIDNET_DATA", "FashionMNIST.bundled('test')",
                 "directory does not exist"):
        assert hint in msg
    make_split(no_default_roots / "partial", "test")
    (no_default_roots / "partial" / TEST[1]).unlink()
    with pytest.raises(DatasetNotFoundError, match="missing t10k-labels-idx1-ubyte.gz"):
        MNIST(no_default_roots / "partial", split="test")


def test_roots_env_then_user_cache(no_default_roots, monkeypatch):
    cache_imgs, _ = make_split(no_default_roots / "cache" / "lucidnet" / "mnist", seed=1)
    ds = MNIST()  # $LUCIDNET_DATA/mnist is empty: falls through to the cache
    assert ds.root == no_default_roots / "cache" / "lucidnet" / "mnist"
    env_imgs, _ = make_split(no_default_roots / "env" / "mnist", seed=2)
    ds = MNIST()
    assert ds.root == no_default_roots / "env" / "mnist"
    np.testing.assert_array_equal(ds.data, env_imgs)
    monkeypatch.delenv("LUCIDNET_DATA")
    np.testing.assert_array_equal(MNIST().data, cache_imgs)
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/dir")  # not absolute: ignored, as the XDG spec says
    monkeypatch.setenv("HOME", str(no_default_roots / "home"))
    make_split(no_default_roots / "home" / ".cache" / "lucidnet" / "mnist")
    assert MNIST().root == no_default_roots / "home" / ".cache" / "lucidnet" / "mnist"


# ---- downloads from a local HTTP server ------------------------------------------------------------------
class _Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        self.server.requests.append(self.path)
        if self.path.startswith("/short/"):  # announces more bytes than it sends, then closes
            body = b"x" * 100
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            self.wfile.write(body)
            return
        super().do_GET()


@pytest.fixture
def server(tmp_path, monkeypatch):
    monkeypatch.setenv("no_proxy", "*")
    served = tmp_path / "served"
    served.mkdir()
    httpd = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), lambda *a, **k: _Handler(*a, directory=str(served), **k))
    httpd.requests = []
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield served, f"http://127.0.0.1:{httpd.server_address[1]}", httpd.requests
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def _md5(path):
    return hashlib.md5(Path(path).read_bytes()).hexdigest()


def _tiny_class(served):
    class Tiny(FashionMNIST):
        md5s = {f: _md5(served / f) for f in TRAIN}
    return Tiny


def test_download_fetches_verifies_and_skips_present_files(server, tmp_path):
    served, url, requests = server
    images, labels = make_split(served, "train", n=7)
    Tiny = _tiny_class(served)
    root = tmp_path / "dl"
    ds = Tiny(root, download=True, base_url=url)
    np.testing.assert_array_equal(ds.data, images)
    np.testing.assert_array_equal(ds.targets, labels)
    assert sorted(requests) == sorted(f"/{f}" for f in TRAIN)
    assert sorted(p.name for p in root.iterdir()) == sorted(TRAIN)  # no temporary files left
    assert oct((root / TRAIN[0]).stat().st_mode & 0o444) == oct(0o444)  # readable, not mkstemp's 0600
    Tiny(root, download=True, base_url=url)
    assert len(requests) == 2  # present files are not fetched again


def test_download_into_default_root_and_mirror_fallback(server, no_default_roots):
    served, url, requests = server
    make_split(served, "train", n=3)
    Tiny = _tiny_class(served)
    Tiny.mirrors = (url + "/nothing-here/", url + "/")
    ds = Tiny(download=True)
    assert ds.root == no_default_roots / "env" / "fashion-mnist"
    assert requests[0] == "/nothing-here/" + TRAIN[0] and len(requests) == 4


def test_download_checksum_mismatch_keeps_nothing(server, tmp_path):
    served, url, _ = server
    make_split(served, "train", n=3)
    Tiny = _tiny_class(served)
    Tiny.md5s = dict(Tiny.md5s, **{TRAIN[1]: "0" * 32})
    root = tmp_path / "dl"
    with pytest.raises(DatasetError, match=f"(?s)could not download {TRAIN[1]}.*MD5 checksum mismatch"):
        Tiny(root, download=True, base_url=url)
    assert sorted(p.name for p in root.iterdir()) == [TRAIN[0]]  # the good file stays; no partial file


def test_download_errors_name_the_url(server, tmp_path):
    served, url, _ = server
    with pytest.raises(DatasetError, match=r"downloading http://127\.0\.0\.1:\d+/missing\.gz failed: HTTP Error 404"):
        download_file(url + "/missing.gz", tmp_path / "m.gz")
    with pytest.raises(DatasetError, match="closed after 100 of 1000 bytes"):
        download_file(url + "/short/x.gz", tmp_path / "x.gz")
    assert list(tmp_path.iterdir()) == [served]
    (served / "ok.bin").write_bytes(b"hello")
    out = download_file(url + "/ok.bin", tmp_path / "sub" / "ok.bin", md5=hashlib.md5(b"hello").hexdigest())
    assert out.read_bytes() == b"hello"


# ---- the bundled subset ----------------------------------------------------------------------------------
@pytest.mark.parametrize("split,n", [("train", 6000), ("test", 1000)])
def test_bundled_subset(split, n):
    ds = FashionMNIST.bundled(split)
    assert len(ds) == n and ds.data.dtype == np.uint8 and ds.data.shape == (n, 28, 28)
    np.testing.assert_array_equal(np.bincount(ds.targets, minlength=10), np.full(10, n // 10))
    assert 20 < ds.data.mean() < 120 and ds.data.max() == 255  # real images, not blanks
    x, y = next(iter(DataLoader(ds, batch_size=64, shuffle=True)))
    assert x.shape == (64, 1, 28, 28) and x.dtype == np.float32 and y.dtype == np.int64


def test_bundled_files_size_and_notice():
    folder = BUNDLED_DIR / "fashion-mnist"
    total = sum(p.stat().st_size for p in folder.iterdir())
    assert 2e6 < total < 5e6
    notice = (folder / "NOTICE").read_text()
    assert "MIT License" in notice and "Copyright (c) 2017 Zalando SE" in notice
    assert "tools/make_bundled_subset.py" in notice


# ---- the real data (LUCIDNET_DATA) -----------------------------------------------------------------------
UPSTREAM_RAW_MD5 = {"train": ("f4a8712d7a061bf5bd6d2ca38dc4d50a", "9018921c3c673c538a1fc5bad174d6f9"),
                    "test": ("8181f5470baa50b63fa0f6fddb340f0a", "15d484375f8d13e6eb1aabb0c3f46965")}
real_data = pytest.mark.skipif(not os.environ.get("LUCIDNET_DATA"),
                               reason="LUCIDNET_DATA is not set (point it at a folder holding fashion-mnist/; "
                                      "CI sets it to ../shared/data)")


@pytest.mark.slow
@real_data
@pytest.mark.parametrize("split,n", [("train", 60000), ("test", 10000)])
def test_full_fashion_mnist(split, n):
    ds = FashionMNIST(split=split)
    assert len(ds) == n and ds.data.shape == (n, 28, 28)
    np.testing.assert_array_equal(np.bincount(ds.targets, minlength=10), np.full(10, n // 10))
    # what was read is byte for byte the upstream file: rebuild it and compare with upstream's MD5
    img_md5, lbl_md5 = UPSTREAM_RAW_MD5[split]
    img_raw = struct.pack(">4I", 0x803, n, 28, 28) + ds.data.tobytes()
    lbl_raw = struct.pack(">2I", 0x801, n) + ds.targets.astype(np.uint8).tobytes()
    assert hashlib.md5(img_raw).hexdigest() == img_md5
    assert hashlib.md5(lbl_raw).hexdigest() == lbl_md5


@pytest.mark.slow
@real_data
def test_bundled_subset_is_what_the_tool_selects_from_the_real_data():
    spec = importlib.util.spec_from_file_location("make_bundled_subset", REPO / "tools" / "make_bundled_subset.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    for split, per in (("train", 600), ("test", 100)):
        full = FashionMNIST(split=split)
        idx = tool.select(full.targets, per, seed=0)
        bundled = FashionMNIST.bundled(split)
        np.testing.assert_array_equal(bundled.data, full.data[idx])
        np.testing.assert_array_equal(bundled.targets, full.targets[idx])
