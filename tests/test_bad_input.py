"""Bad input: one table, every row refused with an error naming the problem.

The bad-input table ``BAD_INPUTS`` is the single source for every refused
input; ``docs/reliability.rst`` lists the same rows. A refused call leaves the
estimator as it was (unfitted, or with its previous model).
"""

import pickle
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pytest
import scipy.sparse
from sklearn.exceptions import NotFittedError

from skbackprop import BackpropClassifier

from _helpers import FEATURES, Y_INDICATOR, X, y


def with_value(array, index, value):
    """A copy of ``array`` (cast to ``value``'s kind if needed) with one entry set."""
    out = np.array(array, dtype=np.result_type(array, np.asarray(value)))
    out[index] = value
    return out


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
