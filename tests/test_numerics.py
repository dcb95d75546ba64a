"""Numerics: a finite J and gradient, or a clear "scale the data" error.

Extreme inputs, saturated units and extreme ``alpha`` in the cost; fits on
data that overflow; a non-finite cost or gradient mid-fit; a tiny positive
``alpha``; sample weights near the ends of the float range.
"""

import pickle
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

import skbackprop._placement as placement_module
from skbackprop import BackpropClassifier
from skbackprop.backprop import cost_function, make_cost_function, unroll

from _helpers import (
    X,
    _assert_finite_model,
    _patch_cost,
    _random_problem,
    iris_scaled,
    y,
)

# ---------------------------------------------------------------------------
# The cost at extreme inputs, units and alpha
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("scale", [1e300, 1e150, 1e-150, 1e-300, 5e-324])
@pytest.mark.parametrize("layer_sizes", [(4, 3), (4, 5, 3), (4, 6, 5, 1)])
def test_cost_is_finite_for_extreme_inputs(scale, layer_sizes):
    params, X_, Y = _random_problem(layer_sizes, scale=scale)
    J, grad = cost_function(params, layer_sizes, X_, Y, alpha=1.0)
    assert np.isfinite(J) and J >= 0
    assert np.all(np.isfinite(grad))


@pytest.mark.parametrize("theta_scale", [1e2, 1e4, 1e8])
def test_cost_is_finite_for_saturated_units(theta_scale):
    """Weights so large that every sigmoid is exactly 0 or 1 in float64."""
    layer_sizes = (4, 5, 3)
    params, X_, Y = _random_problem(layer_sizes, theta_scale=theta_scale)
    J, grad = cost_function(params, layer_sizes, X_, Y, alpha=0.0)
    assert np.isfinite(J)
    assert np.all(np.isfinite(grad))
    # A unit saturated on the wrong side costs about |z| (log(1 + e^z) ~ z),
    # not inf: the loss is computed from z.
    assert J > theta_scale * 1e-3


@pytest.mark.parametrize("alpha", [0.0, 5e-324, 1e-300, 1e100, 1e300])
def test_cost_is_finite_for_extreme_alpha(alpha):
    layer_sizes = (4, 5, 3)
    params, X_, Y = _random_problem(layer_sizes)
    J, grad = cost_function(params, layer_sizes, X_, Y, alpha=alpha)
    assert np.isfinite(J)
    assert np.all(np.isfinite(grad))


# ---------------------------------------------------------------------------
# Fits on extreme data, and a non-finite cost during a fit
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "scale, hidden, alpha",
    [
        (1e300, (3,), 1.0),
        (1e300, (), 1.0),
        (1e100, (), 1.0),
        (1e-300, (3,), 1.0),
        (1e-300, (), 1.0),
        (1.0, (3,), 1e100),
        (1.0, (3,), 1e300),
        (1.0, (3,), 5e-324),
    ],
)
def test_fit_on_extreme_data_gives_finite_model_or_scale_error(scale, hidden, alpha):
    """Never NaN weights, never a numpy warning: a finite model or a clear error.

    Inputs large enough to saturate the first layer are told so first.
    """
    X_iris, y_iris = iris_scaled()
    est = BackpropClassifier(
        hidden_layer_sizes=hidden, alpha=alpha, random_state=0, max_iter=100
    )
    with warnings.catch_warnings(record=True) as told:
        warnings.simplefilter("error")
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.filterwarnings("always", message="X's features are large")
        try:
            est.fit(X_iris * scale, y_iris)
        except ValueError as exc:
            assert "NaN or infinite" in str(exc)
            assert "Scale the data" in str(exc)
            assert not hasattr(est, "thetas_")
            est = None
    assert len(told) == (1 if scale > 1 else 0)
    if est is not None:
        _assert_finite_model(est, X_iris * scale)


def test_non_finite_cost_stops_fit_with_scale_error(monkeypatch, fitted_pickles):
    """A NaN ``J`` mid-fit: a ValueError that says to scale the data, no model."""
    calls = []

    def nan_after_five(cost):
        def wrapped(params):
            calls.append(1)
            J, grad = cost(params)
            return (np.nan, grad) if len(calls) > 5 else (J, grad)

        return wrapped

    _patch_cost(monkeypatch, nan_after_five)
    est = BackpropClassifier(hidden_layer_sizes=(3,), random_state=0)
    with pytest.raises(ValueError, match="NaN or infinite.*Scale the data"):
        est.fit(X, y)
    assert not hasattr(est, "thetas_") and not hasattr(est, "n_features_in_")

    fitted = pickle.loads(fitted_pickles["fitted"])
    before = pickle.dumps(fitted)
    calls.clear()
    with pytest.raises(ValueError, match="NaN or infinite"):
        fitted.fit(X, y)
    assert pickle.dumps(fitted) == before


def test_infinite_gradient_stops_fit(monkeypatch):
    def inf_gradient(cost):
        def wrapped(params):
            J, grad = cost(params)
            grad = grad.copy()
            grad[0] = np.inf
            return J, grad

        return wrapped

    _patch_cost(monkeypatch, inf_gradient)
    est = BackpropClassifier(hidden_layer_sizes=(3,), random_state=0)
    with pytest.raises(ValueError, match="after 0 iterations.*Scale the data"):
        est.fit(X, y)
    assert not hasattr(est, "thetas_")


def test_fit_on_data_that_overflows_says_to_scale_the_data():
    """Logistic regression on iris times 1e300: J overflows on the first step.

    Refused with the "scale the data" error, or (where the optimizer treats
    the non-finite step as a breakdown and keeps its last finite iterate) a
    finite model with a warning that says so: never silence, never NaN.
    """
    X_iris, y_iris = iris_scaled()
    est = BackpropClassifier(hidden_layer_sizes=(), random_state=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            est.fit(X_iris * 1e300, y_iris)
        except ValueError as exc:
            assert "Scale the data" in str(exc)
            assert not hasattr(est, "thetas_")
            return
    messages = [str(w.message) for w in caught if w.category is ConvergenceWarning]
    assert any("Scale the data" in m for m in messages), messages
    _assert_finite_model(est, X_iris * 1e300)


def test_predict_on_data_that_overflows_to_nan_raises_scale_error():
    X_iris, y_iris = iris_scaled()
    est = BackpropClassifier(hidden_layer_sizes=(), random_state=0, tol=1e-4)
    est.fit(X_iris, y_iris)
    # Weights of both signs whose products with 1.7e308 overflow to +inf and
    # -inf: the first output unit's z is inf - inf.
    est.thetas_[0][0, 1:] = [2.0, 2.0, -2.0, -2.0]
    X_big = np.full((1, 4), 1.7e308)
    for method in ("predict", "predict_proba", "decision_function"):
        with pytest.raises(ValueError, match="overflowed to NaN.*Scale the data"):
            getattr(est, method)(X_big)


def test_predict_on_huge_but_finite_outputs_is_finite():
    """Saturated output units (z = +-inf) still give valid probabilities."""
    X_iris, y_iris = iris_scaled()
    est = BackpropClassifier(hidden_layer_sizes=(3,), random_state=0, tol=1e-4)
    est.fit(X_iris, y_iris)
    X_big = X_iris[:10] * 1e300
    proba = est.predict_proba(X_big)
    assert np.all(np.isfinite(proba))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert np.all(np.isin(est.predict(X_big), est.classes_))


@pytest.mark.parametrize("solver", ["Newton-CG", "trust-ncg", "TNC"])
def test_non_finite_cost_is_a_clear_error_for_new_solvers(iris, monkeypatch, solver):
    X, y = iris
    real = placement_module.make_cost_function
    calls = [0]

    def nan_after_three(*args, **kwargs):
        fun = real(*args, **kwargs)

        def wrapped(p):
            calls[0] += 1
            J, grad = fun(p)
            return (np.nan, grad) if calls[0] > 3 else (J, grad)

        return wrapped

    monkeypatch.setattr(placement_module, "make_cost_function", nan_after_three)
    clf = BackpropClassifier(hidden_layer_sizes=(3,), solver=solver, random_state=0)
    with pytest.raises(ValueError, match="became NaN or infinite"):
        clf.fit(X, y)
    assert not hasattr(clf, "thetas_")


# ---------------------------------------------------------------------------
# A tiny positive alpha
# ---------------------------------------------------------------------------


TINY_ALPHAS = [5e-324, 1e-310, 1e-306]


@pytest.mark.parametrize("alpha", TINY_ALPHAS)
@pytest.mark.parametrize("solver", ["L-BFGS-B", "CG", "TNC", "trust-ncg"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_tiny_positive_alpha_gives_a_normal_fit(alpha, solver, dtype):
    """The penalty is below J's rounding: the fit is the one at alpha=0."""
    X_iris, y_iris = iris_scaled()
    X_iris = X_iris.astype(dtype)
    params = dict(hidden_layer_sizes=(4,), solver=solver, random_state=0, tol=1e-6)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("error", RuntimeWarning)
        warnings.simplefilter("always", ConvergenceWarning)
        est = BackpropClassifier(alpha=alpha, **params).fit(X_iris, y_iris)
        n_warnings = len(caught)
        unpenalised = BackpropClassifier(alpha=0.0, **params).fit(X_iris, y_iris)
    assert all(np.all(np.isfinite(t)) for t in est.thetas_)
    assert np.isfinite(est.loss_) and est.loss_ >= 0
    assert est.loss_ == pytest.approx(unpenalised.loss_, rel=1e-6, abs=1e-9)
    # A normal fit, or one that says it stopped early: TNC's finite
    # differences of a float32 gradient can end its line search at iteration
    # 2 (chance accuracy; 1 of 10 seeds on one machine, seed 0 among them;
    # float64 never).
    stopped_early = any(
        "stopped before converging" in str(w.message) for w in caught[:n_warnings]
    )
    assert est.score(X_iris, y_iris) > 0.9 or (
        stopped_early and solver == "TNC" and dtype == np.float32
    )


@pytest.mark.parametrize("alpha", [0.0, *TINY_ALPHAS])
@pytest.mark.parametrize("output_activation", ["sigmoid", "softmax"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("batch_size", [None, 7])
def test_tiny_alpha_fast_path_matches_the_reference(
    alpha, output_activation, dtype, batch_size
):
    rng = np.random.RandomState(0)
    layer_sizes = (4, 5, 3)
    X_ = rng.normal(size=(20, 4)).astype(dtype)
    Y = np.eye(3)[rng.randint(3, size=20)]
    params = rng.uniform(-1, 1, size=5 * 5 + 3 * 6)
    weights = rng.uniform(0.5, 2.0, size=20)
    for sample_weight in (None, weights):
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no overflow, no 0/0
            fast = make_cost_function(
                layer_sizes,
                X_,
                Y,
                alpha,
                sample_weight,
                output_activation=output_activation,
                batch_size=batch_size,
            )(params)
            reference = cost_function(
                params,
                layer_sizes,
                X_,
                Y,
                alpha,
                sample_weight,
                output_activation=output_activation,
            )
        assert np.isfinite(fast[0]) and np.all(np.isfinite(fast[1]))
        rtol = 1e-12 if dtype == np.float64 else 1e-5
        assert fast[0] == pytest.approx(reference[0], rel=rtol)
        np.testing.assert_allclose(fast[1], reference[1], rtol=rtol, atol=1e-12)


# ---------------------------------------------------------------------------
# Sample weights near the float limits
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("exponent", [1000, 1020, -1000, -1040])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_sample_weights_near_the_float_limits_fit_like_ordinary_ones(exponent, dtype):
    """J(c w, c alpha) = J(w, alpha): weights times 2**1020 (whose sum
    overflows) or 2**-1040 (0 in float32, subnormal in float64) fit as the
    ordinary weights do."""
    X_iris, y_iris = iris_scaled()
    X_iris = X_iris.astype(dtype)
    w = np.random.RandomState(0).randint(1, 4, size=150).astype(float)
    c = 2.0**exponent
    params = dict(hidden_layer_sizes=(3,), random_state=0, tol=1e-6)
    ordinary = BackpropClassifier(alpha=0.5, **params)
    extreme = BackpropClassifier(alpha=0.5 * c, **params)
    ordinary.fit(X_iris, y_iris, sample_weight=w)
    extreme.fit(X_iris, y_iris, sample_weight=w * c)
    np.testing.assert_array_equal(unroll(extreme.thetas_), unroll(ordinary.thetas_))
    assert extreme.loss_ == ordinary.loss_
    assert extreme.score(X_iris, y_iris) > 0.9
