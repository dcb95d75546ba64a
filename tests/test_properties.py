"""Property-based tests of the math in :mod:`skbackprop.backprop` (hypothesis).

Random architectures (1 to 3 hidden layers of 1 to 8 units), data, labels,
weights and sample weights: the gradient matches central differences, the
vectorised cost equals the course's per-example loop, ``roll`` inverts
``unroll``, integer sample weights equal repeated rows, and the cost does not
depend on the order of the rows; the last three also with tanh and relu
hidden units and softmax outputs (central differences with tanh only: relu
has kinks).
"""

import warnings

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from skbackprop.backprop import (
    backprop_loop,
    cost_function,
    numerical_gradient,
    roll,
    sigmoid,
    sigmoid_gradient,
    unroll,
)

SETTINGS = settings(max_examples=150, deadline=None)


def floats(low, high):
    return st.floats(low, high, allow_nan=False, allow_infinity=False)


def n_params(layer_sizes):
    return sum((s_in + 1) * s_out for s_in, s_out in zip(layer_sizes, layer_sizes[1:]))


@st.composite
def problems(
    draw,
    max_rows=8,
    x_range=2.0,
    theta_range=1.0,
    weights=True,
    activations=("sigmoid",),
):
    """A network, its unrolled weights, data ``X``, 0/1 targets ``Y``, alpha, w."""
    n_in = draw(st.integers(1, 5))
    hidden = draw(st.lists(st.integers(1, 8), min_size=1, max_size=3))
    n_out = draw(st.integers(1, 4))
    layer_sizes = (n_in, *hidden, n_out)
    m = draw(st.integers(1, max_rows))
    params = draw(
        arrays(
            np.float64,
            n_params(layer_sizes),
            elements=floats(-theta_range, theta_range),
        )
    )
    X = draw(arrays(np.float64, (m, n_in), elements=floats(-x_range, x_range)))
    output = "sigmoid"
    if activations != ("sigmoid",):
        output = draw(
            st.sampled_from(["sigmoid", "softmax"] if n_out > 1 else ["sigmoid"])
        )
    if output == "softmax" or (n_out > 1 and draw(st.booleans())):  # one 1 per row
        labels = draw(arrays(np.int64, m, elements=st.integers(0, n_out - 1)))
        Y = np.eye(n_out)[labels]
    else:  # binary or multilabel: any 0/1 matrix
        Y = draw(arrays(np.float64, (m, n_out), elements=st.sampled_from([0.0, 1.0])))
    alpha = draw(st.sampled_from([0.0, 1.0]) | floats(0.0, 10.0))
    sample_weight = None
    if weights and draw(st.booleans()):
        sample_weight = draw(arrays(np.float64, m, elements=floats(0.1, 5.0)))
    if activations == ("sigmoid",):
        return layer_sizes, params, X, Y, alpha, sample_weight
    activation = draw(st.sampled_from(activations))
    return layer_sizes, params, X, Y, alpha, sample_weight, activation, output


@SETTINGS
@given(problems())
def test_gradient_matches_central_differences(problem):
    layer_sizes, params, X, Y, alpha, w = problem

    def cost(p):
        return cost_function(p, layer_sizes, X, Y, alpha, sample_weight=w)

    _, grad = cost(params)
    num_grad = numerical_gradient(cost, params, epsilon=1e-5)
    # Central differences err by ~eps^2 |J'''| + 1e-16 |J| / eps.
    np.testing.assert_allclose(grad, num_grad, rtol=1e-5, atol=1e-8)


@SETTINGS
@given(problems(weights=False))
def test_cost_function_equals_backprop_loop(problem):
    layer_sizes, params, X, Y, alpha, _ = problem
    J, grad = cost_function(params, layer_sizes, X, Y, alpha)
    J_loop, D_loop = backprop_loop(roll(params, layer_sizes), X, Y, alpha)
    assert J == np.float64(J_loop) or abs(J - J_loop) <= 1e-12 * max(1.0, abs(J))
    np.testing.assert_allclose(grad, unroll(D_loop), rtol=1e-10, atol=1e-14)


@st.composite
def theta_lists(draw):
    """Chained ``Theta(l)`` matrices of shape ``(s_{l+1}, s_l + 1)``, any values."""
    sizes = tuple(draw(st.lists(st.integers(1, 9), min_size=2, max_size=5)))
    thetas = [
        draw(arrays(np.float64, (s_out, s_in + 1), elements=floats(-1e300, 1e300)))
        for s_in, s_out in zip(sizes, sizes[1:])
    ]
    return sizes, thetas


@SETTINGS
@given(theta_lists())
def test_roll_inverts_unroll(sizes_and_thetas):
    sizes, thetas = sizes_and_thetas
    nn_params = unroll(thetas)
    assert nn_params.dtype == np.float64 and nn_params.ndim == 1
    # Column-major per matrix, Theta(1) first, as the course's Octave code.
    np.testing.assert_array_equal(
        nn_params, np.concatenate([t.flatten(order="F") for t in thetas])
    )
    back = roll(nn_params, sizes)
    assert len(back) == len(thetas)
    for got, expected in zip(back, thetas):
        assert got.shape == expected.shape
        np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(unroll(back), nn_params)


@SETTINGS
@given(problems(weights=False), st.data())
def test_integer_sample_weights_equal_repeated_rows_for_any_network(problem, data):
    layer_sizes, params, X, Y, alpha, _ = problem
    m = X.shape[0]
    counts = data.draw(
        arrays(np.int64, m, elements=st.integers(0, 3)).filter(lambda c: c.sum() > 0)
    )
    J_w, grad_w = cost_function(
        params, layer_sizes, X, Y, alpha, sample_weight=counts.astype(float)
    )
    X_rep, Y_rep = np.repeat(X, counts, axis=0), np.repeat(Y, counts, axis=0)
    J_rep, grad_rep = cost_function(params, layer_sizes, X_rep, Y_rep, alpha)
    assert abs(J_w - J_rep) <= 1e-12 * max(1.0, abs(J_rep))
    np.testing.assert_allclose(grad_w, grad_rep, rtol=1e-10, atol=1e-14)


@SETTINGS
@given(problems(), st.randoms(use_true_random=False))
def test_cost_and_gradient_do_not_depend_on_row_order(problem, random):
    layer_sizes, params, X, Y, alpha, w = problem
    order = list(range(X.shape[0]))
    random.shuffle(order)
    J, grad = cost_function(params, layer_sizes, X, Y, alpha, sample_weight=w)
    J_perm, grad_perm = cost_function(
        params,
        layer_sizes,
        X[order],
        Y[order],
        alpha,
        sample_weight=None if w is None else w[order],
    )
    assert abs(J - J_perm) <= 1e-12 * max(1.0, abs(J))
    np.testing.assert_allclose(grad_perm, grad, rtol=1e-10, atol=1e-14)


@SETTINGS
@given(problems(activations=("sigmoid", "tanh")))
def test_gradient_matches_central_differences_other_activations(problem):
    """tanh hidden units and softmax outputs (relu has kinks: no central check)."""
    layer_sizes, params, X, Y, alpha, w, activation, output = problem

    def cost(p):
        return cost_function(
            p,
            layer_sizes,
            X,
            Y,
            alpha,
            sample_weight=w,
            activation=activation,
            output_activation=output,
        )

    _, grad = cost(params)
    num_grad = numerical_gradient(cost, params, epsilon=1e-5)
    np.testing.assert_allclose(grad, num_grad, rtol=1e-5, atol=1e-8)


@SETTINGS
@given(problems(activations=("sigmoid", "tanh", "relu")), st.data())
def test_weights_and_row_order_other_activations(problem, data):
    """Integer weights = repeated rows, row order irrelevant, for every activation."""
    layer_sizes, params, X, Y, alpha, _, activation, output = problem
    kwargs = dict(activation=activation, output_activation=output)
    m = X.shape[0]
    counts = data.draw(
        arrays(np.int64, m, elements=st.integers(0, 3)).filter(lambda c: c.sum() > 0)
    )
    J_w, grad_w = cost_function(
        params, layer_sizes, X, Y, alpha, sample_weight=counts.astype(float), **kwargs
    )
    X_rep, Y_rep = np.repeat(X, counts, axis=0), np.repeat(Y, counts, axis=0)
    J_rep, grad_rep = cost_function(params, layer_sizes, X_rep, Y_rep, alpha, **kwargs)
    assert abs(J_w - J_rep) <= 1e-12 * max(1.0, abs(J_rep))
    np.testing.assert_allclose(grad_w, grad_rep, rtol=1e-10, atol=1e-14)
    order = data.draw(st.permutations(range(m)))
    J_p, grad_p = cost_function(
        params,
        layer_sizes,
        X[order],
        Y[order],
        alpha,
        sample_weight=counts[order].astype(float),
        **kwargs,
    )
    assert abs(J_w - J_p) <= 1e-12 * max(1.0, abs(J_w))
    np.testing.assert_allclose(grad_p, grad_w, rtol=1e-10, atol=1e-14)


@SETTINGS
@given(problems(x_range=1e300, theta_range=1e3))
def test_cost_is_finite_for_any_magnitude(problem):
    """Inputs up to 1e300 (and subnormals), saturating weights: finite, no warning."""
    layer_sizes, params, X, Y, alpha, w = problem
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        J, grad = cost_function(params, layer_sizes, X, Y, alpha, sample_weight=w)
    assert np.isfinite(J) and J >= 0
    assert np.all(np.isfinite(grad))


@SETTINGS
@given(arrays(np.float64, st.integers(1, 50), elements=floats(-1e308, 1e308)))
def test_sigmoid_and_its_gradient_are_bounded_without_warnings(z):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        g, dg = sigmoid(z), sigmoid_gradient(z)
    assert np.all((g >= 0) & (g <= 1))
    assert np.all((dg >= 0) & (dg <= 0.25))
    np.testing.assert_allclose(dg, g * (1 - g), rtol=1e-12, atol=1e-300)
