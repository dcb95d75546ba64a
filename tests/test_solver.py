"""The default stopping rule: the Monitor's plateau rule and ``tol="auto"``.

The rule is driven directly with synthetic sequences of ``J`` (a plateau, a
steady slope, a flat start), then checked on real fits.
"""

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits, load_iris, make_friedman1
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler

import skbackprop._loss as loss_module
import skbackprop._solver as solver_module
from skbackprop import BackpropClassifier, BackpropRegressor
from skbackprop._solver import Monitor, SolverSettings, resolve_tol


def run_monitor(J_values, tol, n_iter_no_change=10, max_iter=10**6):
    """Feed ``J_values`` to a Monitor, one per iteration; ``(iteration, reason)``."""
    settings = SolverSettings("L-BFGS-B", max_iter, tol, 10**9)
    monitor = Monitor(settings, n_iter_no_change=n_iter_no_change)
    monitor.start(np.zeros(2))
    for k, J in enumerate(J_values, start=1):
        stop = monitor.iteration(np.full(2, float(k)), J, np.ones(2), n_fun=k)
        if stop is not None:
            return k, stop
    return len(J_values), None


def first_k_where_fall_is_small(J, tol, n):
    """The rule written out independently: 1-based k of the first stop."""
    for k in range(n + 1, len(J) + 1):  # k iterations recorded
        recent = J[k - 1 - n] - J[k - 1]
        whole = J[0] - J[k - 1]
        if recent <= tol * whole:
            return k
    return None


# ---------------------------------------------------------------------------
# Synthetic J sequences
# ---------------------------------------------------------------------------


def test_stops_on_a_plateau():
    k = np.arange(1, 1001)
    J = 0.3 + 5.0 * np.exp(-k / 20.0)  # falls fast, then levels off at 0.3
    expected = first_k_where_fall_is_small(J, 3e-3, 10)
    assert expected is not None and 100 < expected < 200
    assert run_monitor(J, tol=3e-3) == (expected, "plateau")


def test_does_not_stop_on_a_slope():
    # A steady fall: the last 10 iterations always gain 10/k of the whole
    # fall, above tol=3e-3 until k = 3333.
    J = 10.0 - 1e-3 * np.arange(1, 1001)
    assert run_monitor(J, tol=3e-3) == (1000, None)
    # A fast start, then a steady slope: 10 iterations of the slope gain 0.1,
    # more than 3e-3 of the whole fall (about 5 + 0.01 k) until k ~ 2800.
    k = np.arange(1, 1001)
    J = 2.0 + 5.0 * np.exp(-k / 5.0) - 0.01 * k
    assert first_k_where_fall_is_small(J, 3e-3, 10) is None
    assert run_monitor(J, tol=3e-3) == (1000, None)


def test_needs_a_full_window():
    J = np.full(10, 1.0)  # flat, but only 10 values: the window needs 11
    assert run_monitor(J, tol=3e-3, n_iter_no_change=10) == (10, None)
    assert run_monitor(np.full(11, 1.0), tol=3e-3) == (11, "stalled")


@pytest.mark.parametrize("scale, offset", [(1.0, 0.0), (1e-6, 0.0), (7.0, -3.0)])
def test_decision_does_not_depend_on_scale_or_level_of_cost(scale, offset):
    k = np.arange(1, 1001)
    J = 0.3 + 5.0 * np.exp(-k / 20.0)
    reference = run_monitor(J, tol=1e-3)
    assert reference[1] == "plateau"
    assert run_monitor(scale * J + offset, tol=1e-3) == reference


@pytest.mark.parametrize("n_iter_no_change", [5, 20])
def test_window_is_n_iter_no_change(n_iter_no_change):
    k = np.arange(1, 1001)
    J = 0.3 + 5.0 * np.exp(-k / 20.0)
    expected = first_k_where_fall_is_small(J, 3e-3, n_iter_no_change)
    assert run_monitor(J, 3e-3, n_iter_no_change) == (expected, "plateau")


def test_no_fall_in_the_window_is_a_stall():
    J = np.concatenate([np.linspace(5.0, 1.0, 20), np.full(20, 1.0)])
    assert run_monitor(J, tol=1e-12) == (30, "stalled")


def test_tol_zero_switches_the_rule_off():
    assert run_monitor(np.full(300, 1.0), tol=0.0) == (300, None)
    assert run_monitor(np.full(300, 1.0), tol=0.0, max_iter=50) == (50, "max_iter")


def test_resolve_tol():
    tiny = solver_module._TINY_FIT
    assert resolve_tol("auto", 10, tiny // 10) == 0.0
    assert resolve_tol("auto", 10, tiny // 10 + 1) == solver_module._AUTO_TOL
    # With early stopping, tol is a gain in validation score instead.
    assert (
        resolve_tol("auto", 10, tiny // 10 + 1, early_stopping=True)
        == solver_module._AUTO_SCORE_TOL
    )
    assert resolve_tol("auto", 10, tiny // 10, early_stopping=True) == 0.0
    assert (
        resolve_tol("auto", 10, tiny // 10 + 1, regression=True)
        == solver_module._AUTO_TOL_REGRESSION
    )
    assert resolve_tol(1e-3, 10, 10) == 1e-3
    assert resolve_tol(0, 10**6, 10**6) == 0.0


# ---------------------------------------------------------------------------
# Real fits
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:1000] / 16.0, y[:1000]


def test_default_fit_stops_where_the_rule_says(digits):
    X, y = digits
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a plateau stop is no warning
        clf = BackpropClassifier(random_state=0).fit(X, y)
    J = np.asarray(clf.loss_curve_)
    # digits is not tiny (1000 rows x 1885 weights): the plateau rule ran.
    assert X.shape[0] * sum(t.size for t in clf.thetas_) > solver_module._TINY_FIT
    assert first_k_where_fall_is_small(J, solver_module._AUTO_TOL, 10) == clf.n_iter_
    assert clf.n_iter_ < 200
    # The Newton polish runs only after a tight fit: the weights are the last
    # iterate's, J at them the last entry of the curve.
    assert clf.loss_ == J[-1]
    # The same fit run tight keeps going, from the same path.
    tight = BackpropClassifier(tol=0, max_iter=3 * clf.n_iter_, random_state=0)
    with pytest.warns(ConvergenceWarning, match="max_iter"):
        tight.fit(X, y)
    assert tight.loss_curve_[: clf.n_iter_] == clf.loss_curve_
    assert tight.loss_ < clf.loss_


def test_auto_is_the_documented_number_or_zero(digits):
    X, y = digits
    auto = BackpropClassifier(random_state=0).fit(X, y)
    number = BackpropClassifier(tol=solver_module._AUTO_TOL, random_state=0)
    np.testing.assert_array_equal(auto.thetas_[0], number.fit(X, y).thetas_[0])
    # A tiny problem (iris: 150 rows x 203 weights) is fit as with tol=0.
    X_iris, y_iris = load_iris(return_X_y=True)
    X_iris = StandardScaler().fit_transform(X_iris)
    auto = BackpropClassifier(random_state=0).fit(X_iris, y_iris)
    tight = BackpropClassifier(tol=0, random_state=0).fit(X_iris, y_iris)
    np.testing.assert_array_equal(auto.thetas_[0], tight.thetas_[0])
    assert auto.n_iter_ == tight.n_iter_


def test_regressor_default_is_not_stopped_on_a_slow_stretch():
    # Regression J has slow stretches (the network at a linear fit, around
    # iteration 15 here) long before R² stops improving; the classifier's
    # tol would stop there with R² near a linear model's (0.76 against 0.95).
    X, y = make_friedman1(n_samples=2000, noise=1.0, random_state=0)
    X = StandardScaler().fit_transform(X)
    X_train, y_train, X_test, y_test = X[:1500], y[:1500], X[1500:], y[1500:]
    auto = BackpropRegressor(hidden_layer_sizes=(20,), random_state=0)
    auto.fit(X_train, y_train)
    tight = BackpropRegressor(hidden_layer_sizes=(20,), tol=0, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        tight.fit(X_train, y_train)
    assert auto.n_iter_ < tight.n_iter_ / 4
    assert auto.score(X_test, y_test) >= tight.score(X_test, y_test) - 0.01
    number = BackpropRegressor(
        hidden_layer_sizes=(20,), tol=solver_module._AUTO_TOL_REGRESSION, random_state=0
    )
    np.testing.assert_array_equal(
        number.fit(X_train, y_train).thetas_[0], auto.thetas_[0]
    )


def test_stuck_optimizer_is_warned_about_not_silently_stopped(monkeypatch, digits):
    # A gradient pointing uphill: trust-ncg rejects every step and J stays
    # put. The plateau rule sees no fall at all and says so.
    X, y = digits
    real = loss_module.make_cost_function

    def uphill(*args, **kwargs):
        cost = real(*args, **kwargs)
        return lambda p: (cost(p)[0], -cost(p)[1])

    monkeypatch.setattr(loss_module, "make_cost_function", uphill)
    clf = BackpropClassifier(hidden_layer_sizes=(3,), solver="trust-ncg", tol=1e-3)
    with pytest.warns(ConvergenceWarning, match="J did not decrease"):
        clf.set_params(random_state=0).fit(X[:300], y[:300])
    assert clf.n_iter_ < clf.max_iter
