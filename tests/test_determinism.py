"""Determinism: the same random_state gives the same fit, bit for bit.

For every solver; independent of the row order; integer weights equal to
repeated rows; a RandomState instance is not silently reused.
"""

import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning

from skbackprop import BackpropClassifier

from _helpers import SOLVERS, X, iris_scaled, y


def test_random_state_makes_fit_reproducible(iris):
    X, y = iris
    a = BackpropClassifier(hidden_layer_sizes=(4,), random_state=7).fit(X, y)
    b = BackpropClassifier(hidden_layer_sizes=(4,), random_state=7).fit(X, y)
    c = BackpropClassifier(hidden_layer_sizes=(4,), random_state=8, max_iter=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        c.fit(X, y)
    for ta, tb in zip(a.thetas_, b.thetas_):
        np.testing.assert_array_equal(ta, tb)
    assert not np.allclose(a.thetas_[0], c.thetas_[0])


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
