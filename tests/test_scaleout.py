"""Grid search across processes and on a Dask cluster gives the sequential answer.

BackpropClassifier must pickle, train in worker processes and on Dask
workers, and come back with the same numbers: ``GridSearchCV`` over the
regularisation strength is run sequentially, with ``n_jobs=2`` on joblib's
process-based ``loky`` backend, and through joblib's Dask backend on a
``LocalCluster`` bound to the loopback interface.
"""

import distributed
import joblib
import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler

from skbackprop import BackpropClassifier

# Spans under- and over-regularised networks, so that the best value is
# neither end of the grid.
ALPHAS = [0.001, 0.3, 3.0, 30.0]


def _search(n_jobs):
    model = make_pipeline(
        MinMaxScaler(),
        BackpropClassifier(hidden_layer_sizes=(8,), tol=1e-4, random_state=0),
    )
    return GridSearchCV(
        model,
        {"backpropclassifier__alpha": ALPHAS},
        cv=StratifiedKFold(3, shuffle=True, random_state=0),
        n_jobs=n_jobs,
    )


@pytest.fixture(scope="module")
def data():
    X, y = load_digits(return_X_y=True)
    return X[:450], y[:450]


@pytest.fixture(scope="module")
def sequential(data):
    return _search(n_jobs=None).fit(*data)


def _assert_same_search(search, sequential):
    assert search.best_params_ == sequential.best_params_
    np.testing.assert_allclose(
        search.cv_results_["mean_test_score"],
        sequential.cv_results_["mean_test_score"],
        rtol=0,
        atol=1e-12,
    )
    np.testing.assert_allclose(
        search.best_estimator_[-1].loss_, sequential.best_estimator_[-1].loss_
    )


def test_sequential_search_has_an_interior_best(sequential):
    # Guards the two tests below: a grid whose best is at an end would let a
    # backend that always picks the first or last candidate pass.
    best = sequential.best_params_["backpropclassifier__alpha"]
    assert best not in (ALPHAS[0], ALPHAS[-1])
    scores = sequential.cv_results_["mean_test_score"]
    assert scores.max() - scores.min() > 0.02


def test_grid_search_loky_processes(data, sequential):
    with joblib.parallel_config(backend="loky"):
        search = _search(n_jobs=2).fit(*data)
    _assert_same_search(search, sequential)


def test_grid_search_dask_local_cluster(data, sequential):
    # Two worker processes of one thread each, on loopback only, with random
    # ports and no dashboard, so that parallel test runs cannot collide.
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        with (
            distributed.get_task_stream(client) as tasks,
            joblib.parallel_config(backend="dask"),
        ):
            search = _search(n_jobs=-1).fit(*data)
    # The fits ran as tasks on the cluster's workers, not in this process.
    assert len(tasks.data) > 0
    assert all(task["worker"].startswith("tcp://127.0.0.1:") for task in tasks.data)
    _assert_same_search(search, sequential)
