"""Tests of BackpropClassifier: behaviour as a scikit-learn classifier."""

import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_digits, make_multilabel_classification
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.model_selection import (
    GridSearchCV,
    StratifiedKFold,
    cross_validate,
    train_test_split,
)
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import LabelBinarizer, StandardScaler

from skbackprop import BackpropClassifier
from skbackprop.backprop import cost_function, roll, unroll


@pytest.fixture(scope="module")
def digits():
    return load_digits(return_X_y=True)


# ---------------------------------------------------------------------------
# Fitting and the fitted attributes
# ---------------------------------------------------------------------------


def test_fit_sets_course_attributes(iris):
    X, y = iris
    clf = BackpropClassifier(hidden_layer_sizes=(6,), random_state=0).fit(X, y)
    assert clf.layer_sizes_ == (4, 6, 3)
    assert [t.shape for t in clf.thetas_] == [(6, 5), (3, 7)]
    assert clf.n_features_in_ == 4
    np.testing.assert_array_equal(clf.classes_, [0, 1, 2])
    assert 0 < clf.n_iter_ <= clf.max_iter
    assert len(clf.loss_curve_) == clf.n_iter_


def test_loss_is_course_cost_at_fitted_thetas(iris):
    X, y = iris
    # tol=0: trained until J stops decreasing (the gradient check below).
    clf = BackpropClassifier(hidden_layer_sizes=(5,), alpha=2.0, tol=0, random_state=0)
    clf.fit(X, y)
    Y = LabelBinarizer().fit_transform(y)
    J, grad = cost_function(unroll(clf.thetas_), clf.layer_sizes_, X, Y, 2.0)
    np.testing.assert_allclose(clf.loss_, J, rtol=1e-12)
    assert np.abs(grad).max() < 1e-6  # trained to a minimum


def test_loss_curve_decreases_from_initial_cost(iris):
    X, y = iris
    clf = BackpropClassifier(
        hidden_layer_sizes=(5,), max_iter=30, tol=0, random_state=0
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    curve = np.array(clf.loss_curve_)
    assert len(curve) == 30
    assert np.all(np.diff(curve) <= 1e-12)  # L-BFGS-B never goes uphill
    assert curve[-1] < curve[0]


def test_iteration_limit_warns(iris):
    X, y = iris
    with pytest.warns(ConvergenceWarning, match="max_iter=3"):
        clf = BackpropClassifier(max_iter=3, random_state=0).fit(X, y)
    assert clf.n_iter_ == 3


def test_no_hidden_layer_is_one_vs_all_logistic_regression(iris):
    X, y = iris
    clf = BackpropClassifier(hidden_layer_sizes=(), random_state=0).fit(X, y)
    assert clf.layer_sizes_ == (4, 3)
    assert clf.score(X, y) > 0.9


# ---------------------------------------------------------------------------
# Targets: binary, multiclass, string labels, multilabel
# ---------------------------------------------------------------------------


def test_binary_uses_one_output_unit(iris):
    X, y = iris
    mask = y > 0
    clf = BackpropClassifier(hidden_layer_sizes=(4,), random_state=0)
    clf.fit(X[mask], y[mask])
    assert clf.layer_sizes_[-1] == 1
    proba = clf.predict_proba(X[mask])
    assert proba.shape == (mask.sum(), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    z = clf.decision_function(X[mask])
    assert z.shape == (mask.sum(),)
    np.testing.assert_allclose(proba[:, 1], 1 / (1 + np.exp(-z)), rtol=1e-12)
    np.testing.assert_array_equal(clf.predict(X[mask]), np.where(z > 0, 2, 1))


def test_string_labels(iris):
    X, y = iris
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    clf = BackpropClassifier(hidden_layer_sizes=(5,), random_state=0).fit(X, names)
    np.testing.assert_array_equal(clf.classes_, ["setosa", "versicolor", "virginica"])
    pred = clf.predict(X)
    assert pred.dtype == names.dtype
    assert np.mean(pred == names) > 0.9


def test_multiclass_probabilities_normalise_one_vs_all_outputs(iris):
    X, y = iris
    clf = BackpropClassifier(hidden_layer_sizes=(5,), random_state=0).fit(X, y)
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    h = 1 / (1 + np.exp(-clf.decision_function(X)))
    np.testing.assert_allclose(proba, h / h.sum(axis=1, keepdims=True), rtol=1e-10)
    np.testing.assert_allclose(clf.predict_log_proba(X), np.log(proba), rtol=1e-10)
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[h.argmax(axis=1)])


def test_log_proba_finite_when_saturated(iris):
    X, y = iris
    clf = BackpropClassifier(hidden_layer_sizes=(5,), random_state=0).fit(X, y)
    log_p = clf.predict_log_proba(X * 1e6)
    assert np.all(np.isfinite(log_p))


def test_multilabel_indicator_targets():
    X, Y = make_multilabel_classification(n_samples=120, n_classes=4, random_state=0)
    X = StandardScaler().fit_transform(X)
    clf = BackpropClassifier(hidden_layer_sizes=(10,), random_state=0).fit(X, Y)
    assert clf.layer_sizes_[-1] == 4
    proba = clf.predict_proba(X)
    assert proba.shape == (120, 4)
    h = 1 / (1 + np.exp(-clf.decision_function(X)))
    np.testing.assert_allclose(proba, h, rtol=1e-12)  # independent, not normalised
    pred = clf.predict(X)
    np.testing.assert_array_equal(pred, (h > 0.5).astype(int))
    assert np.mean(pred == Y) > 0.85


# ---------------------------------------------------------------------------
# Sample weights
# ---------------------------------------------------------------------------


# ---------------------------------------------------------------------------
# Working with scikit-learn's tools
# ---------------------------------------------------------------------------


def test_pipeline_gridsearch_crossvalidate_on_digits(digits):
    X, y = digits
    # Seeded: unseeded weights come from numpy's global generator, whose
    # state depends on which tests ran before (best scores 0.9733-0.9755
    # over seeds 0-4 against the 0.97 floor).
    pipe = Pipeline(
        [("scale", StandardScaler()), ("net", BackpropClassifier(random_state=0))]
    )
    search = GridSearchCV(
        pipe,
        {"net__alpha": [0.1, 1.0, 3.0]},
        cv=StratifiedKFold(5, shuffle=True, random_state=0),
    )
    search.fit(X, y)
    assert search.best_score_ >= 0.97
    scores = cross_validate(
        Pipeline(
            [
                ("scale", StandardScaler()),
                ("net", BackpropClassifier(alpha=3.0, random_state=0)),
            ]
        ),
        X,
        y,
        cv=3,
    )["test_score"]
    assert scores.mean() > 0.9


def test_clone_keeps_params_and_drops_fit(iris):
    X, y = iris
    clf = BackpropClassifier(hidden_layer_sizes=(7, 3), alpha=0.5, random_state=1)
    clf.fit(X, y)
    copy = clone(clf)
    assert copy.get_params() == clf.get_params()
    assert not hasattr(copy, "thetas_")
    with pytest.raises(NotFittedError):
        copy.predict(X)


def test_feature_names_in_from_dataframe(iris):
    import pandas as pd  # in the test extra

    X, y = iris
    df = pd.DataFrame(X, columns=["sl", "sw", "pl", "pw"])
    clf = BackpropClassifier(hidden_layer_sizes=(3,), random_state=0).fit(df, y)
    np.testing.assert_array_equal(clf.feature_names_in_, ["sl", "sw", "pl", "pw"])
    with pytest.raises(ValueError, match="feature names"):
        clf.predict(df.rename(columns={"sl": "x"}))


def test_accuracy_on_held_out_digits(digits):
    X, y = digits
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, stratify=y, random_state=0)
    pipe = Pipeline(
        [("scale", StandardScaler()), ("net", BackpropClassifier(random_state=0))]
    )
    assert pipe.fit(X_tr, y_tr).score(X_te, y_te) > 0.96


# ---------------------------------------------------------------------------
# Bad input
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sample_weight, match",
    [
        (-np.ones(150), "Negative"),
        (np.zeros(150), "sum of sample_weight is zero"),
        (np.ones(10), "shape"),
        (np.full(150, np.nan), "NaN"),
    ],
)
def test_bad_sample_weight(iris, sample_weight, match):
    X, y = iris
    with pytest.raises(ValueError, match=match):
        BackpropClassifier().fit(X, y, sample_weight=sample_weight)


def test_single_class_is_refused(iris):
    X, _ = iris
    with pytest.raises(ValueError, match="at least 2 classes"):
        BackpropClassifier().fit(X, np.zeros(len(X)))


def test_continuous_target_is_refused(iris):
    X, _ = iris
    with pytest.raises(ValueError, match="Unknown label type"):
        BackpropClassifier().fit(X, np.linspace(0, 1, len(X)))


def test_predict_before_fit(iris):
    with pytest.raises(NotFittedError):
        BackpropClassifier().predict(iris[0])


def test_wrong_number_of_features_at_predict(iris):
    X, y = iris
    clf = BackpropClassifier(hidden_layer_sizes=(3,), random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="features"):
        clf.predict(X[:, :3])


# ---------------------------------------------------------------------------
# Unrolling the fitted weights
# ---------------------------------------------------------------------------


def test_roll_of_fitted_thetas_roundtrips(small):
    X, y = small
    clf = BackpropClassifier(hidden_layer_sizes=(3,), random_state=0).fit(X, y)
    for a, b in zip(roll(unroll(clf.thetas_), clf.layer_sizes_), clf.thetas_):
        np.testing.assert_array_equal(a, b)
