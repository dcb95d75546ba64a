"""Reliability: bad input, numerics, interrupts, determinism, persistence, threads.

The bad-input table ``BAD_INPUTS`` is the single source for every refused
input; ``docs/reliability.rst`` lists the same rows.
"""

import concurrent.futures
import pickle
import subprocess
import sys
import textwrap
import threading
import warnings
from dataclasses import dataclass, field

import joblib
import numpy as np
import pandas as pd
import pytest
import scipy.sparse
from sklearn.base import clone
from sklearn.datasets import load_iris
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.model_selection import GridSearchCV
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_info, threadpool_limits

import skbackprop._blas as blas_module
import skbackprop._placement as placement_module
import skbackprop._solver as solver_module
from skbackprop import BackpropClassifier
from skbackprop.backprop import cost_function, init_thetas, unroll

# ---------------------------------------------------------------------------
# Data shared by the tests
# ---------------------------------------------------------------------------

_rng = np.random.RandomState(0)
X = _rng.normal(size=(30, 4))
y = np.arange(30) % 3
Y_INDICATOR = np.c_[y == 0, y == 1, y == 2].astype(int)  # multilabel y
FEATURES = ["a", "b", "c", "d"]
SOLVERS = solver_module._SOLVERS
LINE_SEARCH_SOLVERS = ("L-BFGS-B", "CG", "BFGS", "TNC", "Newton-CG")


def with_value(array, index, value):
    """A copy of ``array`` (cast to ``value``'s kind if needed) with one entry set."""
    out = np.array(array, dtype=np.result_type(array, np.asarray(value)))
    out[index] = value
    return out


def iris_scaled():
    X_iris, y_iris = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X_iris), y_iris


# ---------------------------------------------------------------------------
# 1. Bad input: one table, every row refused with an error naming the problem
# ---------------------------------------------------------------------------


@dataclass
class Bad:
    """One bad input: what is called, with what, and the error it must raise."""

    id: str
    error: type
    match: str
    params: dict = field(default_factory=dict)
    X: object = field(default_factory=lambda: X)
    y: object = field(default_factory=lambda: y)
    sample_weight: object = None
    fit_params: dict = field(default_factory=dict)  # X_val, y_val, ...
    method: str = "fit"
    #: "unfitted": called on a new estimator; "fitted": on one fitted on ``X``;
    #: "frame": on one fitted on ``X`` as a DataFrame with columns FEATURES;
    #: "multilabel": on one fitted on ``X`` and ``Y_INDICATOR``.
    states: tuple = ("unfitted", "fitted")
    doc: str = ""  # the input, as the docs page names it


BAD_INPUTS = [
    # --- X --------------------------------------------------------------
    Bad("X-nan", ValueError, "Input X contains NaN", X=with_value(X, (3, 1), np.nan)),
    Bad("X-inf", ValueError, "Input X contains infinity", X=with_value(X, 0, np.inf)),
    Bad(
        "X-minus-inf",
        ValueError,
        "Input X contains infinity",
        X=with_value(X, (0, 0), -np.inf),
    ),
    Bad(
        "X-None",
        ValueError,
        "Input X contains NaN",
        X=with_value(X.astype(object), (2, 2), None),
    ),
    Bad("X-empty", ValueError, r"0 sample\(s\)", X=X[:0], y=y[:0]),
    Bad("X-no-features", ValueError, r"0 feature\(s\)", X=X[:, :0]),
    Bad("X-1d", ValueError, "Expected 2D array, got 1D array", X=X[:, 0]),
    Bad("X-3d", ValueError, "Found array with dim 3", X=X[:, :, None]),
    Bad(
        "X-strings",
        ValueError,
        "could not convert string to float",
        X=X.astype(str).astype(object) + "x",
    ),
    Bad(
        "X-objects",
        TypeError,
        "must be a string or a real number, not 'dict'",
        X=with_value(X.astype(object), (0, 0), {}),
    ),
    Bad("X-complex", ValueError, "Complex data not supported", X=X + 1j),
    Bad(
        "X-sparse-nan",
        ValueError,
        "Input X contains NaN",
        X=scipy.sparse.csr_matrix(with_value(X, (3, 1), np.nan)),
    ),
    Bad(
        "X-y-lengths",
        ValueError,
        "inconsistent numbers of samples",
        y=y[:-1],
    ),
    # --- y --------------------------------------------------------------
    Bad("y-nan", ValueError, "Input y contains NaN", y=with_value(y, 4, np.nan)),
    Bad("y-inf", ValueError, "Input y contains infinity", y=with_value(y, 4, np.inf)),
    Bad(
        "y-strings-with-nan",
        ValueError,
        "Input contains NaN",
        y=with_value(y.astype(str).astype(object), 4, np.nan),
    ),
    Bad(
        "y-strings-with-None",
        ValueError,
        r"y mixes labels of different types \(None, str\)",
        y=with_value(y.astype(str).astype(object), 4, None),
    ),
    Bad(
        "y-strings-and-numbers",
        ValueError,
        r"y mixes labels of different types \(number, str\)",
        y=with_value(y.astype(object), 4, "x"),
    ),
    Bad(
        "y-continuous",
        ValueError,
        "Unknown label type: continuous",
        y=y + np.linspace(0.01, 0.5, 30),
    ),
    Bad(
        "y-continuous-multioutput",
        ValueError,
        "Unknown label type: continuous-multioutput",
        y=np.c_[y + 0.5, y],
    ),
    Bad(
        "y-multiclass-multioutput",
        ValueError,
        "Multioutput target data is not supported",
        y=np.c_[y, y[::-1]],
    ),
    Bad("y-single-class", ValueError, "only one class", y=np.zeros(30)),
    # A 2-D y of at most two integer values is an indicator matrix to
    # scikit-learn, whatever the values; the cost needs 0 and 1.
    *[
        Bad(f"y-indicator-{name}", ValueError, "must hold only 0 .* and 1", y=y_)
        for name, y_ in [
            ("0-2", 2 * Y_INDICATOR),
            ("minus1-1", 2 * Y_INDICATOR - 1),
            ("1-2", Y_INDICATOR + 1),
            ("3-7", 4 * Y_INDICATOR + 3),
            ("float-0-2", 2.0 * Y_INDICATOR),
            ("uint8-0-255", (255 * Y_INDICATOR).astype(np.uint8)),
            ("sparse-0-2", scipy.sparse.csr_matrix(2 * Y_INDICATOR)),
            ("only-2s", np.full((30, 3), 2)),
        ]
    ],
    Bad("one-sample", ValueError, "only one class", X=X[:1], y=y[:1]),
    # --- y_val: checked on y's path, the errors naming y_val --------------
    Bad(
        "y_val-nan",
        ValueError,
        "Input y_val contains NaN",
        fit_params=dict(X_val=X, y_val=with_value(y, 4, np.nan)),
    ),
    Bad(
        "y_val-inf",
        ValueError,
        "Input y_val contains infinity",
        fit_params=dict(X_val=X, y_val=with_value(y, 4, np.inf)),
    ),
    Bad(
        "y_val-strings-with-None",
        ValueError,
        r"y_val mixes labels of different types \(None, str\)",
        y=y.astype(str).astype(object),
        fit_params=dict(
            X_val=X, y_val=with_value(y.astype(str).astype(object), 4, None)
        ),
    ),
    Bad(
        "y_val-continuous",
        ValueError,
        "y_val: Unknown label type: continuous",
        fit_params=dict(X_val=X, y_val=y + np.linspace(0.01, 0.5, 30)),
    ),
    *[
        Bad(
            f"y_val-indicator-{name}",
            ValueError,
            "y_val is a multilabel indicator matrix .* must hold only 0 .* and 1",
            y=Y_INDICATOR,
            fit_params=dict(X_val=X, y_val=y_),
        )
        for name, y_ in [("0-2", 2 * Y_INDICATOR), ("minus1-1", 2 * Y_INDICATOR - 1)]
    ],
    Bad(
        "sample_weight_val-nan",
        ValueError,
        "sample_weight_val contains NaN or infinity",
        fit_params=dict(
            X_val=X, y_val=y, sample_weight_val=with_value(np.ones(30), 0, np.nan)
        ),
    ),
    # --- sample_weight --------------------------------------------------
    Bad(
        "sample_weight-negative",
        ValueError,
        "Negative values in data passed to sample_weight",
        sample_weight=with_value(np.ones(30), 0, -1.0),
    ),
    Bad(
        "sample_weight-nan",
        ValueError,
        "sample_weight contains NaN or infinity",
        sample_weight=with_value(np.ones(30), 0, np.nan),
    ),
    Bad(
        "sample_weight-inf",
        ValueError,
        "sample_weight contains NaN or infinity",
        sample_weight=with_value(np.ones(30), 0, np.inf),
    ),
    Bad(
        "sample_weight-all-zero",
        ValueError,
        "sum of sample_weight is zero",
        sample_weight=np.zeros(30),
    ),
    Bad(
        "sample_weight-length",
        ValueError,
        r"sample_weight.shape == \(29,\), expected \(30,\)",
        sample_weight=np.ones(29),
    ),
    Bad(
        "sample_weight-tiny-for-alpha",
        ValueError,
        r"alpha / sum\(sample_weight\) overflows",
        sample_weight=np.full(30, 1e-320),
    ),
    Bad(
        "sample_weight-small-for-alpha",
        ValueError,
        r"NaN or infinite.*alpha / \(2 sum\(sample_weight\)\) = 1.67e\+298",
        sample_weight=np.full(30, 1e-300),
    ),
    Bad(
        "sample_weight-strings",
        ValueError,
        "sample_weight must be numeric",
        sample_weight=np.array(["1"] * 30),
    ),
    # --- constructor parameters -----------------------------------------
    *[
        Bad(f"{name}={value!r}", error, match, params={name: value})
        for name, value, error, match in [
            ("hidden_layer_sizes", None, TypeError, "hidden_layer_sizes must be"),
            *[
                (
                    "hidden_layer_sizes",
                    sizes,
                    TypeError,
                    "hidden_layer_sizes must be an",
                )
                for sizes in [
                    "5",
                    "",
                    b"\x05",
                    bytearray(b"\x05"),
                    {3, 4},
                    frozenset({3}),
                    {3: 1},
                    np.array([[3]]),
                    np.array(3),
                    2.0,
                ]
            ],
            ("hidden_layer_sizes", (2.5,), TypeError, "must contain ints"),
            ("hidden_layer_sizes", (True,), TypeError, "must contain ints"),
            ("hidden_layer_sizes", (0,), ValueError, "must contain positive ints"),
            ("hidden_layer_sizes", (5, -1), ValueError, "must contain positive"),
            ("hidden_layer_sizes", -3, ValueError, "must contain positive ints"),
            ("alpha", -1.0, ValueError, "alpha == -1.0, must be >= 0"),
            ("alpha", np.nan, ValueError, "alpha must be finite"),
            ("alpha", np.inf, ValueError, "alpha must be finite"),
            ("alpha", "1", TypeError, "alpha must be a float >= 0 or 'evidence'"),
            ("alpha", None, TypeError, "alpha must be an instance of float"),
            ("max_iter", 0, ValueError, "max_iter == 0, must be >= 1"),
            ("max_iter", 1.5, TypeError, "max_iter must be an instance of int"),
            ("max_iter", "100", TypeError, "max_iter must be an instance of int"),
            ("max_iter", True, TypeError, "max_iter must be an int, not a bool"),
            ("tol", -1e-3, ValueError, "tol == -0.001, must be >= 0"),
            ("tol", np.nan, ValueError, "tol must be a finite number"),
            ("tol", np.inf, ValueError, "tol must be a finite number"),
            ("tol", "small", TypeError, "tol must be an instance of float"),
            ("solver", "lbfgs", ValueError, "solver must be one of"),
            ("solver", "adam", ValueError, "solver must be one of"),
            ("solver", 3, ValueError, "solver must be one of"),
            ("solver", None, ValueError, "solver must be one of"),
            ("epsilon_init", 0.0, ValueError, "epsilon_init == 0.0, must be > 0"),
            ("epsilon_init", -0.1, ValueError, "epsilon_init == -0.1, must be > 0"),
            ("epsilon_init", np.nan, ValueError, "epsilon_init must be a finite"),
            ("epsilon_init", np.inf, ValueError, "epsilon_init must be a finite"),
            ("epsilon_init", "0.1", TypeError, "epsilon_init must be an instance"),
            ("random_state", "seed", ValueError, "cannot be used to seed"),
            ("random_state", -1, ValueError, "Seed must be between 0 and 2\\*\\*32"),
            ("random_state", 1.5, ValueError, "cannot be used to seed"),
            ("verbose", -1, ValueError, "verbose == -1, must be >= 0"),
            ("verbose", 0.5, TypeError, "verbose must be an instance of int"),
            ("batch_size", 0, ValueError, "batch_size == 0, must be >= 1"),
            ("batch_size", -5, ValueError, "batch_size == -5, must be >= 1"),
            ("batch_size", 2.5, TypeError, "batch_size must be an instance of int"),
            ("batch_size", "all", TypeError, "batch_size must be an instance of int"),
            ("batch_size", True, TypeError, "batch_size must be an int, not a bool"),
            ("activation", "logistic", ValueError, "activation must be one of"),
            ("activation", "softmax", ValueError, "activation must be one of"),
            ("activation", None, ValueError, "activation must be one of"),
            ("output_activation", "tanh", ValueError, "output_activation must be"),
            ("output_activation", 1, ValueError, "output_activation must be"),
            ("class_weight", "auto", ValueError, "class_weight must be None, 'bal"),
            ("class_weight", 3, ValueError, "class_weight must be None, 'balanced'"),
            ("class_weight", {0: -1.0, 1: 1, 2: 1}, ValueError, ">= 0; got -1.0 for"),
            ("class_weight", {0: np.nan, 1: 1.0, 2: 1.0}, ValueError, "finite"),
            ("class_weight", {0: np.inf, 1: 1.0, 2: 1.0}, ValueError, "finite"),
            ("class_weight", {0: "2", 1: 1.0, 2: 1.0}, ValueError, "got '2' for"),
            ("class_weight", {5: 1.0}, ValueError, r"classes, \[0, 1, 2\], are not"),
            ("class_weight", {0: 0, 1: 0, 2: 0}, ValueError, "sum of sample_weight"),
            ("early_stopping", "yes", TypeError, "early_stopping must be a bool"),
            ("validation_fraction", 0.0, ValueError, "validation_fraction == 0.0"),
            ("validation_fraction", 1.0, ValueError, "validation_fraction == 1.0"),
            ("validation_fraction", np.nan, ValueError, "validation_fraction must"),
            ("validation_fraction", "0.1", TypeError, "validation_fraction must be"),
            ("n_iter_no_change", 0, ValueError, "n_iter_no_change == 0, must be >="),
            ("n_iter_no_change", 2.5, TypeError, "n_iter_no_change must be an inst"),
            ("n_iter_no_change", True, TypeError, "n_iter_no_change must be an int,"),
            ("max_fun", 0, ValueError, "max_fun == 0, must be >= 1"),
            ("max_fun", 1e4, TypeError, "max_fun must be an instance of int"),
            ("max_fun", True, TypeError, "max_fun must be an int, not a bool"),
            ("warm_start", "yes", TypeError, "warm_start must be a bool"),
            ("warm_start", None, TypeError, "warm_start must be a bool"),
        ]
    ],
    # --- warm start that cannot continue the previous fit ----------------
    Bad(
        "warm_start-new-classes",
        ValueError,
        "warm_start can only be used where `y` has the same classes",
        params={"warm_start": True},
        y=y + 10,
        states=("fitted",),
    ),
    *[
        Bad(
            f"warm_start-{name}",
            ValueError,
            "warm_start needs the same type of target",
            params={"warm_start": True},
            y=y_,
            states=(state,),
        )
        for name, state, y_ in [
            ("labels-after-multilabel", "multilabel", y),
            ("multilabel-after-labels", "fitted", Y_INDICATOR),
            ("4-labels-after-3", "multilabel", np.c_[Y_INDICATOR, Y_INDICATOR[:, :1]]),
            ("2-labels-after-3", "multilabel", Y_INDICATOR[:, :2]),
        ]
    ],
    Bad(
        "warm_start-new-output_activation",
        ValueError,
        "warm_start needs the same output_activation as the previous fit: "
        "previously 'sigmoid', now 'softmax'",
        params={"warm_start": True, "output_activation": "softmax"},
        states=("fitted",),
    ),
    # scipy's TNC counts evaluations in a C int.
    *[
        Bad(
            f"max_fun={max_fun}-TNC",
            ValueError,
            f"max_fun == {max_fun}, must be <= 2147483647 with solver='TNC'",
            params={"solver": "TNC", "max_fun": max_fun},
        )
        for max_fun in (2**31, 2**63, 2**64)
    ],
    Bad(
        "warm_start-new-layer-sizes",
        ValueError,
        "warm_start needs the same layer sizes",
        params={"warm_start": True, "hidden_layer_sizes": (4,)},
        states=("fitted",),
    ),
    # --- at predict time --------------------------------------------------
    *[
        Bad(
            f"{method}-n_features",
            ValueError,
            "X has 3 features, but BackpropClassifier is expecting 4 features",
            X=X[:, :3],
            method=method,
            states=("fitted",),
        )
        for method in ("predict", "predict_proba", "decision_function", "score")
    ],
    Bad(
        "predict-column-names",
        ValueError,
        "The feature names should match those that were passed during fit",
        X=pd.DataFrame(X, columns=["a", "b", "c", "e"]),
        method="predict",
        states=("frame",),
    ),
    Bad(
        "predict-column-order",
        ValueError,
        "Feature names must be in the same order as they were in fit",
        X=pd.DataFrame(X[:, ::-1], columns=FEATURES[::-1]),
        method="predict",
        states=("frame",),
    ),
    Bad(
        "predict-X-nan",
        ValueError,
        "Input X contains NaN",
        X=with_value(X, (0, 0), np.nan),
        method="predict",
        states=("fitted",),
    ),
    Bad(
        "predict_proba-X-1d",
        ValueError,
        "Expected 2D array, got 1D array",
        X=X[0],
        method="predict_proba",
        states=("fitted",),
    ),
    *[
        Bad(
            f"{method}-before-fit",
            NotFittedError,
            "This BackpropClassifier instance is not fitted yet",
            method=method,
            states=("unfitted",),
        )
        for method in (
            "predict",
            "predict_proba",
            "predict_log_proba",
            "decision_function",
            "score",
        )
    ],
]


@pytest.fixture(scope="module")
def fitted_pickles():
    """Pickled estimators fitted on ``X`` (array), on ``X`` (DataFrame) and on
    ``X`` with the multilabel ``Y_INDICATOR``."""
    est = BackpropClassifier(hidden_layer_sizes=(3,), random_state=0, tol=1e-4)
    return {
        "fitted": pickle.dumps(clone(est).fit(X, y)),
        "frame": pickle.dumps(clone(est).fit(pd.DataFrame(X, columns=FEATURES), y)),
        "multilabel": pickle.dumps(clone(est).fit(X, Y_INDICATOR)),
    }


def _call(est, case):
    if case.method == "fit":
        return est.fit(
            case.X, case.y, sample_weight=case.sample_weight, **case.fit_params
        )
    if case.method == "score":
        return est.score(case.X, case.y)
    return getattr(est, case.method)(case.X)


@pytest.mark.parametrize(
    "case, state",
    [
        pytest.param(case, state, id=f"{case.id}-{state}")
        for case in BAD_INPUTS
        for state in case.states
    ],
)
def test_bad_input_is_refused_and_estimator_unchanged(case, state, fitted_pickles):
    if state == "unfitted":
        est = BackpropClassifier(hidden_layer_sizes=(3,), random_state=0, tol=1e-4)
    else:
        est = pickle.loads(fitted_pickles[state])
    good_params = est.get_params()
    est.set_params(**case.params)
    before = pickle.dumps(est)

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the error itself, no warning first
        with pytest.raises(case.error, match=case.match):
            _call(est, case)

    assert pickle.dumps(est) == before
    est.set_params(**good_params)
    if state == "unfitted":
        with pytest.raises(NotFittedError):
            est.predict(X)
    else:
        est.predict(pd.DataFrame(X, columns=FEATURES) if state == "frame" else X)


def test_bad_input_table_ids_are_unique():
    ids = [case.id for case in BAD_INPUTS]
    assert len(ids) == len(set(ids))


# ---------------------------------------------------------------------------
# 2. Numerics: finite J and gradient, or a clear "scale the data" error
# ---------------------------------------------------------------------------


def _random_problem(layer_sizes, m=20, scale=1.0, theta_scale=None, seed=0):
    rng = np.random.RandomState(seed)
    X_ = rng.normal(size=(m, layer_sizes[0])) * scale
    Y = (rng.rand(m, layer_sizes[-1]) < 0.5).astype(float)
    thetas = init_thetas(layer_sizes, theta_scale, rng)
    return unroll(thetas), X_, Y


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


def _assert_finite_model(est, X_):
    assert all(np.all(np.isfinite(t)) for t in est.thetas_)
    assert np.isfinite(est.loss_)
    assert np.all(np.isfinite(est.loss_curve_))
    proba = est.predict_proba(X_)
    assert np.all(np.isfinite(proba))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)


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


def _patch_cost(monkeypatch, wrap):
    """Make fit's cost function ``wrap(cost)``, ``cost(params) -> (J, grad)``."""
    real = placement_module.make_cost_function
    monkeypatch.setattr(
        placement_module,
        "make_cost_function",
        lambda *args, **kwargs: wrap(real(*args, **kwargs)),
    )


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


# ---------------------------------------------------------------------------
# 3. Interrupts and optimizer failures
# ---------------------------------------------------------------------------


def _interrupt_in_cost(monkeypatch, on_call):
    """Make the ``on_call``-th cost evaluation raise KeyboardInterrupt (Ctrl-C)."""
    calls = [0]

    def interrupting(cost):
        def wrapped(params):
            calls[0] += 1
            if calls[0] == on_call:
                raise KeyboardInterrupt
            return cost(params)

        return wrapped

    _patch_cost(monkeypatch, interrupting)


@pytest.mark.parametrize("solver", SOLVERS)
def test_keyboard_interrupt_in_callback_keeps_best_weights(
    monkeypatch, solver, interrupt_after
):
    X_iris, y_iris = iris_scaled()
    params = dict(hidden_layer_sizes=(4,), solver=solver, random_state=0)
    interrupt_after(7)
    est = BackpropClassifier(**params)
    with pytest.warns(ConvergenceWarning, match="Training was interrupted"):
        est.fit(X_iris, y_iris)
    monkeypatch.undo()

    assert est.n_iter_ == 7
    assert len(est.loss_curve_) == 7
    assert est.loss_ == pytest.approx(min(est.loss_curve_), rel=1e-12)
    # loss_ is J at thetas_.
    args = (est.layer_sizes_, X_iris, est._label_binarizer.transform(y_iris), 1.0)
    assert cost_function(unroll(est.thetas_), *args)[0] == pytest.approx(
        est.loss_, rel=1e-12
    )
    _assert_finite_model(est, X_iris)
    assert est.score(X_iris, y_iris) > 0.5
    # The weights are those after 7 iterations: the same as stopping at max_iter=7.
    with pytest.warns(ConvergenceWarning, match="max_iter=7"):
        seven = BackpropClassifier(**params, max_iter=7).fit(X_iris, y_iris)
    for got, expected in zip(est.thetas_, seven.thetas_):
        np.testing.assert_array_equal(got, expected)
    assert est.loss_curve_ == seven.loss_curve_


def test_keyboard_interrupt_during_cost_evaluation(monkeypatch):
    """Ctrl-C inside a cost evaluation (where fits spend their time)."""
    X_iris, y_iris = iris_scaled()
    _interrupt_in_cost(monkeypatch, on_call=30)
    est = BackpropClassifier(hidden_layer_sizes=(4,), random_state=0)
    with pytest.warns(ConvergenceWarning, match="interrupted.*best weights"):
        est.fit(X_iris, y_iris)
    assert 0 < est.n_iter_ < 30
    assert len(est.loss_curve_) == est.n_iter_
    assert est.loss_ == pytest.approx(min(est.loss_curve_), rel=1e-12)
    _assert_finite_model(est, X_iris)


def test_keyboard_interrupt_before_first_iteration_keeps_initial_weights(
    monkeypatch,
):
    X_iris, y_iris = iris_scaled()
    _interrupt_in_cost(monkeypatch, on_call=1)
    est = BackpropClassifier(hidden_layer_sizes=(4,), random_state=0)
    with pytest.warns(ConvergenceWarning, match="after 0 of at most"):
        est.fit(X_iris, y_iris)
    assert est.n_iter_ == 0 and est.loss_curve_ == []
    initial = init_thetas((4, 4, 3), None, np.random.RandomState(0))
    for got, expected in zip(est.thetas_, initial):
        np.testing.assert_array_equal(got, expected)
    _assert_finite_model(est, X_iris)


def test_keyboard_interrupt_with_early_stopping_keeps_best_validated(
    monkeypatch, interrupt_after
):
    X_iris, y_iris = iris_scaled()
    interrupt_after(6)
    est = BackpropClassifier(
        hidden_layer_sizes=(4,),
        random_state=0,
        early_stopping=True,
        validation_fraction=0.3,
        n_iter_no_change=50,
    )
    with pytest.warns(ConvergenceWarning, match="interrupted"):
        est.fit(X_iris, y_iris)
    assert est.n_iter_ == 6 and len(est.validation_scores_) == 6
    assert est.best_validation_score_ == max(est.validation_scores_)
    _assert_finite_model(est, X_iris)


def test_relu_fit_does_not_warn_at_its_kinks():
    """relu minima sit at kinks with a nonzero gradient: no stalled warning."""
    X_iris, y_iris = iris_scaled()
    for solver in SOLVERS:
        est = BackpropClassifier(
            hidden_layer_sizes=(5,),
            activation="relu",
            solver=solver,
            tol=0,
            random_state=0,
        )
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            est.fit(X_iris, y_iris)
        messages = [str(w.message) for w in caught]
        assert not [m for m in messages if "stopped before converging" in m]


def test_interrupted_warm_start_fit_can_continue(monkeypatch, interrupt_after):
    X_iris, y_iris = iris_scaled()
    interrupt_after(5)
    est = BackpropClassifier(hidden_layer_sizes=(4,), random_state=0, warm_start=True)
    with pytest.warns(ConvergenceWarning, match="interrupted"):
        est.fit(X_iris, y_iris)
    interrupted_loss = est.loss_
    monkeypatch.undo()
    est.fit(X_iris, y_iris)
    assert est.loss_ < interrupted_loss


@pytest.mark.parametrize("solver", SOLVERS)
def test_failed_line_search_warns_and_leaves_a_whole_model(monkeypatch, solver):
    """A gradient pointing uphill makes the optimizer fail, away from a minimum."""

    def uphill(cost):
        def wrapped(params):
            J, grad = cost(params)
            return J, -grad

        return wrapped

    _patch_cost(monkeypatch, uphill)
    est = BackpropClassifier(hidden_layer_sizes=(3,), solver=solver, random_state=0)
    if solver in LINE_SEARCH_SOLVERS:
        match = "stopped before converging.*line search could not lower J"
    else:  # trust-region methods: no line search, the trust region shrinks
        match = "stopped before converging"
    with pytest.warns(ConvergenceWarning, match=match):
        est.fit(X, y)
    assert est.n_iter_ < est.max_iter
    assert len(est.loss_curve_) == est.n_iter_
    _assert_finite_model(est, X)


@pytest.mark.parametrize("cause", ["max_iter", "stall", "interrupt"])
def test_warnings_point_at_the_line_that_called_fit(
    monkeypatch, cause, interrupt_after
):
    params = dict(hidden_layer_sizes=(3,), random_state=0)
    if cause == "max_iter":
        params["max_iter"] = 2
    elif cause == "stall":
        _patch_cost(monkeypatch, lambda cost: lambda p: (cost(p)[0], -cost(p)[1]))
    else:
        interrupt_after(2)
    with pytest.warns(ConvergenceWarning) as record:
        BackpropClassifier(**params).fit(X, y)
    assert [w.filename for w in record] == [__file__] * len(record)


@pytest.mark.parametrize(
    "data, params",
    [
        ("iris-scaled", dict(alpha=1e20)),
        ("iris-scaled", dict(alpha=1e100, solver="CG")),
        ("iris-raw", dict(alpha=0.0, solver="BFGS", hidden_layer_sizes=(5,))),
        ("wine-raw", dict(alpha=0.0, solver="CG", hidden_layer_sizes=(4, 3))),
        ("iris-1e100", dict(hidden_layer_sizes=())),
    ],
)
def test_fit_ends_at_a_minimum_or_warns(data, params):
    """Never a silent non-minimum: a small gradient at thetas_, or a warning."""
    from sklearn.datasets import load_wine

    X_, y_ = load_wine(return_X_y=True) if data == "wine-raw" else iris_scaled()
    if data == "iris-raw":
        X_, y_ = load_iris(return_X_y=True)
    elif data == "iris-1e100":
        X_ = X_ * 1e100
    # tol=0: the optimizer's own stopping rule, which must end at a minimum
    # or warn (the default plateau rule stops short of one, on purpose).
    est = BackpropClassifier(random_state=0, tol=0, **params)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est.fit(X_, y_)
    messages = [str(w.message) for w in caught if w.category is ConvergenceWarning]
    Y = est._label_binarizer.transform(y_).astype(float)
    _, grad = cost_function(unroll(est.thetas_), est.layer_sizes_, X_, Y, est.alpha)
    gmax = np.max(np.abs(grad))
    if gmax > 1e-5:
        stalled = [m for m in messages if "stopped before converging" in m]
        assert stalled or est.n_iter_ == est.max_iter, messages
        assert all(f"is still {gmax:.3g}" in m for m in stalled)
        # The advice names what can be wrong: scaling only for unscaled data.
        if data == "iris-scaled":
            assert any("alpha" in m for m in messages), messages
            assert not any("cale the data" in m for m in messages), messages
        else:
            assert any("cale the data" in m for m in messages), messages
    _assert_finite_model(est, X_)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("solver", SOLVERS)
def test_converged_fit_does_not_warn(solver, dtype):
    """The stalled-solver warning is not raised at a minimum (J's rounding)."""
    X_iris, y_iris = iris_scaled()
    X_iris = X_iris.astype(dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        est = BackpropClassifier(
            hidden_layer_sizes=(3,), solver=solver, alpha=1.0, tol=0
        )
        est.set_params(random_state=0).fit(X_iris, y_iris)
    assert est.n_iter_ < est.max_iter


# ---------------------------------------------------------------------------
# 4. Determinism and persistence
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("solver", SOLVERS)
def test_same_random_state_gives_bitwise_identical_fits(solver):
    X_iris, y_iris = iris_scaled()
    fits = [
        BackpropClassifier(hidden_layer_sizes=(5,), solver=solver, random_state=3).fit(
            X_iris, y_iris
        )
        for _ in range(2)
    ]
    if solver == "trust-krylov":
        # scipy's trlib is not bitwise reproducible from run to run (1e-12,
        # now and then one iteration more): see docs/reliability.rst.
        for a, b in zip(fits[0].thetas_, fits[1].thetas_):
            np.testing.assert_allclose(a, b, rtol=1e-8, atol=1e-9)
        return
    for a, b in zip(fits[0].thetas_, fits[1].thetas_):
        np.testing.assert_array_equal(a, b)
    assert fits[0].loss_curve_ == fits[1].loss_curve_
    assert fits[0].n_iter_ == fits[1].n_iter_


@pytest.mark.parametrize("solver", ["L-BFGS-B", "CG", "BFGS"])
def test_fit_does_not_depend_on_row_order_or_weights_vs_repeats(solver):
    """Same data, other rounding: the fits agree to far below 1e-8 (at tol=0)."""
    X_iris, y_iris = iris_scaled()
    w = np.random.RandomState(0).randint(0, 4, len(y_iris))
    order = np.random.RandomState(1).permutation(len(y_iris))
    est = BackpropClassifier(
        hidden_layer_sizes=(5,), solver=solver, tol=0, random_state=0
    )
    weighted = clone(est).fit(X_iris, y_iris, sample_weight=w)
    repeated = clone(est).fit(np.repeat(X_iris, w, 0), np.repeat(y_iris, w))
    shuffled = clone(est).fit(X_iris[order], y_iris[order], sample_weight=w[order])
    for other in (repeated, shuffled):
        np.testing.assert_allclose(
            other.predict_proba(X_iris), weighted.predict_proba(X_iris), atol=1e-8
        )
        for a, b in zip(other.thetas_, weighted.thetas_):
            np.testing.assert_allclose(a, b, atol=1e-7)


def test_random_state_instance_is_not_reused_silently():
    """A RandomState instance advances: two fits start from different weights."""
    rng = np.random.RandomState(0)
    est = BackpropClassifier(hidden_layer_sizes=(3,), random_state=rng, max_iter=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        first = [t.copy() for t in est.fit(X, y).thetas_]
        second = est.fit(X, y).thetas_
    assert not np.array_equal(first[0], second[0])


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


@pytest.mark.parametrize("frame", [False, True])
def test_pickle_round_trip_predicts_identically(frame):
    est, X_iris = _fitted_iris_model(frame)
    for protocol in range(2, pickle.HIGHEST_PROTOCOL + 1):
        loaded = pickle.loads(pickle.dumps(est, protocol=protocol))
        _assert_same_predictions(est, loaded, X_iris)
        for a, b in zip(est.thetas_, loaded.thetas_):
            np.testing.assert_array_equal(a, b)
        assert loaded.classes_.tolist() == est.classes_.tolist()
        if frame:
            np.testing.assert_array_equal(
                loaded.feature_names_in_, est.feature_names_in_
            )


def test_joblib_round_trip_predicts_identically(tmp_path):
    est, X_iris = _fitted_iris_model()
    for compress in (0, 3):
        path = tmp_path / f"model-{compress}.joblib"
        joblib.dump(est, path, compress=compress)
        _assert_same_predictions(est, joblib.load(path), X_iris)


def test_pickle_loads_and_predicts_in_a_fresh_process(tmp_path):
    est, X_iris = _fitted_iris_model(frame=True)
    model_path = tmp_path / "model.pkl"
    model_path.write_bytes(pickle.dumps(est))
    X_iris.to_pickle(tmp_path / "X.pkl")
    code = textwrap.dedent(
        f"""
        import pickle, sys, warnings
        import numpy as np, pandas as pd
        warnings.simplefilter("error")
        assert "skbackprop" not in sys.modules
        with open({str(model_path)!r}, "rb") as f:
            model = pickle.load(f)
        X = pd.read_pickle({str(tmp_path / "X.pkl")!r})
        np.save({str(tmp_path / "proba.npy")!r}, model.predict_proba(X))
        np.save({str(tmp_path / "pred.npy")!r}, model.predict(X))
        """
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
    np.testing.assert_array_equal(
        np.load(tmp_path / "proba.npy"), est.predict_proba(X_iris)
    )
    np.testing.assert_array_equal(np.load(tmp_path / "pred.npy"), est.predict(X_iris))


def test_unpickled_model_keeps_training_with_warm_start():
    X_iris, y_iris = iris_scaled()
    est = BackpropClassifier(hidden_layer_sizes=(4,), random_state=0, max_iter=5)
    with pytest.warns(ConvergenceWarning):
        est.fit(X_iris, y_iris)
    loaded = pickle.loads(pickle.dumps(est)).set_params(warm_start=True, max_iter=1000)
    loaded.fit(X_iris, y_iris)
    assert loaded.loss_ < est.loss_


# ---------------------------------------------------------------------------
# 5. Concurrency
# ---------------------------------------------------------------------------


def test_predict_from_eight_threads_matches_one_thread():
    est, X_iris = _fitted_iris_model()
    X_many = np.tile(np.asarray(X_iris), (20, 1))
    expected = (est.predict(X_many), est.predict_proba(X_many))
    start = threading.Barrier(8)

    def work(_):
        start.wait()
        return [(est.predict(X_many), est.predict_proba(X_many)) for _ in range(5)]

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        results = [r for batch in pool.map(work, range(8)) for r in batch]
    assert len(results) == 40
    for labels, proba in results:
        np.testing.assert_array_equal(labels, expected[0])
        np.testing.assert_array_equal(proba, expected[1])


def test_fits_in_parallel_threads_match_sequential_fits():
    X_iris, y_iris = iris_scaled()
    estimators = [
        BackpropClassifier(hidden_layer_sizes=(4,), alpha=a, random_state=0)
        for a in (0.1, 1.0, 3.0, 10.0)
    ]
    sequential = [clone(e).fit(X_iris, y_iris).thetas_ for e in estimators]
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        parallel = list(pool.map(lambda e: e.fit(X_iris, y_iris).thetas_, estimators))
    for seq, par in zip(sequential, parallel):
        for a, b in zip(seq, par):
            np.testing.assert_array_equal(a, b)


def test_grid_search_with_two_processes_matches_one():
    X_iris, y_iris = iris_scaled()
    grid = {"alpha": [0.3, 3.0], "hidden_layer_sizes": [(3,), (5,)]}
    est = BackpropClassifier(random_state=0, tol=1e-6)
    serial = GridSearchCV(est, grid, cv=3, n_jobs=1).fit(X_iris, y_iris)
    with joblib.parallel_backend("loky"):
        parallel = GridSearchCV(est, grid, cv=3, n_jobs=2).fit(X_iris, y_iris)
    np.testing.assert_array_equal(
        parallel.cv_results_["mean_test_score"], serial.cv_results_["mean_test_score"]
    )
    assert parallel.best_params_ == serial.best_params_
    _assert_same_predictions(parallel.best_estimator_, serial.best_estimator_, X_iris)
