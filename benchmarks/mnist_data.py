"""The MNIST test set for the benchmarks: where it is looked for, how it is read.

The files are the original ``t10k-images-idx3-ubyte.gz`` and
``t10k-labels-idx1-ubyte.gz`` (10,000 images), by default in
``../shared/data/mnist`` beside the repository; every script that reads them
takes another folder with ``--data``. A ``--quick`` run without ``--data``
uses a generated stand-in of the same shape instead (:func:`stand_in`), so
that the smoke runs need no files.
"""

import gzip
import sys
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


def missing_mnist(data_dir):
    """A message naming the absent MNIST files, or None when all are there."""
    missing = [name for name in MNIST_FILES if not (Path(data_dir) / name).is_file()]
    if not missing:
        return None
    return (
        f"the MNIST files {', '.join(missing)} are not in {data_dir}: the MNIST "
        "test set (t10k-*-ubyte.gz, the IDX files from "
        "http://yann.lecun.com/exdb/mnist/) is needed; pass its folder with "
        "--data PATH (or --quick, which runs on a generated stand-in)."
    )


def stand_in(n_rows=10000, seed=0):
    """MNIST's shape without its files: ``n_rows`` x 784 in [0, 1], 10 classes.

    Uniform pixels labelled by a random linear map: learnable, not MNIST's
    difficulty; for smoke runs, never for a published number.
    """
    rng = np.random.default_rng(seed)
    X = rng.random((n_rows, 784))
    y = np.argmax(X @ rng.standard_normal((784, 10)), axis=1)
    return X, y.astype(np.int64)


def add_data_argument(parser):
    """``--data``: MNIST's folder (a ``--quick`` run without it: the stand-in)."""
    parser.add_argument(
        "--data",
        default=None,
        help=f"folder of the MNIST t10k files (default {DEFAULT_DATA}; "
        "with --quick and no --data: a generated stand-in)",
    )


def mnist_or_stand_in(data_dir, quick):
    """``(X, y, source)``: MNIST, or the stand-in in a quick run without ``--data``.

    A full run without the files exits with :func:`missing_mnist`'s message.
    """
    if data_dir is None and quick:
        return (*stand_in(), "a generated stand-in of MNIST's shape (--quick)")
    data_dir = DEFAULT_DATA if data_dir is None else data_dir
    problem = missing_mnist(data_dir)
    if problem:
        sys.exit(problem)
    return (*load_mnist(data_dir), f"the MNIST test set ({data_dir})")
