"""The BLAS thread policy for one fit.

An evaluation's matrix products run in numpy's BLAS. On small problems a
second thread costs more in synchronisation than it gains, and the idle
threads of scipy's own BLAS (L-BFGS-B's vector updates) spin on the cores
that numpy's products need; the measurements behind the rule are on the
performance page (docs/performance.rst, "BLAS threads").

Above that size a second thread may or may not pay (cores or
hyper-threads, a busy neighbour, threads spinning while numpy's element-wise
work runs): a fit on numpy or sparse data times its first evaluations at one
thread and at the threads it has, keeps the faster, and remembers the choice
for the process and the problem's size.

Fits running at the same time (threads, ``GridSearchCV`` on joblib's
threading backend) share the process's BLAS, whose thread count is
process-wide. A per-fit save-and-restore would let them undo each other's
limits (fit A limits, B saves A's limit, A restores, B "restores" A's limit
for good), so the limits are reference-counted per library: the first fit to
limit a library records its thread count, the last one to leave puts it back.
"""

import functools
import os
import threading
import time

import numpy as np
import scipy.sparse
from threadpoolctl import ThreadpoolController

#: Below this many floating-point operations per cost evaluation, numpy's BLAS
#: runs on one thread during fit; 0 leaves its threads alone at every size.
_SINGLE_THREAD_FLOPS = 1e8


def _blas_thread_limit(n_samples, n_params, measure=False):
    """Context manager applying the BLAS thread policy for one fit.

    It only ever lowers thread counts, so a user's own limits
    (``threadpoolctl.threadpool_limits`` around ``fit``, or
    ``OPENBLAS_NUM_THREADS``/``OMP_NUM_THREADS``) always hold: numpy's BLAS
    gets one thread when an evaluation costs fewer than
    ``_SINGLE_THREAD_FLOPS`` (estimated as ``6 * n_samples * n_params``:
    forward and two backward products); any other BLAS gets one thread.

    Above that size the rule cannot know whether numpy's threads help (cores
    or hyper-threads, a busy neighbour, threads spinning while the
    element-wise work runs). With ``measure``, the first evaluations of the
    fit are timed at one thread and at the threads it has, and the faster
    count is kept for the rest of the fit and for later fits of the same size
    in this process (see :class:`_ThreadPolicy` and its ``timed``).
    """
    libs = _threadpool_controller().select(user_api="blas").lib_controllers
    if 6.0 * n_samples * n_params < _SINGLE_THREAD_FLOPS:
        return _ThreadPolicy(held=libs)
    # The BLAS that runs the products: numpy's own, or one BLAS shared by
    # numpy and scipy (conda, a system library). Every other one gets one
    # thread.
    products = [lib for lib in libs if _is_numpy_blas(lib)] or libs
    others = [lib for lib in libs if lib not in products]
    return _ThreadPolicy(
        held=others,
        measured=products if measure else [],
        size=(int(n_samples), int(n_params)),
    )


def measured_blas_thread_limit(X, n_params):
    """:func:`_blas_thread_limit` for a fit on ``X``, measuring where it can.

    Only numpy arrays and scipy sparse matrices are computed by numpy's BLAS
    in this process; the evaluations of an Array API or dask ``X`` run
    elsewhere, and timing them says nothing about it.
    """
    on_host = isinstance(X, np.ndarray) or scipy.sparse.issparse(X)
    return _blas_thread_limit(X.shape[0], n_params, measure=on_host)


#: The trials of a measurement, after one untimed warm-up evaluation (the
#: first builds the evaluator's buffers): alternating, so that a neighbour's
#: burst slows both counts; each count's fastest trial is compared.
_TRIALS = ("one", "all", "one", "all")

#: (library paths, threads available, n_samples, n_params) -> the thread count
#: measured to be faster (1 or the count available), for this process.
_CHOICES = {}

#: The clock of the trials (tests inject timings here).
_clock = time.perf_counter


def _choose_threads(seconds_one, seconds_all, available):
    """The thread count to keep: 1 if its fastest trial beat the other count's."""
    return 1 if min(seconds_one) < min(seconds_all) else available


class _ThreadPolicy:
    """The thread limits of one fit; a context manager.

    ``held`` libraries run on one thread for the whole fit. ``measured``
    (the BLAS that runs the products, when measuring) keep the threads they
    have unless a measurement (or a cached one, for this size) found one
    thread faster; the measurement runs inside the fit's first evaluations,
    through :meth:`timed`. It is skipped when the library already has one
    thread (a user's limit, or another fit holding it there).
    """

    def __init__(self, held, measured=(), size=None):
        self.held = list(held)
        self.measured = list(measured)
        self.size = size
        self._keys = []
        self._trials = None

    def __enter__(self):
        self._keys = _acquire(self.held)
        self._trials = None
        available = max((lib.num_threads or 1 for lib in self.measured), default=1)
        if available <= 1:
            return self
        self._cache_key = (
            tuple(lib.filepath for lib in self.measured),
            available,
            *self.size,
        )
        self._available = available
        choice = _CHOICES.get(self._cache_key)
        if choice == 1:
            self._keys += _acquire(self.measured)
        elif choice is None:
            self._trials = {"one": [], "all": []}
            self._warmed_up = False
        return self

    def __exit__(self, *exc_info):
        keys, self._keys, self._trials = self._keys, [], None
        _release(keys)
        return False

    def timed(self, fun):
        """``fun`` (the fit's cost evaluation), measuring the first calls.

        Calls ``fun`` unchanged once the measurement is over or when there is
        none.
        """

        def evaluate(x):
            if self._trials is None:
                return fun(x)
            return self._trial(fun, x)

        return evaluate

    def _trial(self, fun, x):
        """One evaluation of the measurement: untimed warm-up, then the trials.

        A trial at one thread holds the measured libraries there (counted
        like any fit's hold) for that evaluation only.
        """
        trials = self._trials
        if not self._warmed_up:
            self._warmed_up = True
            return fun(x)
        done = len(trials["one"]) + len(trials["all"])
        count = _TRIALS[done]
        keys = _acquire(self.measured) if count == "one" else []
        try:
            start = _clock()
            result = fun(x)
            trials[count].append(_clock() - start)
        finally:
            _release(keys)
        if done + 1 == len(_TRIALS):
            self._decide(trials["one"], trials["all"])
        return result

    def _decide(self, seconds_one, seconds_all):
        """Keep the faster count for the rest of the fit, and for later fits."""
        self._trials = None
        choice = _choose_threads(seconds_one, seconds_all, self._available)
        with _LOCK:
            _CHOICES[self._cache_key] = choice
        if choice == 1:
            self._keys += _acquire(self.measured)


#: Guards ``_HELD``: the libraries that fits now hold at one thread.
_LOCK = threading.Lock()
#: key -> [number of fits holding it, the library, its thread count before].
_HELD = {}


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
