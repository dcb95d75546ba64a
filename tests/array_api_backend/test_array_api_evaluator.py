"""The Array API evaluator: the numpy path's numbers, on X's namespace and device.

Cost, gradient and Hessian products against the numpy path on every backend,
float32, a device without float64, the in-place passes leaving the caller's
arrays alone, the transfers (the parameter vector in, the gradient out, never
X), the compute dtype and the forward pass.
"""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

import skbackprop.backprop._array_api as array_api_module
from skbackprop import BackpropClassifier
from skbackprop._loss import NetworkLoss
from skbackprop.backprop import (
    cost_function,
    hessian_vector_product,
    make_array_api_cost_function,
    make_array_api_hessian_vector_product,
    make_cost_function,
    roll,
)

from ._array_api_helpers import _dispatch, _host, needs_dispatch, xps

# ---------------------------------------------------------------------------
# The evaluator against the numpy path
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu"])
@pytest.mark.parametrize("output_activation", ["sigmoid", "softmax", "identity"])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("batch_size", [None, 7])
def test_cost_gradient_and_hessian_product_equal_the_numpy_path(
    backend, problem, activation, output_activation, weighted, batch_size
):
    layer_sizes, X, Y, w, params = problem
    if output_activation == "identity":  # regression: real-valued targets
        Y = np.random.default_rng(3).standard_normal(Y.shape)
    w = w if weighted else None
    v = np.random.default_rng(2).standard_normal(params.shape[0])
    options = (activation, output_activation, batch_size)
    fun = make_array_api_cost_function(
        layer_sizes, backend(X), backend(Y), 0.3, w, *options
    )
    J, grad = fun(params)
    J_fast, grad_fast = make_cost_function(layer_sizes, X, Y, 0.3, w, *options)(params)
    J_ref, grad_ref = cost_function(
        params, layer_sizes, X, Y, 0.3, w, activation, output_activation
    )
    assert isinstance(J, float) and grad.dtype == np.float64
    for J_other, grad_other in [(J_fast, grad_fast), (J_ref, grad_ref)]:
        assert J == pytest.approx(J_other, rel=1e-12)
        np.testing.assert_allclose(grad, grad_other, rtol=1e-12, atol=1e-16)
    Hv = make_array_api_hessian_vector_product(
        params, layer_sizes, backend(X), Y, 0.3, w, *options
    )(v)
    Hv_ref = hessian_vector_product(
        params, v, layer_sizes, X, Y, 0.3, w, activation, output_activation
    )
    np.testing.assert_allclose(Hv, Hv_ref, rtol=1e-10, atol=1e-14)


def test_float32_data_computes_in_float32(backend, problem):
    layer_sizes, X, Y, w, params = problem
    X32 = X.astype(np.float32)
    fun = make_array_api_cost_function(layer_sizes, backend(X32), Y, 1.0, w)
    assert fun.dtype == fun.xp.float32
    assert fun.acc_dtype in (fun.xp.float64, fun.xp.float32)
    J, grad = fun(params)
    J_fast, grad_fast = make_cost_function(layer_sizes, X32, Y, 1.0, w)(params)
    J64, grad64 = cost_function(params, layer_sizes, X, Y, 1.0, w)
    assert J == pytest.approx(J_fast, rel=1e-6)
    np.testing.assert_allclose(grad, grad_fast, rtol=1e-4, atol=1e-6)
    # float32 rounding, not float64's: the float64 path differs by more.
    assert abs(J - J64) > 1e-12 * J64


def test_a_device_without_float64_works_in_float32(problem, monkeypatch):
    # Apple's MPS has no float64; array-api-strict's devices all do, so the
    # device's answer is replaced by MPS's.
    monkeypatch.setattr(
        array_api_module, "accumulation_dtype", lambda xp, device: xp.float32
    )
    layer_sizes, X, Y, w, params = problem
    X_dev = xps.asarray(X, device=xps.Device("device1"))
    fun = make_array_api_cost_function(layer_sizes, X_dev, Y, 1.0, w)
    assert fun.dtype == fun.acc_dtype == xps.float32
    assert fun.to_device(params).dtype == xps.float32
    J, grad = fun(params)
    J_ref, grad_ref = cost_function(params, layer_sizes, X, Y, 1.0, w)
    assert grad.dtype == np.float64  # the optimizer's vector stays float64
    assert J == pytest.approx(J_ref, rel=1e-6)
    np.testing.assert_allclose(grad, grad_ref, rtol=1e-4, atol=1e-6)
    Hv = fun.hessian_product(params)(np.ones_like(params))
    Hv_ref = hessian_vector_product(
        params, np.ones_like(params), layer_sizes, X, Y, 1.0, w
    )
    np.testing.assert_allclose(Hv, Hv_ref, rtol=1e-3, atol=1e-5)


def test_saturated_units_stay_finite_and_quiet(backend, problem):
    # Weights of a few thousand drive every unit far into saturation:
    # exp(-z) overflows to inf and g(z) is exactly 0 or 1. The cost and
    # gradient stay finite and equal the numpy path's, and numpy-backed
    # namespaces give no overflow warning (pytest turns one into an error).
    layer_sizes, X, Y, _, params = problem
    params = 3000.0 * params
    fun = make_array_api_cost_function(layer_sizes, backend(X), Y, 1.0)
    J, grad = fun(params)
    J_fast, grad_fast = make_cost_function(layer_sizes, X, Y, 1.0)(params)
    assert np.isfinite(J) and np.all(np.isfinite(grad))
    assert J == pytest.approx(J_fast, rel=1e-12)
    np.testing.assert_allclose(grad, grad_fast, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_passes_in_place_leave_the_callers_arrays_alone(
    backend, problem, activation, dtype
):
    # The passes overwrite their own arrays in place (z(l), a(l), the
    # deltas), never X, Y, the weights or the parameters handed in. Given in
    # the compute dtype on the device, these are used as they are, uncopied.
    layer_sizes, X, Y, w, params = problem
    X_dev, Y_dev = backend(X.astype(dtype)), backend(Y.astype(dtype))
    w_dev = backend(w)
    thetas_dev = [backend(t.astype(dtype)) for t in roll(params, layer_sizes)]
    before = [_host(a).copy() for a in (X_dev, Y_dev, w_dev, *thetas_dev)]
    for batch_size in (None, 16):
        fun = make_array_api_cost_function(
            layer_sizes, X_dev, Y_dev, 1.0, w_dev, activation, batch_size=batch_size
        )
        fun(params)
        fun.data_sums(fun.to_device(params))
        fun.hessian_product(params)(np.ones_like(params))
    array_api_module.array_api_forward(thetas_dev, X_dev, activation)
    after = [_host(a) for a in (X_dev, Y_dev, w_dev, *thetas_dev)]
    for old, new in zip(before, after):
        np.testing.assert_array_equal(new, old)


def test_bad_shapes_are_refused(problem):
    layer_sizes, X, Y, w, params = problem
    X_dev = xps.asarray(X)
    with pytest.raises(ValueError, match="need 5 columns"):
        make_array_api_cost_function((5, 3), X_dev, Y, 1.0)
    with pytest.raises(ValueError, match=r"Y has shape \(40, 2\)"):
        make_array_api_cost_function(layer_sizes, X_dev, Y[:, :2], 1.0)
    with pytest.raises(ValueError, match="sample_weight has shape"):
        make_array_api_cost_function(layer_sizes, X_dev, Y, 1.0, w[:3])
    with pytest.raises(ValueError, match="sum of sample_weight must be positive"):
        make_array_api_cost_function(layer_sizes, X_dev, Y, 1.0, 0 * w)
    with pytest.raises(ValueError, match="1-D vector of"):
        make_array_api_cost_function(layer_sizes, X_dev, Y, 1.0)(params[:-1])


def test_the_loss_reports_the_compute_dtype(problem):
    layer_sizes, X, Y, _, _ = problem
    loss = NetworkLoss(layer_sizes)
    assert loss.compute_dtype(xps.asarray(X.astype(np.float32))) == np.float32
    assert loss.compute_dtype(xps.asarray(X)) == np.float64
    assert loss.compute_dtype(X) == np.float64


def test_forward_on_the_device_matches_numpy(backend, problem):
    layer_sizes, X, _, _, params = problem
    thetas = roll(params, layer_sizes)
    z = NetworkLoss(layer_sizes, "relu").forward(thetas, backend(X))
    z_ref = NetworkLoss(layer_sizes, "relu").forward(thetas, X)
    np.testing.assert_allclose(_host(z), z_ref, rtol=1e-12)


# ---------------------------------------------------------------------------
# Transfers: the parameter vector in, the gradient out, nothing else
# ---------------------------------------------------------------------------


@pytest.fixture
def transfers(monkeypatch):
    """Record every array array-api-strict moves to or from ``device1``."""
    record = {"to_device": [], "to_host": []}
    Array = type(xps.asarray(0.0))
    real_asarray, real_dlpack = xps.asarray, Array.__dlpack__
    real_to_device = Array.to_device

    def asarray(obj, *args, **kwargs):
        if isinstance(obj, np.ndarray) and kwargs.get("device") == xps.Device(
            "device1"
        ):
            record["to_device"].append(obj.shape)
        return real_asarray(obj, *args, **kwargs)

    def dlpack(self, *args, **kwargs):
        record["to_host"].append(self.shape)
        return real_dlpack(self, *args, **kwargs)

    def to_device(self, device, *args, **kwargs):
        if device != self.device:
            record["to_host"].append(self.shape)
        return real_to_device(self, device, *args, **kwargs)

    monkeypatch.setattr(xps, "asarray", asarray)
    monkeypatch.setattr(Array, "__dlpack__", dlpack)
    monkeypatch.setattr(Array, "to_device", to_device)
    return record


def test_each_evaluation_moves_the_parameters_in_and_the_gradient_out(
    problem, transfers
):
    layer_sizes, X, Y, w, params = problem
    X_dev = xps.asarray(X, device=xps.Device("device1"))
    transfers["to_device"].clear()
    loss = NetworkLoss(layer_sizes, "tanh", "softmax", 0.3, batch_size=9)
    loss.loss_gradient(params, X_dev, Y, w)
    # Building the evaluator moved Y and the weights once.
    assert sorted(transfers["to_device"]) == sorted([Y.shape, w.shape, params.shape])
    for record in transfers.values():
        record.clear()
    for _ in range(3):
        loss.loss_gradient(params, X_dev, Y, w)
    assert transfers["to_device"] == [params.shape] * 3
    assert transfers["to_host"] == [params.shape] * 3
    hessp = loss.hessian_product(params, X_dev, Y, w)
    for _ in range(2):
        hessp(params)
    assert transfers["to_device"] == [params.shape] * 6
    assert transfers["to_host"] == [params.shape] * 5


@needs_dispatch
def test_a_fit_never_moves_the_data_to_the_host(digits, transfers):
    X, y = digits
    X_dev = xps.asarray(X, device=xps.Device("device1"))
    y_dev = xps.asarray(y, device=xps.Device("device1"))
    transfers["to_device"].clear()
    with _dispatch(), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = BackpropClassifier(max_iter=5, random_state=0).fit(X_dev, y_dev)
    # The labels to encode them on the host, the 0/1 targets Y once to the
    # device, the parameter vectors in and gradients out, the fitted Theta(l)
    # and classes_, X's column sums of squares (the scale check): never X.
    n_params = sum(t.shape[0] * t.shape[1] for t in model.thetas_)
    allowed = {y.shape, (300, 10), (n_params,), (10,), (X.shape[1],)}
    allowed |= {tuple(theta.shape) for theta in model.thetas_}
    moved = set(transfers["to_host"] + transfers["to_device"])
    assert (n_params,) in moved and moved <= allowed, moved
    assert X.shape not in moved
