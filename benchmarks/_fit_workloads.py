"""The workloads of the fit studies, and the pieces several of them measure with.

Shared by ``bench_same_cost.py``, ``bench_scaling.py``,
``bench_thread_pools.py``, ``bench_thread_threshold.py`` and
``bench_out_of_the_box.py``:

* the workloads: **W1** the digits (1797 x 64, pixels / 16, hidden ``(25,)``),
  **W2** MNIST (8,000 training and 2,000 test rows of the test set, pixels /
  255, hidden ``(100,)``; a ``--quick`` run without ``--data`` uses a
  generated stand-in), **W3** synthetic 60,000 x 784 (``make_classification``,
  10 classes, hidden ``(256, 128)``, 10,000 more rows to test on); ``--quick``
  shrinks each (W1 20 iterations, W2 1,000 rows and 10, W3 1,000 + 1,000
  rows and 3);
* the two estimators on the course's cost: BackpropClassifier and
  ``MLPClassifier(solver="lbfgs", activation="logistic")`` given one-hot
  targets, ``alpha=1``, ``tol=0`` (the latter counting its evaluations);
* the GEMM floor: an evaluation's matrix products alone;
* a fit's peak memory, measured in a fresh process.
"""

import gc
import tracemalloc
import warnings

import numpy as np
from _harness import read_status, reset_peak_rss, thread_limit
from mnist_data import mnist_or_stand_in
from sklearn.datasets import load_digits, make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier

from skbackprop import BackpropClassifier
from skbackprop import _blas as blas_module

ALPHA = 1.0


def workload_data(name, data_dir, quick=False):
    """``(X_train, y_train, X_test, y_test, hidden, max_iter)`` of a workload."""
    if name == "W1":
        X, y = load_digits(return_X_y=True)
        X = X / 16.0
        return X, y, X, y, (25,), 20 if quick else 100
    if name == "W2":
        n_train = 1000 if quick else 8000
        X, y, _ = mnist_or_stand_in(data_dir, quick)
        return (
            X[:n_train],
            y[:n_train],
            X[8000:],
            y[8000:],
            (100,),
            (10 if quick else 100),
        )
    if name == "W3":
        m, m_test = (1000, 1000) if quick else (60000, 10000)
        X, y = synthetic(m + m_test)
        return X[:m], y[:m], X[m:], y[m:], (256, 128), 3 if quick else 20
    raise ValueError(name)


def synthetic(m, n_features=784, seed=0):
    """W3's data: ``make_classification``, 64 informative features, 10 classes."""
    X, y = make_classification(
        n_samples=m,
        n_features=n_features,
        n_informative=64,
        n_redundant=0,
        n_classes=10,
        n_clusters_per_class=2,
        random_state=seed,
    )
    return X, y


def one_hot(y, classes):
    return (y[:, None] == classes[None, :]).astype(np.int64)


class CountingMLP(MLPClassifier):
    """MLPClassifier counting its cost evaluations (and keeping their args)."""

    def _loss_grad_lbfgs(self, packed_coef_inter, *args):
        self.n_evals_ = getattr(self, "n_evals_", 0) + 1
        self.lbfgs_args_ = args
        return super()._loss_grad_lbfgs(packed_coef_inter, *args)


def make_estimator(kind, hidden, max_iter):
    """``"ours"``: BackpropClassifier; else the MLPClassifier on the same cost."""
    if kind == "ours":
        return BackpropClassifier(
            hidden_layer_sizes=hidden,
            alpha=ALPHA,
            max_iter=max_iter,
            tol=0.0,
            random_state=0,
        )
    return CountingMLP(
        hidden_layer_sizes=hidden,
        activation="logistic",
        solver="lbfgs",
        alpha=ALPHA,
        max_iter=max_iter,
        tol=0.0,
        random_state=0,
    )


def fit_target(kind, y):
    """Labels for ours, one-hot targets for MLPClassifier (the course's cost)."""
    return y if kind == "ours" else one_hot(y, np.unique(y))


def kind_threads(kind):
    """``"mlp1"``: every pool on one thread; the others as they are."""
    return thread_limit(1 if kind == "mlp1" else None)


def policy_limit(m, n_params):
    """BackpropClassifier's thread policy for a fit of this size."""
    return blas_module._blas_thread_limit(m, n_params)


def gemm_floor_fn(X, layer_sizes, layout="columns"):
    """The evaluation's matrix products alone, on preallocated buffers.

    ``layout="columns"``: one column per example, as ``make_cost_function``
    computes (``z = Theta a``, ``Delta^T = a d^T``, ``d = Theta^T d``);
    ``"rows"``: one row per example, as MLPClassifier does. Same shapes,
    dtype and number of flops either way.
    """
    dtype, m = X.dtype, X.shape[0]
    rng = np.random.default_rng(0)
    pairs = list(zip(layer_sizes, layer_sizes[1:]))
    # Theta(l)[:, 1:] is a Fortran-ordered (s_{l+1}, s_l) block of nn_params.
    W = [np.asfortranarray(rng.standard_normal((b, a)), dtype=dtype) for a, b in pairs]
    G = [np.empty((a, b), dtype) for a, b in pairs]  # Delta(l)[:, 1:].T
    columns = layout == "columns"

    def shaped(s):
        return (s, m) if columns else (m, s)

    A = [X.T if columns else X]
    A += [rng.random(shaped(s)).astype(dtype) for s in layer_sizes[1:-1]]
    Z = [np.empty(shaped(s), dtype) for s in layer_sizes[1:]]
    D = [rng.standard_normal(shaped(s)).astype(dtype) for s in layer_sizes[1:]]
    P = [np.empty(shaped(s), dtype) for s in layer_sizes[1:-1]]

    # Two closures, not one with a branch: nothing but the products is timed.
    if columns:

        def products():
            for i in range(len(W)):
                np.matmul(W[i], A[i], out=Z[i])
            for i in range(len(W) - 1, -1, -1):
                np.matmul(A[i], D[i].T, out=G[i])
                if i > 0:
                    np.matmul(W[i].T, D[i], out=P[i - 1])

    else:

        def products():
            for i in range(len(W)):
                np.matmul(A[i], W[i].T, out=Z[i])
            for i in range(len(W) - 1, -1, -1):
                np.matmul(A[i].T, D[i], out=G[i])
                if i > 0:
                    np.matmul(D[i], W[i], out=P[i - 1])

    return products


def memory_child(spec):
    """In a fresh process: load the data, fit once, measure the peaks.

    ``spec``: ``(workload, dtype, kind, data_dir, quick, m, batch_size,
    max_iter)``; workload ``"scaling"`` is ``m`` synthetic rows and the
    784-256-128-10 network.
    """
    name, dtype, kind, data_dir, quick, m, batch_size, max_iter = spec
    if name == "scaling":
        X, y = synthetic(m)
        hidden = (256, 128)
    else:
        X, y, _, _, hidden, _ = workload_data(name, data_dir, quick)
    X = np.ascontiguousarray(X, dtype=dtype)
    est = make_estimator(kind, hidden, max_iter)
    if batch_size is not None:
        est.set_params(batch_size=batch_size)
    target = fit_target(kind, y)
    gc.collect()
    rss_reset = reset_peak_rss()
    rss0 = read_status("VmRSS")
    tracemalloc.start()
    with warnings.catch_warnings(), kind_threads(kind):
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, target)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    hwm = read_status("VmHWM")
    rss = (hwm - rss0) if (rss_reset and hwm and rss0) else None
    return {"tracemalloc_mb": peak / 2**20, "rss_mb": rss / 2**20 if rss else None}


def mb(value):
    """A size in MB for a table cell, or ``n/a``."""
    return "n/a" if value is None else f"{value:.1f}"
