"""The default stopping rule (``tol="auto"``), why a fit stopped, and the limits.

The rule is driven directly with synthetic sequences of ``J`` (a plateau, a
steady slope, a lull on the way down, a saddle near the constant
prediction), then checked on real fits: the plateaus on the way down that an
earlier rule stopped in (two moons, parity, a regression target with an
offset) are crossed, and a fall that has flattened still stops early. Then
``stop_reason_``, the warnings at a limit, and ``max_iter``/``max_fun`` for
every solver in one place, with the count of cost evaluations
(``n_fun_evals_``).
"""

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits, load_iris, make_moons
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler

import skbackprop._placement as placement_module
import skbackprop._solver as solver_module
from skbackprop import BackpropClassifier, BackpropRegressor
from skbackprop._compat import HAS_SKLEARN_CALLBACKS
from skbackprop._loss import NetworkLoss
from skbackprop._solver import _SOLVERS, Monitor, SolverSettings, auto_tol, resolve_tol
from skbackprop.backprop import cost_function, unroll

from _helpers import SOLVERS


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

    def cost_at(bias):
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
    assert constant == pytest.approx(cost_at(bias), rel=1e-12)
    # No nearby constant does better (one output's bias moved either way).
    for step in (0.01, -0.01):
        assert cost_at(bias + step * np.eye(Y.shape[1])[0]) > constant


# ---------------------------------------------------------------------------
# Real fits: plateaus on the way down are crossed, a flattened fall stops
# ---------------------------------------------------------------------------


def fit_quietly(estimator, X, y, **fit_params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return estimator.fit(X, y, **fit_params)


def parity_data(n_bits=4, n_samples=2000, seed=0):
    rng = np.random.default_rng(seed)
    bits = rng.integers(0, 2, size=(n_samples, n_bits))
    return (2 * bits - 1) + 0.1 * rng.normal(size=bits.shape), bits.sum(axis=1) % 2


def test_moons_plateau_is_crossed():
    # The rule of 0.2 stopped this fit at iteration 16, train accuracy 0.880
    # (0.999 tight): in a plateau near the start, where J had fallen little
    # below the constant prediction's cost.
    X, y = make_moons(3000, noise=0.1, random_state=0)
    X = StandardScaler().fit_transform(X)[:2000]
    clf = BackpropClassifier(random_state=0).fit(X, y[:2000])
    assert clf.stop_reason_ == "plateau"
    assert clf.score(X, y[:2000]) >= 0.99


def test_parity_saddle_is_crossed():
    # 5-bit parity sits at chance for dozens of iterations, the network near
    # the constant prediction, J hardly below J_c: the rule of 0.2 stopped
    # this fit at iteration 30, accuracy 0.512 (1.0 tight).
    X, y = parity_data(n_bits=5)
    clf = BackpropClassifier(random_state=1).fit(X, y)
    assert clf.score(X, y) >= 0.99


def test_a_targets_offset_is_no_plateau():
    # Fitting the offset's mean makes J fall by offset**2 / 2 in the first
    # iterations; measured from J_c, the rule does not see that fall.
    rng = np.random.default_rng(0)
    X = rng.uniform(-3, 3, size=(3000, 2))
    y = np.sin(X[:, 0]) + 0.5 * X[:, 1]
    # The rule of 0.2 stopped this fit at iteration 18, R² 0.856; the tight
    # fit reaches 0.998.
    offset = BackpropRegressor(hidden_layer_sizes=(10,), random_state=0)
    offset.fit(X, y + 100)
    assert offset.stop_reason_ == "plateau"
    assert offset.score(X, y + 100) >= 0.99


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:1000] / 16.0, y[:1000]


def test_default_fit_stops_early_where_the_rule_says(digits):
    X, y = digits
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a plateau stop is no warning
        clf = BackpropClassifier(random_state=0).fit(X, y)
    size = X.shape[0] * sum(t.size for t in clf.thetas_)
    assert size > solver_module._TINY_FIT  # the rule ran
    Y = np.eye(10)[y]
    J_constant = NetworkLoss(clf.layer_sizes_).constant_loss(Y)
    J = np.asarray(clf.loss_curve_)
    assert clf.stop_reason_ == "plateau"
    assert first_stop(J, auto_tol(size), 10, J_constant) == clf.n_iter_
    # No polish after a plateau stop: the weights are the last iterate's.
    assert clf.loss_ == J[-1]
    # The same fit run tight keeps going, from the same path, much longer.
    tight = BackpropClassifier(tol=0, max_iter=3 * clf.n_iter_, random_state=0)
    tight = fit_quietly(tight, X, y)
    assert tight.loss_curve_[: clf.n_iter_] == clf.loss_curve_
    assert tight.n_iter_ == 3 * clf.n_iter_ and tight.loss_ < clf.loss_


def test_auto_is_the_documented_number_or_zero(digits):
    X, y = digits
    auto = BackpropClassifier(random_state=0).fit(X, y)
    size = X.shape[0] * sum(t.size for t in auto.thetas_)
    number = BackpropClassifier(tol=auto_tol(size), random_state=0)
    np.testing.assert_array_equal(auto.thetas_[0], number.fit(X, y).thetas_[0])
    # A tiny problem (iris: 150 rows x 203 weights) is fit as with tol=0.
    X_iris, y_iris = load_iris(return_X_y=True)
    X_iris = StandardScaler().fit_transform(X_iris)
    auto = BackpropClassifier(random_state=0).fit(X_iris, y_iris)
    tight = BackpropClassifier(tol=0, random_state=0).fit(X_iris, y_iris)
    np.testing.assert_array_equal(auto.thetas_[0], tight.thetas_[0])
    assert auto.n_iter_ == tight.n_iter_ and auto.stop_reason_ == "converged"


# ---------------------------------------------------------------------------
# stop_reason_, verbose and the warnings
# ---------------------------------------------------------------------------


def test_stop_reasons(iris, interrupt_after):
    X, y = iris
    small = dict(hidden_layer_sizes=(3,), random_state=0)
    assert BackpropClassifier(**small).fit(X, y).stop_reason_ == "converged"
    assert BackpropClassifier(tol=1e-2, **small).fit(X, y).stop_reason_ == "plateau"
    est = BackpropClassifier(early_stopping=True, **small).fit(X, y)
    assert est.stop_reason_ == "early_stopping"
    with pytest.warns(ConvergenceWarning, match="max_iter=4"):
        est = BackpropClassifier(max_iter=4, tol=0, **small).fit(X, y)
    assert est.stop_reason_ == "max_iter" and est.n_iter_ == 4
    interrupt_after(3)
    with pytest.warns(ConvergenceWarning, match="interrupted"):
        est = BackpropClassifier(**small).fit(X, y)
    assert est.stop_reason_ == "interrupted" and est.n_iter_ == 3


def test_a_stuck_optimizer_is_warned_about_not_silently_stopped(monkeypatch, digits):
    # A gradient pointing uphill: trust-ncg rejects every step and J stays
    # put. The plateau rule sees no fall at all and says so.
    X, y = digits
    real = placement_module.make_cost_function

    def uphill(*args, **kwargs):
        cost = real(*args, **kwargs)
        return lambda p: (cost(p)[0], -cost(p)[1])

    monkeypatch.setattr(placement_module, "make_cost_function", uphill)
    clf = BackpropClassifier(hidden_layer_sizes=(3,), solver="trust-ncg", tol=1e-3)
    with pytest.warns(ConvergenceWarning, match="J did not decrease"):
        clf.set_params(random_state=0).fit(X[:300], y[:300])
    assert clf.n_iter_ < clf.max_iter and clf.stop_reason_ == "optimizer"


def test_verbose_says_why_the_fit_stopped(iris, capsys):
    X, y = iris
    BackpropClassifier(hidden_layer_sizes=(3,), tol=1e-2, verbose=1).fit(X, y)
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last.startswith("Stopped after") and "(plateau)" in last
    assert "tol=0.01" in last


def test_a_settled_tiny_fit_at_max_iter_is_not_warned_about(iris):
    # Tiny problems are fit tight; one that reaches max_iter after J has
    # settled (by the rule at its tol="auto") gets no warning: more
    # iterations would not change the answer. An explicit tol=0 does.
    X, y = iris
    params = dict(hidden_layer_sizes=(3,), random_state=0, alpha=1e-4, max_iter=150)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        est = BackpropClassifier(**params).fit(X, y)
    assert est.stop_reason_ == "max_iter"
    with pytest.warns(ConvergenceWarning, match="max_iter=150"):
        BackpropClassifier(tol=0, **params).fit(X, y)


def test_scaling_advice_only_for_unscaled_data(iris):
    X, y = iris
    params = dict(hidden_layer_sizes=(3,), random_state=0, max_iter=3, tol=0)
    with pytest.warns(ConvergenceWarning) as scaled:
        BackpropClassifier(**params).fit(X, y)
    with pytest.warns(ConvergenceWarning) as raw:
        BackpropClassifier(**params).fit(load_iris().data, y)
    assert "scale the data" not in str(scaled[0].message)
    assert "scale the data" in str(raw[0].message)


@pytest.mark.skipif(not HAS_SKLEARN_CALLBACKS, reason="no callback API")
def test_progress_reporting_knows_when_the_end_is_unknown(iris):
    X, y = iris
    sizes = []

    class Recorder:
        def setup(self, estimator, context):
            pass

        def on_fit_task_begin(self, estimator, context, **kwargs):
            if context.parent is None:
                sizes.append(context.max_subtasks)

        def on_fit_task_end(self, estimator, context, **kwargs):
            return False

        def teardown(self, estimator, context):
            pass

    small = dict(hidden_layer_sizes=(3,), random_state=0, max_iter=50)
    BackpropClassifier(tol=1e-2, **small).set_callbacks(Recorder()).fit(X, y)
    fit_quietly(BackpropClassifier(tol=0, **small).set_callbacks(Recorder()), X, y)
    assert sizes == [None, 51]


# ---------------------------------------------------------------------------
# Every limit, every solver; an iteration recorded whole
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("solver", _SOLVERS)
@pytest.mark.parametrize("limit", [{"max_iter": 3}, {"max_fun": 4}, {"max_fun": 1}])
def test_limits(iris, solver, limit):
    X, y = iris
    ((name, value),) = limit.items()
    est = BackpropClassifier(hidden_layer_sizes=(3,), solver=solver, tol=0, **limit)
    with pytest.warns(ConvergenceWarning, match=f"reached {name}={value} ") as record:
        est.set_params(random_state=0).fit(X, y)
    assert est.stop_reason_ == name and len(record) == 1
    assert est.n_iter_ == len(est.loss_curve_) <= 3
    if name == "max_fun":
        # Counted as the optimizer counts it, and no polish after the limit.
        assert value <= est.n_fun_evals_ <= value + 2 * est.n_iter_ + 2


def test_ctrl_c_while_scoring_the_validation_data_keeps_every_record_whole(
    iris, monkeypatch
):
    X, y = iris
    calls = [0]
    real = BackpropClassifier._validation_score

    def interrupted(self, *args):
        calls[0] += 1
        if calls[0] == 5:
            raise KeyboardInterrupt
        return real(self, *args)

    monkeypatch.setattr(BackpropClassifier, "_validation_score", interrupted)
    est = BackpropClassifier(hidden_layer_sizes=(3,), random_state=0)
    with pytest.warns(ConvergenceWarning, match="interrupted"):
        est.fit(X, y, X_val=X, y_val=y)
    assert est.stop_reason_ == "interrupted"
    assert est.n_iter_ == 4 == len(est.loss_curve_)
    assert len(est.validation_scores_) == len(est.validation_loss_curve_) == 4


# ---------------------------------------------------------------------------
# max_fun and the count of cost evaluations
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("solver", SOLVERS)
def test_max_fun_limits_evaluations(iris, solver):
    X, y = iris
    clf = BackpropClassifier(solver=solver, max_fun=12, random_state=0)
    with pytest.warns(ConvergenceWarning, match="max_fun=12"):
        clf.fit(X, y)
    # Checked after each iteration: one iteration's line search may go past.
    assert 12 <= clf.n_fun_evals_ <= 12 + 25
    assert clf.n_iter_ < 12


def test_n_fun_evals_counts_every_cost_evaluation(iris, monkeypatch):
    X, y = iris
    calls = []
    original = placement_module.make_cost_function

    def counting_factory(*args, **kwargs):
        fun = original(*args, **kwargs)

        def counting(nn_params):
            calls.append(1)
            return fun(nn_params)

        return counting

    monkeypatch.setattr(placement_module, "make_cost_function", counting_factory)
    clf = BackpropClassifier(hidden_layer_sizes=(3,), random_state=0).fit(X, y)
    assert clf.n_fun_evals_ == len(calls) > clf.n_iter_
