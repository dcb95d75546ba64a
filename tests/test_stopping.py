"""The default stopping rule (``tol="auto"``), why a fit stopped, and the limits.

The rule is driven directly with synthetic sequences of ``J`` (a plateau, a
steady slope, a lull on the way down, a saddle near the constant
prediction), then checked on real fits: the plateaus on the way down that an
earlier rule stopped in (two moons, parity, a regression target with an
offset) are crossed, and a fall that has flattened still stops early. Then
``stop_reason_``, the warnings at a limit, and ``max_iter``/``max_fun`` for
every solver in one place.
"""

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits, load_iris, make_moons
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler

import skbackprop._loss as loss_module
import skbackprop._solver as solver_module
from skbackprop import BackpropClassifier, BackpropRegressor
from skbackprop._compat import HAS_SKLEARN_CALLBACKS
from skbackprop._loss import NetworkLoss
from skbackprop._solver import _SOLVERS, Monitor, SolverSettings, auto_tol, resolve_tol
from skbackprop.backprop import cost_function, unroll


def run_monitor(J_values, tol, J_constant, n_iter_no_change=10, max_iter=10**6):
    """Feed ``J_values`` to a Monitor, one per iteration; ``(iteration, reason)``."""
    settings = SolverSettings("L-BFGS-B", max_iter, tol, 10**9)
    monitor = Monitor(settings, n_iter_no_change=n_iter_no_change)
    monitor.start(np.zeros(2), J_constant)
    for k, J in enumerate(J_values, start=1):
        stop = monitor.iteration(np.full(2, float(k)), J, np.ones(2), n_fun=k)
        if stop is not None:
            return k, stop
    return len(J_values), None


def small_fall(J, k, tol, n, J_constant):
    """The rule's test at iteration k (1-based), written out independently."""
    return k > n and J[k - 1 - n] - J[k - 1] <= tol * (J_constant - J[k - 1])


def first_stop(J, tol, n, J_constant):
    """The 1-based k where the rule with its trial stops, or None."""
    k = n + 1
    while k <= len(J):
        if small_fall(J, k, tol, n, J_constant):
            if k + n > len(J):
                return None
            if small_fall(J, k + n, tol, n, J_constant):
                return k + n
            k += n
        k += 1
    return None


def decay(k, level=0.3, height=5.0, rate=20.0):
    return level + height * np.exp(-k / rate)


# ---------------------------------------------------------------------------
# Synthetic J sequences
# ---------------------------------------------------------------------------


def test_stops_on_a_plateau_after_a_trial():
    k = np.arange(1, 1001)
    J = decay(k)
    expected = first_stop(J, 3e-3, 10, J_constant=5.0)
    assert expected is not None and 100 < expected < 200
    assert run_monitor(J, 3e-3, J_constant=5.0) == (expected, "plateau")
    # The rule held n iterations before the stop: the trial ran them.
    assert small_fall(J, expected - 10, 3e-3, 10, 5.0)


def test_does_not_stop_on_a_slope():
    J = 10.0 - 1e-3 * np.arange(1, 1001)
    assert run_monitor(J, 3e-3, J_constant=10.0) == (1000, None)


def test_a_lull_on_the_way_down_is_crossed():
    # A fast fall, a lull of 15 iterations that gain almost nothing, then a
    # second fall: the rule holds in the lull, the trial sees the next fall.
    first = 2.0 + 3.0 * np.exp(-np.arange(1, 21) / 4.0)
    lull = first[-1] - 1e-6 * np.arange(1, 16)
    second = lull[-1] - 1.5 * (1 - np.exp(-np.arange(1, 101) / 10.0))
    J = np.concatenate([first, lull, second])
    in_lull = [k for k in range(21, 36) if small_fall(J, k, 1e-2, 10, 5.0)]
    assert in_lull  # without the trial the rule would stop here
    k, reason = run_monitor(J, 1e-2, J_constant=5.0)
    assert k > 40 and J[k - 1] < J[34] - 1.0


def test_a_saddle_near_the_constant_prediction_is_no_plateau():
    # J falls from above the constant prediction's cost to just below it and
    # lingers there (a sigmoid network's early saddle), then learns.
    J_constant = 0.6931
    start = J_constant + 0.05 * np.exp(-np.arange(1, 11) / 2.0)
    saddle = J_constant - 1e-3 - 1e-5 * np.arange(1, 31)
    learn = saddle[-1] - 0.6 * (1 - np.exp(-np.arange(1, 201) / 15.0))
    J = np.concatenate([start, saddle, learn])
    k, reason = run_monitor(J, 1e-2, J_constant)
    assert k > 60
    # Measured from J at the first iteration, as the rule was, it stopped
    # in the saddle.
    assert first_stop(J, 1e-2, 10, J_constant=J[0]) <= 40


@pytest.mark.parametrize("scale, offset", [(1.0, 0.0), (1e-6, 0.0), (7.0, 1e4)])
def test_decision_does_not_depend_on_scale_or_offset_of_cost(scale, offset):
    J = decay(np.arange(1, 1001))
    reference = run_monitor(J, 1e-3, J_constant=5.0)
    assert reference[1] == "plateau"
    transformed = run_monitor(scale * J + offset, 1e-3, scale * 5.0 + offset)
    assert transformed == reference


@pytest.mark.parametrize("n_iter_no_change", [5, 20])
def test_window_is_n_iter_no_change(n_iter_no_change):
    J = decay(np.arange(1, 1001))
    expected = first_stop(J, 3e-3, n_iter_no_change, J_constant=5.0)
    assert run_monitor(J, 3e-3, 5.0, n_iter_no_change) == (expected, "plateau")


def test_no_fall_in_the_window_is_a_stall():
    J = np.concatenate([np.linspace(5.0, 1.0, 20), np.full(20, 1.0)])
    assert run_monitor(J, 1e-12, J_constant=6.0) == (30, "stalled")


def test_tol_zero_switches_the_rule_off():
    assert run_monitor(np.full(300, 1.0), 0.0, 2.0) == (300, None)
    assert run_monitor(np.full(300, 1.0), 0.0, 2.0, max_iter=50) == (50, "max_iter")


def test_resolve_tol():
    tiny = solver_module._TINY_FIT
    assert resolve_tol("auto", 10, tiny // 10) == 0.0
    small, large = solver_module._AUTO_TOL_SIZES
    assert resolve_tol("auto", 10, tiny // 10 + 1) == solver_module._AUTO_TOL
    assert resolve_tol("auto", 1, int(small)) == pytest.approx(solver_module._AUTO_TOL)
    assert resolve_tol("auto", 1, int(large)) == pytest.approx(
        solver_module._AUTO_TOL_LARGE
    )
    assert resolve_tol("auto", 10, int(large)) == solver_module._AUTO_TOL_LARGE
    # Log-linear in between: the geometric mean halfway (in log size).
    middle = np.sqrt(small * large)
    assert auto_tol(middle) == pytest.approx(
        np.sqrt(solver_module._AUTO_TOL * solver_module._AUTO_TOL_LARGE)
    )
    # With early stopping, tol is a gain in validation score instead.
    assert (
        resolve_tol("auto", 10, tiny // 10 + 1, early_stopping=True)
        == solver_module._AUTO_SCORE_TOL
    )
    assert resolve_tol("auto", 10, tiny // 10, early_stopping=True) == 0.0
    assert resolve_tol(1e-3, 10, 10) == 1e-3
    assert resolve_tol(0, 10**6, 10**6) == 0.0


@pytest.mark.parametrize("output", ["sigmoid", "softmax", "identity"])
def test_constant_loss_is_the_best_constant_networks_cost(output):
    # The network with no hidden layer and zero input weights predicts a
    # constant; its best bias (found by the reference cost's gradient) gives
    # the constant prediction's cost, whatever the targets' offset.
    rng = np.random.default_rng(0)
    if output == "identity":
        Y = rng.normal(size=(40, 2)) * [1.0, 3.0] + [100.0, -5.0]
    else:
        Y = np.eye(3)[rng.integers(0, 3, 40)]
    w = rng.uniform(0.5, 2.0, 40)
    X = rng.normal(size=(40, 2))
    sizes = (2, Y.shape[1])

    def J_at(bias):
        theta = np.zeros((Y.shape[1], 3))
        theta[:, 0] = bias
        return cost_function(
            unroll([theta]), sizes, X, Y, 0.0, w, output_activation=output
        )[0]

    p = np.average(Y, axis=0, weights=w)
    bias = {
        "identity": lambda: p,
        "sigmoid": lambda: np.log(p / (1 - p)),
        "softmax": lambda: np.log(p),
    }[output]()
    constant = NetworkLoss(sizes, output_activation=output).constant_loss(Y, w)
    assert constant == pytest.approx(J_at(bias), rel=1e-12)
    # No nearby constant does better (one output's bias moved either way).
    for step in (0.01, -0.01):
        assert J_at(bias + step * np.eye(Y.shape[1])[0]) > constant
