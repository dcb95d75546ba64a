"""warm_start: a second fit continues from the first one's weights, or refuses.

It refuses new classes and another output layer. An interrupted warm start
is in ``test_interrupts.py``, one from an unpickled model in
``test_persistence.py``, each backend's in its module.
"""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from skbackprop import BackpropClassifier

from _helpers import iris_scaled


def test_warm_start_continues_from_previous_weights(iris):
    X, y = iris
    kw = {"hidden_layer_sizes": (5,), "max_iter": 5, "tol": 0, "random_state": 0}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warm = BackpropClassifier(warm_start=True, **kw).fit(X, y)
        first_loss = warm.loss_
        warm.fit(X, y)
        cold = BackpropClassifier(**kw).fit(X, y)
        cold.fit(X, y)
        ten = BackpropClassifier(**{**kw, "max_iter": 10}).fit(X, y)
    assert warm.loss_ < first_loss
    np.testing.assert_allclose(cold.loss_, first_loss, rtol=1e-12)  # restarts
    # five plus five iterations from the same start continue the same descent
    assert warm.loss_ < cold.loss_
    assert abs(warm.loss_ - ten.loss_) < 0.5 * (first_loss - ten.loss_)


def test_warm_start_refuses_new_classes(iris):
    X, y = iris
    clf = BackpropClassifier(hidden_layer_sizes=(3,), warm_start=True, random_state=0)
    clf.fit(X[y < 2], y[y < 2])
    with pytest.raises(ValueError, match="same classes"):
        clf.fit(X, y)


@pytest.mark.parametrize(
    "first, then",
    [
        ("sigmoid", "softmax"),
        ("softmax", "sigmoid"),
    ],
)
@pytest.mark.parametrize("binary", [False, True])
def test_warm_start_refuses_another_output_activation(first, then, binary):
    X_iris, y_iris = iris_scaled()
    y_ = y_iris == 1 if binary else y_iris
    est = BackpropClassifier(
        hidden_layer_sizes=(3,), output_activation=first, warm_start=True, tol=1e-4
    ).fit(X_iris, y_)
    proba = est.predict_proba(X_iris)
    est.set_params(output_activation=then)
    with pytest.raises(ValueError, match="same output_activation"):
        est.fit(X_iris, y_)
    # The model is unchanged and still predicts with its own output layer.
    np.testing.assert_array_equal(est.predict_proba(X_iris), proba)
    # warm_start=False fits the new output layer afresh.
    est.set_params(warm_start=False).fit(X_iris, y_)
    np.testing.assert_allclose(est.predict_proba(X_iris).sum(axis=1), 1.0)


def test_warm_start_refit_of_labels_after_multilabel_refused_then_fresh():
    """The issue's instance: predict must not return indicator rows for labels."""
    X_iris, y_iris = iris_scaled()
    Y = np.c_[y_iris == 0, y_iris == 1, y_iris == 2].astype(int)
    est = BackpropClassifier(hidden_layer_sizes=(3,), warm_start=True, tol=1e-4)
    est.fit(X_iris, Y)
    with pytest.raises(ValueError, match="multilabel indicator matrix of 3 labels"):
        est.fit(X_iris, y_iris)
    assert est.predict(X_iris).shape == (150, 3)
    est.set_params(warm_start=False).fit(X_iris, y_iris)
    assert est.predict(X_iris).shape == (150,)
