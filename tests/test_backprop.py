"""Tests of skbackprop.backprop: the course's math, step by step."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp

from skbackprop.backprop import (
    activation_gradient,
    backprop_loop,
    check_gradients,
    cost_function,
    debug_initialize_weights,
    init_thetas,
    numerical_gradient,
    roll,
    sigmoid,
    sigmoid_gradient,
    unroll,
)

# ---------------------------------------------------------------------------
# Independent reference: the course's cost written the way ex4's nnCostFunction
# writes it, with explicit bias columns of ones and log(h). Shares no code with
# skbackprop.backprop.
# ---------------------------------------------------------------------------


def course_cost(thetas, X, Y, lam):
    m = X.shape[0]
    a = X
    for theta in thetas:
        a1 = np.hstack([np.ones((m, 1)), a])
        a = 1.0 / (1.0 + np.exp(-(a1 @ theta.T)))
    h = a
    J = np.sum(-Y * np.log(h) - (1 - Y) * np.log(1 - h)) / m
    J += lam / (2 * m) * sum(np.sum(t[:, 1:] ** 2) for t in thetas)
    return J


def random_problem(layer_sizes, m=11, seed=0, n_classes=None):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(m, layer_sizes[0]))
    K = layer_sizes[-1]
    Y = np.eye(K)[rng.randint(0, K, size=m)]
    thetas = [
        rng.uniform(-1, 1, size=(s1, s0 + 1))
        for s0, s1 in zip(layer_sizes[:-1], layer_sizes[1:])
    ]
    return thetas, X, Y


def rel_diff(a, b):
    return np.linalg.norm(a - b) / np.linalg.norm(a + b)


ARCHITECTURES = [(4, 5, 3), (3, 4, 3, 2), (5, 3, 4, 2, 4), (6, 3), (2, 3, 1)]


# ---------------------------------------------------------------------------
# sigmoid and its gradient
# ---------------------------------------------------------------------------


def test_sigmoid_values_and_no_overflow_warning():
    z = np.array([-1e300, -1000.0, -1.0, 0.0, 1.0, 1000.0, 1e300])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        g = sigmoid(z)
        gp = sigmoid_gradient(z)
    expected = np.array(
        [0.0, 0.0, 1 / (1 + np.e), 0.5, 1 / (1 + np.exp(-1.0)), 1.0, 1.0]
    )
    np.testing.assert_allclose(g, expected, rtol=1e-15, atol=0)
    assert gp[3] == 0.25
    np.testing.assert_allclose(gp, expected * (1 - expected), rtol=1e-15, atol=1e-300)


def test_sigmoid_gradient_is_derivative():
    z = np.linspace(-6, 6, 25)
    h = 1e-6
    numeric = (sigmoid(z + h) - sigmoid(z - h)) / (2 * h)
    np.testing.assert_allclose(sigmoid_gradient(z), numeric, rtol=1e-7)


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu"])
def test_activation_gradient_is_derivative(activation):
    z = np.array([-2.5, -0.7, 0.3, 1.9])  # no kink of relu here
    h = 1e-6
    from skbackprop.backprop import activate

    numeric = (activate(z + h, activation) - activate(z - h, activation)) / (2 * h)
    np.testing.assert_allclose(activation_gradient(z, activation), numeric, rtol=1e-7)


# ---------------------------------------------------------------------------
# unroll / roll
# ---------------------------------------------------------------------------


def test_unroll_is_column_major_like_octave():
    theta1 = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])  # Theta1(:) = 1 4 2 5 3 6
    theta2 = np.array([[7.0, 8.0, 9.0]])
    np.testing.assert_array_equal(unroll([theta1, theta2]), [1, 4, 2, 5, 3, 6, 7, 8, 9])


@pytest.mark.parametrize("layer_sizes", ARCHITECTURES)
def test_roll_unroll_round_trip(layer_sizes):
    thetas, _, _ = random_problem(layer_sizes)
    params = unroll(thetas)
    assert params.dtype == np.float64 and params.ndim == 1
    rolled = roll(params, layer_sizes)
    assert [t.shape for t in rolled] == [t.shape for t in thetas]
    for a, b in zip(rolled, thetas):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(unroll(rolled), params)


def test_roll_rejects_wrong_length():
    with pytest.raises(ValueError, match="need a 1-D vector of 13 parameters"):
        roll(np.zeros(12), (2, 3, 1))


# ---------------------------------------------------------------------------
# init_thetas
# ---------------------------------------------------------------------------


def test_init_thetas_shapes_range_and_default_epsilon():
    layer_sizes = (400, 25, 10)
    thetas = init_thetas(layer_sizes, random_state=0)
    assert [t.shape for t in thetas] == [(25, 401), (10, 26)]
    for t, (s_in, s_out) in zip(thetas, [(400, 25), (25, 10)]):
        eps = np.sqrt(6) / np.sqrt(s_in + s_out)
        assert np.abs(t).max() <= eps
        assert np.abs(t).max() > 0.9 * eps  # uses the whole interval
    assert abs(np.sqrt(6) / np.sqrt(425) - 0.12) < 0.002  # the course's 0.12


def test_init_thetas_given_epsilon_and_reproducible():
    a = init_thetas((3, 4, 2), epsilon_init=0.01, random_state=42)
    b = init_thetas((3, 4, 2), epsilon_init=0.01, random_state=42)
    c = init_thetas((3, 4, 2), epsilon_init=0.01, random_state=43)
    assert all(np.abs(t).max() <= 0.01 for t in a)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not np.array_equal(a[0], c[0])


# ---------------------------------------------------------------------------
# The cost: against the independent course implementation
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("layer_sizes", ARCHITECTURES)
@pytest.mark.parametrize("alpha", [0.0, 1.0, 3.0])
def test_cost_matches_course_formula(layer_sizes, alpha):
    thetas, X, Y = random_problem(layer_sizes)
    J, _ = cost_function(unroll(thetas), layer_sizes, X, Y, alpha)
    np.testing.assert_allclose(J, course_cost(thetas, X, Y, alpha), rtol=1e-12)


def test_cost_of_course_debug_network_by_hand():
    # The course's 3-5-3 debug network: compare with a loop written from scratch.
    theta1 = debug_initialize_weights(5, 3)
    theta2 = debug_initialize_weights(3, 5)
    X = debug_initialize_weights(5, 2)
    y = 1 + np.arange(1, 6) % 3
    Y = np.zeros((5, 3))
    Y[np.arange(5), y - 1] = 1
    J, _ = cost_function(unroll([theta1, theta2]), (3, 5, 3), X, Y, 3.0)
    np.testing.assert_allclose(J, course_cost([theta1, theta2], X, Y, 3.0), rtol=1e-13)


def test_debug_initialize_weights_is_sin_column_major():
    W = debug_initialize_weights(3, 2)
    expected = np.empty((3, 3))
    k = 1
    for col in range(3):
        for row in range(3):
            expected[row, col] = np.sin(k) / 10
            k += 1
    np.testing.assert_allclose(W, expected, rtol=1e-15)


def test_bias_column_is_not_regularised():
    thetas, X, Y = random_problem((3, 4, 2))
    params = unroll(thetas)
    J0, g0 = cost_function(params, (3, 4, 2), X, Y, 0.0)
    J5, g5 = cost_function(params, (3, 4, 2), X, Y, 5.0)
    m = X.shape[0]
    penalty = 5.0 / (2 * m) * sum(np.sum(t[:, 1:] ** 2) for t in thetas)
    np.testing.assert_allclose(J5 - J0, penalty, rtol=1e-12)
    D0, D5 = roll(g0, (3, 4, 2)), roll(g5, (3, 4, 2))
    for t, d0, d5 in zip(thetas, D0, D5):
        np.testing.assert_allclose(d5[:, 0], d0[:, 0], rtol=0, atol=1e-15)
        np.testing.assert_allclose(
            d5[:, 1:] - d0[:, 1:], 5.0 / m * t[:, 1:], rtol=1e-10
        )


def test_saturated_units_give_finite_cost():
    thetas = [np.array([[0.0, 1e3], [0.0, -1e3]])]  # z = +-1e5: log(h) would be log(0)
    X = np.array([[100.0], [-100.0]])
    Y = np.array([[0.0, 1.0], [1.0, 0.0]])  # every prediction confidently wrong
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        J, grad = cost_function(unroll(thetas), (1, 2), X, Y, 1.0)
    assert np.isfinite(J) and np.all(np.isfinite(grad))
    # each of the 4 units is wrong by |z| = 1e5; m = 2; penalty (1 / 4) * 2e6
    np.testing.assert_allclose(J, 4 * 1e5 / 2 + 2e6 / 4, rtol=1e-12)


def test_cost_function_does_not_modify_inputs():
    thetas, X, Y = random_problem((3, 4, 2))
    params = unroll(thetas)
    copies = params.copy(), X.copy(), Y.copy()
    cost_function(params, (3, 4, 2), X, Y, 1.0)
    for before, after in zip(copies, (params, X, Y)):
        np.testing.assert_array_equal(before, after)


# ---------------------------------------------------------------------------
# Gradients: against finite differences and against the per-example loop
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("alpha", [0.0, 3.0])
def test_course_gradient_check(alpha):
    assert check_gradients(alpha) < 1e-9


@pytest.mark.parametrize("alpha", [0.0, 3.0])
@pytest.mark.parametrize("output_activation", ["sigmoid", "softmax", "identity"])
def test_gradient_check_covers_every_output_layer(alpha, output_activation):
    assert check_gradients(alpha, output_activation=output_activation) < 1e-9


def test_gradient_check_default_is_the_course_check():
    # check_gradients(alpha) keeps its meaning: the logistic cost.
    assert check_gradients(3.0) == check_gradients(3.0, output_activation="sigmoid")
    assert check_gradients(3.0) != check_gradients(3.0, output_activation="identity")


@pytest.mark.parametrize("layer_sizes", ARCHITECTURES)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("alpha", [0.0, 1.5])
def test_gradient_matches_finite_differences(layer_sizes, weighted, alpha):
    thetas, X, Y = random_problem(layer_sizes, m=9, seed=3)
    w = (
        np.random.RandomState(5).uniform(0.1, 3.0, size=X.shape[0])
        if weighted
        else None
    )
    params = unroll(thetas)

    def f(p):
        return cost_function(p, layer_sizes, X, Y, alpha, sample_weight=w)

    _, grad = f(params)
    num = numerical_gradient(f, params)
    assert rel_diff(num, grad) < 1e-9


@pytest.mark.parametrize("layer_sizes", ARCHITECTURES)
@pytest.mark.parametrize("alpha", [0.0, 0.7])
def test_vectorised_equals_per_example_loop(layer_sizes, alpha):
    thetas, X, Y = random_problem(layer_sizes, m=13, seed=7)
    J, grad = cost_function(unroll(thetas), layer_sizes, X, Y, alpha)
    J_loop, D_loop = backprop_loop(thetas, X, Y, alpha)
    np.testing.assert_allclose(J, J_loop, rtol=1e-12)
    for D_fast, D_ref in zip(roll(grad, layer_sizes), D_loop):
        np.testing.assert_allclose(D_fast, D_ref, rtol=1e-9, atol=1e-15)


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu"])
@pytest.mark.parametrize("output_activation", ["sigmoid", "softmax"])
def test_options_match_loop_and_finite_differences(activation, output_activation):
    layer_sizes = (4, 5, 3, 3)
    thetas, X, Y = random_problem(layer_sizes, m=8, seed=11)
    params = unroll(thetas)
    kw = {"activation": activation, "output_activation": output_activation}

    def f(p):
        return cost_function(p, layer_sizes, X, Y, 0.5, **kw)

    J, grad = f(params)
    J_loop, D_loop = backprop_loop(thetas, X, Y, 0.5, **kw)
    np.testing.assert_allclose(J, J_loop, rtol=1e-12)
    np.testing.assert_allclose(grad, unroll(D_loop), rtol=1e-9, atol=1e-15)
    assert rel_diff(numerical_gradient(f, params), grad) < 1e-8


def test_loop_follows_course_formula_independently():
    thetas, X, Y = random_problem((3, 4, 2), m=6)
    J_loop, _ = backprop_loop(thetas, X, Y, 2.0)
    np.testing.assert_allclose(J_loop, course_cost(thetas, X, Y, 2.0), rtol=1e-12)


# ---------------------------------------------------------------------------
# The squared-error cost (identity output units, regression)
# ---------------------------------------------------------------------------


def course_squared_error(thetas, X, Y, lam, w=None):
    """The course's regularised linear-regression cost (ex5's linearRegCostFunction)
    on the network's output: sigmoid hidden layers, a linear output layer, explicit
    bias columns of ones. Shares no code with skbackprop.backprop."""
    m = X.shape[0]
    w = np.ones(m) if w is None else w
    a = X
    for theta in thetas[:-1]:
        a = 1.0 / (1.0 + np.exp(-(np.hstack([np.ones((m, 1)), a]) @ theta.T)))
    h = np.hstack([np.ones((m, 1)), a]) @ thetas[-1].T
    J = np.sum(w[:, None] * (h - Y) ** 2) / (2 * w.sum())
    J += lam / (2 * w.sum()) * sum(np.sum(t[:, 1:] ** 2) for t in thetas)
    return J


def regression_problem(layer_sizes, m=9, seed=0):
    thetas, X, _ = random_problem(layer_sizes, m=m, seed=seed)
    Y = np.random.RandomState(seed + 100).normal(1.0, 3.0, (m, layer_sizes[-1]))
    return thetas, X, Y


@pytest.mark.parametrize("layer_sizes", ARCHITECTURES)
@pytest.mark.parametrize("alpha", [0.0, 1.5])
@pytest.mark.parametrize("weighted", [False, True])
def test_squared_error_matches_course_formula(layer_sizes, alpha, weighted):
    thetas, X, Y = regression_problem(layer_sizes, seed=4)
    w = np.random.RandomState(2).uniform(0.1, 3.0, X.shape[0]) if weighted else None
    J, _ = cost_function(
        unroll(thetas), layer_sizes, X, Y, alpha, w, output_activation="identity"
    )
    np.testing.assert_allclose(
        J, course_squared_error(thetas, X, Y, alpha, w), rtol=1e-12
    )


@pytest.mark.parametrize("layer_sizes", ARCHITECTURES)
@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu"])
@pytest.mark.parametrize("weighted", [False, True])
def test_squared_error_gradient_matches_loop_and_finite_differences(
    layer_sizes, activation, weighted
):
    thetas, X, Y = regression_problem(layer_sizes, seed=6)
    w = np.random.RandomState(5).uniform(0.1, 3.0, X.shape[0]) if weighted else None
    params = unroll(thetas)
    kw = {"activation": activation, "output_activation": "identity"}

    def f(p):
        return cost_function(p, layer_sizes, X, Y, 0.7, w, **kw)

    J, grad = f(params)
    assert rel_diff(numerical_gradient(f, params), grad) < 1e-8
    if not weighted:  # the course's loop has no sample weights
        J_loop, D_loop = backprop_loop(thetas, X, Y, 0.7, **kw)
        np.testing.assert_allclose(J, J_loop, rtol=1e-12)
        np.testing.assert_allclose(grad, unroll(D_loop), rtol=1e-9, atol=1e-14)


def test_squared_error_without_hidden_layer_is_ridge_normal_equations():
    # No hidden layer: J is ridge regression with an unpenalised intercept, so
    # its gradient vanishes at the solution of the regularised normal
    # equations (A^T A + lambda diag(0, 1, ...)) theta = A^T y.
    rng = np.random.RandomState(0)
    X, y = rng.randn(20, 3), rng.randn(20)
    A = np.hstack([np.ones((20, 1)), X])
    theta = np.linalg.solve(A.T @ A + 2.0 * np.diag([0, 1, 1, 1]), A.T @ y)
    J, grad = cost_function(
        theta, (3, 1), X, y[:, None], 2.0, output_activation="identity"
    )
    np.testing.assert_allclose(grad, 0.0, atol=1e-14)
    residual = A @ theta - y
    expected = (residual @ residual + 2.0 * theta[1:] @ theta[1:]) / 40
    np.testing.assert_allclose(J, expected, rtol=1e-13)


def test_unknown_output_layer_is_refused_not_taken_for_sigmoid():
    thetas, X, Y = regression_problem((3, 2, 1))
    match = "output_activation must be one of 'sigmoid', 'softmax', 'identity'"
    with pytest.raises(ValueError, match=match):
        cost_function(unroll(thetas), (3, 2, 1), X, Y, 1.0, output_activation="linear")
    with pytest.raises(ValueError, match=match):
        backprop_loop(thetas, X, Y, 1.0, output_activation="linear")


def test_squared_error_integer_sample_weights_equal_repeated_rows():
    layer_sizes = (3, 4, 2)
    thetas, X, Y = regression_problem(layer_sizes, m=10, seed=2)
    w = np.array([0, 1, 2, 3, 1, 0, 4, 1, 1, 2])
    params = unroll(thetas)
    kw = {"output_activation": "identity"}
    J_w, g_w = cost_function(params, layer_sizes, X, Y, 1.3, w, **kw)
    J_r, g_r = cost_function(
        params, layer_sizes, np.repeat(X, w, 0), np.repeat(Y, w, 0), 1.3, **kw
    )
    np.testing.assert_allclose(J_w, J_r, rtol=1e-13)
    np.testing.assert_allclose(g_w, g_r, rtol=1e-11, atol=1e-15)


# ---------------------------------------------------------------------------
# Sample weights, sparse and float32 inputs
# ---------------------------------------------------------------------------


def test_cost_with_integer_sample_weights_equals_repeated_rows():
    layer_sizes = (3, 4, 3)
    thetas, X, Y = random_problem(layer_sizes, m=10, seed=2)
    w = np.array([0, 1, 2, 3, 1, 0, 4, 1, 1, 2])
    params = unroll(thetas)
    J_w, g_w = cost_function(params, layer_sizes, X, Y, 1.3, sample_weight=w)
    J_r, g_r = cost_function(
        params, layer_sizes, np.repeat(X, w, 0), np.repeat(Y, w, 0), 1.3
    )
    np.testing.assert_allclose(J_w, J_r, rtol=1e-13)
    np.testing.assert_allclose(g_w, g_r, rtol=1e-11, atol=1e-15)


def test_unit_sample_weights_equal_no_weights():
    thetas, X, Y = random_problem((3, 4, 3))
    params = unroll(thetas)
    J1, g1 = cost_function(params, (3, 4, 3), X, Y, 1.0)
    J2, g2 = cost_function(params, (3, 4, 3), X, Y, 1.0, sample_weight=np.ones(len(X)))
    np.testing.assert_allclose(J1, J2, rtol=1e-14)
    np.testing.assert_allclose(g1, g2, rtol=1e-13, atol=1e-16)


@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_sparse_input_equals_dense(fmt):
    layer_sizes = (6, 4, 3)
    thetas, X, Y = random_problem(layer_sizes, m=12)
    X[np.abs(X) < 0.8] = 0.0
    Xs = sp.csr_matrix(X) if fmt == "csr" else sp.csc_matrix(X)
    params = unroll(thetas)
    J, g = cost_function(params, layer_sizes, X, Y, 1.0)
    Js, gs = cost_function(params, layer_sizes, Xs, Y, 1.0)
    np.testing.assert_allclose(Js, J, rtol=1e-12)
    np.testing.assert_allclose(gs, g, rtol=1e-10, atol=1e-15)


def test_float32_input_is_close_to_float64():
    layer_sizes = (6, 4, 3)
    thetas, X, Y = random_problem(layer_sizes, m=12)
    params = unroll(thetas)
    J, g = cost_function(params, layer_sizes, X, Y, 1.0)
    J32, g32 = cost_function(params, layer_sizes, X.astype(np.float32), Y, 1.0)
    assert g32.dtype == np.float64 and g32.shape == g.shape
    np.testing.assert_allclose(J32, J, rtol=1e-5)
    np.testing.assert_allclose(g32, g, rtol=1e-4, atol=1e-5)


# ---------------------------------------------------------------------------
# numerical_gradient
# ---------------------------------------------------------------------------


def test_numerical_gradient_of_known_function():
    def f(t):
        return float(np.sum(np.sin(t)) + t[0] * t[1])

    theta = np.array([0.3, -1.2, 2.0])
    expected = np.cos(theta) + np.array([theta[1], theta[0], 0.0])
    np.testing.assert_allclose(numerical_gradient(f, theta), expected, rtol=1e-7)


def test_numerical_gradient_accepts_cost_function_tuples():
    thetas, X, Y = random_problem((2, 2))
    params = unroll(thetas)
    a = numerical_gradient(lambda p: cost_function(p, (2, 2), X, Y, 0.0), params)
    b = numerical_gradient(lambda p: cost_function(p, (2, 2), X, Y, 0.0)[0], params)
    np.testing.assert_array_equal(a, b)
