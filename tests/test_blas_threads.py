"""The BLAS thread count chosen by measurement (skbackprop/_blas.py).

The choice logic is driven with injected timings: a stand-in for a
threadpoolctl library controller records the thread count each evaluation
runs at, and the trials' clock advances by what the test says an evaluation
at that count costs. No real timing decides anything here.

Then real BLAS: a fit is bitwise identical across thread counts below the
single-thread threshold and agrees to rounding above it, and overlapping
fits, limits and grid searches on threads leave the process's counts as
they were.
"""

import itertools
import queue
import threading
import warnings

import joblib
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from threadpoolctl import ThreadpoolController, threadpool_info, threadpool_limits

import skbackprop._blas as blas_module
from skbackprop import BackpropClassifier
from skbackprop.backprop import cost_function

from _helpers import _patch_cost, _random_problem, iris_scaled

SIZE = (8000, 78510)  # MNIST 8,000 x 784, 100 hidden units


class FakeBlas:
    """A threadpoolctl library controller: a path and a settable thread count."""

    threading_layer = "pthreads"

    def __init__(self, n_threads, filepath="/fake/libopenblas.so"):
        self.filepath = filepath
        self.num_threads = n_threads

    def set_num_threads(self, n_threads):
        self.num_threads = n_threads


class FakeClock:
    """The trials' clock: moved on by each evaluation by its injected cost."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


@pytest.fixture
def clock(monkeypatch):
    fake = FakeClock()
    monkeypatch.setattr(blas_module, "_clock", fake)
    monkeypatch.setattr(blas_module, "_CHOICES", {})  # a fresh process's cache
    return fake


def _evaluation(lib, clock, seconds_at, seen):
    """An evaluation costing ``seconds_at[threads]``, recording the threads."""

    def evaluate(x):
        seen.append(lib.num_threads)
        clock.now += seconds_at[lib.num_threads]
        return float(x), x

    return evaluate


def _fit(lib, clock, seconds_at, n_evaluations=8, size=SIZE, measure=True):
    """The thread counts of ``n_evaluations`` evaluations of one fit."""
    seen = []
    policy = blas_module._ThreadPolicy(
        held=[], measured=[lib] if measure else [], size=size
    )
    with policy:
        evaluate = policy.timed(_evaluation(lib, clock, seconds_at, seen))
        for i in range(n_evaluations):
            assert evaluate(i) == (float(i), i)  # the evaluation's own result
    return seen


def test_one_thread_faster_is_kept_and_remembered(clock):
    lib = FakeBlas(4)
    seen = _fit(lib, clock, {1: 0.123, 4: 0.239})
    # warm-up at the threads it has, trials alternating 1 and 4, then the faster
    assert seen == [4, 1, 4, 1, 4, 1, 1, 1]
    assert lib.num_threads == 4  # given back after the fit
    # A later fit of the same size starts at one thread, measuring nothing.
    assert _fit(lib, clock, {1: 0.123, 4: 0.239}) == [1] * 8
    assert lib.num_threads == 4


def test_all_threads_faster_are_kept_and_remembered(clock):
    lib = FakeBlas(4)
    seen = _fit(lib, clock, {1: 0.4, 4: 0.15})
    assert seen == [4, 1, 4, 1, 4, 4, 4, 4]
    assert blas_module._CHOICES == {(("/fake/libopenblas.so",), 4, *SIZE): 4}
    assert _fit(lib, clock, {1: 0.4, 4: 0.15}) == [4] * 8


def test_the_fastest_trial_of_each_count_decides():
    # A neighbour's burst slowed one trial at one thread: its best still wins.
    assert blas_module._choose_threads([0.1, 0.9], [0.2, 0.2], 2) == 1
    assert blas_module._choose_threads([0.3, 0.25], [0.9, 0.2], 2) == 2
    assert (
        blas_module._choose_threads([0.2, 0.2], [0.2, 0.2], 8) == 8
    )  # a tie: as it was


def test_another_size_is_measured_again(clock):
    lib = FakeBlas(2)
    _fit(lib, clock, {1: 0.1, 2: 0.2})
    seen = _fit(lib, clock, {1: 0.3, 2: 0.2}, size=(16000, 78510))
    assert seen == [2, 1, 2, 1, 2, 2, 2, 2]
    assert len(blas_module._CHOICES) == 2


def test_a_users_limit_is_never_raised(clock):
    lib = FakeBlas(1)  # threadpool_limits(1) around fit, or OPENBLAS_NUM_THREADS=1
    assert _fit(lib, clock, {1: 0.3}) == [1] * 8
    assert lib.num_threads == 1
    assert blas_module._CHOICES == {}  # nothing measured, nothing remembered
    # Limited to 3 of 8: the trials compare 1 and 3, never more.
    lib = FakeBlas(3)
    seen = _fit(lib, clock, {1: 0.5, 3: 0.2})
    assert max(seen) == 3 and lib.num_threads == 3


def test_without_measure_nothing_changes(clock):
    lib = FakeBlas(4)
    assert _fit(lib, clock, {4: 0.2}, measure=False) == [4] * 8
    assert blas_module._CHOICES == {}


def test_a_short_fit_remembers_nothing(clock):
    lib = FakeBlas(2)
    seen = _fit(lib, clock, {1: 0.1, 2: 0.2}, n_evaluations=3)
    assert seen == [2, 1, 2]
    assert blas_module._CHOICES == {} and lib.num_threads == 2


def test_an_interrupt_during_a_one_thread_trial_restores_the_count(clock):
    lib = FakeBlas(4)
    policy = blas_module._ThreadPolicy(held=[], measured=[lib], size=SIZE)
    calls = []

    def evaluate(x):
        calls.append(lib.num_threads)
        if len(calls) == 2:  # the first trial, at one thread
            raise KeyboardInterrupt
        return 0.0, x

    with pytest.raises(KeyboardInterrupt):
        with policy:
            timed = policy.timed(evaluate)
            timed(0)
            timed(1)
    assert calls == [4, 1]
    assert lib.num_threads == 4 and blas_module._HELD == {}


def test_only_host_data_is_measured():
    big = np.empty((10**6, 1))  # no memory touched: only the shape is read
    assert blas_module.measured_blas_thread_limit(big, 10**4).measured
    array_api_strict = pytest.importorskip("array_api_strict")
    device_x = array_api_strict.zeros((10**6, 1))
    assert not blas_module.measured_blas_thread_limit(device_x, 10**4).measured
    # Small problems keep the rule (one thread everywhere), no measurement.
    assert not blas_module.measured_blas_thread_limit(big[:10], 10).measured


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_a_fit_measures_and_restores_the_counts(monkeypatch, clock):
    """A real fit with the size threshold lowered: the choice is made and
    remembered, the thread counts are as before afterwards."""
    monkeypatch.setattr(blas_module, "_SINGLE_THREAD_FLOPS", 0)
    libs = blas_module._threadpool_controller().select(user_api="blas")
    before = [lib.num_threads for lib in libs.lib_controllers]
    X, y = load_digits(return_X_y=True)
    clf = BackpropClassifier(hidden_layer_sizes=(3,), max_iter=10, random_state=0)
    clf.fit(X[:200] / 16.0, y[:200])
    assert [lib.num_threads for lib in libs.lib_controllers] == before
    products = [
        lib.num_threads
        for lib in libs.lib_controllers
        if blas_module._is_numpy_blas(lib)
    ] or before  # numpy's own BLAS, or the one BLAS numpy and scipy share
    if max(products) > 1:  # one BLAS thread (a limit, one core): nothing to choose
        assert len(blas_module._CHOICES) == 1
    else:
        assert blas_module._CHOICES == {}


# ---------------------------------------------------------------------------
# BLAS thread counts: fits agree across counts, and are restored
# ---------------------------------------------------------------------------


def _blas_available():
    return any(info["user_api"] == "blas" for info in threadpool_info())


def _thread_test_problem():
    rng = np.random.RandomState(1)
    X_big = rng.normal(size=(2000, 100))
    y_big = (X_big[:, :3].sum(axis=1) > 0).astype(int) + (X_big[:, 3] > 1)
    est = BackpropClassifier(hidden_layer_sizes=(64,), random_state=0, max_iter=20)
    return est, X_big, y_big


def _fits_under_thread_limits(est, X_, y_, counts=(1, 2, 4, None)):
    fits = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for n_threads in counts:
            with threadpool_limits(limits=n_threads, user_api="blas"):
                fits[n_threads] = clone(est).fit(X_, y_)
    return fits


@pytest.mark.skipif(not _blas_available(), reason="no BLAS thread pool found")
def test_fit_is_bitwise_identical_across_blas_thread_counts():
    """Below the single-thread threshold, fit runs BLAS on one thread: bitwise.

    The problem is the size at which multithreaded BLAS changes the gradient's
    rounding (see the cost_function test below), so this fails if fit stops
    pinning BLAS to one thread for it.
    """
    est, X_big, y_big = _thread_test_problem()
    n_params = 64 * 101 + 3 * 65
    assert 6.0 * X_big.shape[0] * n_params < blas_module._SINGLE_THREAD_FLOPS
    fits = _fits_under_thread_limits(est, X_big, y_big)
    for n_threads, fitted in fits.items():
        for a, b in zip(fitted.thetas_, fits[1].thetas_):
            np.testing.assert_array_equal(a, b, err_msg=f"{n_threads} threads")
        assert fitted.loss_curve_ == fits[1].loss_curve_


@pytest.mark.skipif(not _blas_available(), reason="no BLAS thread pool found")
def test_fit_with_multithreaded_blas_agrees_to_rounding(monkeypatch):
    """Above the threshold BLAS threads change the rounding, not the model."""
    monkeypatch.setattr(blas_module, "_SINGLE_THREAD_FLOPS", 0.0)
    est, X_big, y_big = _thread_test_problem()
    fits = _fits_under_thread_limits(est, X_big, y_big)
    for fitted in fits.values():
        for a, b in zip(fitted.thetas_, fits[1].thetas_):
            np.testing.assert_allclose(a, b, rtol=1e-8, atol=1e-10)
        np.testing.assert_array_equal(fitted.predict(X_big), fits[1].predict(X_big))


@pytest.mark.skipif(not _blas_available(), reason="no BLAS thread pool found")
def test_cost_function_across_blas_thread_counts_agrees_to_rounding():
    """Not bitwise (OpenBLAS sums in another order with more threads): 1e-12."""
    layer_sizes = (100, 64, 10)
    params, X_, Y = _random_problem(layer_sizes, m=2000)
    results = []
    for n_threads in (1, 2, 4, None):
        with threadpool_limits(limits=n_threads, user_api="blas"):
            results.append(cost_function(params, layer_sizes, X_, Y, alpha=1.0))
    for J, grad in results[1:]:
        assert J == pytest.approx(results[0][0], rel=1e-13)
        np.testing.assert_allclose(grad, results[0][1], rtol=1e-10, atol=1e-15)


def _blas_libs():
    return ThreadpoolController().select(user_api="blas").lib_controllers


def _set_blas_threads(counts):
    for lib, n_threads in zip(_blas_libs(), counts):
        lib.set_num_threads(n_threads)
        # threadpoolctl 3.8: let any thread set OpenBLAS's limit afterwards
        clear = getattr(type(lib), "clear_controlling_thread", None)
        if clear is not None:
            clear()


def _shared_blas_threads():
    """Thread counts of the BLAS libraries whose pool is process-wide.

    (OpenBLAS on OpenMP keeps its limit per thread: another thread's limit
    does not show here, nor can it be left behind.)
    """
    return [
        info["num_threads"]
        for info in threadpool_info()
        if info["user_api"] == "blas" and info.get("threading_layer") != "openmp"
    ]


@pytest.fixture
def blas_at_two_threads():
    """Every BLAS at two threads during the test, so a limit left at 1 shows."""
    if not _shared_blas_threads():
        pytest.skip("no BLAS with a process-wide thread pool found")
    before = [lib.num_threads for lib in _blas_libs()]
    _set_blas_threads([2] * len(before))
    assert set(_shared_blas_threads()) == {2}
    yield
    _set_blas_threads(before)


def _schedules(n_fits):
    """Every order of ``n_fits`` limits entered (A, B, ...) and left (a, b, ...)."""
    names = "ABC"[:n_fits]
    events = names + names.lower()
    for order in itertools.permutations(events):
        if all(order.index(n) < order.index(n.lower()) for n in names):
            yield "".join(order)


def _run_schedule(schedule):
    """Enter and leave the BLAS limit of one fit per thread, in ``schedule``'s order.

    Each capital letter enters a fit's limit in that fit's own thread; its
    lower case leaves it. Returns the shared thread counts after each step.
    """
    names = sorted(set(schedule.upper()))
    orders = {name: queue.Queue() for name in names}
    done = queue.Queue()

    def fit_thread(name):
        limit = None
        for step in iter(orders[name].get, None):
            try:
                if step == "enter":  # a small problem: every BLAS on one thread
                    limit = blas_module._blas_thread_limit(150, 50)
                    limit.__enter__()
                else:
                    limit.__exit__(None, None, None)
                done.put(None)
            except BaseException as exc:  # noqa: BLE001 - reported below
                done.put(exc)

    threads = [threading.Thread(target=fit_thread, args=(n,)) for n in names]
    for thread in threads:
        thread.start()
    observed = []
    try:
        for event in schedule:
            orders[event.upper()].put("enter" if event.isupper() else "exit")
            error = done.get(timeout=60)
            if error is not None:
                raise error
            observed.append(_shared_blas_threads())
    finally:
        for name in names:
            orders[name].put(None)
        for thread in threads:
            thread.join(timeout=60)
    return observed


@pytest.mark.parametrize("n_fits", [2, 3])
def test_overlapping_blas_limits_in_any_order_restore_the_counts(
    blas_at_two_threads, n_fits
):
    """6 orders of two fits, 90 of three: held at 1 while any fit runs, then 2."""
    before = _shared_blas_threads()
    for schedule in _schedules(n_fits):
        observed = _run_schedule(schedule)
        held = 0
        for event, counts in zip(schedule, observed):
            held += 1 if event.isupper() else -1
            expected = [1] * len(before) if held else before
            assert counts == expected, f"{schedule}: after {event!r}"


@pytest.mark.parametrize("first_to_finish", ["A", "B"])
def test_overlapping_fits_in_threads_restore_the_blas_counts(
    monkeypatch, blas_at_two_threads, first_to_finish
):
    """Fit A starts, then B, inside A; then one ends, then the other."""
    X_iris, y_iris = iris_scaled()
    before = _shared_blas_threads()
    inside = {"A": threading.Event(), "B": threading.Event()}
    finished = {"A": threading.Event(), "B": threading.Event()}
    second = "B" if first_to_finish == "A" else "A"

    def overlapping(cost):
        name = threading.current_thread().name
        calls = [0]

        def wrapped(params):
            calls[0] += 1
            if calls[0] == 1:  # inside the fit's BLAS limit
                inside[name].set()
                assert inside["A"].wait(60) and inside["B"].wait(60)
            elif calls[0] == 2 and name == second:
                assert finished[first_to_finish].wait(60)
            return cost(params)

        return wrapped

    _patch_cost(monkeypatch, overlapping)
    errors = []

    def fit(name):
        try:
            if name == "B":  # B starts once A runs inside its limit
                assert inside["A"].wait(60)
            BackpropClassifier(hidden_layer_sizes=(3,), max_iter=20).fit(X_iris, y_iris)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            finished[name].set()

    threads = [threading.Thread(target=fit, args=(n,), name=n) for n in "AB"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
    assert errors == []
    assert _shared_blas_threads() == before


def test_grid_search_on_threads_restores_the_blas_counts(blas_at_two_threads):
    """The issue's instance: GridSearchCV on joblib's threading backend."""
    X_iris, y_iris = iris_scaled()
    before = _shared_blas_threads()
    grid = {"alpha": [0.1, 1.0, 3.0, 10.0]}
    est = BackpropClassifier(hidden_layer_sizes=(3,), max_iter=30, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        with joblib.parallel_backend("threading", n_jobs=2):
            GridSearchCV(est, grid, cv=5, n_jobs=2).fit(X_iris, y_iris)
    assert _shared_blas_threads() == before
