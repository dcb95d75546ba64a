"""scikit-learn's estimator checks on non-default settings of both estimators.

Each instance switches on options of issue 3 (activations, softmax, class
weights, solvers with exact Hessian-vector products, TNC, max_fun), with
nothing marked as expected to fail; the regressor's instances the same
options where they apply.
"""

import warnings

import pytest
from sklearn.utils.estimator_checks import check_estimator, parametrize_with_checks

from skbackprop import BackpropClassifier, BackpropRegressor

ESTIMATORS = [
    BackpropClassifier(
        hidden_layer_sizes=(4,),
        activation="tanh",
        output_activation="softmax",
        solver="trust-ncg",
        class_weight="balanced",
    ),
    # relu makes J piecewise smooth: where a minimum sits on a kink, the
    # gradient never vanishes and weighted and repeated fits agree only if
    # they reach the same kink. They do here; at alpha=0.5 they do not.
    BackpropClassifier(
        hidden_layer_sizes=(5,), activation="relu", solver="Newton-CG", alpha=3.0
    ),
    BackpropClassifier(hidden_layer_sizes=(3,), solver="TNC", max_fun=5000),
    BackpropClassifier(
        hidden_layer_sizes=(), output_activation="softmax", solver="trust-krylov"
    ),
    BackpropRegressor(hidden_layer_sizes=(4,), activation="tanh", solver="trust-ncg"),
    BackpropRegressor(
        hidden_layer_sizes=(5,), activation="relu", solver="Newton-CG", alpha=3.0
    ),
    BackpropRegressor(hidden_layer_sizes=(3,), solver="TNC", max_fun=5000),
    BackpropRegressor(hidden_layer_sizes=(), solver="trust-krylov", batch_size=7),
]


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=lambda est: {})
def test_sklearn_estimator_checks_non_default(estimator, check):
    check(estimator)


@pytest.mark.parametrize("Estimator", [BackpropClassifier, BackpropRegressor])
def test_early_stopping_fails_only_sample_weight_equivalence(Estimator):
    # Not in ESTIMATORS above: a hold-out of rows cannot treat a row of
    # weight 2 like two copies of it (one copy may be held out, the other
    # trained on), so early stopping cannot pass scikit-learn's
    # sample-weight equivalence checks, by design; MLPClassifier's early
    # stopping is in the same position. Every other check must pass.
    estimator = Estimator(hidden_layer_sizes=(3,), early_stopping=True, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = check_estimator(estimator, on_fail=None)
    failed = {r["check_name"] for r in results if r["status"] == "failed"}
    assert failed == {
        "check_sample_weight_equivalence_on_dense_data",
        "check_sample_weight_equivalence_on_sparse_data",
    }
    assert sum(r["status"] == "passed" for r in results) > 50
