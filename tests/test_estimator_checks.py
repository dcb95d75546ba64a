"""scikit-learn's full estimator test suite, with nothing marked as expected to fail."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from skbackprop import BackpropClassifier, BackpropRegressor

ESTIMATORS = [
    BackpropClassifier(),
    BackpropClassifier(hidden_layer_sizes=(5, 4), alpha=0.1, solver="CG"),
    BackpropClassifier(hidden_layer_sizes=(), alpha=3.0, solver="BFGS"),
    BackpropRegressor(),
    BackpropRegressor(hidden_layer_sizes=(5, 4), alpha=0.1, solver="CG"),
    BackpropRegressor(hidden_layer_sizes=(), alpha=3.0, solver="BFGS"),
]


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=lambda est: {})
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)
