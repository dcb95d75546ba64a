"""BackpropClassifier against scikit-learn's MLPClassifier on the same cost.

``MLPClassifier(solver="lbfgs", activation="logistic")`` given one-hot targets
minimises exactly the course's cost (one logistic unit per class, the summed
binary log-loss, ``alpha / 2m`` times the squared weights without the biases)
with the same optimizer (scipy's L-BFGS-B), so the two are timed on the very
same function. Both run with ``tol=0`` so that they do the same number of
iterations (checked); BackpropClassifier then reaches ``max_iter``, so its
Newton polish (which only runs when the optimizer stops early) is not
triggered. Fit times are compared as they are, and per evaluation.

For each workload and dtype, in one process, the configurations are run in
turn, ``--repeats`` times (alternating), and the medians reported:

* ``ours``: BackpropClassifier with its default thread policy;
* ``mlp``: MLPClassifier as users run it (default threads);
* ``mlp1``: MLPClassifier with every thread pool limited to one thread
  (``mlp best`` is the faster of ``mlp`` and ``mlp1``).

Evaluation level: one cost-and-gradient evaluation of each, timed directly at
the same parameters (ours: ``make_cost_function``; MLPClassifier: its own
``_loss_grad_lbfgs``), and the GEMM floor: the evaluation's matrix products
alone (forward ``a @ W``, backward ``delta.T @ a`` and ``delta @ W``, same
shapes, dtype and layout), measured in the same run on one and on all threads.

Peak memory of a fit (tracemalloc's peak, i.e. memory allocated beyond the
data, and the growth of the peak RSS) is measured in a fresh process per
configuration, on a fit of a few iterations (the buffers are all allocated by
then).

Usage (from the repository root)::

    python benchmarks/bench_fit.py            # W1, W2, W3 in float64 and float32
    python benchmarks/bench_fit.py --quick    # a smoke run, under a minute
    python benchmarks/bench_fit.py --scaling  # the scaling tables of the docs
    python benchmarks/bench_fit.py --threads  # the thread-policy measurements
    python benchmarks/bench_fit.py --defaults # the out-of-the-box table

``--defaults`` is another comparison: each estimator exactly as a new user
runs it, every parameter at its default but ``hidden_layer_sizes`` (and
``random_state=0``, for a reproducible run), on the MNIST rows of W2 (8,000
training and 2,000 test rows of the MNIST test set, pixels / 255) with 25 and
100 hidden units: ``BackpropClassifier()`` (its default stopping rule),
``MLPClassifier()`` (adam) and ``MLPClassifier(solver="lbfgs")``. It prints
the fit times (medians of ``--repeats``, 1 by default), test accuracies and
the ratio of ours to the faster MLPClassifier, against the targets of the
out-of-the-box issue: ours <= 0.5x the faster in time, and at least the
better accuracy minus 0.3 points.
"""

import argparse
import functools
import gc
import json
import multiprocessing
import os
import platform
import statistics
import sys
import time
import tracemalloc
import warnings
from pathlib import Path

import numpy as np
import scipy
import sklearn
from mnist_data import DEFAULT_DATA, MNIST_FILES, load_mnist
from scipy.optimize import minimize
from sklearn.datasets import load_digits, make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier
from sklearn.neural_network._multilayer_perceptron import _pack
from threadpoolctl import ThreadpoolController, threadpool_info, threadpool_limits

import skbackprop
from skbackprop import BackpropClassifier
from skbackprop import _blas as blas_module
from skbackprop import _loss as loss_module
from skbackprop.backprop import init_thetas, make_cost_function, unroll

REPO = Path(__file__).resolve().parents[1]
DEFAULT_JSON = REPO / "benchmarks" / "results" / "bench_fit.json"
ALPHA = 1.0


# ---------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------


def missing_mnist(data_dir):
    """A message naming the absent MNIST files, or None when all are there."""
    missing = [name for name in MNIST_FILES if not (Path(data_dir) / name).is_file()]
    if not missing:
        return None
    return (
        f"the MNIST files {', '.join(missing)} are not in {data_dir}. W2 needs "
        "the MNIST test set (t10k-*-ubyte.gz, the IDX files from "
        "http://yann.lecun.com/exdb/mnist/); pass their folder with --data PATH."
    )


def workload_data(name, data_dir, quick=False):
    """``(X_train, y_train, X_test, y_test, hidden, max_iter)`` of a workload."""
    if name == "W1":
        X, y = load_digits(return_X_y=True)
        X = X / 16.0
        return X, y, X, y, (25,), 20 if quick else 100
    if name == "W2":
        n_train = 1000 if quick else 8000
        X, y = load_mnist(data_dir)
        return (
            X[:n_train],
            y[:n_train],
            X[8000:],
            y[8000:],
            (100,),
            (10 if quick else 100),
        )
    if name == "W3":
        m = 2000 if quick else 60000
        X, y = synthetic(m + 10000)
        return X[:m], y[:m], X[m:], y[m:], (256, 128), 3 if quick else 20
    raise ValueError(name)


def synthetic(m, n_features=784, seed=0):
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


# ---------------------------------------------------------------------------
# The estimators, instrumented to count evaluations
# ---------------------------------------------------------------------------


class CountingMLP(MLPClassifier):
    """MLPClassifier counting its cost evaluations (and keeping their args)."""

    def _loss_grad_lbfgs(self, packed_coef_inter, *args):
        self.n_evals_ = getattr(self, "n_evals_", 0) + 1
        self.lbfgs_args_ = args
        return super()._loss_grad_lbfgs(packed_coef_inter, *args)


_our_evals = [0]


def _counting_make_cost_function(*args, **kwargs):
    fun = make_cost_function(*args, **kwargs)

    def counted(params):
        _our_evals[0] += 1
        return fun(params)

    return counted


loss_module.make_cost_function = _counting_make_cost_function


def one_hot(y, classes):
    return (y[:, None] == classes[None, :]).astype(np.int64)


def make_estimator(kind, hidden, max_iter):
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


def thread_context(kind):
    if kind == "mlp1":
        return threadpool_limits(limits=1)
    return threadpool_limits(limits=None)


def fit_once(kind, X, y, hidden, max_iter):
    """Fit one configuration; returns (seconds, n_iter, n_evals, estimator)."""
    est = make_estimator(kind, hidden, max_iter)
    target = y if kind == "ours" else one_hot(y, np.unique(y))
    _our_evals[0] = 0
    gc.collect()
    with warnings.catch_warnings(), thread_context(kind):
        warnings.simplefilter("ignore", ConvergenceWarning)
        start = time.perf_counter()
        est.fit(X, target)
        seconds = time.perf_counter() - start
    n_evals = _our_evals[0] if kind == "ours" else est.n_evals_
    return seconds, int(est.n_iter_), n_evals, est


def accuracy(kind, est, X, y):
    if kind == "ours":
        return float(est.score(X, y))
    classes = np.unique(y)
    return float(np.mean(classes[np.argmax(est.predict_proba(X), axis=1)] == y))


# ---------------------------------------------------------------------------
# Evaluation level: one cost-and-gradient, and the GEMM floor
# ---------------------------------------------------------------------------


def median_time(fn, number, warmup=True):
    """Median seconds per call of ``number`` calls (after one warm-up call)."""
    if warmup:
        fn()
    times = []
    for _ in range(number):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def numpy_blas_limit(threads):
    """Limit numpy's BLAS (the one that runs ``np.matmul``) to ``threads``."""
    controller = ThreadpoolController()
    blas = controller.select(user_api="blas")
    mine = [
        lib.filepath for lib in blas.lib_controllers if blas_module._is_numpy_blas(lib)
    ]
    if not mine:
        return blas.limit(limits=threads)
    return controller.select(filepath=mine).limit(limits=threads)


def policy_limit(m, n_params):
    """BackpropClassifier's thread policy for a fit of this size."""
    return blas_module._blas_thread_limit(m, n_params)


def numpy_blas_threads():
    """Current thread count of numpy's BLAS."""
    return max(
        lib.num_threads
        for lib in ThreadpoolController().select(user_api="blas").lib_controllers
        if blas_module._is_numpy_blas(lib)
    )


def gemm_floor_fn(X, layer_sizes, layout="columns"):
    """The evaluation's matrix products alone, on preallocated buffers.

    ``layout="columns"``: one column per example, as ``make_cost_function``
    computes (``z = Theta a``, ``Delta^T = a d^T``, ``d = Theta^T d``);
    ``"rows"``: one row per example, as MLPClassifier does. Same shapes,
    dtype and number of flops either way.
    """
    dtype = X.dtype
    m = X.shape[0]
    rng = np.random.default_rng(0)
    pairs = list(zip(layer_sizes, layer_sizes[1:]))
    # Theta(l)[:, 1:] is a Fortran-ordered (s_{l+1}, s_l) block of nn_params.
    W = [np.asfortranarray(rng.standard_normal((b, a)), dtype=dtype) for a, b in pairs]
    G = [np.empty((a, b), dtype) for a, b in pairs]  # Delta(l)[:, 1:].T
    if layout == "columns":
        A = [X.T] + [rng.random((s, m)).astype(dtype) for s in layer_sizes[1:-1]]
        Z = [np.empty((s, m), dtype) for s in layer_sizes[1:]]
        D = [rng.standard_normal((s, m)).astype(dtype) for s in layer_sizes[1:]]
        P = [np.empty((s, m), dtype) for s in layer_sizes[1:-1]]

        def products():
            for i in range(len(W)):
                np.matmul(W[i], A[i], out=Z[i])
            for i in range(len(W) - 1, -1, -1):
                np.matmul(A[i], D[i].T, out=G[i])
                if i > 0:
                    np.matmul(W[i].T, D[i], out=P[i - 1])

    else:
        A = [X] + [rng.random((m, s)).astype(dtype) for s in layer_sizes[1:-1]]
        Z = [np.empty((m, s), dtype) for s in layer_sizes[1:]]
        D = [rng.standard_normal((m, s)).astype(dtype) for s in layer_sizes[1:]]
        P = [np.empty((m, s), dtype) for s in layer_sizes[1:-1]]

        def products():
            for i in range(len(W)):
                np.matmul(A[i], W[i].T, out=Z[i])
            for i in range(len(W) - 1, -1, -1):
                np.matmul(A[i].T, D[i], out=G[i])
                if i > 0:
                    np.matmul(D[i], W[i], out=P[i - 1])

    return products


def mlp_eval_fn(est):
    packed = _pack(est.coefs_, est.intercepts_)
    args = est.lbfgs_args_
    return lambda: est._loss_grad_lbfgs(packed, *args)


def evaluation_level(X, y, hidden, number, repeats):
    """Median ms per evaluation: ours, MLP (default, 1 thread), GEMM floors."""
    classes = np.unique(y)
    Y = one_hot(y, classes).astype(np.float64)
    layer_sizes = (X.shape[1], *hidden, len(classes))
    params = unroll(init_thetas(layer_sizes, random_state=0))
    ours = make_cost_function(layer_sizes, X, Y, ALPHA)
    mlp = make_estimator("mlp", hidden, 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        mlp.fit(X, one_hot(y, classes))
    mlp_eval = mlp_eval_fn(mlp)
    floor = gemm_floor_fn(X, layer_sizes)
    floor_rows = gemm_floor_fn(X, layer_sizes, "rows")
    n_cpu = os.cpu_count()
    m, n_params = X.shape[0], params.shape[0]
    # Thread limits apply when constructed: build each inside its ``with``.
    runs = [
        ("ours", lambda: ours(params), lambda: policy_limit(m, n_params)),
        ("mlp", mlp_eval, lambda: threadpool_limits(limits=None)),
        ("mlp1", mlp_eval, lambda: threadpool_limits(limits=1)),
        ("floor1", floor, lambda: numpy_blas_limit(1)),
        (f"floor{n_cpu}", floor, lambda: numpy_blas_limit(n_cpu)),
        ("floor_rows1", floor_rows, lambda: numpy_blas_limit(1)),
        (f"floor_rows{n_cpu}", floor_rows, lambda: numpy_blas_limit(n_cpu)),
    ]
    times = {}
    for _ in range(repeats):
        for name, fn, limit in runs:
            with limit():
                times.setdefault(name, []).append(median_time(fn, number))
    with policy_limit(m, n_params):
        our_threads = numpy_blas_threads()
    out = {k: 1e3 * statistics.median(v) for k, v in times.items()}
    out["our_numpy_blas_threads"] = our_threads
    t = our_threads if our_threads in (1, n_cpu) else 1
    # The floor: the faster layout of the products, at our thread count, and
    # at the best thread count.
    out["floor_same_threads"] = min(out[f"floor{t}"], out[f"floor_rows{t}"])
    out["floor_best"] = min(
        out["floor1"],
        out[f"floor{n_cpu}"],
        out["floor_rows1"],
        out[f"floor_rows{n_cpu}"],
    )
    out["mlp_best"] = min(out["mlp"], out["mlp1"])
    return out


# ---------------------------------------------------------------------------
# Peak memory, each in a fresh process
# ---------------------------------------------------------------------------


def _read_status(field):
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _reset_peak_rss():
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def memory_child(spec):
    """In a fresh process: load the data, fit once, measure the peaks."""
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
    target = y if kind == "ours" else one_hot(y, np.unique(y))
    gc.collect()
    rss_reset = _reset_peak_rss()
    rss0 = _read_status("VmRSS")
    tracemalloc.start()
    with warnings.catch_warnings(), thread_context(kind):
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, target)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    hwm = _read_status("VmHWM")
    rss = (hwm - rss0) if (rss_reset and hwm and rss0) else None
    return {"tracemalloc_mb": peak / 2**20, "rss_mb": rss / 2**20 if rss else None}


def memory_in_fresh_process(spec):
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(1) as pool:
        return pool.apply(memory_child, (spec,))


# ---------------------------------------------------------------------------
# The benchmark proper
# ---------------------------------------------------------------------------


def run_workload(name, dtype, args):
    X, y, X_test, y_test, hidden, max_iter = workload_data(name, args.data, args.quick)
    X = np.ascontiguousarray(X, dtype=dtype)
    X_test = np.ascontiguousarray(X_test, dtype=dtype)
    kinds = ["ours", "mlp", "mlp1"]
    fits = {k: [] for k in kinds}
    info = {}
    for _ in range(args.repeats):
        for kind in kinds:
            seconds, n_iter, n_evals, est = fit_once(kind, X, y, hidden, max_iter)
            fits[kind].append(seconds)
            info[kind] = {
                "n_iter": n_iter,
                "n_evals": n_evals,
                "accuracy": accuracy(kind, est, X_test, y_test),
            }
            del est
    row = {
        "workload": name,
        "dtype": np.dtype(dtype).name,
        "shape": list(X.shape),
        "hidden": list(hidden),
        "max_iter": max_iter,
        "fit_s": {k: statistics.median(v) for k, v in fits.items()},
        "fit_s_all": fits,
        **{f"{k}_{key}": val for k, d in info.items() for key, val in d.items()},
    }
    row["same_iterations"] = len({info[k]["n_iter"] for k in kinds}) == 1
    row["fit_s"]["mlp_best"] = min(row["fit_s"]["mlp"], row["fit_s"]["mlp1"])
    row["mlp_best_threads"] = (
        "1" if row["fit_s"]["mlp1"] < row["fit_s"]["mlp"] else "default"
    )
    row["fit_ratio_vs_mlp"] = row["fit_s"]["ours"] / row["fit_s"]["mlp"]
    row["fit_ratio_vs_mlp_best"] = row["fit_s"]["ours"] / row["fit_s"]["mlp_best"]
    row["per_eval_in_fit_ms"] = {
        k: 1e3 * row["fit_s"][k] / info[k]["n_evals"] for k in kinds
    }
    number = {"W1": 20, "W2": 5, "W3": 1}[name]
    repeats = min(args.repeats, 2) if name == "W3" else args.repeats
    row["eval_ms"] = evaluation_level(X, y, hidden, number, repeats)
    ev = row["eval_ms"]
    row["eval_over_floor"] = ev["ours"] / ev["floor_same_threads"]
    row["eval_over_best_floor"] = ev["ours"] / ev["floor_best"]
    row["eval_in_fit_over_floor"] = (
        row["per_eval_in_fit_ms"]["ours"] / ev["floor_same_threads"]
    )
    if not args.no_memory and not (args.quick and name != "W1"):
        row["memory"] = {
            kind: memory_in_fresh_process(
                (name, dtype, kind, args.data, args.quick, None, None, 3)
            )
            for kind in ("ours", "mlp")
        }
    return row


def print_tables(rows):
    print()
    print("Fit (medians; s = seconds; ratio = ours / MLPClassifier)")
    head = (
        f"{'workload':<9}{'dtype':<8}{'iters':>9}{'evals':>10}{'ours s':>9}"
        f"{'mlp s':>9}{'best s':>12}{'/mlp':>7}{'/best':>7}{'acc ours':>10}"
        f"{'acc mlp':>9}"
    )
    print(head)
    print("-" * len(head))
    for r in rows:
        f = r["fit_s"]
        print(
            f"{r['workload']:<9}{r['dtype']:<8}"
            f"{r['ours_n_iter']:>4}/{r['mlp_n_iter']:<4}"
            f"{r['ours_n_evals']:>5}/{r['mlp_n_evals']:<4}"
            f"{f['ours']:>9.3f}{f['mlp']:>9.3f}"
            f"{f['mlp_best']:>8.3f} ({r['mlp_best_threads'][0]})"
            f"{r['fit_ratio_vs_mlp']:>7.2f}{r['fit_ratio_vs_mlp_best']:>7.2f}"
            f"{100 * r['ours_accuracy']:>10.2f}{100 * r['mlp_accuracy']:>9.2f}"
        )
    print()
    print(
        "Evaluation (ms per cost+gradient; floor = its matrix products alone, "
        "1 thread / all)"
    )
    head = (
        f"{'workload':<9}{'dtype':<8}{'ours':>9}{'thr':>4}{'in fit':>9}"
        f"{'mlp':>9}{'mlp 1t':>9}{'floor 1t':>10}{'floor nt':>10}"
        f"{'/floor':>8}{'fit/fl':>8}{'/best fl':>9}"
    )
    print(head)
    print("-" * len(head))
    n_cpu = os.cpu_count()
    for r in rows:
        e = r["eval_ms"]
        print(
            f"{r['workload']:<9}{r['dtype']:<8}{e['ours']:>9.2f}"
            f"{e['our_numpy_blas_threads']:>4}"
            f"{r['per_eval_in_fit_ms']['ours']:>9.2f}{e['mlp']:>9.2f}"
            f"{e['mlp1']:>9.2f}"
            f"{min(e['floor1'], e['floor_rows1']):>10.2f}"
            f"{min(e[f'floor{n_cpu}'], e[f'floor_rows{n_cpu}']):>10.2f}"
            f"{r['eval_over_floor']:>8.2f}{r['eval_in_fit_over_floor']:>8.2f}"
            f"{r['eval_over_best_floor']:>9.2f}"
        )
    if any("memory" in r for r in rows):
        print()
        print("Peak memory during fit, MB (tracemalloc: allocated beyond the data;")
        print("RSS: growth of the peak resident set), fresh process each")
        head = (
            f"{'workload':<9}{'dtype':<8}{'ours tm':>9}{'mlp tm':>9}"
            f"{'ours RSS':>10}{'mlp RSS':>9}"
        )
        print(head)
        print("-" * len(head))
        for r in rows:
            if "memory" not in r:
                continue
            mo, mm = r["memory"]["ours"], r["memory"]["mlp"]
            print(
                f"{r['workload']:<9}{r['dtype']:<8}{mo['tracemalloc_mb']:>9.1f}"
                f"{mm['tracemalloc_mb']:>9.1f}{_mb(mo['rss_mb']):>10}"
                f"{_mb(mm['rss_mb']):>9}"
            )
    print()
    for r in rows:
        if not r["same_iterations"]:
            print(
                f"WARNING: {r['workload']} {r['dtype']}: iterations differ "
                f"(ours {r['ours_n_iter']}, mlp {r['mlp_n_iter']}, "
                f"mlp1 {r['mlp1_n_iter']})"
            )


def _mb(value):
    return "n/a" if value is None else f"{value:.1f}"


# ---------------------------------------------------------------------------
# Scaling and thread studies
# ---------------------------------------------------------------------------


def scaling(args):
    """Time per evaluation vs m and hidden width; peak memory vs m.

    Each evaluation is timed next to its floor at the same thread count, and
    the fastest of the repeats is kept (the least disturbed by other load).
    """
    ms = [1000, 4000, 15000, 60000, 240000]
    widths = [25, 100, 256]
    if args.quick:
        ms, widths = [1000, 4000], [25, 100]
    X_all, y_all = synthetic(max(ms))
    X_all = np.ascontiguousarray(X_all)
    rows = []
    n_cpu = os.cpu_count()
    print()
    print("Time per evaluation (ms), 784 inputs, 10 outputs, float64")
    print(
        f"{'m':>8}{'hidden':>8}{'ours 1t':>10}{f'ours {n_cpu}t':>10}"
        f"{'floor 1t':>10}{f'floor {n_cpu}t':>10}{'policy':>8}{'/floor':>8}"
    )
    for m in ms:
        X, y = X_all[:m], y_all[:m]
        Y = one_hot(y, np.arange(10))
        for h in widths:
            layer_sizes = (784, h, 10)
            params = unroll(init_thetas(layer_sizes, random_state=0))
            fun = functools.partial(
                make_cost_function(layer_sizes, X, Y, ALPHA), params
            )
            floor = gemm_floor_fn(X, layer_sizes)
            small = m * h < 5e6
            number, repeats = (5, 2) if small else (1, 3)
            times = {}
            for _ in range(repeats):
                for t in (1, n_cpu):
                    for name, fn in (("ours", fun), ("floor", floor)):
                        with numpy_blas_limit(t):
                            times.setdefault(f"{name}{t}", []).append(
                                median_time(fn, number, warmup=small)
                            )
            ms_ = {k: 1e3 * min(v) for k, v in times.items()}
            with policy_limit(m, params.size):
                threads = numpy_blas_threads()
            ratio = ms_[f"ours{threads}"] / ms_[f"floor{threads}"]
            print(
                f"{m:>8}{h:>8}{ms_['ours1']:>10.2f}{ms_[f'ours{n_cpu}']:>10.2f}"
                f"{ms_['floor1']:>10.2f}{ms_[f'floor{n_cpu}']:>10.2f}"
                f"{threads:>7}t{ratio:>8.2f}",
                flush=True,
            )
            rows.append({"m": m, "hidden": h, "policy_threads": threads, **ms_})
            fun = floor = None
            gc.collect()
    del X_all, y_all
    gc.collect()
    mem_ms = [15000, 60000] if args.quick else [60000, 120000, 240000]
    memory = []
    print()
    print("Peak memory during fit (MB beyond X, tracemalloc / RSS growth),")
    print("784-256-128-10 network, float64, 2 iterations, fresh process each")
    print(
        f"{'m':>8}{'X MB':>8}{'full tm':>10}{'full RSS':>10}"
        f"{'4096 tm':>10}{'4096 RSS':>10}"
    )
    for m in mem_ms:
        full = memory_in_fresh_process(
            ("scaling", np.float64, "ours", None, False, m, None, 2)
        )
        chunk = memory_in_fresh_process(
            ("scaling", np.float64, "ours", None, False, m, 4096, 2)
        )
        print(
            f"{m:>8}{m * 784 * 8 / 2**20:>8.0f}{full['tracemalloc_mb']:>10.1f}"
            f"{_mb(full['rss_mb']):>10}{chunk['tracemalloc_mb']:>10.1f}"
            f"{_mb(chunk['rss_mb']):>10}"
        )
        memory.append({"m": m, "full": full, "batch_size_4096": chunk})
    return {"time_per_evaluation": rows, "peak_memory": memory}


class CountedFunction:
    def __init__(self, fun):
        self.fun, self.count = fun, 0

    def __call__(self, params):
        self.count += 1
        return self.fun(params)


def thread_study(args):
    """Per-evaluation time with numpy's and scipy's BLAS on 1 or 2 threads."""
    controller = ThreadpoolController()
    blas = controller.select(user_api="blas").lib_controllers
    np_paths = [lib.filepath for lib in blas if blas_module._is_numpy_blas(lib)]
    sp_paths = [lib.filepath for lib in blas if lib.filepath not in np_paths]
    if not np_paths or not sp_paths:
        print("numpy and scipy share one BLAS here; no thread study to make.")
        return []
    results = []
    print()
    print(
        "ms per evaluation: alone, and inside L-BFGS-B "
        "(numpy BLAS / scipy BLAS threads)"
    )
    for name in ("W1", "W2"):
        X, y, _, _, hidden, _ = workload_data(name, args.data, args.quick)
        Y = one_hot(y, np.unique(y)).astype(np.float64)
        layer_sizes = (X.shape[1], *hidden, Y.shape[1])
        fun = make_cost_function(layer_sizes, X, Y, ALPHA)
        p0 = unroll(init_thetas(layer_sizes, random_state=0))
        number, iters = (20, 30) if name == "W1" else (5, 10)
        times = {}
        for _ in range(args.repeats):
            for nt_np, nt_sp in [(1, 1), (2, 2), (2, 1), (1, 2)]:
                with (
                    controller.select(filepath=np_paths).limit(limits=nt_np),
                    controller.select(filepath=sp_paths).limit(limits=nt_sp),
                ):
                    alone = median_time(functools.partial(fun, p0), number)
                    counted = CountedFunction(fun)
                    start = time.perf_counter()
                    minimize(
                        counted,
                        p0,
                        jac=True,
                        method="L-BFGS-B",
                        options={"maxiter": iters, "gtol": 0, "ftol": 0},
                    )
                    inside = (time.perf_counter() - start) / counted.count
                times.setdefault((nt_np, nt_sp), []).append((alone, inside))
        for (nt_np, nt_sp), v in times.items():
            alone = 1e3 * statistics.median(a for a, _ in v)
            inside = 1e3 * statistics.median(b for _, b in v)
            print(
                f"{name}  numpy {nt_np}  scipy {nt_sp}  alone {alone:8.2f}  "
                f"in L-BFGS-B {inside:8.2f}"
            )
            results.append(
                {
                    "workload": name,
                    "numpy_threads": nt_np,
                    "scipy_threads": nt_sp,
                    "alone_ms": alone,
                    "in_lbfgsb_ms": inside,
                }
            )
    return results


#: ``--threads``' fits across the threshold: (name, rows of MNIST or None for
#: the digits, hidden units).
THRESHOLD_FITS = [
    ("digits", None, 25),
    ("digits", None, 100),
    ("MNIST", 500, 25),
    ("MNIST", 1000, 25),
    ("MNIST", 2000, 25),
    ("MNIST", 1000, 100),
    ("MNIST", 4000, 25),
    ("MNIST", 8000, 25),
]


def threshold_study(args):
    """ms per iteration of whole fits, numpy's BLAS on 1 or 2 threads.

    What ``_SINGLE_THREAD_FLOPS`` decides: 40 L-BFGS-B iterations of a
    BackpropClassifier fit, the policy forced to one thread (``inf``) and to
    numpy's threads (``0``), scipy's BLAS on one thread in both.
    """
    digits_X, digits_y = load_digits(return_X_y=True)
    mnist_X, mnist_y = workload_data("W2", args.data)[:2]
    print("\nms per iteration of a fit, numpy's BLAS on 1 or 2 threads")
    saved, results = blas_module._SINGLE_THREAD_FLOPS, []
    try:
        for name, rows, hidden in THRESHOLD_FITS:
            X, y = (
                (digits_X / 16.0, digits_y)
                if rows is None
                else (mnist_X[:rows], mnist_y[:rows])
            )
            per_iteration = {}
            for threads, threshold in ((1, np.inf), (2, 0)):
                blas_module._SINGLE_THREAD_FLOPS = threshold
                clf = BackpropClassifier(
                    hidden_layer_sizes=(hidden,), tol=0, max_iter=40, random_state=0
                )
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", ConvergenceWarning)
                    seconds = min(timed_fit(clf, X, y) for _ in range(args.repeats))
                per_iteration[threads] = 1e3 * seconds / clf.n_iter_
            flops = 6.0 * X.shape[0] * sum(t.size for t in clf.thetas_)
            ratio = per_iteration[2] / per_iteration[1]
            print(
                f"{name:>6} {X.shape[0]:>5} x {X.shape[1]:<3} hidden {hidden:>3}  "
                f"{flops:8.2g} flops  1 thread {per_iteration[1]:7.2f}  "
                f"2 threads {per_iteration[2]:7.2f}  2/1 {ratio:.2f}"
            )
            results.append(
                {
                    "data": name,
                    "rows": X.shape[0],
                    "hidden": hidden,
                    "flops": flops,
                    "ms_1_thread": per_iteration[1],
                    "ms_2_threads": per_iteration[2],
                }
            )
    finally:
        blas_module._SINGLE_THREAD_FLOPS = saved
    return results


def timed_fit(clf, X, y):
    start = time.perf_counter()
    clf.fit(X, y)
    return time.perf_counter() - start


# ---------------------------------------------------------------------------
# Out of the box: every estimator at its defaults
# ---------------------------------------------------------------------------

#: The configurations of ``--defaults``: every parameter at its default.
DEFAULT_ESTIMATORS = {
    "BackpropClassifier()": lambda hidden: BackpropClassifier(
        hidden_layer_sizes=hidden, random_state=0
    ),
    "MLPClassifier()": lambda hidden: MLPClassifier(
        hidden_layer_sizes=hidden, random_state=0
    ),
    'MLPClassifier(solver="lbfgs")': lambda hidden: MLPClassifier(
        hidden_layer_sizes=hidden, solver="lbfgs", random_state=0
    ),
}


def fit_defaults(name, hidden, X, y, X_test, y_test):
    """Fit one default configuration: seconds, test accuracy, iterations."""
    est = DEFAULT_ESTIMATORS[name](hidden)
    gc.collect()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        start = time.perf_counter()
        est.fit(X, y)
        seconds = time.perf_counter() - start
    return seconds, float(est.score(X_test, y_test)), int(est.n_iter_)


def out_of_the_box(args):
    """The out-of-the-box table: medians of ``args.repeats`` alternating runs."""
    X, y, X_test, y_test, _, _ = workload_data("W2", args.data)
    names = list(DEFAULT_ESTIMATORS)
    rows = []
    for hidden in ((25,), (100,)):
        runs = {name: [] for name in names}
        for _ in range(args.repeats):
            for name in names:
                run = fit_defaults(name, hidden, X, y, X_test, y_test)
                runs[name].append(run)
                print(
                    f"  {hidden} {name}: {run[0]:.1f} s, {100 * run[1]:.2f}%, "
                    f"{run[2]} iterations",
                    flush=True,
                )
        row = {"hidden": hidden}
        for name in names:
            row[name] = {
                "seconds": statistics.median(r[0] for r in runs[name]),
                "accuracy": statistics.median(r[1] for r in runs[name]),
                "n_iter": statistics.median(r[2] for r in runs[name]),
            }
        ours, mlps = row[names[0]], [row[name] for name in names[1:]]
        row["time_ratio"] = ours["seconds"] / min(m["seconds"] for m in mlps)
        row["accuracy_gap"] = 100 * (
            ours["accuracy"] - max(m["accuracy"] for m in mlps)
        )
        rows.append(row)
    print_out_of_the_box(rows, names)
    return rows


def print_out_of_the_box(rows, names):
    print()
    print(
        "Out of the box: MNIST 8000 training / 2000 test rows, pixels / 255, "
        "defaults (random_state=0)"
    )
    print(
        f"{'hidden':<8}"
        + "".join(f"{name:>31}" for name in names)
        + f"{'ours / faster':>15}{'acc - better':>14}"
    )
    for row in rows:
        cells = "".join(
            f"{row[n]['seconds']:>9.1f} s {100 * row[n]['accuracy']:>6.2f}% "
            f"{row[n]['n_iter']:>5.0f} it".rjust(31)
            for n in names
        )
        print(
            f"{str(row['hidden']):<8}{cells}{row['time_ratio']:>14.2f}x"
            f"{row['accuracy_gap']:>+13.2f}"
        )
    met = all(r["time_ratio"] <= 0.5 and r["accuracy_gap"] >= -0.3 for r in rows)
    print(
        "targets (time <= 0.5x the faster, accuracy >= the better - 0.3 points): "
        + ("met" if met else "MISSED")
    )


# ---------------------------------------------------------------------------


def environment():
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "sklearn": sklearn.__version__,
        "skbackprop": skbackprop.__version__,
        "cpu_count": os.cpu_count(),
        "machine": platform.machine(),
        "processor": platform.processor(),
        "loadavg_start": load,
        "openblas_env": {
            k: v for k, v in os.environ.items() if k.startswith(("OPENBLAS", "OMP_"))
        },
        "threadpools": threadpool_info(),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke run, < 1 min")
    parser.add_argument(
        "--data",
        default=str(DEFAULT_DATA),
        help="folder with the MNIST t10k IDX files (default: %(default)s)",
    )
    parser.add_argument("--json", default=str(DEFAULT_JSON), help="results file")
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--workloads", default="W1,W2,W3")
    parser.add_argument("--dtypes", default="float64,float32")
    parser.add_argument("--no-memory", action="store_true")
    parser.add_argument("--scaling", action="store_true", help="scaling tables only")
    parser.add_argument("--threads", action="store_true", help="thread study only")
    parser.add_argument(
        "--defaults", action="store_true", help="the out-of-the-box table only"
    )
    args = parser.parse_args(argv)
    if args.repeats is None:
        args.repeats = 1 if args.quick or args.defaults else 3
    if args.defaults and args.json == str(DEFAULT_JSON):
        args.json = str(DEFAULT_JSON.with_name("bench_defaults.json"))
    workloads = [w.strip() for w in args.workloads.split(",") if w.strip()]
    problem = missing_mnist(args.data)
    if problem and (args.threads or args.defaults or workloads == ["W2"]):
        sys.exit(f"bench_fit.py: {problem}")
    if problem and "W2" in workloads:
        workloads.remove("W2")
        print(f"WARNING: W2 LEFT OUT: {problem}\n", file=sys.stderr)

    env = environment()
    print(
        f"numpy {env['numpy']}, scipy {env['scipy']}, scikit-learn {env['sklearn']}, "
        f"{env['cpu_count']} CPUs, load average {env['loadavg_start']}"
    )
    for pool in env["threadpools"]:
        print(
            f"  {pool['user_api']:<7}{pool.get('internal_api', ''):<9}"
            f"{pool['num_threads']} threads  {pool.get('architecture', '')}  "
            f"{Path(pool['filepath']).name}"
        )
    if env["openblas_env"]:
        print(f"  environment: {env['openblas_env']}")
    result = {"environment": env, "args": vars(args)}
    start = time.perf_counter()
    if args.defaults:
        result["defaults"] = out_of_the_box(args)
    elif args.threads:
        result["threads"] = thread_study(args)
        result["threshold"] = threshold_study(args)
    elif args.scaling:
        result["scaling"] = scaling(args)
    else:
        rows = []
        for name in workloads:
            for dtype in args.dtypes.split(","):
                row = run_workload(name, np.dtype(dtype.strip()).type, args)
                rows.append(row)
                print(
                    f"  done {name} {dtype} ({time.perf_counter() - start:.0f} s): "
                    f"fit ours/mlp {row['fit_ratio_vs_mlp']:.2f}, "
                    f"ours/mlp best {row['fit_ratio_vs_mlp_best']:.2f}, "
                    f"evaluation/floor {row['eval_over_floor']:.2f}",
                    flush=True,
                )
        result["rows"] = rows
        print_tables(rows)
        if problem and "W2" in args.workloads:
            result["w2_left_out"] = problem
            print(f"W2 LEFT OUT: {problem}")
    result["seconds"] = time.perf_counter() - start
    result["environment"]["loadavg_end"] = (
        os.getloadavg() if hasattr(os, "getloadavg") else None
    )
    path = Path(args.json)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=1, default=str))
    print(f"\n{result['seconds']:.0f} s; results written to {path}")


if __name__ == "__main__":
    main()
