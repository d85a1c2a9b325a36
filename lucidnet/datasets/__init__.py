"""Datasets: MNIST and Fashion-MNIST from their IDX files, a Fashion-MNIST subset bundled offline, a folder of
one's own images (``ImageFolder``, one sub-folder per class), SST-2 and other "label, separator, text" files,
Tiny Shakespeare, Multi30k (German-English sentence pairs), and FSDD (spoken digits).

>>> from lucidnet.datasets import FashionMNIST
>>> train = FashionMNIST.bundled("train")     # 6,000 images, no download
>>> x, y = train.to_arrays(flatten=True)
>>> x.shape, x.dtype, y.dtype
((6000, 784), dtype('float32'), dtype('int64'))

``FashionMNIST(split="train")`` reads the full dataset from ``$LUCIDNET_DATA/fashion-mnist`` or
``~/.cache/lucidnet/fashion-mnist``; ``download=True`` fetches it (MD5-checked).
"""
from .download import cache_dir, data_roots, download_file, md5sum
from .errors import DatasetError, DatasetNotFoundError
from .fsdd import FSDD
from .idx import read_idx, write_idx
from .imagefolder import ImageFolder
from .images import IMAGE_EXTENSIONS, decode_image, read_images
from .mnist import BUNDLED_DIR, MNIST, FashionMNIST
from .multi30k import Multi30k
from .sst2 import SST2
from .textfiles import LabeledText, locate_files, read_labeled_lines
from .tinyshakespeare import TinyShakespeare

__all__ = ["FSDD", "MNIST", "FashionMNIST", "BUNDLED_DIR", "SST2", "TinyShakespeare", "Multi30k", "LabeledText", "read_labeled_lines",
           "ImageFolder", "IMAGE_EXTENSIONS", "decode_image", "read_images",
           "locate_files", "DatasetError", "DatasetNotFoundError", "read_idx", "write_idx", "download_file", "md5sum",
           "cache_dir", "data_roots"]
