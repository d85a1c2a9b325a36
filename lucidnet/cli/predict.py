"""``lucidnet predict RUN_DIR IMAGE...``: the top classes of images, with probabilities."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..train import predict
from . import predict_text, rundir


def add_parser(sub) -> None:
    p = sub.add_parser("predict", help="classify image files with a trained run",
                       description="Classify PNG, JPEG (or other Pillow-readable) images with a run directory. Images "
                                   "are turned to grayscale and resized to the model's input; a light background "
                                   "is inverted to match the dataset's light-on-dark images.")
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("images", metavar="IMAGE", nargs="+")
    p.add_argument("-k", "--top", type=int, default=3, help="how many classes to print")
    p.set_defaults(run=run)


def read_image(path: str | Path, size: tuple[int, int]) -> np.ndarray:
    """A grayscale float32 image in [0, 1] of ``size`` (H, W), light-on-dark like (Fashion-)MNIST."""
    try:
        from PIL import Image, UnidentifiedImageError
    except ImportError:
        raise ImportError('reading images needs Pillow: pip install "lucidnet[train]"') from None
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"image {str(p)!r} does not exist")
    try:
        with Image.open(p) as im:
            im = im.convert("L").resize((size[1], size[0]), Image.BILINEAR)
            x = np.asarray(im, dtype=np.float32) / 255.0
    except (UnidentifiedImageError, OSError) as e:
        raise ValueError(f"{p}: not a readable image ({e})") from None
    border = np.concatenate([x[0], x[-1], x[:, 0], x[:, -1]])
    if border.mean() > 0.5:  # dark object on a light background: invert
        x = 1.0 - x
    return x


def run(args) -> int:
    model, config = rundir.load_run(args.run_dir)
    if predict_text.is_text_run(config):  # an sst2 run: the arguments are texts
        return predict_text.run(args, model, config)
    shape = config["input"]["shape"]  # (C, H, W)
    x = np.stack([read_image(p, (shape[-2], shape[-1])) for p in args.images])[:, None]
    logits = predict(model, rundir.normalise(x, config))
    z = logits - logits.max(axis=1, keepdims=True)
    probs = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    k = max(1, min(args.top, probs.shape[1]))
    for path, pr in zip(args.images, probs):
        top = np.argsort(-pr)[:k]
        print(f"{path}: " + ", ".join(f"{config['classes'][i]} {pr[i]:.3f}" for i in top))
    return 0
