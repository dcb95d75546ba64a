"""The estimators on Array API input: fits equal the numpy fits, everything follows X.

Fits, predictions, the regressor, warm start and validation data on the
device; pickling, ``move_to_numpy``, ONNX export and displays of a device
model; life without ``array_api_dispatch``.

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
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression

from skbackprop import BackpropClassifier, BackpropRegressor, move_to_numpy
from skbackprop._compat import HAS_ARRAY_API

from ._array_api_helpers import (
    NO_TORCH,
    _dispatch,
    _host,
    _library,
    needs_dispatch,
    xps,
)

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


def test_the_estimator_says_whether_it_supports_the_array_api():
    assert BackpropClassifier().__sklearn_tags__().array_api_support is HAS_ARRAY_API


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
