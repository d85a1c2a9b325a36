"""Make the Fashion-MNIST subset bundled in lucidnet/datasets/bundled/fashion-mnist/.

Picks, with a fixed seed, the same number of images of every class from the full train and test files
(600 and 100 per class: 6,000 + 1,000 images), keeps them in their original order, and writes them as IDX
.gz files (deterministic gzip: no name, time 0) with a NOTICE on licence and provenance. Run from the
repository root:

    python tools/make_bundled_subset.py --src ../shared/data/fashion-mnist

The full files are checked first against the upstream MD5s of their decompressed contents.
Rerunning on the same files gives byte-identical output.
"""
from __future__ import annotations

import argparse
import gzip
import hashlib
import os
from pathlib import Path

import numpy as np

from lucidnet.serialization.atomic import atomic_write
from lucidnet.datasets.idx import read_idx, write_idx

FILES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
         "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}
# MD5 of the decompressed upstream files (zalandoresearch/fashion-mnist README).
UPSTREAM_RAW_MD5 = {"train-images-idx3-ubyte": "f4a8712d7a061bf5bd6d2ca38dc4d50a",
                    "train-labels-idx1-ubyte": "9018921c3c673c538a1fc5bad174d6f9",
                    "t10k-images-idx3-ubyte": "8181f5470baa50b63fa0f6fddb340f0a",
                    "t10k-labels-idx1-ubyte": "15d484375f8d13e6eb1aabb0c3f46965"}
NUM_CLASSES = 10
REPO = Path(__file__).resolve().parent.parent


def select(labels: np.ndarray, per_class: int, seed: int) -> np.ndarray:
    """Sorted indices of ``per_class`` items of every class, drawn without replacement with ``seed``."""
    rng = np.random.default_rng(seed)
    picks = []
    for c in range(NUM_CLASSES):
        pool = np.flatnonzero(labels == c)
        if len(pool) < per_class:
            raise SystemExit(f"class {c} has only {len(pool)} items, fewer than --per-class {per_class}")
        picks.append(rng.choice(pool, per_class, replace=False))
    return np.sort(np.concatenate(picks))


def raw_md5(path: Path) -> str:
    with gzip.open(path, "rb") as f:
        return hashlib.md5(f.read(), usedforsecurity=False).hexdigest()


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


NOTICE = """\
Fashion-MNIST subset bundled with lucidnet
==========================================

These files are a subset of Fashion-MNIST by Zalando Research
(https://github.com/zalandoresearch/fashion-mnist), distributed under the MIT License:

    The MIT License (MIT)

    Copyright (c) 2017 Zalando SE

    Permission is hereby granted, free of charge, to any person obtaining a copy
    of this software and associated documentation files (the "Software"), to deal
    in the Software without restriction, including without limitation the rights
    to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
    copies of the Software, and to permit persons to whom the Software is
    furnished to do so, subject to the following conditions:

    The above copyright notice and this permission notice shall be included in all
    copies or substantial portions of the Software.

    THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
    IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
    FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
    AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
    LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
    OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
    SOFTWARE.

How the subset was made
-----------------------
Tool: tools/make_bundled_subset.py in the lucidnet repository (seed {seed}).
From the full train set (60,000 images) {train_per} images of each of the 10 classes were drawn without
replacement ({train_n} images), and from the full test set (10,000 images) {test_per} per class
({test_n} images), with numpy.random.default_rng({seed}).choice per class, classes 0..9 in order; the
chosen images keep their original relative order. Pixels and labels are unchanged (uint8).
The files are in the original IDX format, gzip-compressed.

Source files (decompressed contents match the upstream MD5s of the Fashion-MNIST README):
{sources}
Bundled files (sha256):
{outputs}"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--src", type=Path, default=Path(os.environ.get("LUCIDNET_DATA", REPO.parent / "shared" / "data"))
                    / "fashion-mnist", help="directory with the four full Fashion-MNIST .gz files")
    ap.add_argument("--out", type=Path, default=REPO / "lucidnet" / "datasets" / "bundled" / "fashion-mnist")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--train-per-class", type=int, default=600)
    ap.add_argument("--test-per-class", type=int, default=100)
    args = ap.parse_args()

    sources, outputs, counts = [], [], {}
    for split, per in (("train", args.train_per_class), ("test", args.test_per_class)):
        img_stem, lbl_stem = FILES[split]
        for stem in (img_stem, lbl_stem):
            path = args.src / f"{stem}.gz"
            got = raw_md5(path)
            if got != UPSTREAM_RAW_MD5[stem]:
                raise SystemExit(f"{path}: decompressed MD5 {got} is not upstream's {UPSTREAM_RAW_MD5[stem]}")
            sources.append(f"  {stem}.gz  raw md5 {got}")
        images = read_idx(args.src / f"{img_stem}.gz", ndim=3, dtype=np.uint8)
        labels = read_idx(args.src / f"{lbl_stem}.gz", ndim=1, dtype=np.uint8)
        idx = select(labels, per, args.seed)
        counts[split] = len(idx)
        for stem, arr in ((img_stem, images[idx]), (lbl_stem, labels[idx])):
            out = args.out / f"{stem}.gz"
            write_idx(out, arr)
            outputs.append(f"  {out.name}  {out.stat().st_size} bytes  sha256 {sha256(out)}")
            print(f"wrote {out} {arr.shape} ({out.stat().st_size / 1e6:.2f} MB)")
    text = NOTICE.format(seed=args.seed, train_per=args.train_per_class, train_n=counts["train"],
                         test_per=args.test_per_class, test_n=counts["test"], sources="\n".join(sources) + "\n",
                         outputs="\n".join(outputs) + "\n")
    atomic_write(args.out / "NOTICE", [text.encode()])
    print(f"wrote {args.out / 'NOTICE'}")


if __name__ == "__main__":
    main()
