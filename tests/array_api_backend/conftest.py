"""Fixtures of the Array API backend's tests: one per backend, the shared problems."""

import numpy as np
import pytest
from sklearn.datasets import load_digits

from skbackprop.backprop import init_thetas, unroll

from ._array_api_helpers import BACKENDS, NO_TORCH, _namespace


@pytest.fixture
def one_torch_thread():
    """PyTorch on the CPU on one thread, for these tiny arrays.

    Its thread pool costs more than it gains here (on a busy two-core
    machine, 10 ms per evaluation instead of 0.3 ms).
    """
    torch = pytest.importorskip("torch", reason=NO_TORCH)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(params=BACKENDS)
def backend(request):
    """``to_device(numpy_array) -> array`` of one backend."""
    module, device = _namespace(request.param)
    if request.param == "torch:cpu":
        request.getfixturevalue("one_torch_thread")

    def to_device(array):
        if module.__name__ == "cupy":
            with device:
                return module.asarray(array)
        return module.asarray(array, device=device)

    to_device.name = request.param
    return to_device


@pytest.fixture
def problem():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 6))
    Y = np.eye(3)[rng.integers(0, 3, 40)]
    w = rng.uniform(0.5, 2.0, 40)
    layer_sizes = (6, 5, 4, 3)
    return layer_sizes, X, Y, w, unroll(init_thetas(layer_sizes, random_state=1))


@pytest.fixture
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:300] / 16.0, y[:300]
