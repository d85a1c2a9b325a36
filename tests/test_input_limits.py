"""Impossible sizes are refused early with a clear error (``lucidnet.limits``): tensors larger than the machine's
memory, negative or non-integer dimensions, absurd layers, a batch of 10**12, images of 100,000 x 100,000 pixels;
never a MemoryError from deep inside NumPy."""
import struct
import zlib

import numpy as np
import pytest

import lucidnet as ln
from lucidnet.cli import main
from lucidnet.limits import check_shape, memory_bytes

HUGE = "needs .* of memory, more than this machine's"
pytestmark = pytest.mark.skipif(memory_bytes() is None, reason="the system does not say how much memory it has")


@pytest.mark.parametrize("make, who", [
    (lambda: ln.zeros(10 ** 12), "zeros"), (lambda: ln.ones((10 ** 6, 10 ** 6)), "ones"),
    (lambda: ln.empty(10 ** 6, 10 ** 6), "empty"), (lambda: ln.randn(10 ** 6, 10 ** 6), "randn"),
    (lambda: ln.rand(10 ** 12), "rand"), (lambda: ln.full((10 ** 6, 10 ** 6), 1.0), "full"),
    (lambda: ln.eye(10 ** 7), "eye"), (lambda: ln.arange(10 ** 13), "arange"),
    (lambda: ln.linspace(0, 1, 10 ** 12), "linspace"), (lambda: ln.randint(0, 5, (10 ** 12,)), "randint"),
    (lambda: ln.randperm(10 ** 12), "randperm"), (lambda: ln.zeros(1).new_zeros(10 ** 12), "zeros"),
])
def test_tensors_larger_than_memory_are_refused(make, who):
    with pytest.raises(ValueError, match=f"^{who}: .*{HUGE}"):
        make()


def test_negative_and_non_integer_dimensions():
    with pytest.raises(ValueError, match=r"empty: dimension 1 of the shape \(3, -1\) is negative"):
        ln.empty(3, -1)
    with pytest.raises(TypeError, match=r"zeros: dimension 0 of the shape \(2.5,\) is a float, not an int"):
        ln.zeros(2.5)
    with pytest.raises(TypeError, match="is a bool"):
        ln.ones(True, 2)


def test_ordinary_sizes_still_work():
    assert ln.zeros(2, 3).shape == (2, 3) and ln.zeros((2, 3)).shape == (2, 3) and ln.zeros(0, 5).shape == (0, 5)
    assert ln.full((2,), 7.0).tolist() == [7.0, 7.0] and ln.full(3, 1.0).shape == (3,)
    assert ln.randint(0, 3, (np.int64(4),)).shape == (4,) and ln.arange(5).tolist() == [0, 1, 2, 3, 4]
    assert ln.empty(np.int32(2), 2).shape == (2, 2)
    assert check_shape((2, np.int64(3)), "float64", "test") == (2, 3)
    assert memory_bytes() is None or memory_bytes() > 1 << 28


@pytest.mark.parametrize("make, match", [
    (lambda: ln.nn.Linear(10 ** 7, 10 ** 7), r"Linear\(10000000, 10000000\): its \(10000000, 10000000\) weight"),
    (lambda: ln.nn.Embedding(10 ** 12, 8), r"Embedding\(1000000000000, 8\): its"),
    (lambda: ln.nn.Conv2d(10 ** 5, 10 ** 5, 100), "empty: a tensor of shape"),
    (lambda: ln.nn.LSTM(10 ** 6, 10 ** 6), "empty: a tensor of shape"),
])
def test_layers_of_absurd_sizes(make, match):
    with pytest.raises(ValueError, match=f"{match}.*{HUGE}"):
        make()


def test_model_summary_of_an_absurd_batch():
    with pytest.raises(ValueError, match=rf"summary\(Linear\): .*{HUGE}"):
        ln.nn.Linear(4, 2).summary((4,), batch_size=10 ** 12)


@pytest.mark.parametrize("argv, match", [
    (["--batch-size", str(10 ** 12)], r"--batch-size: expected a finite value in \[1, 1048576\]"),
    (["--image-size", "100000"], "--image-size: expected N or HxW .* at most 8192"),
    (["--image-size", "-5"], "--image-size: expected N or HxW"),
])
def test_cli_refuses_impossible_sizes(tmp_path, capsys, argv, match):
    with pytest.raises(SystemExit) as e:
        main(["train", "--out", str(tmp_path / "run"), *argv])
    assert e.value.code == 2
    assert pytest.importorskip("re").search(match, capsys.readouterr().err)
    assert not (tmp_path / "run").exists()


def test_recipe_batch_size_cap():
    from lucidnet.train.recipe import run
    from lucidnet.vision.recipes import RECIPES
    with pytest.raises(ValueError, match="batch_size must be at most 1048576"):
        run(RECIPES["mlp"], {"batch_size": 10 ** 12})


def test_negative_sampling_epoch_larger_than_memory():
    from lucidnet.recsys.sampling import ImplicitEpochs, InteractionSet, NegativeSampler
    seen = InteractionSet(np.array([0, 1]), np.array([0, 1]), 2, 5)
    with pytest.raises(ValueError, match=f"negatives=1000000000000: an epoch of .* triples {HUGE}"):
        ImplicitEpochs(np.array([0, 1]), np.array([0, 1]), NegativeSampler(seen), negatives=10 ** 12)


def _png_claiming(path, width, height):
    """A 1x1 grey PNG whose header claims ``width`` x ``height`` (CRC recomputed)."""
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0\0"))
                     + chunk(b"IEND", b""))
    return path


def test_image_of_100000_by_100000_pixels_is_refused_from_its_header(tmp_path):
    from lucidnet.datasets.images import decode_image, image_info, read_images
    path = _png_claiming(tmp_path / "huge.png", 100_000, 100_000)
    for read in (lambda: image_info(path), lambda: decode_image(path), lambda: read_images([path], (8, 8), "L")):
        with pytest.raises(ValueError, match="huge.png: the image is too large to read safely .*decompression-bomb"):
            read()


def test_resizing_to_an_absurd_size_is_refused_before_allocating(tmp_path):
    from lucidnet.datasets.images import read_images
    path = _png_claiming(tmp_path / "one.png", 1, 1)
    with pytest.raises(ValueError, match=rf"read_images\(size=\(100000, 100000\)\): .*{HUGE}"):
        read_images([path] * 10, (100_000, 100_000), "RGB")
