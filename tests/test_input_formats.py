"""Input formats: sparse X, float32, C- and Fortran-ordered X, indicator dtypes.

Each fits like the dense float64 form (to float32's rounding where the data
are float32), and sparse X is never densified.
"""

import warnings

import numpy as np
import pytest
import scipy.sparse
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning

from skbackprop import BackpropClassifier
from skbackprop.backprop import cost_function, unroll

from _helpers import iris_scaled

OUTPUTS = ("sigmoid", "softmax")


class NoDensifyCSR(sp.csr_matrix):
    """A CSR matrix that refuses to be densified."""

    def toarray(self, *args, **kwargs):
        raise AssertionError("X was densified")

    todense = toarray

    def __array__(self, *args, **kwargs):
        raise AssertionError("X was densified")


@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_sparse_fit_equals_dense_fit(small, fmt):
    X, y = small
    X = X * (np.abs(X) > 0.8)
    dense = BackpropClassifier(hidden_layer_sizes=(4,), max_iter=20, random_state=0)
    sparse = BackpropClassifier(hidden_layer_sizes=(4,), max_iter=20, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        dense.fit(X, y)
        sparse.fit(sp.csr_matrix(X).asformat(fmt), y)
    np.testing.assert_allclose(
        unroll(sparse.thetas_), unroll(dense.thetas_), rtol=1e-10, atol=1e-12
    )
    np.testing.assert_allclose(
        sparse.predict_proba(sp.csr_matrix(X).asformat(fmt)),
        dense.predict_proba(X),
        rtol=1e-10,
    )


def test_sparse_cost_equals_dense_cost(small):
    X, y = small
    X = X * (np.abs(X) > 0.8)
    Y = np.eye(3)[y]
    params = unroll(BackpropClassifier(hidden_layer_sizes=(4,)).fit(X, y).thetas_)
    for fmt in ("csr", "csc"):
        Xs = sp.csr_matrix(X).asformat(fmt)
        for out in OUTPUTS:
            J_d, g_d = cost_function(params, (5, 4, 3), X, Y, 1.0, None, "tanh", out)
            J_s, g_s = cost_function(params, (5, 4, 3), Xs, Y, 1.0, None, "tanh", out)
            assert J_s == pytest.approx(J_d, rel=1e-10)
            assert np.linalg.norm(g_s - g_d) <= 1e-10 * np.linalg.norm(g_d)


def test_sparse_x_is_never_densified(small):
    X, y = small
    X = NoDensifyCSR(X * (np.abs(X) > 0.8))
    with pytest.raises(AssertionError, match="densified"):
        X.toarray()
    clf = BackpropClassifier(hidden_layer_sizes=(4,), max_iter=10, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    assert clf.predict(X).shape == (60,)
    assert clf.__sklearn_tags__().input_tags.sparse


def test_cost_function_computes_float32_in_float32(small):
    X, y = small
    Y = np.eye(3)[y]
    params = unroll(BackpropClassifier(hidden_layer_sizes=(4,)).fit(X, y).thetas_)
    J64, g64 = cost_function(params, (5, 4, 3), X, Y, 1.0)
    J32, g32 = cost_function(params, (5, 4, 3), X.astype(np.float32), Y, 1.0)
    assert g32.dtype == np.float64
    # float32 rounding (~1e-7), not float64's (~1e-16).
    assert 1e-12 < abs(J32 - J64) / J64 < 1e-5


def test_float32_fit_predicts_like_float64_fit(iris):
    X, y = iris
    kwargs = dict(hidden_layer_sizes=(5,), alpha=1.0, random_state=0, tol=1e-5)
    clf64 = BackpropClassifier(**kwargs).fit(X, y)
    clf32 = BackpropClassifier(**kwargs).fit(X.astype(np.float32), y)
    assert all(t.dtype == np.float64 for t in clf32.thetas_)
    np.testing.assert_array_equal(clf32.predict(X), clf64.predict(X))
    np.testing.assert_array_equal(clf32.predict(X.astype(np.float32)), clf64.predict(X))


def test_c_and_fortran_ordered_x_agree_to_rounding():
    """The reliability page: not promised bitwise, but the same model."""
    X_iris, y_iris = iris_scaled()
    est = BackpropClassifier(hidden_layer_sizes=(5,), random_state=0, alpha=0.1)
    c_fit = clone(est).fit(np.ascontiguousarray(X_iris), y_iris)
    f_fit = clone(est).fit(np.asfortranarray(X_iris), y_iris)
    np.testing.assert_allclose(
        unroll(f_fit.thetas_), unroll(c_fit.thetas_), rtol=1e-6, atol=1e-8
    )
    np.testing.assert_array_equal(f_fit.predict(X_iris), c_fit.predict(X_iris))


@pytest.mark.parametrize(
    "convert",
    [
        lambda Y: Y.astype(bool),
        lambda Y: Y.astype(np.uint8),
        lambda Y: Y.astype(float),
        lambda Y: Y.astype(np.int8),
        scipy.sparse.csr_matrix,
    ],
    ids=["bool", "uint8", "float", "int8", "sparse"],
)
def test_indicator_of_zeros_and_ones_in_any_dtype_fits_the_same(convert):
    X_iris, y_iris = iris_scaled()
    Y = np.c_[y_iris == 0, y_iris == 1, y_iris == 2].astype(int)
    params = dict(hidden_layer_sizes=(3,), random_state=0, tol=1e-6)
    expected = BackpropClassifier(**params).fit(X_iris, Y)
    est = BackpropClassifier(**params).fit(X_iris, convert(Y))
    assert est.loss_ > 0
    np.testing.assert_array_equal(unroll(est.thetas_), unroll(expected.thetas_))
