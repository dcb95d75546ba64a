"""Parameter checks: invalid values refused at fit with a clear error.

The two tables (the course's parameters, the options') and the accepted
forms of ``hidden_layer_sizes`` and ``solver``. Refused data is in
``test_bad_input.py``.
"""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from skbackprop import BackpropClassifier
from skbackprop.backprop import unroll

from _helpers import iris_scaled


@pytest.mark.parametrize(
    "params, error, match",
    [
        ({"alpha": -1.0}, ValueError, "alpha"),
        ({"alpha": np.nan}, ValueError, "alpha"),
        ({"alpha": "big"}, TypeError, "alpha"),
        ({"hidden_layer_sizes": (0,)}, ValueError, "positive"),
        ({"hidden_layer_sizes": (5, -2)}, ValueError, "positive"),
        ({"hidden_layer_sizes": (2.5,)}, TypeError, "hidden_layer_sizes"),
        ({"hidden_layer_sizes": "25"}, TypeError, "hidden_layer_sizes"),
        ({"hidden_layer_sizes": None}, TypeError, "hidden_layer_sizes"),
        ({"max_iter": 0}, ValueError, "max_iter"),
        ({"max_iter": 1.5}, TypeError, "max_iter"),
        ({"tol": -1e-3}, ValueError, "tol"),
        ({"solver": "adam"}, ValueError, "L-BFGS-B"),
        ({"epsilon_init": 0.0}, ValueError, "epsilon_init"),
        ({"epsilon_init": -0.1}, ValueError, "epsilon_init"),
        ({"random_state": "seed"}, ValueError, "random_state|RandomState"),
        ({"verbose": -1}, ValueError, "verbose"),
        ({"warm_start": "yes"}, TypeError, "warm_start"),
    ],
)
def test_invalid_parameters_are_refused_at_fit(iris, params, error, match):
    X, y = iris
    with pytest.raises(error, match=match):
        BackpropClassifier(**params).fit(X, y)


@pytest.mark.parametrize(
    "params, error, match",
    [
        ({"activation": "logistic"}, ValueError, "activation must be one of"),
        ({"output_activation": "linear"}, ValueError, "output_activation must be"),
        ({"class_weight": "auto"}, ValueError, "class_weight must be None"),
        ({"class_weight": [1, 2]}, ValueError, "class_weight must be None"),
        ({"early_stopping": "yes"}, TypeError, "early_stopping must be a bool"),
        ({"validation_fraction": 0.0}, ValueError, "validation_fraction == 0.0"),
        ({"validation_fraction": 1.0}, ValueError, "validation_fraction == 1.0"),
        ({"n_iter_no_change": 0}, ValueError, "n_iter_no_change == 0"),
        ({"n_iter_no_change": 2.5}, TypeError, "n_iter_no_change must be"),
        ({"max_fun": 0}, ValueError, "max_fun == 0"),
        ({"solver": "Nelder-Mead"}, ValueError, "solver must be one of"),
        ({"solver": "sgd"}, ValueError, "'L-BFGS-B', 'CG', 'BFGS', 'TNC'"),
        ({"solver": None}, ValueError, "trust-krylov"),
    ],
)
def test_invalid_parameters_raise_clear_errors(small, params, error, match):
    X, y = small
    with pytest.raises(error, match=match):
        BackpropClassifier(**params).fit(X, y)


def test_solver_names_are_case_insensitive(small):
    X, y = small
    a = BackpropClassifier(solver="l-bfgs-b", max_iter=5, random_state=0)
    b = BackpropClassifier(solver="L-BFGS-B", max_iter=5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        np.testing.assert_array_equal(
            unroll(a.fit(X, y).thetas_), unroll(b.fit(X, y).thetas_)
        )


@pytest.mark.parametrize(
    "sizes, expected",
    [
        (4, (4,)),
        (np.int64(4), (4,)),
        ([4, 3], (4, 3)),
        ((4, 3), (4, 3)),
        (range(3, 5), (3, 4)),
        (np.array([4, 3]), (4, 3)),
        (np.arange(2, 4, dtype=np.int32), (2, 3)),
        ((np.int16(2),), (2,)),
        ([], ()),
    ],
    ids=repr,
)
def test_hidden_layer_sizes_accepts_ints_and_ordered_sequences(sizes, expected):
    X_iris, y_iris = iris_scaled()
    est = BackpropClassifier(hidden_layer_sizes=sizes, max_iter=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X_iris, y_iris)
    assert est.layer_sizes_ == (4, *expected, 3)


@pytest.mark.parametrize(
    "sizes", [iter([3]), (s for s in [3]), map(int, "3")], ids=["iter", "gen", "map"]
)
def test_hidden_layer_sizes_refuses_iterators(sizes):
    """An iterator would be used up by the first fit (and by clone)."""
    X_iris, y_iris = iris_scaled()
    with pytest.raises(TypeError, match="hidden_layer_sizes must be an int or a"):
        BackpropClassifier(hidden_layer_sizes=sizes).fit(X_iris, y_iris)
