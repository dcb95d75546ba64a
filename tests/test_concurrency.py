"""Concurrency: predictions and fits from several threads, grid search on processes.

The BLAS thread counts under overlapping fits are in ``test_blas_threads.py``.
"""

import concurrent.futures
import threading

import joblib
import numpy as np
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV

from skbackprop import BackpropClassifier

from _helpers import _assert_same_predictions, _fitted_iris_model, iris_scaled


def test_predict_from_eight_threads_matches_one_thread():
    est, X_iris = _fitted_iris_model()
    X_many = np.tile(np.asarray(X_iris), (20, 1))
    expected = (est.predict(X_many), est.predict_proba(X_many))
    start = threading.Barrier(8)

    def work(_):
        start.wait()
        return [(est.predict(X_many), est.predict_proba(X_many)) for _ in range(5)]

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        results = [r for batch in pool.map(work, range(8)) for r in batch]
    assert len(results) == 40
    for labels, proba in results:
        np.testing.assert_array_equal(labels, expected[0])
        np.testing.assert_array_equal(proba, expected[1])


def test_fits_in_parallel_threads_match_sequential_fits():
    X_iris, y_iris = iris_scaled()
    estimators = [
        BackpropClassifier(hidden_layer_sizes=(4,), alpha=a, random_state=0)
        for a in (0.1, 1.0, 3.0, 10.0)
    ]
    sequential = [clone(e).fit(X_iris, y_iris).thetas_ for e in estimators]
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        parallel = list(pool.map(lambda e: e.fit(X_iris, y_iris).thetas_, estimators))
    for seq, par in zip(sequential, parallel):
        for a, b in zip(seq, par):
            np.testing.assert_array_equal(a, b)


def test_grid_search_with_two_processes_matches_one():
    X_iris, y_iris = iris_scaled()
    grid = {"alpha": [0.3, 3.0], "hidden_layer_sizes": [(3,), (5,)]}
    est = BackpropClassifier(random_state=0, tol=1e-6)
    serial = GridSearchCV(est, grid, cv=3, n_jobs=1).fit(X_iris, y_iris)
    with joblib.parallel_backend("loky"):
        parallel = GridSearchCV(est, grid, cv=3, n_jobs=2).fit(X_iris, y_iris)
    np.testing.assert_array_equal(
        parallel.cv_results_["mean_test_score"], serial.cv_results_["mean_test_score"]
    )
    assert parallel.best_params_ == serial.best_params_
    _assert_same_predictions(parallel.best_estimator_, serial.best_estimator_, X_iris)
