"""The Dask backend's tests: the cluster, blocked data, and the fit they compare.

Run on a loopback ``LocalCluster`` of two one-thread workers (threads in this
process; worker processes for the lost-worker test). The backend adds up the
same per-row sums in blocks, so its numbers are compared with the in-memory
path: to rounding with ``batch_size=None``, and with ``batch_size`` equal to
the blocks' rows (the same partial sums, added in the same order) bit for bit
under Dask's synchronous scheduler and to rounding on the cluster, whose
last bits vary from run to run (weights 1.6e-14 to 7.5e-14 apart after 20
iterations, over six fits on one machine, also with one BLAS thread).
"""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from skbackprop import BackpropClassifier
from skbackprop.backprop import unroll

from _helpers import SOLVERS  # noqa: F401 - the backend's tests take it from here

dask = pytest.importorskip("dask", reason="dask is not installed")
da = pytest.importorskip("dask.array", reason="dask is not installed")
distributed = pytest.importorskip("distributed", reason="distributed is not installed")
_dask = pytest.importorskip("skbackprop._dask")
_dask_data = pytest.importorskip("skbackprop._dask_data")

ROWS = 60  # rows per block


def _local_cluster(processes):
    # Loopback only, random ports: parallel runs cannot collide.
    return distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=processes,
        protocol="tcp",
        host="127.0.0.1",
        # None would still try port 8787 and warn when it is taken.
        dashboard_address="127.0.0.1:0",
    )


def _chunked(*arrays, rows=ROWS):
    return [
        da.from_array(a, chunks=(rows, *a.shape[1:])) if a is not None else None
        for a in arrays
    ]


def _fit(X, y, sample_weight=None, fit_params=None, **params):
    params = {"hidden_layer_sizes": (4,), "max_iter": 20, "random_state": 0, **params}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return BackpropClassifier(**params).fit(
            X, y, sample_weight=sample_weight, **(fit_params or {})
        )


#: An upper bound of ``sum |dJ/dTheta|`` at the 20-iteration fits compared
#: here (0.09 to 1.6 measured over the solvers on these digits).
GRADIENT_L1_BOUND = 2.0


def _assert_same_fit(a, b, atol=1e-9):
    """The same fit to rounding: the weights within ``atol``, J as they imply.

    J moves by at most ``max |dTheta| * sum |dJ/dTheta|`` between the two
    weight vectors (to first order), plus the rounding of J's own sums in
    another order: a fixed bound below that (1e-12 once) fails on machines
    where a Newton path amplifies rounding a little more (Newton-CG's weights
    5.8e-11 apart, J 1.2e-12).
    """
    theta_a, theta_b = unroll(a.thetas_), unroll(b.thetas_)
    np.testing.assert_allclose(theta_a, theta_b, rtol=0, atol=atol)
    implied = np.abs(theta_a - theta_b).max() * GRADIENT_L1_BOUND
    assert abs(a.loss_ - b.loss_) <= implied + 1e-14 * abs(b.loss_)
    assert a.n_iter_ == b.n_iter_


def _poisoned(X, rows=ROWS):
    """A dask array that fails if any block is computed."""

    def explode(block):
        raise AssertionError("a block of X was computed")

    return _chunked(X, rows=rows)[0].map_blocks(explode, dtype=X.dtype)
