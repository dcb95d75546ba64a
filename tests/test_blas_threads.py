"""The BLAS thread count chosen by measurement (skbackprop/_blas.py).

The choice logic is driven with injected timings: a stand-in for a
threadpoolctl library controller records the thread count each evaluation
runs at, and the trials' clock advances by what the test says an evaluation
at that count costs. No real timing decides anything here.
"""

import numpy as np
import pytest
from sklearn.datasets import load_digits

import skbackprop._blas as blas_module
from skbackprop import BackpropClassifier

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
