"""Data and helpers shared by several test modules (the fixtures are in conftest.py).

Imported by name (``from _helpers import iris_scaled``): pytest puts tests/
on ``sys.path`` in its default import mode. Only what two or more modules use
is here.
"""

import numpy as np
from sklearn.datasets import load_iris
from sklearn.preprocessing import StandardScaler

import skbackprop._placement as placement_module
from skbackprop import BackpropClassifier
from skbackprop.backprop import init_thetas, unroll

# Every solver, named here (not read from skbackprop._solver): one dropped
# from the code is a failing test, not a smaller parametrization.
SOLVERS = (
    "L-BFGS-B",
    "CG",
    "BFGS",
    "TNC",
    "Newton-CG",
    "trust-ncg",
    "trust-krylov",
)


# The random three-class problem of the bad-input table and the failure tests.
_rng = np.random.RandomState(0)
X = _rng.normal(size=(30, 4))
y = np.arange(30) % 3
Y_INDICATOR = np.c_[y == 0, y == 1, y == 2].astype(int)  # multilabel y
FEATURES = ["a", "b", "c", "d"]


def iris_scaled():
    X_iris, y_iris = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X_iris), y_iris


def _patch_cost(monkeypatch, wrap):
    """Make fit's cost function ``wrap(cost)``, ``cost(params) -> (J, grad)``."""
    real = placement_module.make_cost_function
    monkeypatch.setattr(
        placement_module,
        "make_cost_function",
        lambda *args, **kwargs: wrap(real(*args, **kwargs)),
    )


def _assert_finite_model(est, X_):
    assert all(np.all(np.isfinite(t)) for t in est.thetas_)
    assert np.isfinite(est.loss_)
    assert np.all(np.isfinite(est.loss_curve_))
    proba = est.predict_proba(X_)
    assert np.all(np.isfinite(proba))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)


def _random_problem(layer_sizes, m=20, scale=1.0, theta_scale=None, seed=0):
    rng = np.random.RandomState(seed)
    X_ = rng.normal(size=(m, layer_sizes[0])) * scale
    Y = (rng.rand(m, layer_sizes[-1]) < 0.5).astype(float)
    thetas = init_thetas(layer_sizes, theta_scale, rng)
    return unroll(thetas), X_, Y


def _fitted_iris_model(frame=False):
    X_iris, y_iris = load_iris(return_X_y=True, as_frame=frame)
    names = np.array(["setosa", "versicolor", "virginica"])
    labels = names[np.asarray(y_iris)]
    est = BackpropClassifier(hidden_layer_sizes=(5,), random_state=0, tol=1e-6)
    return est.fit(X_iris, labels), X_iris


def _assert_same_predictions(a, b, X_):
    np.testing.assert_array_equal(a.predict(X_), b.predict(X_))
    np.testing.assert_array_equal(a.predict_proba(X_), b.predict_proba(X_))
    np.testing.assert_array_equal(a.decision_function(X_), b.decision_function(X_))
