"""The Array API backend's tests: the backends, and what their tests share.

array-api-strict (in the test extra) runs everywhere, on its CPU device and on
its simulated ``device1``, whose arrays numpy refuses to convert: a fit there
proves that ``X`` never reaches the host through ``np.asarray``. PyTorch is not
in any extra (its default wheel is several GB): its cases run where it is
installed and are skipped elsewhere, as are the CUDA ones without a GPU.
"""

import pytest
import sklearn

import skbackprop.backprop._array_api as array_api_module
from skbackprop._compat import HAS_ARRAY_API

xps = pytest.importorskip("array_api_strict")


#: The estimators' tests; the evaluators' run on every supported version.
needs_dispatch = pytest.mark.skipif(
    not HAS_ARRAY_API,
    reason="array_api_dispatch needs scikit-learn >= 1.9 and scipy >= 1.14 "
    "(CI's oldest environment has neither): the estimators take numpy only",
)


NO_TORCH = "PyTorch is not installed (it is in no extra: its default wheel is GBs)"
BACKENDS = [
    "array_api_strict:CPU_DEVICE",
    "array_api_strict:device1",
    "torch:cpu",
    "torch:cuda",
    "cupy:cuda",
]


def _namespace(backend):
    """``(module, device)`` for a backend name, or a skip saying what is missing."""
    library, device_name = backend.split(":")
    if library == "array_api_strict":
        return xps, xps.Device(device_name)
    if library == "torch":
        torch = pytest.importorskip("torch", reason=NO_TORCH)
        if device_name == "cuda" and not torch.cuda.is_available():
            pytest.skip("no CUDA GPU on this machine")
        return torch, torch.device(device_name)
    cupy = pytest.importorskip("cupy", reason="CuPy is not installed (no GPU here)")
    return cupy, cupy.cuda.Device(0)


def _library(array):
    return type(array).__module__.split(".")[0]


def _host(array):
    return array_api_module.to_numpy(array)


def _dispatch():
    return sklearn.config_context(array_api_dispatch=True)
