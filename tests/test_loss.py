"""The loss object against the readable reference."""

import numpy as np
import pytest
import scipy.sparse as sp

import skbackprop._placement as placement_module
from skbackprop._loss import NetworkLoss
from skbackprop.backprop import (
    cost_function,
    forward_propagate,
    hessian_vector_product,
    init_thetas,
    roll,
    unroll,
)


@pytest.fixture
def problem():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 6))
    Y = np.eye(3)[rng.integers(0, 3, 40)]
    w = rng.uniform(0.5, 2.0, 40)
    layer_sizes = (6, 4, 3)
    return layer_sizes, X, Y, w, unroll(init_thetas(layer_sizes, random_state=1))


@pytest.mark.parametrize("batch_size", [None, 9])
@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("output", ["softmax", "identity"])
def test_loss_gradient_and_hessian_product_match_the_reference(
    problem, batch_size, sparse, output
):
    layer_sizes, X, Y, w, params = problem
    if output == "identity":  # regression: real-valued targets
        Y = np.random.default_rng(5).normal(2.0, 3.0, Y.shape)
    X_in = sp.csr_matrix(X) if sparse else X
    loss = NetworkLoss(layer_sizes, "tanh", output, 0.3, batch_size)
    J, grad = loss.loss_gradient(params, X_in, Y, w)
    J_ref, grad_ref = cost_function(params, layer_sizes, X, Y, 0.3, w, "tanh", output)
    assert J == pytest.approx(J_ref, rel=1e-12)
    np.testing.assert_allclose(grad, grad_ref, rtol=1e-10, atol=1e-14)
    assert loss.loss(params, X_in, Y, w) == J
    v = np.random.default_rng(2).standard_normal(params.shape[0])
    Hv_ref = hessian_vector_product(
        params, v, layer_sizes, X, Y, 0.3, w, "tanh", output
    )
    hessp = loss.hessian_product(params, X_in, Y, w)
    np.testing.assert_allclose(hessp(v), Hv_ref, rtol=1e-10, atol=1e-14)


def test_forward_is_the_output_layers_input(problem):
    layer_sizes, X, _, _, params = problem
    thetas = roll(params, layer_sizes)
    z = NetworkLoss(layer_sizes, "relu").forward(thetas, X.astype(np.float32))
    assert z.dtype == np.float32
    z_ref = forward_propagate(thetas, X, "relu")[1]
    np.testing.assert_allclose(z, z_ref, rtol=1e-5, atol=1e-5)


def test_evaluator_is_built_once_per_data(problem, monkeypatch):
    layer_sizes, X, Y, w, params = problem
    built = []
    real = placement_module.make_cost_function

    def counting(*args, **kwargs):
        built.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(placement_module, "make_cost_function", counting)
    loss = NetworkLoss(layer_sizes)
    for _ in range(3):
        loss.loss_gradient(params, X, Y, w)
    assert len(built) == 1  # the same data: the buffers are reused
    loss.loss_gradient(params, X[:20], Y[:20], w[:20])
    assert len(built) == 2  # other data: a new evaluator


def test_bad_names_are_refused():
    with pytest.raises(ValueError, match="activation must be one of"):
        NetworkLoss((2, 1), activation="logistic")
    with pytest.raises(ValueError, match="output_activation must be one of"):
        NetworkLoss((2, 1), output_activation=["softmax"])


@pytest.mark.parametrize("output_activation", ["sigmoid", "softmax"])
@pytest.mark.parametrize("weighted", [False, True])
def test_data_loss_is_the_cost_without_penalty(problem, output_activation, weighted):
    layer_sizes, X, Y, w, params = problem
    w = w if weighted else None
    loss = NetworkLoss(layer_sizes, "tanh", output_activation, alpha=5.0)
    z = loss.forward(roll(params, layer_sizes), X)
    J0, _ = cost_function(params, layer_sizes, X, Y, 0.0, w, "tanh", output_activation)
    assert loss.data_loss(z, Y.astype(np.uint8), w) == pytest.approx(J0, rel=1e-12)
    # The penalty is what alpha adds: J(alpha) - data loss.
    J5, _ = cost_function(params, layer_sizes, X, Y, 5.0, w, "tanh", output_activation)
    assert J5 > J0
