"""The Array API backend: the numpy path's numbers, on X's namespace and device.

array-api-strict (in the test extra) runs everywhere, on its CPU device and on
its simulated ``device1``, whose arrays numpy refuses to convert: a fit there
proves that ``X`` never reaches the host through ``np.asarray``. PyTorch is not
in any extra (its default wheel is several GB): its cases run where it is
installed and are skipped elsewhere, as are the CUDA ones without a GPU.
"""

import pickle
import warnings

import numpy as np
import pytest
import sklearn
from sklearn.base import clone
from sklearn.datasets import load_digits, make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression

import skbackprop.backprop._array_api as array_api_module
from skbackprop import BackpropClassifier, BackpropRegressor, move_to_numpy
from skbackprop._compat import HAS_ARRAY_API
from skbackprop._loss import NetworkLoss
from skbackprop.backprop import (
    cost_function,
    hessian_vector_product,
    init_thetas,
    make_array_api_cost_function,
    make_array_api_hessian_vector_product,
    make_cost_function,
    roll,
    unroll,
)

xps = pytest.importorskip("array_api_strict")

#: The estimators' tests; the evaluators' run on every supported version.
needs_dispatch = pytest.mark.skipif(
    not HAS_ARRAY_API,
    reason="array_api_dispatch needs scikit-learn >= 1.9 and scipy >= 1.14 "
    "(CI's oldest environment has neither): the estimators take numpy only",
)

NO_TORCH = "PyTorch is not installed (it is in no extra: its default wheel is GBs)"
BACKENDS = [
    "array_api_strict:CPU_DEVICE",
    "array_api_strict:device1",
    "torch:cpu",
    "torch:cuda",
    "cupy:cuda",
]


def _namespace(backend):
    """``(module, device)`` for a backend name, or a skip saying what is missing."""
    library, device_name = backend.split(":")
    if library == "array_api_strict":
        return xps, xps.Device(device_name)
    if library == "torch":
        torch = pytest.importorskip("torch", reason=NO_TORCH)
        if device_name == "cuda" and not torch.cuda.is_available():
            pytest.skip("no CUDA GPU on this machine")
        return torch, torch.device(device_name)
    cupy = pytest.importorskip("cupy", reason="CuPy is not installed (no GPU here)")
    return cupy, cupy.cuda.Device(0)


@pytest.fixture
def one_torch_thread():
    """PyTorch on the CPU on one thread, for these tiny arrays.

    Its thread pool costs more than it gains here (on a busy two-core
    machine, 10 ms per evaluation instead of 0.3 ms).
    """
    torch = pytest.importorskip("torch", reason=NO_TORCH)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(params=BACKENDS)
def backend(request):
    """``to_device(numpy_array) -> array`` of one backend."""
    module, device = _namespace(request.param)
    if request.param == "torch:cpu":
        request.getfixturevalue("one_torch_thread")

    def to_device(array):
        if module.__name__ == "cupy":
            with device:
                return module.asarray(array)
        return module.asarray(array, device=device)

    to_device.name = request.param
    return to_device


@pytest.fixture
def problem():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 6))
    Y = np.eye(3)[rng.integers(0, 3, 40)]
    w = rng.uniform(0.5, 2.0, 40)
    layer_sizes = (6, 5, 4, 3)
    return layer_sizes, X, Y, w, unroll(init_thetas(layer_sizes, random_state=1))


@pytest.fixture
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:300] / 16.0, y[:300]


def _library(array):
    return type(array).__module__.split(".")[0]


def _host(array):
    return array_api_module.to_numpy(array)


def _dispatch():
    return sklearn.config_context(array_api_dispatch=True)


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


# ---------------------------------------------------------------------------
# The estimator: fits equal the numpy fits, everything follows X
# ---------------------------------------------------------------------------


def _fit_both(backend, X, y, **params):
    """The same fit on numpy and on the backend (array_api_dispatch on)."""
    params = {"random_state": 0, **params}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        expected = BackpropClassifier(**params).fit(X, y)
        with _dispatch():
            fitted = BackpropClassifier(**params).fit(backend(X), backend(y))
    return expected, fitted


@needs_dispatch
@pytest.mark.parametrize("solver", ["L-BFGS-B", "CG", "BFGS", "Newton-CG", "trust-ncg"])
def test_a_20_iteration_fit_equals_the_numpy_fit(backend, digits, solver):
    X, y = digits
    expected, fitted = _fit_both(
        backend, X, y, hidden_layer_sizes=(5,), max_iter=20, solver=solver
    )
    assert fitted.n_iter_ == expected.n_iter_
    assert _library(fitted.thetas_[0]) == backend.name.split(":")[0]
    for theta, theta_ref in zip(move_to_numpy(fitted).thetas_, expected.thetas_):
        np.testing.assert_allclose(theta, theta_ref, rtol=0, atol=1e-8)
    assert fitted.loss_ == pytest.approx(expected.loss_, rel=1e-10)


@needs_dispatch
@pytest.mark.parametrize("solver", ["TNC", "trust-krylov"])
def test_rounding_sensitive_solvers_fit_on_the_device(backend, digits, solver):
    # TNC takes Hessian-vector products as finite differences of gradients,
    # dividing their ~1e-16 rounding by a step of ~1e-8; trust-krylov's trlib
    # amplifies rounding too. On the numpy path alone, batch_size=64 (the
    # same sums in another order) moves their 20-iteration weights by 1e-6
    # to 1e-1, so 1e-8 agreement cannot be asked of another backend. They
    # start on the same path and end at a comparable cost.
    X, y = digits
    expected, fitted = _fit_both(
        backend, X, y, hidden_layer_sizes=(5,), max_iter=20, solver=solver
    )
    np.testing.assert_allclose(
        fitted.loss_curve_[:2], expected.loss_curve_[:2], rtol=1e-6
    )
    assert fitted.loss_ == pytest.approx(expected.loss_, rel=0.1)


@needs_dispatch
@pytest.mark.parametrize("batch_size", [None, 64])
def test_float32_fit_and_batch_size(backend, digits, batch_size):
    X, y = digits
    X32 = X.astype(np.float32)
    params = dict(max_iter=15, batch_size=batch_size, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        expected = BackpropClassifier(**params).fit(X32, y)
        with _dispatch():
            fitted = BackpropClassifier(**params).fit(backend(X32), backend(y))
            z = fitted.decision_function(backend(X32))
    assert _host(z).dtype == np.float32
    np.testing.assert_allclose(
        move_to_numpy(fitted).thetas_[0], expected.thetas_[0], atol=1e-3
    )
    assert fitted.loss_ == pytest.approx(expected.loss_, rel=1e-3)


@needs_dispatch
@pytest.mark.parametrize(
    "labels", ["int", "binary", "multilabel", "softmax", "early_stopping"]
)
def test_predictions_follow_the_data(backend, digits, labels):
    X, y = digits
    options = {"max_iter": 30, "random_state": 0}
    if labels == "binary":
        y = y % 2
    elif labels == "multilabel":
        y = np.column_stack([y % 2, y > 4])
    elif labels == "softmax":
        options["output_activation"] = "softmax"
    elif labels == "early_stopping":
        options.update(early_stopping=True, n_iter_no_change=3)
    X_dev, y_dev = backend(X), backend(y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        expected = BackpropClassifier(**options).fit(X, y)
        with _dispatch():
            fitted = BackpropClassifier(**options).fit(X_dev, y_dev)
    library = backend.name.split(":")[0]
    assert _library(fitted.classes_) == library  # where y was, as LogisticRegression
    np.testing.assert_array_equal(move_to_numpy(fitted).classes_, expected.classes_)
    methods = ("decision_function", "predict_proba", "predict_log_proba", "predict")
    for method in methods:
        with _dispatch():
            result = getattr(fitted, method)(X_dev)
        assert _library(result) == library
        assert result.device == X_dev.device
        result, reference = _host(result), getattr(expected, method)(X)
        assert result.shape == reference.shape and result.dtype == reference.dtype
        np.testing.assert_allclose(result, reference, atol=1e-8)
    with _dispatch():
        accuracy = fitted.score(X_dev, y_dev)
    assert isinstance(accuracy, float)


@needs_dispatch
@pytest.mark.parametrize("targets", ["1-D", "2-D", "early_stopping"])
def test_the_regressor_follows_the_data(backend, digits, targets):
    X, _ = digits
    rng = np.random.default_rng(0)
    y = X @ rng.standard_normal((X.shape[1], 2))
    options = {"hidden_layer_sizes": (5,), "max_iter": 20, "random_state": 0}
    if targets == "1-D":
        y = y[:, 0]
    elif targets == "early_stopping":
        options.update(early_stopping=True, n_iter_no_change=3)
    X_dev = backend(X)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        expected = BackpropRegressor(**options).fit(X, y)
        with _dispatch():
            fitted = BackpropRegressor(**options).fit(X_dev, backend(y))
            predicted = fitted.predict(X_dev)
            r2 = fitted.score(X_dev, backend(y))
    for theta, theta_ref in zip(move_to_numpy(fitted).thetas_, expected.thetas_):
        np.testing.assert_allclose(theta, theta_ref, rtol=0, atol=1e-8)
    assert _library(predicted) == _library(X_dev)
    assert predicted.device == X_dev.device
    reference = expected.predict(X)
    assert _host(predicted).shape == reference.shape
    np.testing.assert_allclose(_host(predicted), reference, atol=1e-8)
    assert r2 == pytest.approx(expected.score(X, y), abs=1e-8)


@needs_dispatch
@pytest.mark.parametrize("output_activation", ["sigmoid", "softmax"])
def test_huge_inputs_predict_as_on_numpy(backend, digits, output_activation):
    # Inputs of 1e300 saturate every hidden unit (exp overflows): the
    # predictions equal the numpy path's, never NaN.
    X, y = digits
    y = y % 2 if output_activation == "softmax" else y
    options = dict(max_iter=10, output_activation=output_activation, random_state=0)
    expected, fitted = _fit_both(backend, X, y, **options)
    X_big = X[:20] * 1e300
    for method in ("decision_function", "predict_proba", "predict_log_proba"):
        with _dispatch():
            got = _host(getattr(fitted, method)(backend(X_big)))
        reference = getattr(expected, method)(X_big)
        assert not np.isnan(got).any()
        np.testing.assert_array_equal(np.isinf(got), np.isinf(reference))
        finite = np.isfinite(reference)
        np.testing.assert_allclose(got[finite], reference[finite], atol=1e-8)


def test_infinite_scores_normalise_as_on_numpy(backend):
    # Output units at z = +-inf: a row's largest entries share the
    # probability (ties), the others get 0, as the numpy path reads them.
    from skbackprop._classifier import _log_normalize
    from skbackprop._placement import HOST, placement_for

    inf = np.inf
    scores = np.array(
        [[inf, 1.0, inf], [-inf, -inf, -inf], [0.0, 1.0, 2.0], [inf, -inf, 3.0]]
    )
    expected = _log_normalize(scores, HOST)
    scores_dev = backend(scores)
    got = _host(_log_normalize(scores_dev, placement_for(scores_dev)))
    np.testing.assert_array_equal(np.isinf(got), np.isinf(expected))
    np.testing.assert_allclose(np.exp(got), np.exp(expected), rtol=1e-12)
    np.testing.assert_allclose(np.exp(expected).sum(axis=1), 1.0)


@needs_dispatch
def test_string_labels_come_back_as_numpy(backend, digits):
    X, y = digits
    names = np.array(["zero", "one", "two", "three", "four"] * 2)[y]
    with _dispatch(), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fitted = BackpropClassifier(max_iter=10, random_state=0).fit(backend(X), names)
        predicted = fitted.predict(backend(X))
    assert isinstance(fitted.classes_, np.ndarray)
    assert isinstance(predicted, np.ndarray) and predicted.dtype.kind == "U"


@needs_dispatch
def test_warm_start_continues_on_the_device(backend, digits):
    X, y = digits
    params = dict(max_iter=10, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        expected = BackpropClassifier(warm_start=True, **params).fit(X, y).fit(X, y)
        with _dispatch():
            fitted = BackpropClassifier(warm_start=True, **params)
            fitted.fit(backend(X), backend(y)).fit(backend(X), backend(y))
    for theta, theta_ref in zip(move_to_numpy(fitted).thetas_, expected.thetas_):
        np.testing.assert_allclose(theta, theta_ref, atol=1e-8)


# ---------------------------------------------------------------------------
# Pickling, moving to numpy, and life without array_api_dispatch
# ---------------------------------------------------------------------------


@pytest.fixture
def fitted_on_device(backend, digits):
    X, y = digits
    with _dispatch(), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = BackpropClassifier(max_iter=20, random_state=0)
        return model.fit(backend(X), backend(y)), backend(X), X


@needs_dispatch
def test_a_pickled_model_predicts_the_same(fitted_on_device):
    model, X_dev, _ = fitted_on_device
    restored = pickle.loads(pickle.dumps(model))
    with _dispatch():
        expected, got = model.predict_proba(X_dev), restored.predict_proba(X_dev)
    assert _library(got) == _library(expected)
    np.testing.assert_array_equal(_host(got), _host(expected))


@needs_dispatch
def test_move_to_numpy_gives_a_numpy_model(fitted_on_device):
    model, X_dev, X = fitted_on_device
    on_host = move_to_numpy(model)
    assert all(isinstance(theta, np.ndarray) for theta in on_host.thetas_)
    assert all(t.dtype == np.float64 for t in on_host.thetas_)
    assert isinstance(on_host.classes_, np.ndarray)
    assert _library(model.thetas_[0]) != "numpy"  # the original is not changed
    with _dispatch():
        expected = _host(model.predict_proba(X_dev))
    np.testing.assert_allclose(on_host.predict_proba(X), expected, rtol=1e-12)
    # ... and it pickles without the array library.
    assert b"array_api_strict" not in pickle.dumps(on_host)
    assert b"torch" not in pickle.dumps(on_host)


@needs_dispatch
def test_a_device_model_needs_dispatch_to_predict(fitted_on_device):
    model, X_dev, X = fitted_on_device
    with pytest.raises(ValueError, match=r"move_to_numpy\(model\)"):
        model.predict(X)
    with _dispatch(), pytest.raises(ValueError, match="must use the same namespace"):
        model.predict(X)


@needs_dispatch
@pytest.mark.parametrize("which", ["X_val", "X"])
def test_the_validation_data_follow_the_training_data(backend, digits, which):
    # One namespace rule: X_val is put where X is, whichever is on a device.
    X, y = digits
    X_val, y_val = X[200:], y[200:]
    X, y = X[:200], y[:200]
    on_device = {"X_val": (X, backend(X_val)), "X": (backend(X), X_val)}[which]
    params = dict(hidden_layer_sizes=(5,), max_iter=5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        expected = BackpropClassifier(**params).fit(X, y, X_val=X_val, y_val=y_val)
        with _dispatch():
            got = BackpropClassifier(**params).fit(
                on_device[0], y, X_val=on_device[1], y_val=backend(y_val)
            )
    assert _library(got.thetas_[0]) == _library(on_device[0])
    np.testing.assert_allclose(
        got.validation_loss_curve_, expected.validation_loss_curve_, rtol=1e-10
    )


@needs_dispatch
def test_onnx_export_of_a_device_model(fitted_on_device):
    pytest.importorskip("skl2onnx")
    onnxruntime = pytest.importorskip("onnxruntime")
    from skbackprop.onnx import to_onnx

    model, X_dev, X = fitted_on_device
    onx = to_onnx(model, X[:1].astype(np.float64))
    session = onnxruntime.InferenceSession(
        onx.SerializeToString(), providers=["CPUExecutionProvider"]
    )
    labels, proba = session.run(None, {session.get_inputs()[0].name: X})
    with _dispatch():
        expected = _host(model.predict_proba(X_dev))
    np.testing.assert_allclose(proba, expected, rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(labels, move_to_numpy(model).predict(X))
    assert _library(model.thetas_[0]) != "numpy"  # the model is not changed


@needs_dispatch
def test_displays_draw_a_device_model(fitted_on_device):
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from skbackprop.inspection import HiddenUnitsDisplay, LossCurveDisplay

    model, _, _ = fitted_on_device
    units = HiddenUnitsDisplay.from_estimator(model)
    curves = LossCurveDisplay.from_estimator(model)
    np.testing.assert_array_equal(units.weights, _host(model.thetas_[0])[:, 1:])
    assert list(curves.loss_curve) == model.loss_curve_
    plt.close("all")


def test_without_dispatch_inputs_are_converted_to_numpy(digits):
    # Today's behaviour: scikit-learn's validation converts what it can...
    torch = pytest.importorskip("torch", reason=NO_TORCH)
    X, y = digits
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fitted = BackpropClassifier(max_iter=5, random_state=0)
        fitted.fit(torch.asarray(X), torch.asarray(y))
        expected = BackpropClassifier(max_iter=5, random_state=0).fit(X, y)
    assert isinstance(fitted.thetas_[0], np.ndarray)
    np.testing.assert_array_equal(fitted.thetas_[0], expected.thetas_[0])
    assert isinstance(fitted.predict(torch.asarray(X)), np.ndarray)


def test_without_dispatch_a_device_array_gets_scikit_learns_error(digits):
    # ...and refuses, in scikit-learn's words, what it cannot.
    X, y = digits
    X_dev = xps.asarray(X, device=xps.Device("device1"))
    with pytest.raises(Exception) as expected:
        LogisticRegression().fit(X_dev, y)
    with pytest.raises(type(expected.value)) as got:
        BackpropClassifier().fit(X_dev, y)
    assert str(got.value) == str(expected.value)


# ---------------------------------------------------------------------------
# scikit-learn's array API checks, values included
# ---------------------------------------------------------------------------

#: scikit-learn's value checks compare the numpy and the device fit's
#: scores to 1000 float64 epsilons (2.2e-13). The two evaluators add the same
#: terms in another order; a first-order path (L-BFGS-B) keeps that rounding
#: near its size, but a Newton or trust-region path amplifies it (a
#: converged trust-ncg regressor's weights differ by 1.2e-10 on one machine,
#: its R² by 2.3e-12): those estimators get the checks of namespaces, devices
#: and dtypes here, and their values are compared at a minimum in
#: test_a_newton_path_on_a_device_reaches_the_numpy_minimum.
AMPLIFYING = ("trust-ncg", "trust-krylov", "Newton-CG", "TNC")

ESTIMATORS = [
    BackpropClassifier(max_iter=30),
    BackpropClassifier(
        hidden_layer_sizes=(4,),
        activation="tanh",
        output_activation="softmax",
        solver="trust-ncg",
        class_weight="balanced",
        batch_size=7,
        max_iter=30,
    ),
    BackpropClassifier(
        hidden_layer_sizes=(5, 3), activation="relu", early_stopping=True
    ),
    BackpropRegressor(max_iter=30),
    BackpropRegressor(hidden_layer_sizes=(4,), solver="trust-ncg", batch_size=7),
]


@needs_dispatch
@pytest.mark.parametrize("estimator", ESTIMATORS, ids=repr)
@pytest.mark.parametrize(
    "device_name, dtype_name", [("CPU_DEVICE", "float64"), ("device1", "float32")]
)
def test_scikit_learn_array_api_checks(estimator, device_name, dtype_name):
    from sklearn.utils.estimator_checks import (  # scikit-learn >= 1.9
        check_array_api_input,
        check_array_api_input_and_values,
        check_array_api_same_namespace,
    )

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        name = type(estimator).__name__
        check_array_api_input(
            name, estimator, "array_api_strict", device_name, dtype_name
        )
        # float32 fits part at float32's rounding
        if dtype_name == "float64" and estimator.solver not in AMPLIFYING:
            check_array_api_input_and_values(
                name, estimator, "array_api_strict", device_name, dtype_name
            )
        check_array_api_same_namespace(name, estimator, "array_api_strict")


@needs_dispatch
@pytest.mark.parametrize("device_name", ["CPU_DEVICE", "device1"])
@pytest.mark.parametrize(
    "estimator",
    [est for est in ESTIMATORS if est.solver in AMPLIFYING],
    ids=repr,
)
def test_a_newton_path_on_a_device_reaches_the_numpy_minimum(estimator, device_name):
    # scikit-learn's check data; fit to the minimum (tol=0), where the paths
    # are meant to agree. There J is flat: it agrees to its own rounding.
    # The gradient is below _GTOL = 1e-10 at both ends and the penalty alone
    # gives the penalised weights a curvature of alpha / m = 1/30, so they
    # lie within ~1e-10 / (1/30) = 3e-9 of the minimum (the unpenalised bias
    # columns are as well determined on this well-conditioned data).
    X, y = make_classification(n_samples=30, n_features=10, random_state=42)
    estimator = clone(estimator).set_params(tol=0, max_iter=1000, random_state=0)
    on_numpy = clone(estimator).fit(X, y)
    with sklearn.config_context(array_api_dispatch=True):
        on_device = clone(estimator).fit(
            xps.asarray(X, device=xps.Device(device_name)), xps.asarray(y)
        )
    np.testing.assert_allclose(on_device.loss_, on_numpy.loss_, rtol=1e-13)
    np.testing.assert_allclose(
        unroll(move_to_numpy(on_device).thetas_),
        unroll(on_numpy.thetas_),
        rtol=0,
        atol=1e-8,
    )


def test_the_estimator_says_whether_it_supports_the_array_api():
    assert BackpropClassifier().__sklearn_tags__().array_api_support is HAS_ARRAY_API


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


def test_dispatch_where_supported_and_its_documented_fallback_elsewhere(digits):
    # Both ways, on every supported version: an array-api-strict X without
    # dispatch is converted to numpy, as scikit-learn does; with dispatch the
    # fit stays in X's namespace where scikit-learn >= 1.9 and scipy >= 1.14
    # support it, and is refused clearly (nothing fitted) where they do not.
    X, y = digits
    X_xp = xps.asarray(X)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        plain = BackpropClassifier(hidden_layer_sizes=(3,), max_iter=5, random_state=0)
        plain.fit(X_xp, y)
        expected = BackpropClassifier(
            hidden_layer_sizes=(3,), max_iter=5, random_state=0
        )
        expected.fit(X, y)
    assert isinstance(plain.thetas_[0], np.ndarray)
    np.testing.assert_array_equal(plain.thetas_[0], expected.thetas_[0])
    clf = BackpropClassifier(hidden_layer_sizes=(3,), max_iter=5, random_state=0)
    if HAS_ARRAY_API:
        with _dispatch(), warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.fit(X_xp, y)
        assert not isinstance(clf.thetas_[0], np.ndarray)
        np.testing.assert_allclose(
            np.asarray(move_to_numpy(clf).thetas_[0]), expected.thetas_[0], atol=1e-8
        )
    else:
        with pytest.raises((ImportError, ValueError), match="1.14|scikit-learn >= 1.9"):
            with sklearn.config_context(array_api_dispatch=True):
                clf.fit(X_xp, y)
        assert not hasattr(clf, "thetas_")


@needs_dispatch
@pytest.mark.parametrize("device_name", ["CPU_DEVICE", "device1"])
def test_the_lambda_path_runs_on_the_device_of_its_data(device_name):
    # Fit to the minimum (tol=0) at every lambda, where the device's and the
    # host's folds agree to rounding: the same scores, lambda and predictions.
    from sklearn.datasets import load_diabetes, make_moons

    from skbackprop import BackpropClassifierCV, BackpropRegressorCV

    device = xps.Device(device_name)
    params = dict(hidden_layer_sizes=(3,), alphas=3, tol=0, random_state=0)
    moons = make_moons(90, noise=0.2, random_state=0)
    diabetes = [data[:120] for data in load_diabetes(return_X_y=True)]
    for cls, (X, y) in (
        (BackpropClassifierCV, moons),
        (BackpropRegressorCV, diabetes),
    ):
        on_host = cls(**params).fit(X, y)
        with sklearn.config_context(array_api_dispatch=True):
            X_dev = xps.asarray(X, device=device)
            on_device = cls(**params).fit(X_dev, xps.asarray(y, device=device))
            prediction = on_device.predict(X_dev)
        assert on_device.alpha_ == on_host.alpha_
        np.testing.assert_allclose(_host(on_device.scores_), on_host.scores_, atol=1e-7)
        assert (
            _library(on_device.thetas_[0]) == _library(prediction) == "array_api_strict"
        )
        np.testing.assert_allclose(_host(prediction), on_host.predict(X), atol=1e-6)
