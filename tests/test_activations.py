"""Hidden activations and output layers: each combination's gradient and fit."""

import warnings

import numpy as np
import pytest
from scipy.special import softmax
from sklearn.exceptions import ConvergenceWarning

from skbackprop import BackpropClassifier
from skbackprop.backprop import (
    backprop_loop,
    cost_function,
    debug_initialize_weights,
    numerical_gradient,
    unroll,
)

from _helpers import SOLVERS, iris_scaled

ACTIVATIONS = ("sigmoid", "tanh", "relu")
OUTPUTS = ("sigmoid", "softmax")


def forward_z(thetas, X, g):
    a = X
    for theta in thetas[:-1]:
        a = g(a @ theta[:, 1:].T + theta[:, 0])
    return a @ thetas[-1][:, 1:].T + thetas[-1][:, 0]


NUMPY_G = {
    "sigmoid": lambda z: 1 / (1 + np.exp(-z)),
    "tanh": np.tanh,
    "relu": lambda z: np.maximum(z, 0),
}


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("output_activation", OUTPUTS)
def test_every_combination_passes_gradient_check(activation, output_activation):
    # The course's checkNNGradients network, every activation and output.
    layer_sizes = (3, 5, 3)
    thetas = [debug_initialize_weights(5, 3), debug_initialize_weights(3, 5)]
    X = debug_initialize_weights(5, 2)
    Y = np.eye(3)[np.mod(np.arange(1, 6), 3)]
    params = unroll(thetas)

    def cost(p):
        return cost_function(
            p, layer_sizes, X, Y, 3.0, None, activation, output_activation
        )

    _, grad = cost(params)
    num = numerical_gradient(cost, params)
    assert np.linalg.norm(num - grad) / np.linalg.norm(num + grad) < 1e-9
    # ... and the vectorised path equals the course's per-example loop.
    J_loop, D_loop = backprop_loop(thetas, X, Y, 3.0, activation, output_activation)
    assert cost(params)[0] == pytest.approx(J_loop, rel=1e-12)
    np.testing.assert_allclose(grad, unroll(D_loop), rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("output_activation", OUTPUTS)
def test_fit_uses_activation_and_output(small, activation, output_activation):
    X, y = small
    clf = BackpropClassifier(
        hidden_layer_sizes=(4,),
        activation=activation,
        output_activation=output_activation,
        max_iter=30,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    z = forward_z(clf.thetas_, X, NUMPY_G[activation])
    np.testing.assert_allclose(clf.decision_function(X), z, rtol=1e-10, atol=1e-12)
    # loss_ is J of the chosen activation and output at thetas_.
    J = cost_function(
        unroll(clf.thetas_),
        clf.layer_sizes_,
        X,
        np.eye(3)[y],
        clf.alpha,
        None,
        activation,
        output_activation,
    )[0]
    assert clf.loss_ == pytest.approx(J, rel=1e-12)
    proba = clf.predict_proba(X)
    expected = (
        softmax(z, axis=1)
        if output_activation == "softmax"
        else NUMPY_G["sigmoid"](z) / NUMPY_G["sigmoid"](z).sum(axis=1, keepdims=True)
    )
    np.testing.assert_allclose(proba, expected, rtol=1e-10)


def test_softmax_binary_uses_two_units(iris):
    X, y = iris
    mask = y < 2
    clf = BackpropClassifier(
        hidden_layer_sizes=(3,), output_activation="softmax", random_state=0
    ).fit(X[mask], y[mask])
    assert clf.layer_sizes_[-1] == 2
    assert abs(clf.thetas_[-1][:, 0].sum()) < 1e-12  # output biases centred
    z = forward_z(clf.thetas_, X[mask], NUMPY_G["sigmoid"])
    np.testing.assert_allclose(clf.decision_function(X[mask]), z[:, 1] - z[:, 0])
    np.testing.assert_allclose(clf.predict_proba(X[mask]), softmax(z, axis=1))
    assert clf.score(X[mask], y[mask]) == 1.0


def test_softmax_rejects_multilabel():
    X = np.random.RandomState(0).randn(10, 3)
    Y = np.array([[0, 1], [1, 1], [1, 0], [0, 0], [1, 1]] * 2)
    with pytest.raises(ValueError, match="softmax.*multilabel"):
        BackpropClassifier(output_activation="softmax").fit(X, Y)


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
