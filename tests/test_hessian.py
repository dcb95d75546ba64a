"""Exact Hessian-vector products (Pearlmutter's R-operator) in skbackprop.backprop."""

import numpy as np
import pytest
import scipy.sparse as sp

from skbackprop.backprop import (
    activate,
    activation_second_derivative_from_a,
    cost_function,
    forward_layer_direction,
    hessian_vector_product,
    init_thetas,
    make_hessian_vector_product,
    unroll,
)

LAYER_SIZES = (4, 5, 3, 3)
ACTIVATIONS = ("sigmoid", "tanh", "relu")
OUTPUTS = ("sigmoid", "softmax", "identity")


@pytest.fixture
def problem():
    rng = np.random.RandomState(0)
    X = rng.randn(7, LAYER_SIZES[0])
    Y = np.eye(3)[rng.randint(0, 3, 7)]
    params = unroll(init_thetas(LAYER_SIZES, random_state=1)) * 3.0
    v = rng.randn(params.size)
    w = rng.uniform(0.2, 2.0, 7)
    return X, Y, params, v, w


def targets_for(Y, output_activation):
    """The 0/1 targets, or real-valued ones for identity outputs (regression)."""
    if output_activation != "identity":
        return Y
    return 2.0 * np.random.RandomState(4).randn(*Y.shape) + 0.5


def gradient_difference(params, v, X, Y, alpha, sw, act, out, eps=1e-5):
    """Central difference of cost_function's gradient along v."""

    def grad(p):
        return cost_function(p, LAYER_SIZES, X, Y, alpha, sw, act, out)[1]

    return (grad(params + eps * v) - grad(params - eps * v)) / (2 * eps)


def rel_diff(a, b):
    return np.linalg.norm(a - b) / np.linalg.norm(a + b)


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("output_activation", OUTPUTS)
@pytest.mark.parametrize("weighted", [False, True])
def test_hvp_matches_finite_differences_of_gradient(
    problem, activation, output_activation, weighted
):
    X, Y, params, v, w = problem
    Y = targets_for(Y, output_activation)
    sw = w if weighted else None
    Hv = hessian_vector_product(
        params, v, LAYER_SIZES, X, Y, 0.7, sw, activation, output_activation
    )
    num = gradient_difference(params, v, X, Y, 0.7, sw, activation, output_activation)
    assert Hv.dtype == np.float64 and Hv.shape == params.shape
    assert rel_diff(Hv, num) < 1e-7


def test_hvp_full_hessian_is_symmetric_and_matches_finite_differences(problem):
    X, Y, params, _, w = problem
    n = params.size
    eye = np.eye(n)
    H = np.column_stack(
        [
            hessian_vector_product(params, eye[:, j], LAYER_SIZES, X, Y, 1.0, w)
            for j in range(n)
        ]
    )
    np.testing.assert_allclose(H, H.T, atol=1e-12)
    H_num = np.column_stack(
        [
            gradient_difference(params, eye[:, j], X, Y, 1.0, w, "sigmoid", "sigmoid")
            for j in range(n)
        ]
    )
    np.testing.assert_allclose(H, H_num, atol=1e-8)


def test_hvp_no_hidden_layer_is_logistic_regression_hessian():
    # With no hidden layer, the course's cost is logistic regression per
    # output unit, whose Hessian is known in closed form:
    # H = (1/m) [1 X]^T diag(h (1 - h)) [1 X] + (lambda/m) diag(0, 1, ..., 1).
    rng = np.random.RandomState(3)
    X = rng.randn(9, 3)
    Y = rng.randint(0, 2, (9, 1)).astype(float)
    theta = rng.randn(1, 4)
    A = np.hstack([np.ones((9, 1)), X])
    h = 1 / (1 + np.exp(-A @ theta.T)).ravel()
    H = A.T @ (A * (h * (1 - h))[:, None]) / 9 + 2.0 / 9 * np.diag([0, 1, 1, 1])
    v = rng.randn(4)
    Hv = hessian_vector_product(theta.ravel(), v, (3, 1), X, Y, alpha=2.0)
    np.testing.assert_allclose(Hv, H @ v, rtol=1e-12)


def test_hvp_no_hidden_layer_is_ridge_regression_hessian():
    # With no hidden layer and identity outputs, J is ridge regression per
    # output (the intercept not penalised), whose Hessian does not depend on
    # the weights or the targets:
    # H = (1/m) [1 X]^T diag(w) [1 X] + (lambda/m) diag(0, 1, ..., 1), m = sum(w),
    # one such block per output. Unrolled column-major, Theta's (k, j) entry
    # is at j * K + k, so H v is that block applied to each row of V.
    rng = np.random.RandomState(3)
    X = rng.randn(9, 3)
    Y = rng.randn(9, 2)
    w = rng.uniform(0.5, 2.0, 9)
    theta = rng.randn(2, 4)
    A = np.hstack([np.ones((9, 1)), X])
    m = w.sum()
    block = A.T @ (A * w[:, None]) / m + 2.0 / m * np.diag([0, 1, 1, 1])
    V = rng.randn(2, 4)
    Hv = hessian_vector_product(
        theta.ravel(order="F"),
        V.ravel(order="F"),
        (3, 2),
        X,
        Y,
        alpha=2.0,
        sample_weight=w,
        output_activation="identity",
    )
    np.testing.assert_allclose(Hv, (V @ block.T).ravel(order="F"), rtol=1e-12)


@pytest.mark.parametrize("fmt", ["csr", "csc"])
@pytest.mark.parametrize("output_activation", OUTPUTS)
def test_hvp_sparse_equals_dense(problem, fmt, output_activation):
    X, Y, params, v, w = problem
    Y = targets_for(Y, output_activation)
    X = X * (np.abs(X) > 0.7)  # make it really sparse
    dense = hessian_vector_product(
        params, v, LAYER_SIZES, X, Y, 0.3, w, "tanh", output_activation
    )
    sparse = hessian_vector_product(
        params,
        v,
        LAYER_SIZES,
        sp.csr_matrix(X).asformat(fmt),
        Y,
        0.3,
        w,
        "tanh",
        output_activation,
    )
    assert rel_diff(dense, sparse) < 1e-12


def test_hvp_float32_is_computed_in_float32(problem):
    X, Y, params, v, w = problem
    Hv64 = hessian_vector_product(params, v, LAYER_SIZES, X, Y, 1.0, w)
    Hv32 = hessian_vector_product(
        params, v, LAYER_SIZES, X.astype(np.float32), Y, 1.0, w
    )
    assert Hv32.dtype == np.float64
    # float32 rounding, not float64's: close, but not equal to ~1e-15.
    assert 1e-12 < rel_diff(Hv32, Hv64) < 1e-5


def test_hvp_is_linear_in_v(problem):
    X, Y, params, v, w = problem
    u = np.random.RandomState(5).randn(params.size)

    def hvp(d):
        return hessian_vector_product(params, d, LAYER_SIZES, X, Y, 0.5, w, "tanh")

    np.testing.assert_allclose(
        hvp(2.0 * v - 3.0 * u), 2.0 * hvp(v) - 3.0 * hvp(u), atol=1e-12
    )


def test_hvp_rejects_wrong_length_direction(problem):
    X, Y, params, v, _ = problem
    with pytest.raises(ValueError, match="nn_params has shape"):
        hessian_vector_product(params, v[:-1], LAYER_SIZES, X, Y, 1.0)


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_second_derivative_from_a_matches_finite_differences(activation):
    z = np.array([-2.0, -0.3, 0.4, 1.5])
    eps = 1e-5

    def g_prime(t):
        return (activate(t + eps, activation) - activate(t - eps, activation)) / (
            2 * eps
        )

    numeric = (g_prime(z + 1e-3) - g_prime(z - 1e-3)) / 2e-3
    exact = activation_second_derivative_from_a(activate(z, activation), activation)
    np.testing.assert_allclose(exact, numeric, atol=1e-5)


def test_forward_layer_direction_is_derivative_of_forward_layer():
    rng = np.random.RandomState(2)
    a, r_a = rng.randn(3, 4), rng.randn(3, 4)
    theta, v = rng.randn(2, 5), rng.randn(2, 5)
    eps = 1e-6

    def z(t):
        return (a + t * r_a) @ (theta + t * v)[:, 1:].T + (theta + t * v)[:, 0]

    numeric = (z(eps) - z(-eps)) / (2 * eps)
    np.testing.assert_allclose(
        forward_layer_direction(a, r_a, theta, v), numeric, atol=1e-8
    )


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("output_activation", OUTPUTS)
def test_make_hvp_reuses_passes_without_going_stale(
    problem, activation, output_activation
):
    X, Y, params, v, w = problem
    Y = targets_for(Y, output_activation)
    u = np.random.RandomState(7).randn(params.size)
    hvp = make_hessian_vector_product(
        params, LAYER_SIZES, X, Y, 0.4, w, activation, output_activation
    )
    first = hvp(v)
    hvp(u)  # another direction in between must not disturb the cached passes
    np.testing.assert_array_equal(hvp(v), first)
    np.testing.assert_allclose(
        first,
        hessian_vector_product(
            params, v, LAYER_SIZES, X, Y, 0.4, w, activation, output_activation
        ),
        rtol=1e-13,
        atol=1e-15,
    )


@pytest.mark.parametrize("batch_size", [1, 7, 16, 50])
@pytest.mark.parametrize("output_activation", OUTPUTS)
def test_hessian_vector_product_honours_batch_size(batch_size, output_activation):
    # The same products a chunk of rows at a time (recomputing the ordinary
    # passes per chunk), with sample weights, as with all rows at once.
    rng = np.random.default_rng(3)
    X = rng.standard_normal((50, 4))
    Y = targets_for(np.eye(3)[rng.integers(0, 3, 50)], output_activation)
    w = rng.uniform(0.1, 2.0, 50)
    layer_sizes = (4, 5, 3, 3)
    params = unroll(init_thetas(layer_sizes, random_state=0))
    kwargs = dict(
        sample_weight=w, activation="tanh", output_activation=output_activation
    )
    full = make_hessian_vector_product(params, layer_sizes, X, Y, 0.7, **kwargs)
    chunked = make_hessian_vector_product(
        params, layer_sizes, X, Y, 0.7, batch_size=batch_size, **kwargs
    )
    for seed in range(3):
        v = np.random.default_rng(seed).standard_normal(params.shape[0])
        np.testing.assert_allclose(chunked(v), full(v), rtol=1e-12, atol=1e-14)


def test_hessian_sums_over_blocks_of_rows_give_the_product(problem):
    # What a backend holding the rows in blocks adds up (tanh: g'' != 0).
    from skbackprop.backprop._roperator import (
        hessian_product_from_sum,
        make_hessian_vector_sum,
    )

    X, Y, params, v, w = problem
    kwargs = {"activation": "tanh", "output_activation": "softmax"}
    total = sum(
        make_hessian_vector_sum(params, LAYER_SIZES, X[r], Y[r], w[r], **kwargs)(v)
        for r in (slice(0, 3), slice(3, 7))
    )
    Hv = hessian_product_from_sum(total, v, LAYER_SIZES, 0.6, w.sum())
    expected = hessian_vector_product(params, v, LAYER_SIZES, X, Y, 0.6, w, **kwargs)
    np.testing.assert_allclose(Hv, expected, rtol=1e-12, atol=1e-14)
