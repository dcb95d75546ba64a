"""A validation set passed to fit (X_val, y_val, sample_weight_val), and the
validation loss curve recorded on it or on the early-stopping hold-out."""

import pickle
import re
import warnings

import numpy as np
import pytest
import sklearn
from sklearn.base import clone
from sklearn.datasets import load_digits, load_iris, make_multilabel_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import LabelBinarizer, StandardScaler

from skbackprop import BackpropClassifier, BackpropRegressor
from skbackprop.backprop import cost_function, unroll


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    return X[:600], y[:600], X[600:800], y[600:800]


def validation_cost(clf, X_val, y_val, sample_weight_val=None):
    """The course's J at alpha=0 on the validation rows, by the reference."""
    Y_val = LabelBinarizer().fit(clf.classes_).transform(y_val)
    if clf.output_activation == "softmax" and Y_val.shape[1] == 1:
        Y_val = np.hstack([1 - Y_val, Y_val])
    J, _ = cost_function(
        unroll(clf.thetas_),
        clf.layer_sizes_,
        X_val,
        Y_val,
        0.0,
        sample_weight_val,
        activation=clf.activation,
        output_activation=clf.output_activation,
    )
    return J


# ---------------------------------------------------------------------------
# The rows validated on
# ---------------------------------------------------------------------------


def test_validates_on_exactly_the_given_rows(digits, monkeypatch):
    X, y, X_val, y_val = digits
    seen = []
    original = BackpropClassifier._validation_score

    def spy(self, z, y_val_seen, sample_weight_val, encoding):
        seen.append((z.shape, np.array(y_val_seen), sample_weight_val))
        return original(self, z, y_val_seen, sample_weight_val, encoding)

    monkeypatch.setattr(BackpropClassifier, "_validation_score", spy)
    w_val = np.linspace(0.5, 2.0, len(y_val))
    clf = BackpropClassifier(early_stopping=True, random_state=0)
    clf.fit(X, y, X_val=X_val, y_val=y_val, sample_weight_val=w_val)
    assert len(seen) == clf.n_iter_ == len(clf.validation_scores_)
    for shape, labels, weights in seen:
        assert shape == (len(y_val), 10)
        np.testing.assert_array_equal(labels, y_val)
        np.testing.assert_array_equal(weights, w_val)
    # No hold-out was taken from X: J at the weights kept is J on all of X.
    Y = LabelBinarizer().fit_transform(y)
    J, _ = cost_function(unroll(clf.thetas_), clf.layer_sizes_, X, Y, clf.alpha)
    assert clf.loss_ == pytest.approx(J, rel=1e-12)


def test_scores_and_loss_at_the_kept_weights(digits):
    X, y, X_val, y_val = digits
    w_val = np.random.RandomState(0).randint(0, 3, len(y_val))
    clf = BackpropClassifier(early_stopping=True, n_iter_no_change=5, random_state=0)
    clf.fit(X, y, X_val=X_val, y_val=y_val, sample_weight_val=w_val)
    scores = np.asarray(clf.validation_scores_)
    kept = len(scores) - 1 - int(np.argmax(scores[::-1]))  # the latest best
    assert clf.best_validation_score_ == scores[kept]
    assert clf.score(X_val, y_val, sample_weight=w_val) == pytest.approx(scores[kept])
    assert len(clf.validation_loss_curve_) == clf.n_iter_
    assert clf.validation_loss_curve_[kept] == pytest.approx(
        validation_cost(clf, X_val, y_val, w_val), rel=1e-10
    )


@pytest.mark.parametrize("output_activation", ["sigmoid", "softmax"])
def test_without_early_stopping_it_is_only_scored(digits, output_activation):
    X, y, X_val, y_val = digits
    kwargs = dict(output_activation=output_activation, tol=1e-3, random_state=0)
    plain = BackpropClassifier(**kwargs).fit(X, y)
    clf = BackpropClassifier(**kwargs).fit(X, y, X_val=X_val, y_val=y_val)
    # The same fit as without X_val: it is scored, and does not steer.
    np.testing.assert_array_equal(clf.thetas_[0], plain.thetas_[0])
    assert clf.best_validation_score_ is None
    assert plain.validation_scores_ is None and plain.validation_loss_curve_ is None
    assert len(clf.validation_scores_) == len(clf.validation_loss_curve_)
    assert len(clf.validation_scores_) == clf.n_iter_
    # The plateau rule stopped it: the weights are the last iterate's.
    assert clf.validation_scores_[-1] == pytest.approx(clf.score(X_val, y_val))
    assert clf.validation_loss_curve_[-1] == pytest.approx(
        validation_cost(clf, X_val, y_val), rel=1e-10
    )


def test_early_stopping_hold_out_records_its_loss_curve(digits):
    X, y, _, _ = digits
    clf = BackpropClassifier(early_stopping=True, random_state=0).fit(X, y)
    assert len(clf.validation_loss_curve_) == clf.n_iter_
    assert all(np.isfinite(clf.validation_loss_curve_))
    # Falling at first, as the network learns.
    assert clf.validation_loss_curve_[-1] < clf.validation_loss_curve_[0]


def test_binary_multilabel_and_float32():
    X, y = load_iris(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    binary = y != 0
    # tol=1e-3 on these tiny problems: stopped by the plateau rule, so the
    # weights are the last iterate's (a tight fit is polished after it).
    clf = BackpropClassifier(hidden_layer_sizes=(3,), tol=1e-3, random_state=0)
    clf.fit(X[::2], binary[::2], X_val=X[1::2], y_val=binary[1::2])
    assert clf.validation_loss_curve_[-1] == pytest.approx(
        validation_cost(clf, X[1::2], binary[1::2]), rel=1e-10
    )
    Xm, Ym = make_multilabel_classification(n_samples=120, random_state=0)
    clf = BackpropClassifier(hidden_layer_sizes=(4,), tol=1e-3, random_state=0)
    clf.fit(Xm[:80], Ym[:80], X_val=Xm[80:], y_val=Ym[80:])
    J, _ = cost_function(unroll(clf.thetas_), clf.layer_sizes_, Xm[80:], Ym[80:], 0.0)
    assert clf.validation_loss_curve_[-1] == pytest.approx(J, rel=1e-10)
    # float32 training data: the validation data are computed in float32 too.
    clf = BackpropClassifier(hidden_layer_sizes=(3,), tol=1e-3, random_state=0)
    X32 = X.astype(np.float32)
    clf.fit(X32[::2], y[::2], X_val=X[1::2], y_val=y[1::2])
    assert clf.validation_loss_curve_[-1] == pytest.approx(
        validation_cost(clf, X32[1::2], y[1::2]), rel=1e-5
    )


def test_y_val_may_miss_classes(digits):
    X, y, X_val, y_val = digits
    keep = y_val < 5
    clf = BackpropClassifier(early_stopping=True, random_state=0)
    clf.fit(X, y, X_val=X_val[keep], y_val=y_val[keep])
    assert clf.validation_loss_curve_[-1] > 0


# ---------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------


def _bad_calls(X, y, X_val, y_val):
    return [
        (dict(X_val=X_val), "X_val is provided, but y_val was not provided"),
        (dict(y_val=y_val), "y_val is provided, but X_val was not provided"),
        (
            dict(sample_weight_val=np.ones(len(y_val))),
            "sample_weight_val is provided, but X_val and y_val were not",
        ),
        (
            dict(X_val=X_val, y_val=y_val[:-1]),
            f"X_val and y_val have different numbers of samples: {len(y_val)} "
            f"and {len(y_val) - 1}",
        ),
        (dict(X_val=X_val[:, :-1], y_val=y_val), "X_val is not valid input.*features"),
        (
            dict(X_val=X_val, y_val=np.where(y_val == 3, 11, y_val)),
            r"y_val has labels not seen in training: \[11\]",
        ),
        (
            dict(X_val=X_val, y_val=y_val, sample_weight_val=np.ones(3)),
            r"sample_weight_val.shape == \(3,\)",
        ),
        (
            dict(X_val=X_val, y_val=y_val, sample_weight_val=-np.ones(len(y_val))),
            "Negative values in data passed to sample_weight_val",
        ),
        (
            dict(X_val=np.full_like(X_val, np.nan), y_val=y_val),
            "X_val is not valid input.*NaN",
        ),
        (
            dict(X_val=X_val, y_val=np.eye(10)[y_val]),
            "y_val is a multilabel indicator matrix, but y is not",
        ),
    ]


@pytest.mark.parametrize("case", range(10))
def test_bad_validation_data_is_refused_and_changes_nothing(digits, case):
    X, y, X_val, y_val = digits
    kwargs, message = _bad_calls(X, y, X_val, y_val)[case]
    clf = BackpropClassifier(hidden_layer_sizes=(3,), max_iter=3, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    before = pickle.dumps(clf)
    with pytest.raises(ValueError, match=message):
        clf.fit(X, y, **kwargs)
    assert pickle.dumps(clf) == before


def test_multilabel_y_val_must_match():
    Xm, Ym = make_multilabel_classification(n_samples=60, n_classes=4, random_state=0)
    clf = BackpropClassifier(hidden_layer_sizes=(3,), random_state=0)
    with pytest.raises(ValueError, match="y_val must be one too"):
        clf.fit(Xm, Ym, X_val=Xm, y_val=Ym[:, :3])
    with pytest.raises(ValueError, match="y_val must be one too"):
        clf.fit(Xm, Ym, X_val=Xm, y_val=Ym[:, 0])


# ---------------------------------------------------------------------------
# Metadata routing
# ---------------------------------------------------------------------------


def test_routed_through_a_pipeline_with_transform_input(digits):
    X, y, X_val, y_val = digits
    X, X_val = 16 * X, 16 * X_val  # raw pixels: the pipeline scales them
    net = BackpropClassifier(early_stopping=True, random_state=0)
    with sklearn.config_context(enable_metadata_routing=True):
        pipe = Pipeline(
            [
                ("scale", StandardScaler()),
                ("net", net.set_fit_request(X_val=True, y_val=True)),
            ],
            transform_input=["X_val"],
        )
        pipe.fit(X, y, X_val=X_val, y_val=y_val)
    scaler = StandardScaler().fit(X)
    by_hand = BackpropClassifier(early_stopping=True, random_state=0).fit(
        scaler.transform(X), y, X_val=scaler.transform(X_val), y_val=y_val
    )
    assert pipe["net"].validation_scores_ == by_hand.validation_scores_
    assert pipe["net"].validation_loss_curve_ == by_hand.validation_loss_curve_


def test_fit_request_names_the_validation_parameters():
    with sklearn.config_context(enable_metadata_routing=True):
        request = BackpropClassifier().set_fit_request(
            X_val=True, y_val=True, sample_weight_val=True
        )
        routing = request.get_metadata_routing()
    assert routing.fit.requests == {
        "sample_weight": None,
        "X_val": True,
        "y_val": True,
        "sample_weight_val": True,
    }


# ---------------------------------------------------------------------------
# y_val is checked as y is, in errors that name y_val
# ---------------------------------------------------------------------------


def _error(fit):
    with pytest.raises(ValueError) as info:
        fit()
    return str(info.value)


def _named_as_y(message_y, message_val):
    """Whether ``message_val`` is ``message_y`` with ``y_val`` for ``y``."""
    return "y_val" in message_val and (
        re.sub(r"\by\b", "y_val", message_y) in message_val or message_y in message_val
    )


def _classification_targets():
    X, y = load_iris(return_X_y=True)
    Xm, Ym = make_multilabel_classification(n_samples=40, n_classes=3, random_state=0)
    labels = np.array(["setosa", "versicolor", "virginica"], dtype=object)[y]
    row_3 = np.arange(len(y)) == 3
    return [
        ("multilabel {0, 2}", Xm, Ym, 2 * Ym),
        ("multilabel {-1, 1}", Xm, Ym, 2 * Ym - 1),
        ("NaN label", X, y, np.where(row_3, np.nan, y)),
        ("infinite label", X, y, np.where(row_3, np.inf, y)),
        ("None among labels", X, labels, np.where(row_3, None, labels)),
        ("continuous", X, y, y + 0.5),
    ]


@pytest.mark.parametrize("case", range(6))
def test_y_val_is_refused_where_y_would_be(case):
    name, X, y, bad = _classification_targets()[case]
    clf = BackpropClassifier(hidden_layer_sizes=(2,), max_iter=2, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    before = pickle.dumps(clf)
    message_y = _error(lambda: clone(clf).fit(X, bad))
    message_val = _error(lambda: clf.fit(X, y, X_val=X, y_val=bad))
    assert _named_as_y(message_y, message_val), (name, message_y, message_val)
    assert pickle.dumps(clf) == before


@pytest.mark.parametrize("bad", ["NaN", "inf", "strings"])
def test_regressor_y_val_is_refused_where_y_would_be(bad):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((30, 3))
    y = X.sum(axis=1)
    values = {"NaN": np.nan, "inf": np.inf, "strings": "a"}
    y_bad = y.astype(object if bad == "strings" else float)
    y_bad[4] = values[bad]
    reg = BackpropRegressor(hidden_layer_sizes=(2,), max_iter=2)
    message_y = _error(lambda: clone(reg).fit(X, y_bad))
    message_val = _error(lambda: reg.fit(X, y, X_val=X, y_val=y_bad))
    assert _named_as_y(message_y, message_val), (message_y, message_val)
    assert not hasattr(reg, "thetas_")


@pytest.mark.parametrize("outputs", [1, 2, 3])
def test_regressor_y_val_needs_the_outputs_of_y(outputs):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((30, 3))
    Y = X[:, :2]  # two outputs
    y_val = X[:, :outputs] if outputs > 1 else X[:, 0]
    reg = BackpropRegressor(hidden_layer_sizes=(2,), max_iter=2)
    if outputs == 2:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            reg.fit(X, Y, X_val=X, y_val=y_val)
        assert len(reg.validation_scores_) == reg.n_iter_
        return
    message = _error(lambda: reg.fit(X, Y, X_val=X, y_val=y_val))
    assert message.startswith(f"y_val has {outputs} output(s), but y has 2")
    assert "warm_start" not in message
