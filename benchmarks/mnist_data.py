"""The MNIST test set for the benchmarks: where it is looked for and how it is read.

The files are the original ``t10k-images-idx3-ubyte.gz`` and
``t10k-labels-idx1-ubyte.gz`` (10,000 images), by default in
``../shared/data/mnist`` beside the repository; every script takes another
folder with ``--data``.
"""

import gzip
from pathlib import Path

import numpy as np

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"
MNIST_FILES = ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")


def load_idx(path):
    """An IDX file (MNIST's format): big-endian header, then uint8 data."""
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    shape = tuple(
        int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)
    )
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def load_mnist(data_dir=DEFAULT_DATA):
    """``(X, y)``: the 10,000 images as float64 pixels / 255; int64 labels."""
    X = load_idx(Path(data_dir) / MNIST_FILES[0]).reshape(-1, 784) / 255.0
    y = load_idx(Path(data_dir) / MNIST_FILES[1]).astype(np.int64)
    return X, y
