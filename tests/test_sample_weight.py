"""sample_weight and class_weight: what a weight means in the classifier's fit.

The cost's weighting is in ``test_backprop.py`` and ``test_properties.py``,
the regressor's in ``test_regressor.py``.
"""

import numpy as np
import pytest
from sklearn.utils.class_weight import compute_sample_weight

from skbackprop import BackpropClassifier
from skbackprop.backprop import unroll


def test_sample_weight_zero_equals_removing_rows(iris):
    X, y = iris
    w = np.ones(len(y))
    w[::3] = 0
    a = BackpropClassifier(hidden_layer_sizes=(3,), random_state=0)
    a.fit(X, y, sample_weight=w)
    b = BackpropClassifier(hidden_layer_sizes=(3,), random_state=0)
    b.fit(X[w > 0], y[w > 0])
    np.testing.assert_allclose(a.predict_proba(X), b.predict_proba(X), rtol=1e-6)


def test_sample_weight_shifts_the_classifiers_probabilities(iris):
    X, y = iris
    w = np.where(y == 1, 10.0, 1.0)
    a = BackpropClassifier(hidden_layer_sizes=(3,), random_state=0).fit(X, y)
    b = BackpropClassifier(hidden_layer_sizes=(3,), random_state=0)
    b.fit(X, y, sample_weight=w)
    assert b.predict_proba(X)[y == 1, 1].mean() > a.predict_proba(X)[y == 1, 1].mean()


def fit_thetas(X, y, **params):
    clf = BackpropClassifier(hidden_layer_sizes=(3,), random_state=0, **params)
    sample_weight = params.pop("_sw", None)
    return unroll(clf.fit(X, y, sample_weight=sample_weight).thetas_)


def test_class_weight_dict_equals_sample_weight(small):
    X, y = small
    a = BackpropClassifier(
        hidden_layer_sizes=(3,), class_weight={0: 3.0, 2: 0.5}, random_state=0
    ).fit(X, y)
    sw = np.choose(y, [3.0, 1.0, 0.5])
    b = BackpropClassifier(hidden_layer_sizes=(3,), random_state=0).fit(X, y, sw)
    np.testing.assert_allclose(unroll(a.thetas_), unroll(b.thetas_), rtol=1e-8)
    assert a.loss_ == pytest.approx(b.loss_, rel=1e-12)


def test_class_weight_balanced_combines_with_sample_weight(small):
    X, y = small
    y = y.copy()
    y[:15] = 0  # unbalanced classes
    sw = np.random.RandomState(0).uniform(0.5, 2.0, y.size)
    a = BackpropClassifier(
        hidden_layer_sizes=(3,), class_weight="balanced", random_state=0
    ).fit(X, y, sample_weight=sw)
    counts = np.bincount(y, weights=sw)
    expected = sw * (sw.sum() / (3 * counts))[y]
    b = BackpropClassifier(hidden_layer_sizes=(3,), random_state=0).fit(X, y, expected)
    np.testing.assert_allclose(unroll(a.thetas_), unroll(b.thetas_), rtol=1e-8)
    # Without sample_weight, "balanced" is scikit-learn's compute_sample_weight.
    c = BackpropClassifier(
        hidden_layer_sizes=(3,), class_weight="balanced", random_state=0
    ).fit(X, y)
    d = BackpropClassifier(hidden_layer_sizes=(3,), random_state=0).fit(
        X, y, compute_sample_weight("balanced", y)
    )
    np.testing.assert_allclose(unroll(c.thetas_), unroll(d.thetas_), rtol=1e-8)
    assert not np.allclose(unroll(a.thetas_), unroll(c.thetas_), rtol=1e-3)


def test_class_weight_changes_the_decision(small):
    X, y = small
    plain = BackpropClassifier(hidden_layer_sizes=(3,), random_state=0).fit(X, y)
    heavy = BackpropClassifier(
        hidden_layer_sizes=(3,), class_weight={1: 50.0}, random_state=0
    ).fit(X, y)
    assert (heavy.predict(X) == 1).sum() > (plain.predict(X) == 1).sum()


def test_class_weight_rejects_multilabel():
    X = np.random.RandomState(0).randn(10, 3)
    Y = np.array([[0, 1], [1, 1], [1, 0], [0, 0], [1, 1]] * 2)
    with pytest.raises(
        ValueError, match="class_weight is not supported for multilabel"
    ):
        BackpropClassifier(class_weight="balanced").fit(X, Y)
