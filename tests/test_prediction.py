"""The prediction path (skbackprop/_predict.py) pinned to the reference results.

Every method of both estimators, on dense float64, float32 and sparse input,
against a forward pass and log-softmax written out here (numpy and scipy's
``logsumexp``, the implementation before the fast path); the route that skips
``validate_data`` against the one that takes it, to the bit; and the inputs
that must still get scikit-learn's errors and warnings. Then inputs that
drive the output layer to ``z = +-inf``: probabilities at their limits, or
a clear error.
"""

import itertools
import warnings

import numpy as np
import pytest
import scipy
import scipy.sparse
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from scipy.special import expit, log_expit, logsumexp
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning, NotFittedError

from skbackprop import BackpropClassifier, BackpropRegressor
from skbackprop._predict import (
    is_ready_for_prediction,
    log_softmax_rows,
    normalize_sigmoid_rows,
    softmax_rows,
)

from _helpers import iris_scaled

#: scipy's logsumexp has had today's arithmetic (ties taken out, log1p) since 1.15.
SCIPY_LOG1P_LOGSUMEXP = tuple(int(p) for p in scipy.__version__.split(".")[:2]) >= (
    1,
    15,
)


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:240] / 16.0, y[:240]


def _fit(estimator, X, y):
    return estimator.set_params(
        hidden_layer_sizes=(7,), max_iter=15, tol=0, random_state=0
    ).fit(X, y)


@pytest.fixture(scope="module")
def models(digits):
    """One fitted model per output layer: name -> (model, its y)."""
    X, y = digits
    labels = {
        "ova": y,
        "softmax": y,
        "binary": y % 2,
        "multilabel": np.stack([y % 2, y > 4, y == 0], axis=1).astype(int),
        "regressor": np.stack([y / 9.0, np.sin(y)], axis=1),
        "regressor_1d": y / 9.0,
    }
    out = {}
    for name, target in labels.items():
        if name.startswith("regressor"):
            est = BackpropRegressor()
        else:
            est = BackpropClassifier(
                output_activation="softmax" if name == "softmax" else "sigmoid"
            )
        out[name] = _fit(est, X, target)
    return out


def _reference_z(model, X):
    """``z(L)``, written out: ``a = g(a Theta[:, 1:]^T + Theta[:, 0])`` per layer."""
    dtype = np.float32 if X.dtype == np.float32 else np.float64
    a = X.toarray() if sp.issparse(X) else np.asarray(X)
    thetas = [np.asarray(t, dtype=dtype) for t in model.thetas_]
    for theta in thetas[:-1]:
        a = expit(a @ theta[:, 1:].T + theta[:, 0])
    return a @ thetas[-1][:, 1:].T + thetas[-1][:, 0]


def _reference_log_proba(name, z):
    """The log-probabilities as computed before the fast path (scipy's logsumexp)."""
    if name == "multilabel":
        return log_expit(z)
    if name == "binary":
        return np.concatenate([log_expit(-z), log_expit(z)], axis=1)
    scores = z if name == "softmax" else log_expit(z)
    return scores - logsumexp(scores, axis=1, keepdims=True)


def _assert_within_rounding(proba, log_proba):
    """``proba`` equals ``exp(log_proba)`` to float rounding.

    An absolute error of a few ulps in ``log p`` is a relative error
    ``|log p|`` times larger in ``exp(log p)``: the bound grows with it.
    """
    eps = np.finfo(proba.dtype).eps
    expected = np.exp(log_proba)
    finite = np.isfinite(log_proba)
    assert_array_equal(proba[~finite], 0.0)  # log p = -inf: p = 0, exactly
    proba, log_proba, expected = proba[finite], log_proba[finite], expected[finite]
    bound = 16 * eps * (1 + np.abs(log_proba)) * expected
    assert np.all(np.abs(proba - expected) <= bound), np.max(
        np.abs(proba - expected) / np.maximum(bound, np.finfo(proba.dtype).tiny)
    )


def _inputs(X):
    return {
        "float64": X,
        "float32": X.astype(np.float32),
        "csr": sp.csr_matrix(X),
        "csc_float32": sp.csc_matrix(X.astype(np.float32)),
        "fortran": np.asfortranarray(X),
    }


def _tolerance(X):
    return 2e-5 if X.dtype == np.float32 else 1e-12


@pytest.mark.parametrize(
    "kind", ["float64", "float32", "csr", "csc_float32", "fortran"]
)
@pytest.mark.parametrize("name", ["ova", "softmax", "binary", "multilabel"])
def test_classifier_methods_match_the_reference(models, digits, name, kind):
    X = _inputs(digits[0][:50])[kind]
    clf = models[name]
    z = _reference_z(clf, X)
    rtol = _tolerance(X)
    log_proba = clf.predict_log_proba(X)
    assert log_proba.dtype == z.dtype
    assert_allclose(log_proba, _reference_log_proba(name, z), rtol=rtol, atol=rtol)
    # predict_proba is computed directly: within float rounding of
    # exp(predict_log_proba), no longer equal to the bit.
    proba = clf.predict_proba(X)
    assert proba.dtype == z.dtype
    _assert_within_rounding(proba, log_proba)
    decision = clf.decision_function(X)
    expected = z[:, 0] if z.shape[1] == 1 else z
    assert_allclose(decision, expected, rtol=rtol, atol=rtol)
    if name == "multilabel":
        assert_array_equal(clf.predict(X), (z > 0).astype(int))
    else:
        # Away from ties the labels are those of the reference's scores.
        order = np.sort(log_proba, axis=1)
        clear = order[:, -1] - order[:, -2] > 1e-4
        expected = clf.classes_[np.argmax(_reference_log_proba(name, z), axis=1)]
        assert_array_equal(clf.predict(X)[clear], expected[clear])


@pytest.mark.parametrize(
    "kind", ["float64", "float32", "csr", "csc_float32", "fortran"]
)
@pytest.mark.parametrize("name", ["regressor", "regressor_1d"])
def test_regressor_predict_matches_the_reference(models, digits, name, kind):
    X = _inputs(digits[0][:50])[kind]
    reg = models[name]
    z = _reference_z(reg, X)
    pred = reg.predict(X)
    assert pred.dtype == z.dtype
    expected = z.ravel() if name == "regressor_1d" else z
    assert_allclose(pred, expected, rtol=_tolerance(X), atol=_tolerance(X))


@pytest.mark.parametrize(
    "name", ["ova", "softmax", "binary", "multilabel", "regressor"]
)
@pytest.mark.parametrize("n_rows", [1, 10])
def test_fast_route_equals_validated_route_to_the_bit(models, digits, name, n_rows):
    """An ndarray skips validate_data; a list goes through it: the same numbers."""
    model = models[name]
    X = digits[0][:n_rows]
    assert is_ready_for_prediction(model, X)
    assert not is_ready_for_prediction(model, X.tolist())
    methods = ["predict"]
    if name != "regressor":
        methods += ["predict_proba", "predict_log_proba", "decision_function"]
    for method in methods:
        fast = getattr(model, method)(X)
        validated = getattr(model, method)(X.tolist())
        assert type(fast) is np.ndarray
        assert fast.dtype == validated.dtype
        assert_array_equal(fast, validated)


def test_what_is_not_ready_goes_through_validation(models, digits):
    clf = models["ova"]
    X = digits[0][:3]
    assert not is_ready_for_prediction(clf, X[:, :-1])  # wrong width
    assert not is_ready_for_prediction(clf, X[:0])  # no rows
    assert not is_ready_for_prediction(clf, X.astype(int))
    assert not is_ready_for_prediction(clf, X.astype(">f8"))  # byte-swapped
    assert not is_ready_for_prediction(clf, X[0])  # 1-D
    assert not is_ready_for_prediction(clf, np.ma.masked_array(X))  # a subclass
    bad = X.copy()
    bad[1, 2] = np.nan
    assert not is_ready_for_prediction(clf, bad)
    bad[1, 2] = np.inf
    assert not is_ready_for_prediction(clf, bad)
    huge = np.full_like(X, 1e308)  # finite values whose sum overflows
    assert not is_ready_for_prediction(clf, huge)


def test_errors_and_warnings_are_scikit_learns(models, digits):
    clf = models["ova"]
    X = digits[0][:3]
    with pytest.raises(ValueError, match="features"):
        clf.predict_proba(X[:, :-1])
    bad = X.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        clf.predict_proba(bad)
    with pytest.raises(ValueError, match="minimum of 1 is required"):
        clf.predict(X[:0])
    with pytest.raises(NotFittedError):
        BackpropClassifier().predict_proba(X)
    # Values whose sum overflows are finite: predicted, not refused.
    assert np.isfinite(clf.decision_function(np.full_like(X, 1e300))).all()


def test_feature_names_warning_kept(digits):
    pd = pytest.importorskip("pandas")
    X, y = digits
    frame = pd.DataFrame(X[:, :8], columns=[f"f{i}" for i in range(8)])
    clf = _fit(BackpropClassifier(), frame, y % 2)
    assert not is_ready_for_prediction(clf, X[:2, :8])
    with pytest.warns(UserWarning, match="feature names"):
        clf.predict_proba(X[:2, :8])
    assert_array_equal(clf.predict_proba(frame[:2]), clf.predict_proba(X[:2, :8]))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_log_softmax_rows_is_scipys_logsumexp(dtype):
    rng = np.random.default_rng(0)
    scores = rng.normal(scale=30, size=(200, 7)).astype(dtype)
    scores[:20, 3] = scores[:20, 5] = scores[:20].max(axis=1) + 1  # tied maxima
    scores[20:40] = 2.5  # every entry tied
    scores[40, :] = [-1e30, 0, 1, 2, 3, 4, 5]  # a term that underflows
    expected = scores - logsumexp(scores, axis=1, keepdims=True)
    got = log_softmax_rows(scores)
    assert got.dtype == dtype
    if SCIPY_LOG1P_LOGSUMEXP:
        assert_array_equal(got, expected)  # the same arithmetic
    else:  # the older plain sum: apart by the rounding of x - logsumexp(x)
        eps = np.finfo(dtype).eps
        lse = logsumexp(scores.astype(np.float64), axis=1, keepdims=True)
        scale = 1 + np.abs(lse) + np.abs(scores)
        assert np.all(np.abs(got - expected) <= 8 * eps * scale)
    assert_allclose(np.exp(got).sum(axis=1), 1.0, rtol=64 * np.finfo(dtype).eps)


@pytest.mark.parametrize("name", ["ova", "softmax", "binary", "multilabel"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_proba_at_the_edges_takes_the_logarithmic_route(models, name, dtype):
    """Scores whose g(z) would be subnormal, or infinite: exp(log_proba) exactly
    where the direct form would lose precision, their limits otherwise."""
    clf = models[name]
    n_out = clf.thetas_[-1].shape[0]
    z = np.tile(np.linspace(-3, 3, n_out), (6, 1)).astype(dtype)
    z[1] -= 2000.0  # every unit far below: g(z) underflows
    z[2, 0] = -np.inf
    z[3, -1] = np.inf
    z[4] = -np.inf
    z[5, :] = np.inf
    with np.errstate(invalid="ignore", over="ignore"):
        log_proba = clf._log_proba(z)
        proba = clf._proba(z)
    assert proba.dtype == dtype
    assert np.isfinite(proba).all() and (proba >= 0).all()
    eps = np.finfo(dtype).eps
    _assert_within_rounding(proba, log_proba)
    if name in ("ova", "softmax"):
        # Not row 1: log-probabilities near -2000 carry 2000 times the rounding.
        assert_allclose(proba[[0, 2, 3, 4, 5]].sum(axis=1), 1.0, rtol=16 * eps)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_direct_forms_match_the_logarithmic_ones(dtype):
    rng = np.random.default_rng(1)
    z = rng.normal(scale=10, size=(100, 6)).astype(dtype)
    _assert_within_rounding(softmax_rows(z.copy()), log_softmax_rows(z))
    ls = log_expit(z)
    _assert_within_rounding(
        normalize_sigmoid_rows(z), ls - logsumexp(ls, axis=1, keepdims=True)
    )
    low = np.log(np.finfo(dtype).tiny)
    assert normalize_sigmoid_rows(z + dtype(low)) is None  # g(z) would be subnormal


# ---------------------------------------------------------------------------
# Inputs that saturate the output layer (z = +-inf)
# ---------------------------------------------------------------------------


def _targets(kind, y_iris):
    if kind == "binary":
        return y_iris == 1
    if kind == "multilabel":
        return np.c_[y_iris == 0, y_iris == 1, y_iris == 2]
    return y_iris


OUTPUT_LAYERS = [  # (targets, output_activation)
    ("multiclass", "sigmoid"),
    ("multiclass", "softmax"),
    ("binary", "sigmoid"),
    ("binary", "softmax"),
    ("multilabel", "sigmoid"),
]


def _saturating_rows(dtype):
    """Every sign pattern of {-1, 0, 1} * (nearly) the largest float, 81 rows."""
    signs = np.array(list(itertools.product([-1.0, 0.0, 1.0], repeat=4)))
    return (signs * 0.95 * np.finfo(dtype).max).astype(dtype)


def _predictions(est, X_):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a NaN would come with a RuntimeWarning
        return {
            "decision_function": est.decision_function(X_),
            "predict_proba": est.predict_proba(X_),
            "predict_log_proba": est.predict_log_proba(X_),
            "predict": est.predict(X_),
        }


def _check_probabilities(est, out, multilabel):
    proba, log_proba = out["predict_proba"], out["predict_log_proba"]
    assert not np.isnan(out["decision_function"]).any()
    assert np.all(np.isfinite(proba)) and np.all((proba >= 0) & (proba <= 1))
    assert not np.isnan(log_proba).any() and np.all(log_proba <= 0)
    # predict_proba is computed directly (skbackprop/_predict.py): within
    # float rounding of exp(predict_log_proba), not equal to the bit.
    eps = np.finfo(proba.dtype).eps
    np.testing.assert_allclose(proba, np.exp(log_proba), rtol=16 * eps, atol=16 * eps)
    if multilabel:
        np.testing.assert_array_equal(out["predict"], (proba > 0.5).astype(int))
    else:
        np.testing.assert_allclose(
            proba.sum(axis=1), 1.0, rtol=4 * np.finfo(proba.dtype).eps
        )
        # predict reads z, finer than probabilities that round to a tie
        top_two = np.sort(proba, axis=1)[:, -2:]
        clear = top_two[:, 1] > top_two[:, 0]
        expected = est.classes_[np.argmax(proba, axis=1)]
        np.testing.assert_array_equal(out["predict"][clear], expected[clear])


@pytest.mark.parametrize("targets, output_activation", OUTPUT_LAYERS)
@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu"])
@pytest.mark.parametrize("hidden", [(), (5,)])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_predictions_at_saturating_inputs_are_probabilities_or_refused(
    targets, output_activation, activation, hidden, dtype
):
    """Each row: finite probabilities summing to 1, or the clear "scale" error."""
    X_iris, y_iris = iris_scaled()
    est = BackpropClassifier(
        hidden_layer_sizes=hidden,
        activation=activation,
        output_activation=output_activation,
        random_state=0,
        max_iter=60,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X_iris, _targets(targets, y_iris))
    rows = _saturating_rows(dtype)
    n_accepted = n_saturated = 0
    # One row at a time: scikit-learn's finiteness check sums X, which for
    # rows of both signs near the float maximum warns (a known limit).
    for row in np.split(rows, len(rows)):
        try:
            est.decision_function(row)
        except ValueError as exc:  # inf - inf inside the network: refused
            assert "overflowed to NaN" in str(exc)
            for method in ("predict", "predict_proba", "predict_log_proba"):
                with pytest.raises(ValueError, match="Scale the data"):
                    getattr(est, method)(row)
            continue
        n_accepted += 1
        _check_probabilities(
            est, _predictions(est, row), multilabel=targets == "multilabel"
        )
        n_saturated += np.isinf(est._output_z(row)).any()
    assert n_accepted > 0
    if hidden == () or activation == "relu":  # else z(L) is bounded
        assert n_saturated > 0  # z = +-inf was reached


def _no_hidden_model(output_activation, theta, binary=False):
    """An iris model (no hidden layer) whose output weights are ``theta``."""
    X_iris, y_iris = iris_scaled()
    est = BackpropClassifier(
        hidden_layer_sizes=(), output_activation=output_activation, max_iter=5
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X_iris, y_iris == 1 if binary else y_iris)
    est.thetas_ = [np.asarray(theta, dtype=float)]
    return est


# z = 2 * x_1 per unit: x_1 = +-1.7e308 gives z = +-inf exactly.
TWO_UP_ONE_DOWN = [[0, 2, 0, 0, 0], [0, 2, 0, 0, 0], [0, -2, 0, 0, 0]]


ALL_UP = [[0, 2, 0, 0, 0]] * 3


BIG = 1.7e308


@pytest.mark.parametrize("output_activation", ["sigmoid", "softmax"])
@pytest.mark.parametrize(
    "theta, x1, expected",
    [
        # two units at +inf, one at -inf: the two share, the third gets 0
        (TWO_UP_ONE_DOWN, BIG, [0.5, 0.5, 0.0]),
        # one unit at +inf, two at -inf
        (TWO_UP_ONE_DOWN, -BIG, [0.0, 0.0, 1.0]),
        # every unit at -inf (the one-vs-all NaN of the issue), or at +inf
        (ALL_UP, -BIG, [1 / 3, 1 / 3, 1 / 3]),
        (ALL_UP, BIG, [1 / 3, 1 / 3, 1 / 3]),
    ],
)
def test_probabilities_at_infinite_z_are_the_limits(
    output_activation, theta, x1, expected
):
    est = _no_hidden_model(output_activation, theta)
    row = np.array([[x1, 0.0, 0.0, 0.0]])
    out = _predictions(est, row)
    assert np.isinf(out["decision_function"]).all()
    np.testing.assert_allclose(out["predict_proba"], [expected], rtol=1e-15)
    assert out["predict"][0] == est.classes_[np.argmax(expected)]


@pytest.mark.parametrize("x1", [BIG, -BIG])
def test_binary_softmax_with_both_units_at_the_same_infinity_is_a_tie(x1):
    est = _no_hidden_model("softmax", [[0, 2, 0, 0, 0]] * 2, binary=True)
    out = _predictions(est, np.array([[x1, 0.0, 0.0, 0.0]]))
    np.testing.assert_array_equal(out["decision_function"], [0.0])
    np.testing.assert_array_equal(out["predict_proba"], [[0.5, 0.5]])
    assert est.score(np.array([[x1, 0, 0, 0]]), [False]) == 1.0
