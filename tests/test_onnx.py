"""Tests of skbackprop.onnx: the exported graph, run in onnxruntime, against predict.

The reference is the estimator itself: onnxruntime's labels must equal
``predict`` exactly and its probabilities ``predict_proba`` (to 1e-5 in
float32), on held-out digits, for every hidden activation, output layer and
kind of target, float32 and float64, with the network alone and after a
StandardScaler in a Pipeline; and a regressor's output must equal ``predict``
(to 1e-5 in float32, 1e-10 in float64) on held-out diabetes data, with
``predict``'s shape; a ``TransformedTargetRegressor`` with a linear target
transformer around it likewise, in the targets' own units.
"""

import copy
import functools
import subprocess
import sys
import warnings

import numpy as np
import onnxruntime
import pytest
import skl2onnx
from sklearn.compose import TransformedTargetRegressor
from sklearn.datasets import load_diabetes, load_digits
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import (
    MaxAbsScaler,
    MinMaxScaler,
    QuantileTransformer,
    StandardScaler,
)

from skbackprop import BackpropClassifier, BackpropRegressor
from skbackprop.onnx import _onnx_class_labels, register_converters, to_onnx

N_TRAIN = 1000
NO_ZIPMAP = {BackpropClassifier: {"zipmap": False}}
TOLERANCE = {np.float32: 1e-5, np.float64: 1e-10}


@functools.lru_cache(maxsize=1)
def _digits():
    return load_digits(return_X_y=True)


def _targets(kind):
    _, y = _digits()
    if kind == "binary":
        return (y >= 5).astype(int)
    if kind == "multiclass":
        return y
    if kind == "multilabel":  # odd, five or more, drawn with a closed loop
        return np.column_stack([y % 2, y >= 5, np.isin(y, (0, 6, 8, 9))]).astype(int)
    if kind == "strings":
        return np.array(["zero one two three four five six seven eight nine".split()])[
            0, y
        ]
    if kind == "booleans":
        return y >= 5
    raise ValueError(kind)


@functools.cache
def _fitted(activation, output_activation, kind, in_pipeline):
    """A small network fitted on the first 1000 digits (pixels 0..16)."""
    X, _ = _digits()
    clf = BackpropClassifier(
        hidden_layer_sizes=(12,),
        activation=activation,
        output_activation=output_activation,
        max_iter=80,
        random_state=0,
    )
    # Alone, the network sees pixels scaled to [0, 1]; in a Pipeline, the
    # StandardScaler's output.
    model = make_pipeline(StandardScaler(), clf) if in_pipeline else clf
    scale = 1.0 if in_pipeline else 16.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X[:N_TRAIN] / scale, _targets(kind)[:N_TRAIN])
    return model, scale


def _held_out(dtype, scale=1.0):
    X, _ = _digits()
    return (X[N_TRAIN:] / scale).astype(dtype)


def _run(onx, X):
    """Run the ONNX model in onnxruntime; return its outputs by name."""
    session = onnxruntime.InferenceSession(
        onx.SerializeToString(), providers=["CPUExecutionProvider"]
    )
    names = [output.name for output in session.get_outputs()]
    return dict(zip(names, session.run(None, {session.get_inputs()[0].name: X})))


def _assert_matches(model, outputs, X, atol):
    np.testing.assert_array_equal(outputs["label"], model.predict(X))
    proba = outputs["probabilities"]
    assert proba.dtype == X.dtype
    np.testing.assert_allclose(proba, model.predict_proba(X), rtol=0, atol=atol)


CASES = [
    (activation, output_activation, kind)
    for activation in ("sigmoid", "tanh", "relu")
    for output_activation in ("sigmoid", "softmax")
    for kind in ("binary", "multiclass", "multilabel")
    # A softmax gives one label per sample: no multilabel targets.
    if not (output_activation == "softmax" and kind == "multilabel")
]


@pytest.mark.parametrize("in_pipeline", [False, True], ids=["alone", "pipeline"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("activation, output_activation, kind", CASES)
def test_onnxruntime_gives_predict_and_predict_proba(
    activation, output_activation, kind, dtype, in_pipeline
):
    model, scale = _fitted(activation, output_activation, kind, in_pipeline)
    X = _held_out(dtype, scale)
    register_converters()
    onx = skl2onnx.to_onnx(model, X[:1], options=NO_ZIPMAP)
    outputs = _run(onx, X)
    _assert_matches(model, outputs, X, TOLERANCE[dtype])
    if kind == "multilabel":
        assert outputs["label"].shape == (len(X), 3)
    else:
        # Not a constant prediction: the comparison above has both labels.
        assert len(np.unique(outputs["label"])) >= 2


def test_classifier_exports_the_fitted_output_layer_not_the_parameter():
    # set_params after fit changes output_activation, not the fitted network:
    # predict_proba keeps the output layer it was fitted with, and so must
    # the export.
    for fitted, changed in (("softmax", "sigmoid"), ("sigmoid", "softmax")):
        model, scale = _fitted("sigmoid", fitted, "multiclass", False)
        model = copy.deepcopy(model).set_params(output_activation=changed)
        X = _held_out(np.float32, scale)
        outputs = _run(to_onnx(model, X[:1]), X)
        _assert_matches(model, outputs, X, TOLERANCE[np.float32])


def test_helper_registers_and_gives_arrays():
    model, scale = _fitted("sigmoid", "sigmoid", "multiclass", False)
    X = _held_out(np.float64, scale)
    outputs = _run(to_onnx(model, X[:1]), X)
    assert list(outputs) == ["label", "probabilities"]
    _assert_matches(model, outputs, X, TOLERANCE[np.float64])


@pytest.mark.parametrize("kind", ["strings", "booleans"])
def test_string_and_boolean_labels(kind):
    model, scale = _fitted("tanh", "sigmoid", kind, False)
    X = _held_out(np.float32, scale)
    outputs = _run(to_onnx(model, X[:1]), X)
    expected = model.predict(X)
    if kind == "strings":
        assert outputs["label"].tolist() == expected.tolist()
    else:  # booleans come back as int64 0/1
        assert outputs["label"].dtype == np.int64
        np.testing.assert_array_equal(outputs["label"], expected.astype(np.int64))
    np.testing.assert_allclose(
        outputs["probabilities"], model.predict_proba(X), rtol=0, atol=1e-5
    )


def test_int64_input_is_computed_in_float32():
    model, _ = _fitted("relu", "softmax", "multiclass", True)
    X = _held_out(np.int64)
    outputs = _run(to_onnx(model, X[:1]), X)
    assert outputs["probabilities"].dtype == np.float32
    X32 = X.astype(np.float32)
    np.testing.assert_array_equal(outputs["label"], model.predict(X32))
    np.testing.assert_allclose(
        outputs["probabilities"], model.predict_proba(X32), rtol=0, atol=1e-5
    )


def test_skl2onnx_default_zipmap_gives_dicts_of_predict_proba():
    model, scale = _fitted("sigmoid", "sigmoid", "multiclass", False)
    X = _held_out(np.float32, scale)[:50]
    register_converters()
    outputs = _run(skl2onnx.to_onnx(model, X[:1]), X)
    np.testing.assert_array_equal(outputs["output_label"], model.predict(X))
    rows = outputs["output_probability"]
    assert [sorted(row) for row in rows] == [list(range(10))] * len(X)
    proba = np.array([[row[k] for k in range(10)] for row in rows])
    np.testing.assert_allclose(proba, model.predict_proba(X), rtol=0, atol=1e-5)


def test_zipmap_columns_gives_one_output_per_class():
    model, scale = _fitted("sigmoid", "softmax", "binary", False)
    X = _held_out(np.float32, scale)
    outputs = _run(to_onnx(model, X[:1], zipmap="columns"), X)
    assert list(outputs) == ["output_label", "i0", "i1"]
    proba = model.predict_proba(X)
    for k in (0, 1):
        np.testing.assert_allclose(outputs[f"i{k}"], proba[:, k], rtol=0, atol=1e-5)


def test_nocl_option_gives_class_indices():
    model, scale = _fitted("sigmoid", "sigmoid", "strings", False)
    X = _held_out(np.float32, scale)
    outputs = _run(
        to_onnx(model, X[:1], options={BackpropClassifier: {"nocl": True}}), X
    )
    # Indices into classes_ instead of the labels themselves.
    expected = np.searchsorted(model.classes_, model.predict(X))
    np.testing.assert_array_equal(outputs["label"], expected)


def test_output_class_labels_option_adds_classes():
    model, scale = _fitted("sigmoid", "sigmoid", "strings", False)
    X = _held_out(np.float32, scale)
    options = {BackpropClassifier: {"output_class_labels": True}}
    outputs = _run(to_onnx(model, X[:1], options=options), X)
    assert outputs["class_labels"].tolist() == model.classes_.tolist()
    assert outputs["label"].tolist() == model.predict(X).tolist()


def test_saturated_one_vs_all_outputs_still_normalise():
    # Every output unit's bias lowered by 200: each h_k(x) underflows in
    # float32 (exp(-200) < 1e-45), but h / sum(h) is still defined, and the
    # graph computes it in log space as predict_proba does.
    model, scale = _fitted("sigmoid", "sigmoid", "multiclass", False)
    model = copy.deepcopy(model)
    model.thetas_[-1][:, 0] -= 200.0
    X = _held_out(np.float32, scale)
    outputs = _run(to_onnx(model, X[:1]), X)
    proba = model.predict_proba(X)
    assert np.all(np.isfinite(outputs["probabilities"]))
    np.testing.assert_allclose(outputs["probabilities"], proba, rtol=0, atol=1e-5)
    np.testing.assert_array_equal(outputs["label"], model.predict(X))


def test_graph_is_the_course_forward_pass():
    model, _ = _fitted("tanh", "sigmoid", "multiclass", False)
    onx = to_onnx(model, _held_out(np.float64)[:1])
    ops = [node.op_type for node in onx.graph.node]
    assert ops.count("Gemm") == len(model.thetas_) == 2
    assert ops.count("Tanh") == 1
    weights = {t.name: t for t in onx.graph.initializer}
    from onnx.numpy_helper import to_array

    np.testing.assert_array_equal(
        to_array(weights["Theta1_weights"]), model.thetas_[0][:, 1:]
    )
    np.testing.assert_array_equal(
        to_array(weights["Theta2_bias"]), model.thetas_[1][:, 0]
    )


@pytest.mark.parametrize("hidden_layer_sizes", [(), (9, 7, 5)])
def test_no_hidden_layer_and_several(hidden_layer_sizes):
    # () is one-vs-all logistic regression (the course's exercise 3).
    X, y = _digits()
    clf = BackpropClassifier(
        hidden_layer_sizes=hidden_layer_sizes, max_iter=80, random_state=0
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X[:N_TRAIN] / 16.0, y[:N_TRAIN])
    X_test = _held_out(np.float32, 16.0)
    onx = to_onnx(clf, X_test[:1])
    assert [node.op_type for node in onx.graph.node].count("Gemm") == len(
        hidden_layer_sizes
    ) + 1
    _assert_matches(clf, _run(onx, X_test), X_test, TOLERANCE[np.float32])


def test_unfitted_model_is_refused():
    with pytest.raises(NotFittedError):
        to_onnx(BackpropClassifier(), _held_out(np.float32)[:1])
    register_converters()
    with pytest.raises(NotFittedError):
        skl2onnx.to_onnx(
            BackpropClassifier(), _held_out(np.float32)[:1], options=NO_ZIPMAP
        )


def test_input_of_the_wrong_width_is_refused():
    model, _ = _fitted("sigmoid", "sigmoid", "binary", False)
    with pytest.raises(ValueError, match=r"shape \[None, 10\].*\(N, 64\)"):
        to_onnx(model, _held_out(np.float32)[:1, :10])


def test_labels_onnx_cannot_hold_are_refused():
    with pytest.raises(ValueError, match=r"int64 or strings.*\[0\.5, 1\.5\]"):
        _onnx_class_labels(np.array([0.5, 1.5]))
    # Integral floats, booleans and object arrays of ints are int64 labels.
    for classes in ([0.0, 2.0], [False, True], np.array([1, 2], dtype=object)):
        _, values = _onnx_class_labels(np.asarray(classes))
        assert values.dtype == np.int64
        np.testing.assert_array_equal(values, np.asarray(classes, dtype=float))


def test_missing_skl2onnx_names_the_extra(monkeypatch):
    # A None entry in sys.modules makes `import` raise ImportError.
    monkeypatch.setitem(sys.modules, "skl2onnx", None)
    model, scale = _fitted("sigmoid", "sigmoid", "binary", False)
    with pytest.raises(ImportError, match=r"pip install 'skbackprop\[onnx\]'"):
        to_onnx(model, _held_out(np.float32, scale)[:1])
    with pytest.raises(ImportError, match=r"skbackprop\[onnx\]"):
        register_converters()


def test_importing_skbackprop_imports_no_onnx_package():
    code = (
        "import sys, skbackprop, skbackprop.onnx\n"
        "loaded = {'skl2onnx', 'onnx', 'onnxruntime'} & set(sys.modules)\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# ---------------------------------------------------------------------------
# BackpropRegressor: the identity output layer.
# ---------------------------------------------------------------------------

N_TRAIN_DIABETES = 300


@functools.lru_cache(maxsize=1)
def _diabetes():
    X, y = load_diabetes(return_X_y=True)
    # Targets scaled to unit size, as the regressor's docstring advises: the
    # float32 tolerance is then an absolute 1e-5 on predictions of order one.
    y = (y - y[:N_TRAIN_DIABETES].mean()) / y[:N_TRAIN_DIABETES].std()
    return X, y


def _regression_targets(kind):
    _, y = _diabetes()
    if kind == "1d":
        return y
    if kind == "column":  # 2-D with one output: predict keeps it 2-D
        return y[:, np.newaxis]
    if kind == "2d":
        return np.column_stack([y, y**2 - 1.0])
    raise ValueError(kind)


@functools.cache
def _fitted_regressor(activation, kind, in_pipeline):
    """A small regressor fitted on the first 300 diabetes samples."""
    X, _ = _diabetes()
    reg = BackpropRegressor(
        hidden_layer_sizes=(8,), activation=activation, max_iter=80, random_state=0
    )
    model = make_pipeline(StandardScaler(), reg) if in_pipeline else reg
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X[:N_TRAIN_DIABETES], _regression_targets(kind)[:N_TRAIN_DIABETES])
    return model


def _diabetes_held_out(dtype):
    X, _ = _diabetes()
    return X[N_TRAIN_DIABETES:].astype(dtype)


def _assert_regression_matches(model, outputs, X, atol):
    assert list(outputs) == ["variable"]
    prediction = outputs["variable"]
    expected = model.predict(X)
    assert prediction.shape == expected.shape
    assert prediction.dtype == expected.dtype == X.dtype
    np.testing.assert_allclose(prediction, expected, rtol=0, atol=atol)


@pytest.mark.parametrize("in_pipeline", [False, True], ids=["alone", "pipeline"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kind", ["1d", "2d"])
@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu"])
def test_onnxruntime_gives_regressor_predict(activation, kind, dtype, in_pipeline):
    model = _fitted_regressor(activation, kind, in_pipeline)
    X = _diabetes_held_out(dtype)
    outputs = _run(to_onnx(model, X[:1]), X)
    _assert_regression_matches(model, outputs, X, TOLERANCE[dtype])
    expected_shape = (len(X),) if kind == "1d" else (len(X), 2)
    assert outputs["variable"].shape == expected_shape
    # Not a constant prediction: the comparison above is between two fits.
    assert np.std(outputs["variable"]) > 0.1


def test_regressor_through_skl2onnx_and_column_target():
    # A 2-D y of one column gives (N, 1) predictions, as predict does.
    model = _fitted_regressor("sigmoid", "column", False)
    X = _diabetes_held_out(np.float64)
    register_converters()
    outputs = _run(skl2onnx.to_onnx(model, X[:1]), X)
    assert outputs["variable"].shape == (len(X), 1)
    _assert_regression_matches(model, outputs, X, TOLERANCE[np.float64])


def test_unfitted_regressor_is_refused():
    with pytest.raises(NotFittedError):
        to_onnx(BackpropRegressor(), _diabetes_held_out(np.float32)[:1])


# ---------------------------------------------------------------------------
# TransformedTargetRegressor around the regressor: targets in their own units
# ---------------------------------------------------------------------------

TARGET_TRANSFORMERS = {
    "standard": StandardScaler,
    "minmax": MinMaxScaler,
    "maxabs": MaxAbsScaler,
    "none": lambda: None,
}


@functools.cache
def _fitted_transformed_target(transformer, kind, in_pipeline):
    """A regressor fitted on the raw diabetes targets (25 to 346), transformed."""
    X, y = load_diabetes(return_X_y=True)
    y = y if kind == "1d" else np.column_stack([y, np.sqrt(y)])
    reg = BackpropRegressor(
        hidden_layer_sizes=(5,), alpha=1e-3, max_iter=40, random_state=0
    )
    model = TransformedTargetRegressor(
        make_pipeline(StandardScaler(), reg) if in_pipeline else reg,
        transformer=TARGET_TRANSFORMERS[transformer](),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X[:N_TRAIN_DIABETES], y[:N_TRAIN_DIABETES])
    return model


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kind", ["1d", "2d"])
@pytest.mark.parametrize("transformer", list(TARGET_TRANSFORMERS))
def test_transformed_target_regressor_gives_predict(transformer, kind, dtype):
    model = _fitted_transformed_target(transformer, kind, in_pipeline=False)
    X = _diabetes_held_out(dtype)
    outputs = _run(to_onnx(model, X[:1]), X)
    assert list(outputs) == ["variable"]
    expected = model.predict(X)
    prediction = outputs["variable"]
    assert prediction.shape == expected.shape
    assert prediction.shape == ((len(X),) if kind == "1d" else (len(X), 2))
    assert prediction.dtype == expected.dtype == X.dtype
    # Predictions of order 100: the tolerance is relative.
    np.testing.assert_allclose(prediction, expected, rtol=TOLERANCE[dtype])
    assert np.std(prediction) > 1.0  # in the targets' units, not the scaled ones


def test_documented_recipe_transformed_target_in_a_pipeline():
    """The docs' case, TransformedTargetRegressor(BackpropRegressor(),
    transformer=StandardScaler()), with a scaler inside and as a step."""
    X, y = load_diabetes(return_X_y=True)
    inner = _fitted_transformed_target("standard", "1d", in_pipeline=True)
    outer = make_pipeline(StandardScaler(), copy.deepcopy(inner))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        outer.fit(X[:N_TRAIN_DIABETES], y[:N_TRAIN_DIABETES])
    X_test = _diabetes_held_out(np.float64)
    for model in (inner, outer):
        register_converters()
        outputs = _run(skl2onnx.to_onnx(model, X_test[:1]), X_test)
        np.testing.assert_allclose(
            outputs["variable"], model.predict(X_test), rtol=TOLERANCE[np.float64]
        )


@pytest.mark.parametrize(
    "params",
    [
        {"transformer": QuantileTransformer(n_quantiles=50)},
        {"func": np.log, "inverse_func": np.exp},
    ],
    ids=["quantile", "functions"],
)
def test_nonlinear_target_transform_is_refused(params):
    X, y = load_diabetes(return_X_y=True)
    model = TransformedTargetRegressor(
        BackpropRegressor(hidden_layer_sizes=(2,), max_iter=3), **params
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X[:100], y[:100])
    with pytest.raises(ValueError, match="linear target transformer"):
        to_onnx(model, X[:1])


def test_unfitted_transformed_target_regressor_is_refused():
    with pytest.raises(NotFittedError):
        to_onnx(
            TransformedTargetRegressor(BackpropRegressor()),
            _diabetes_held_out(np.float64)[:1],
        )
