"""The BLAS thread policy for one fit.

An evaluation's matrix products run in numpy's BLAS. On small problems a
second thread costs more in synchronisation than it gains, and the idle
threads of scipy's own BLAS (L-BFGS-B's vector updates) spin on the cores
that numpy's products need; the measurements behind the rule are on the
performance page (docs/performance.rst, "BLAS threads").

Fits running at the same time (threads, ``GridSearchCV`` on joblib's
threading backend) share the process's BLAS, whose thread count is
process-wide. A per-fit save-and-restore would let them undo each other's
limits (fit A limits, B saves A's limit, A restores, B "restores" A's limit
for good), so the limits are reference-counted per library: the first fit to
limit a library records its thread count, the last one to leave puts it back.
"""

import contextlib
import functools
import os
import threading

import numpy as np
from threadpoolctl import ThreadpoolController

#: Below this many floating-point operations per cost evaluation, numpy's BLAS
#: runs on one thread during fit; 0 leaves its threads alone at every size.
_SINGLE_THREAD_FLOPS = 1e8


def _blas_thread_limit(n_samples, n_params):
    """Context manager applying the BLAS thread policy for one fit.

    It only ever lowers thread counts, so a user's own limits
    (``threadpoolctl.threadpool_limits`` around ``fit``, or
    ``OPENBLAS_NUM_THREADS``/``OMP_NUM_THREADS``) always hold: numpy's BLAS
    gets one thread when an evaluation costs fewer than
    ``_SINGLE_THREAD_FLOPS`` (estimated as ``6 * n_samples * n_params``:
    forward and two backward products); any other BLAS gets one thread.
    """
    libs = _threadpool_controller().select(user_api="blas").lib_controllers
    if 6.0 * n_samples * n_params < _SINGLE_THREAD_FLOPS:
        return _one_thread(libs)
    others = [lib for lib in libs if not _is_numpy_blas(lib)]
    if len(others) == len(libs):
        # One BLAS shared by numpy and scipy (conda, a system library): it runs
        # the products, so it keeps its threads.
        return contextlib.nullcontext()
    return _one_thread(others)


#: Guards ``_HELD``: the libraries that fits now hold at one thread.
_LOCK = threading.Lock()
#: key -> [number of fits holding it, the library, its thread count before].
_HELD = {}


@contextlib.contextmanager
def _one_thread(libs):
    """Hold the threadpoolctl library controllers ``libs`` at one thread.

    Reference-counted across the process, so that fits overlapping in any
    order leave each library's thread count as it was before the first.
    """
    keys = _acquire(libs)
    try:
        yield
    finally:
        _release(keys)


def _key(lib):
    """What a limit applies to: the library, and the thread where it is per thread.

    OpenBLAS built on OpenMP takes its limit from ``omp_set_num_threads``,
    which holds for the calling thread only; every other BLAS has one
    process-wide thread pool.
    """
    per_thread = getattr(lib, "threading_layer", None) == "openmp"
    return lib.filepath, threading.get_ident() if per_thread else None


def _acquire(libs):
    keys = []
    with _LOCK:
        for lib in libs:
            key = _key(lib)
            if key in _HELD:
                _HELD[key][0] += 1
            else:
                _HELD[key] = [1, lib, lib.num_threads]
                _set_threads(lib, 1)
            keys.append(key)
    return keys


def _release(keys):
    with _LOCK:
        for key in keys:
            entry = _HELD[key]
            entry[0] -= 1
            if entry[0] == 0:
                del _HELD[key]
                _, lib, before = entry
                _set_threads(lib, before)


def _set_threads(lib, n_threads):
    """Set ``lib``'s thread count, if it reports one and has another.

    Recent threadpoolctl (3.8) lets only one Python thread, the first to set
    a limit, change OpenBLAS's process-wide pool until it hands control back
    (other threads' calls silently do nothing); the limits here belong to no
    one thread, so control is handed back at once.
    """
    if n_threads is None or n_threads == lib.num_threads:
        return
    lib.set_num_threads(n_threads)
    clear = getattr(type(lib), "clear_controlling_thread", None)
    if clear is not None:
        clear()


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
