"""Fixtures of the Dask backend's tests: the clusters and the data.

``client`` is one thread cluster per module; ``process_cluster`` one of
worker processes per test (the lost-worker test kills one).
"""

import pytest
from sklearn.datasets import load_digits
from sklearn.preprocessing import StandardScaler

from ._dask_helpers import _local_cluster, distributed


@pytest.fixture(scope="module")
def client():
    with _local_cluster(processes=False) as cluster, distributed.Client(cluster) as c:
        yield c


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    X = StandardScaler().fit_transform(X[:240])
    return X, y[:240]


@pytest.fixture
def process_cluster():
    with _local_cluster(processes=True) as cluster, distributed.Client(cluster) as c:
        yield c
