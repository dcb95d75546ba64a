"""The path estimators' metadata routing: groups to the splitter, weights to
the fold scorer as it requests them (BackpropClassifierCV, BackpropRegressorCV)."""

import numpy as np
import pytest
import sklearn
from sklearn.datasets import make_moons, make_regression
from sklearn.exceptions import UnsetMetadataPassedError
from sklearn.metrics import make_scorer, mean_squared_error
from sklearn.model_selection import GroupKFold, cross_validate

from skbackprop import BackpropClassifierCV, BackpropRegressorCV

PARAMS = dict(hidden_layer_sizes=(3,), alphas=3, random_state=0)


@pytest.fixture(scope="module")
def moons():
    X, y = make_moons(120, noise=0.2, random_state=0)
    groups = np.arange(120) % 6
    weights = np.linspace(0.5, 2.0, 120)
    return X, y, groups, weights


def test_groups_reach_the_splitter(moons):
    X, y, groups, _ = moons
    folds = list(GroupKFold(3).split(X, y, groups))
    given = BackpropClassifierCV(**PARAMS, cv=folds).fit(X, y)
    with sklearn.config_context(enable_metadata_routing=True):
        routed = BackpropClassifierCV(**PARAMS, cv=GroupKFold(3)).fit(
            X, y, groups=groups
        )
    np.testing.assert_array_equal(routed.scores_, given.scores_)
    assert routed.alpha_ == given.alpha_


def test_metadata_without_routing_is_refused(moons):
    X, y, groups, _ = moons
    with pytest.raises(ValueError, match="enable_metadata_routing=True"):
        BackpropClassifierCV(**PARAMS, cv=GroupKFold(3)).fit(X, y, groups=groups)


def test_the_fold_scores_take_the_weights_as_the_scorer_requests(moons):
    X, y, _, w = moons
    unrouted = BackpropClassifierCV(**PARAMS).fit(X, y, sample_weight=w)
    with sklearn.config_context(enable_metadata_routing=True):
        with pytest.raises(UnsetMetadataPassedError, match="sample_weight"):
            BackpropClassifierCV(**PARAMS).fit(X, y, sample_weight=w)
        weighted = BackpropClassifierCV(**PARAMS).set_score_request(sample_weight=True)
        weighted.fit(X, y, sample_weight=w)
        plain = BackpropClassifierCV(**PARAMS).set_score_request(sample_weight=False)
        plain.fit(X, y, sample_weight=w)
    # Without routing the weights score the folds too (as LogisticRegressionCV).
    np.testing.assert_array_equal(weighted.scores_, unrouted.scores_)
    # The fits are weighted either way; only the scores differ.
    np.testing.assert_array_equal(plain.thetas_[0], weighted.thetas_[0])
    assert not np.array_equal(plain.scores_, weighted.scores_)


def test_a_weighted_scorer_of_the_regressor_path():
    X, y = make_regression(90, 3, noise=5.0, random_state=0)
    w = np.linspace(0.5, 2.0, 90)
    scorer = make_scorer(mean_squared_error, greater_is_better=False)
    with sklearn.config_context(enable_metadata_routing=True):
        scorer = scorer.set_score_request(sample_weight=True)
        routed = BackpropRegressorCV(**PARAMS, scoring=scorer, cv=3)
        routed.fit(X, y, sample_weight=w)
    unrouted = BackpropRegressorCV(**PARAMS, scoring=scorer, cv=3).fit(
        X, y, sample_weight=w
    )
    np.testing.assert_allclose(routed.scores_, unrouted.scores_, rtol=1e-12)


def test_routing_through_cross_validate(moons):
    X, y, groups, w = moons
    with sklearn.config_context(enable_metadata_routing=True):
        est = (
            BackpropClassifierCV(**PARAMS, cv=GroupKFold(2))
            .set_fit_request(sample_weight=True)
            .set_score_request(sample_weight=True)
        )
        result = cross_validate(
            est,
            X,
            y,
            cv=GroupKFold(3),
            params={"sample_weight": w, "groups": groups},
            return_estimator=True,
        )
    for fitted in result["estimator"]:
        assert fitted.scores_.shape == (2, 3)
        assert np.all((fitted.scores_ >= 0) & (fitted.scores_ <= 1))
