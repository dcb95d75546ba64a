"""Valid but hopeless input is told: data on a scale the network cannot start from.

Features so large that the first layer starts saturated, regression targets
far from unit size, an ``X_val`` on another scale than ``X`` (a Pipeline
without ``transform_input``) each get a warning naming the fix; a ``y_val``
that ``TransformedTargetRegressor`` passed untransformed is refused. Data of
ordinary scale (standardised, or raw values up to ~20 as in scikit-learn's
checks) get none of them.
"""

import os
import warnings

import numpy as np
import pytest
import sklearn
from sklearn.compose import TransformedTargetRegressor
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits, load_iris
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

import skbackprop
from skbackprop import BackpropClassifier, BackpropRegressor
from skbackprop._scale import (
    INPUT_SCALE_LIMIT,
    column_mean_squares,
    initial_input_scale,
    warn_if_inputs_saturate,
    warn_if_targets_are_large,
)
from skbackprop.backprop import init_thetas


def _told(fit, *args, **kwargs):
    """The messages of the UserWarnings (not ConvergenceWarnings) of a fit.

    Each points at the code that called ``fit`` (here, or the Pipeline's
    line), never inside skbackprop; no numpy warning comes first.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.simplefilter("error", RuntimeWarning)
        fit(*args, **kwargs)
    told = [
        w
        for w in caught
        if issubclass(w.category, UserWarning)
        and not issubclass(w.category, ConvergenceWarning)
    ]
    package = os.path.dirname(skbackprop.__file__)
    assert not [w.filename for w in told if w.filename.startswith(package)]
    return [str(w.message) for w in told]


@pytest.fixture(scope="module")
def cancer():
    X, y = load_breast_cancer(return_X_y=True)
    return StandardScaler().fit_transform(X)[::3], y[::3]


@pytest.fixture(scope="module")
def diabetes():
    X, y = load_diabetes(return_X_y=True)
    return StandardScaler().fit_transform(X)[::2], y[::2]


# ---------------------------------------------------------------------------
# The inputs
# ---------------------------------------------------------------------------


def test_the_scale_is_that_of_the_initial_first_layer_inputs():
    # The statistic against the z(2) of actual random weights.
    rng = np.random.default_rng(0)
    X = 30 * rng.standard_normal((50, 8)) + 5
    z = [
        theta[:, 0] + X @ theta[:, 1:].T
        for theta in (init_thetas((8, 25, 2), random_state=s)[0] for s in range(40))
    ]
    measured = np.sqrt(np.mean(np.square(z)))
    epsilon = np.sqrt(6) / np.sqrt(8 + 25)
    expected = initial_input_scale(column_mean_squares(X), epsilon)
    assert measured == pytest.approx(expected, rel=0.1)


@pytest.mark.parametrize("factor", [1e3, 1e5])
@pytest.mark.parametrize("Estimator", [BackpropClassifier, BackpropRegressor])
def test_large_features_are_told_with_the_fix(cancer, factor, Estimator):
    X, y = cancer
    net = Estimator(hidden_layer_sizes=(3,), max_iter=3, random_state=0)
    messages = _told(net.fit, X * factor, y)
    assert len(messages) == 1
    assert "X's features are large" in messages[0]
    assert f"make_pipeline(StandardScaler(), {Estimator.__name__}())" in messages[0]


def test_a_large_x_is_told_for_sparse_and_no_hidden_layer(cancer):
    scipy_sparse = pytest.importorskip("scipy.sparse")
    X, y = cancer
    clf = BackpropClassifier(hidden_layer_sizes=(), max_iter=3, random_state=0)
    assert len(_told(clf.fit, scipy_sparse.csr_matrix(X * 1e4), y)) == 1
    assert len(_told(clf.fit, X * 1e4, y)) == 1


def test_no_warning_at_ordinary_scales(cancer):
    X, y = cancer
    Xi, yi = load_iris(return_X_y=True)
    Xd, yd = load_digits(return_X_y=True)
    rng = np.random.default_rng(0)
    for X_, y_ in [
        (X, y),  # standardised
        (Xi, yi),  # raw iris, values up to 7.9
        (Xd[:200], yd[:200]),  # raw pixels, 0 to 16, 64 columns
        (20 * rng.uniform(size=(30, 5)), rng.integers(0, 2, 30)),
    ]:
        clf = BackpropClassifier(max_iter=3, random_state=0)
        assert _told(clf.fit, X_, y_) == []


def test_a_linear_regressor_and_a_warm_start_are_not_told(diabetes):
    X, y = diabetes
    linear = BackpropRegressor(hidden_layer_sizes=(), max_iter=3)
    assert _told(linear.fit, X * 1e4, y) == []
    net = BackpropRegressor(hidden_layer_sizes=(2,), max_iter=3, warm_start=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        net.fit(X * 1e4, y)
    assert _told(net.fit, X * 1e4, y) == []


def test_the_limit_lies_between_the_measured_cases():
    # Raw breast cancer (0.90 accuracy against 0.98 standardised) is above
    # the limit; raw digits pixels (0.97) and scaled data are below.
    Xc, _ = load_breast_cancer(return_X_y=True)
    Xd, _ = load_digits(return_X_y=True)

    def scale(X):
        epsilon = np.sqrt(6) / np.sqrt(X.shape[1] + 25)
        return initial_input_scale(column_mean_squares(X), epsilon)

    assert scale(Xd) < INPUT_SCALE_LIMIT < scale(Xc)


# ---------------------------------------------------------------------------
# The regressor's targets
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("targets", ["y + 1e8", "y * 1e3"])
def test_large_targets_are_told_with_the_fix(diabetes, targets):
    X, y = diabetes
    y = y + 1e8 if targets == "y + 1e8" else y * 1e3
    reg = BackpropRegressor(hidden_layer_sizes=(3,), max_iter=3, random_state=0)
    messages = _told(reg.fit, X, y)
    assert len(messages) == 1
    assert "y is large" in messages[0]
    assert "TransformedTargetRegressor" in messages[0]


def test_sizes_beyond_float64_are_told_without_a_numpy_warning():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.simplefilter("error", RuntimeWarning)
        warn_if_targets_are_large(np.full((3, 1), 1e200))
        warn_if_inputs_saturate(np.full(4, 1e308), (4, 3, 1), None, "Estimator")
    assert len(caught) == 2
    assert all("beyond float64's range" in str(w.message) for w in caught)


def test_raw_targets_of_ordinary_size_are_not_told(diabetes):
    X, y = diabetes  # diabetes' y: 25 to 346
    reg = BackpropRegressor(hidden_layer_sizes=(3,), max_iter=3, random_state=0)
    assert _told(reg.fit, X, y) == []
    ttr = TransformedTargetRegressor(reg, transformer=StandardScaler())
    assert _told(ttr.fit, X, y * 1e4) == []  # the recipe: told nothing


# ---------------------------------------------------------------------------
# Validation data on another scale
# ---------------------------------------------------------------------------


def _routed_pipeline(**pipeline_params):
    net = BackpropClassifier(
        hidden_layer_sizes=(5,), early_stopping=True, max_iter=5, random_state=0
    )
    net.set_fit_request(X_val=True, y_val=True)
    return Pipeline([("scale", StandardScaler()), ("net", net)], **pipeline_params)


def test_an_untransformed_x_val_is_told_to_use_transform_input():
    X, y = load_digits(return_X_y=True)  # raw pixels: the pipeline scales them
    fit = dict(X_val=X[600:800], y_val=y[600:800])
    with sklearn.config_context(enable_metadata_routing=True):
        untransformed = _routed_pipeline()
        messages = _told(untransformed.fit, X[:600], y[:600], **fit)
        transformed = _routed_pipeline(transform_input=["X_val"])
        assert _told(transformed.fit, X[:600], y[:600], **fit) == []
    assert len(messages) == 1
    assert "transform_input=['X_val']" in messages[0]


def test_x_val_from_the_same_data_is_not_told(cancer):
    X, y = cancer
    rng = np.random.default_rng(0)
    for _ in range(5):
        rows = rng.permutation(len(y))
        train, val = rows[10:], rows[:10]
        clf = BackpropClassifier(hidden_layer_sizes=(2,), max_iter=2, random_state=0)
        assert _told(clf.fit, X[train], y[train], X_val=X[val], y_val=y[val]) == []


def test_transformed_target_regressor_with_y_val_is_refused(diabetes):
    X, y = diabetes
    ttr = TransformedTargetRegressor(
        BackpropRegressor(hidden_layer_sizes=(3,), max_iter=3, random_state=0),
        transformer=StandardScaler(),
    )
    with pytest.raises(ValueError, match="TransformedTargetRegressor transforms y"):
        ttr.fit(X[:150], y[:150], X_val=X[150:], y_val=y[150:])
    # What the message recommends works: the hold-out is cut from the
    # transformed y.
    ttr.regressor.set_params(early_stopping=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ttr.fit(X, y)
    assert ttr.regressor_.validation_scores_ is not None


def test_y_val_of_the_same_targets_is_accepted(diabetes):
    X, y = diabetes
    reg = BackpropRegressor(hidden_layer_sizes=(2,), max_iter=2, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg.fit(X[:150], y[:150], X_val=X[150:], y_val=y[150:])
        reg.fit(X[:150], y[:150], X_val=X[150:152], y_val=y[150:152])  # two rows
    assert len(reg.validation_scores_) == reg.n_iter_


def test_the_recipe_in_the_user_guide_is_told_nothing():
    X, y = load_digits(return_X_y=True)
    with sklearn.config_context(enable_metadata_routing=True):
        pipe = make_pipeline(
            StandardScaler(),
            BackpropClassifier(
                hidden_layer_sizes=(5,), max_iter=5, random_state=0
            ).set_fit_request(X_val=True, y_val=True),
            transform_input=["X_val"],
        )
        fit = dict(X_val=X[500:700], y_val=y[500:700])
        assert _told(pipe.fit, X[:500], y[:500], **fit) == []
