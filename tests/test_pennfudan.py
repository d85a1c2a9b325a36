"""The Penn-Fudan loader: the fixed split, boxes from masks checked against the annotations, and clear errors
on a missing or mismatched mask (on a small database written here; the real one where LUCIDNET_DATA has it)."""
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lucidnet.datasets import DatasetError
from lucidnet.datasets.pennfudan import PennFudan, boxes_from_mask, read_annotation, split_indices

REAL = Path(os.environ.get("LUCIDNET_DATA", "/nonexistent")) / "pennfudan"

ANNOTATION = """# Compatible with PASCAL Annotation Version 1.00\r
Image filename : "PennFudanPed/PNGImages/{name}.png"\r
Image size (X x Y x C) : {w} x {h} x 3\r
Objects with ground truth : {n} {{ }}\r
{objects}"""
OBJECT = ('Bounding box for object {k} "PASpersonWalking" (Xmin, Ymin) - (Xmax, Ymax) : ({x0}, {y0}) - ({x1}, {y1})\r\n'
          'Pixel mask for object {k} "PASpersonWalking" : "PennFudanPed/PedMasks/{name}_mask.png"\r\n')


def write_db(root: Path, n: int = 4, h: int = 40, w: int = 30, shift: int = 0) -> Path:
    for folder in ("PNGImages", "PedMasks", "Annotation"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(n):
        name = f"FudanPed{i:05d}"
        Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(root / "PNGImages" / f"{name}.png")
        mask = np.zeros((h, w), np.uint8)
        mask[5:20, 3:9] = 1
        mask[10:35, 15:27] = 2
        Image.fromarray(mask).save(root / "PedMasks" / f"{name}_mask.png")
        objects = "".join(OBJECT.format(k=k + 1, name=name, x0=x0 + 1 + shift, y0=y0 + 1, x1=x1, y1=y1)
                          for k, (x0, y0, x1, y1) in enumerate([(3, 5, 9, 20), (15, 10, 27, 35)]))
        (root / "Annotation" / f"{name}.txt").write_bytes(
            ANNOTATION.format(name=name, w=w, h=h, n=2, objects=objects).encode())
    return root


def test_split_is_the_issues():
    test, train = split_indices(170)
    perm = np.random.default_rng(0).permutation(170)
    np.testing.assert_array_equal(test, perm[:50])
    np.testing.assert_array_equal(train, perm[50:])


def test_boxes_from_mask_and_annotation(tmp_path):
    root = write_db(tmp_path)
    ds = PennFudan(root, split="all")
    assert len(ds) == 4 and ds.names[0] == "FudanPed00000"
    item = ds[0]
    assert item.image.shape == (40, 30, 3) and item.image.dtype == np.uint8
    np.testing.assert_array_equal(item.boxes, [[3, 5, 9, 20], [15, 10, 27, 35]])
    size, boxes = read_annotation(root / "Annotation" / "FudanPed00000.txt")
    assert size == (40, 30)
    np.testing.assert_array_equal(boxes, item.boxes)


def test_missing_mask_is_named(tmp_path):
    root = write_db(tmp_path)
    (root / "PedMasks" / "FudanPed00002_mask.png").unlink()
    with pytest.raises(DatasetError, match=r"the mask of FudanPed00002.png is missing: expected .*FudanPed00002_mask"):
        PennFudan(root, split="all")


def test_mismatched_mask_is_named(tmp_path):
    root = write_db(tmp_path, shift=12)
    with pytest.raises(DatasetError, match=r"pedestrian 1 of FudanPed00000_mask.png .*\(12 px apart"):
        PennFudan(root, split="all")
    root = write_db(tmp_path / "b")
    mask = np.zeros((40, 30), np.uint8)
    mask[2:5, 2:5] = 1
    Image.fromarray(mask).save(root / "PedMasks" / "FudanPed00001_mask.png")
    with pytest.raises(DatasetError, match=r"FudanPed00001_mask.png holds instance ids \[1\], but FudanPed00001.txt "
                                           r"annotates 2"):
        PennFudan(root, split="all")
    Image.fromarray(np.zeros((41, 30), np.uint8)).save(root / "PedMasks" / "FudanPed00001_mask.png")
    with pytest.raises(DatasetError, match="is 30x41, its image FudanPed00001.png 30x40"):
        PennFudan(root, split="all")


def test_missing_database_says_how_to_get_it(tmp_path):
    with pytest.raises(DatasetError, match="PennFudanPed.zip"):
        PennFudan(tmp_path / "nothing")


def test_instance_missing_from_mask():
    with pytest.raises(DatasetError, match="instance 2 has no pixel"):
        boxes_from_mask(np.ones((3, 3), np.uint8), 2)


@pytest.mark.skipif(not REAL.is_dir(), reason="the Penn-Fudan database is not under $LUCIDNET_DATA")
def test_real_database_split():
    test = PennFudan(REAL, split="test")
    assert len(test) == 50 and sum(len(x.boxes) for x in test) > 0
    names = sorted(p.stem for p in (REAL / "PNGImages").glob("*.png"))
    assert test.names == [names[i] for i in np.random.default_rng(0).permutation(170)[:50]]
