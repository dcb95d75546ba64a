"""The BLAS thread policy for one fit.

An evaluation's matrix products run in numpy's BLAS. On small problems a
second thread costs more in synchronisation than it gains, and the idle
threads of scipy's own BLAS (L-BFGS-B's vector updates) spin on the cores
that numpy's products need; the measurements behind the rule are on the
performance page (docs/performance.rst, "BLAS threads").
"""

import contextlib
import functools
import os

import numpy as np
from threadpoolctl import ThreadpoolController

#: Below this many floating-point operations per cost evaluation, numpy's BLAS
#: runs on one thread during fit; 0 leaves its threads alone at every size.
_SINGLE_THREAD_FLOPS = 1e9


def _blas_thread_limit(n_samples, n_params):
    """Context manager applying the BLAS thread policy for one fit.

    It only ever lowers thread counts, so a user's own limits
    (``threadpoolctl.threadpool_limits`` around ``fit``, or
    ``OPENBLAS_NUM_THREADS``/``OMP_NUM_THREADS``) always hold: numpy's BLAS
    gets one thread when an evaluation costs fewer than
    ``_SINGLE_THREAD_FLOPS`` (estimated as ``6 * n_samples * n_params``:
    forward and two backward products); any other BLAS gets one thread.
    """
    controller = _threadpool_controller()
    blas = controller.select(user_api="blas")
    if 6.0 * n_samples * n_params < _SINGLE_THREAD_FLOPS:
        return blas.limit(limits=1)
    others = [lib.filepath for lib in blas.lib_controllers if not _is_numpy_blas(lib)]
    if not others or len(others) == len(blas.lib_controllers):
        # One BLAS shared by numpy and scipy (conda, a system library): it runs
        # the products, so it keeps its threads.
        return contextlib.nullcontext()
    return controller.select(filepath=others).limit(limits=1)


@functools.lru_cache(maxsize=1)
def _threadpool_controller():
    """The process's thread pools, scanned once (a scan takes ~10 ms).

    numpy's and scipy's BLAS are loaded when this module is imported, so a
    library loaded later (which the cached scan would miss) is none of them.
    """
    return ThreadpoolController()


def _is_numpy_blas(lib):
    """Whether a threadpoolctl library controller is a BLAS bundled with numpy.

    numpy's wheels carry their own BLAS in ``numpy.libs`` (``numpy/.dylibs``
    on macOS); scipy's carry a second one.
    """
    numpy_root = os.path.dirname(os.path.abspath(np.__file__))
    return os.path.abspath(lib.filepath).startswith(numpy_root)
