"""Persistence with skops.io: a round trip, the types to trust, and the docs' list."""

import functools
import json
import pathlib
import warnings

import numpy as np
import pytest
import skops.io as sio
from sklearn.datasets import load_diabetes, load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skbackprop import BackpropClassifier, BackpropRegressor

DEPLOYING_PAGE = pathlib.Path(__file__).parents[1] / "docs" / "deploying.rst"
BACKPROP_TYPE = "skbackprop._classifier.BackpropClassifier"
REGRESSOR_TYPE = "skbackprop._regressor.BackpropRegressor"


def _digits_targets(kind):
    X, y = load_digits(return_X_y=True)
    X, y = X[:500], y[:500]
    if kind == "strings":
        return X, np.array("zero one two three four five six seven eight nine".split())[
            y
        ]
    if kind == "multilabel":
        return X, np.column_stack([y % 2, y >= 5])
    return X, y


MODELS = {
    "strings, early stopping": lambda: BackpropClassifier(
        hidden_layer_sizes=(10,), early_stopping=True, random_state=0
    ),
    "multilabel, tanh": lambda: BackpropClassifier(
        hidden_layer_sizes=(8, 6), activation="tanh", random_state=0
    ),
    "pipeline, softmax, relu": lambda: make_pipeline(
        StandardScaler(),
        BackpropClassifier(
            activation="relu", output_activation="softmax", random_state=0
        ),
    ),
}
KIND = {
    "strings, early stopping": "strings",
    "multilabel, tanh": "multilabel",
    "pipeline, softmax, relu": "multiclass",
}


@functools.cache
def _fit(name):
    X, y = _digits_targets(KIND[name])
    model = MODELS[name]().set_params(
        **{"backpropclassifier__max_iter" if "pipeline" in name else "max_iter": 60}
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X / 16.0, y)
    return model, X / 16.0, y


def _network(model):
    return model[-1] if hasattr(model, "steps") else model


@pytest.mark.parametrize("name", list(MODELS))
def test_round_trip_gives_the_same_model(name, tmp_path):
    model, X, y = _fit(name)
    path = tmp_path / "model.skops"
    sio.dump(model, path)
    assert sio.get_untrusted_types(file=path) == [BACKPROP_TYPE]
    loaded = sio.load(path, trusted=[BACKPROP_TYPE])

    assert type(loaded) is type(model)
    assert loaded.get_params(deep=False).keys() == model.get_params(deep=False).keys()
    net, loaded_net = _network(model), _network(loaded)
    assert repr(loaded_net.get_params()) == repr(net.get_params())
    assert len(loaded_net.thetas_) == len(net.thetas_)
    for theta, loaded_theta in zip(net.thetas_, loaded_net.thetas_):
        assert loaded_theta.dtype == theta.dtype
        np.testing.assert_array_equal(loaded_theta, theta)
    np.testing.assert_array_equal(loaded_net.classes_, net.classes_)
    assert loaded_net.loss_curve_ == net.loss_curve_
    for dtype in (np.float64, np.float32):
        Xd = X.astype(dtype)
        np.testing.assert_array_equal(loaded.predict(Xd), model.predict(Xd))
        np.testing.assert_array_equal(loaded.predict_proba(Xd), model.predict_proba(Xd))


def test_loaded_model_trains_on(tmp_path):
    model, X, y = _fit("multilabel, tanh")  # stopped by max_iter, not converged
    path = tmp_path / "model.skops"
    sio.dump(model, path)
    loaded = sio.load(path, trusted=[BackpropClassifier])  # a type works too
    loaded.set_params(warm_start=True, max_iter=20)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        loaded.fit(X, y)
    # Warm start goes on from the stored weights, so the cost goes on down
    # from where the saved model stopped.
    assert loaded.n_iter_ >= 1
    assert loaded.loss_ < model.loss_


def test_loading_refuses_the_network_unless_trusted(tmp_path):
    model, _, _ = _fit("multilabel, tanh")
    path = tmp_path / "model.skops"
    sio.dump(model, path)
    with pytest.raises(TypeError, match=r"Untrusted types.*BackpropClassifier"):
        sio.load(path)


REGRESSORS = {
    "1-D y, early stopping": lambda: BackpropRegressor(
        hidden_layer_sizes=(6,), early_stopping=True, random_state=0
    ),
    "pipeline, 2-D y, relu": lambda: make_pipeline(
        StandardScaler(), BackpropRegressor(activation="relu", random_state=0)
    ),
}


@functools.cache
def _fit_regressor(name):
    X, y = load_diabetes(return_X_y=True)
    y = (y - y.mean()) / y.std()
    if "2-D" in name:
        y = np.column_stack([y, -y])
    model = REGRESSORS[name]().set_params(
        **{"backpropregressor__max_iter" if "pipeline" in name else "max_iter": 60}
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X[:300], y[:300])
    return model, X[300:]


@pytest.mark.parametrize("name", list(REGRESSORS))
def test_regressor_round_trip_gives_the_same_model(name, tmp_path):
    model, X = _fit_regressor(name)
    path = tmp_path / "model.skops"
    sio.dump(model, path)
    assert sio.get_untrusted_types(file=path) == [REGRESSOR_TYPE]
    loaded = sio.load(path, trusted=[REGRESSOR_TYPE])

    assert type(loaded) is type(model)
    net, loaded_net = _network(model), _network(loaded)
    assert repr(loaded_net.get_params()) == repr(net.get_params())
    for theta, loaded_theta in zip(net.thetas_, loaded_net.thetas_, strict=True):
        assert loaded_theta.dtype == theta.dtype
        np.testing.assert_array_equal(loaded_theta, theta)
    assert loaded_net.n_outputs_ == net.n_outputs_
    assert loaded_net.loss_curve_ == net.loss_curve_
    assert loaded_net.validation_scores_ == net.validation_scores_
    for dtype in (np.float64, np.float32):
        Xd = X.astype(dtype)
        prediction = loaded.predict(Xd)
        # Same values, shape ((N,) for a 1-D y) and dtype as before saving.
        assert prediction.shape == model.predict(Xd).shape
        assert prediction.dtype == dtype
        np.testing.assert_array_equal(prediction, model.predict(Xd))


def test_user_guide_lists_every_type_to_trust():
    page = DEPLOYING_PAGE.read_text(encoding="utf-8")
    models = [_fit(name)[0] for name in MODELS]
    models += [_fit_regressor(name)[0] for name in REGRESSORS]
    for model in models:
        for untrusted in sio.get_untrusted_types(data=sio.dumps(model)):
            assert f"``{untrusted}``" in page, untrusted


def test_mlflow_recipe_trusted_types(tmp_path):
    """The deploying page's MLflow recipe, its skops part: the trusted types it
    names are exactly what skops does not trust by default, and loading with
    them gives the same predictions. (mlflow itself is not installed here.)"""
    from sklearn.compose import TransformedTargetRegressor

    page = DEPLOYING_PAGE.read_text(encoding="utf-8")
    X_digits, y_digits = load_digits(return_X_y=True)
    X_diabetes, y_diabetes = load_diabetes(return_X_y=True)
    small = {"hidden_layer_sizes": (4,), "max_iter": 5, "random_state": 0}
    cases = [
        (
            make_pipeline(StandardScaler(), BackpropClassifier(**small)),
            X_digits[:200],
            y_digits[:200],
            ["skbackprop._classifier.BackpropClassifier"],
        ),
        (
            TransformedTargetRegressor(
                BackpropRegressor(**small), transformer=StandardScaler()
            ),
            X_diabetes[:200],
            y_diabetes[:200],
            ["skbackprop._regressor.BackpropRegressor"],
        ),
    ]
    for model, X, y, trusted in cases:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(X, y)
        assert json.dumps(trusted) in page  # the list the recipe shows
        path = tmp_path / "model.skops"
        sio.dump(model, path)
        assert sio.get_untrusted_types(file=path) == trusted
        with pytest.raises(sio.exceptions.UntrustedTypesFoundException):
            sio.load(path)
        loaded = sio.load(path, trusted=trusted)
        np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
