"""Persistence with skops.io: a round trip, the types to trust, and the docs' list."""

import functools
import pathlib
import warnings

import numpy as np
import pytest
import skops.io as sio
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skbackprop import BackpropClassifier

DEPLOYING_PAGE = pathlib.Path(__file__).parents[1] / "docs" / "deploying.rst"
BACKPROP_TYPE = "skbackprop._classifier.BackpropClassifier"


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


def test_user_guide_lists_every_type_to_trust():
    page = DEPLOYING_PAGE.read_text(encoding="utf-8")
    for name in MODELS:
        model, _, _ = _fit(name)
        for untrusted in sio.get_untrusted_types(data=sio.dumps(model)):
            assert f"``{untrusted}``" in page, untrusted
