"""BackpropClassifier against scikit-learn's MLPClassifier on the same cost.

``MLPClassifier(solver="lbfgs", activation="logistic")`` given one-hot targets
minimises exactly the course's cost (one logistic unit per class, the summed
binary log-loss, ``alpha / 2m`` times the squared weights without the biases)
with the same optimizer (scipy's L-BFGS-B), so the two are timed on the very
same function. Both run with ``tol=0`` so that they do the same number of
iterations (checked); BackpropClassifier then reaches ``max_iter``, so its
Newton polish (which only runs when the optimizer stops early) is not
triggered. Fit times are compared as they are, and per evaluation.

For each workload (W1 digits, W2 MNIST, W3 synthetic: ``_fit_workloads.py``)
and dtype, in one process, the configurations are run in turn,
``--repeats`` times (alternating), and the medians reported:

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

Usage (from the repository root; the tables of docs/performance.rst's
"Results")::

    python benchmarks/bench_same_cost.py            # W1, W2, W3 in float64 and float32
    python benchmarks/bench_same_cost.py --quick    # a smoke run: small sizes, float64
    python benchmarks/bench_same_cost.py --workloads W1 --dtypes float32 --repeats 5
"""

import os
import statistics
import sys
import time
import warnings

import numpy as np
from _fit_workloads import (
    ALPHA,
    fit_target,
    gemm_floor_fn,
    kind_threads,
    make_estimator,
    mb,
    memory_child,
    one_hot,
    policy_limit,
    workload_data,
)
from _harness import (
    in_fresh_process,
    json_path,
    load_average,
    make_parser,
    median_time,
    numpy_blas_limit,
    numpy_blas_threads,
    print_environment,
    thread_limit,
    write_json,
)
from mnist_data import DEFAULT_DATA, add_data_argument, missing_mnist
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network._multilayer_perceptron import _pack

from skbackprop import _placement
from skbackprop.backprop import init_thetas, make_cost_function, unroll

# ---------------------------------------------------------------------------
# Our evaluations, counted (MLPClassifier's: _fit_workloads.CountingMLP)
# ---------------------------------------------------------------------------

_our_evals = [0]


def _counting_make_cost_function(*args, **kwargs):
    fun = make_cost_function(*args, **kwargs)

    def counted(params):
        _our_evals[0] += 1
        return fun(params)

    return counted


# Where a numpy fit builds its evaluator (HostPlacement.evaluator).
_placement.make_cost_function = _counting_make_cost_function


def fit_once(kind, X, y, hidden, max_iter):
    """Fit one configuration; returns (seconds, n_iter, n_evals, estimator)."""
    est = make_estimator(kind, hidden, max_iter)
    target = fit_target(kind, y)
    _our_evals[0] = 0
    with warnings.catch_warnings(), kind_threads(kind):
        warnings.simplefilter("ignore", ConvergenceWarning)
        start = time.perf_counter()
        est.fit(X, target)
        seconds = time.perf_counter() - start
    n_evals = _our_evals[0] if kind == "ours" else est.n_evals_
    if n_evals == 0:
        raise RuntimeError(
            f"no evaluation of {kind} counted: the fit no longer builds its "
            "evaluator where this script's counter is put"
        )
    return seconds, int(est.n_iter_), n_evals, est


def accuracy(kind, est, X, y):
    if kind == "ours":
        return float(est.score(X, y))
    classes = np.unique(y)
    return float(np.mean(classes[np.argmax(est.predict_proba(X), axis=1)] == y))


# ---------------------------------------------------------------------------
# Evaluation level: one cost-and-gradient, and the GEMM floor
# ---------------------------------------------------------------------------


def mlp_eval_fn(est):
    packed = _pack(est.coefs_, est.intercepts_)
    args = est.lbfgs_args_
    return lambda: est._loss_grad_lbfgs(packed, *args)


def evaluation_runs(X, y, hidden):
    """``(name, fn, limit)`` of each evaluation timed, and (m, n_params)."""
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
        ("mlp", mlp_eval, lambda: thread_limit(None)),
        ("mlp1", mlp_eval, lambda: thread_limit(1)),
        ("floor1", floor, lambda: numpy_blas_limit(1)),
        (f"floor{n_cpu}", floor, lambda: numpy_blas_limit(n_cpu)),
        ("floor_rows1", floor_rows, lambda: numpy_blas_limit(1)),
        (f"floor_rows{n_cpu}", floor_rows, lambda: numpy_blas_limit(n_cpu)),
    ]
    return runs, (m, n_params)


def evaluation_level(X, y, hidden, number, repeats):
    """Median ms per evaluation: ours, MLP (default, 1 thread), GEMM floors."""
    runs, (m, n_params) = evaluation_runs(X, y, hidden)
    times = {}
    for _ in range(repeats):
        for name, fn, limit in runs:
            with limit():
                times.setdefault(name, []).append(median_time(fn, number))
    with policy_limit(m, n_params):
        our_threads = numpy_blas_threads()
    out = {k: 1e3 * statistics.median(v) for k, v in times.items()}
    out["our_numpy_blas_threads"] = our_threads
    n_cpu = os.cpu_count()
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
# One workload
# ---------------------------------------------------------------------------


def time_fits(X, y, X_test, y_test, hidden, max_iter, repeats):
    """Fit seconds of each kind over ``repeats`` rounds, and the last fits' info."""
    kinds = ["ours", "mlp", "mlp1"]
    fits = {k: [] for k in kinds}
    info = {}
    for _ in range(repeats):
        for kind in kinds:
            seconds, n_iter, n_evals, est = fit_once(kind, X, y, hidden, max_iter)
            fits[kind].append(seconds)
            info[kind] = {
                "n_iter": n_iter,
                "n_evals": n_evals,
                "accuracy": accuracy(kind, est, X_test, y_test),
            }
            del est
    return fits, info


def run_workload(name, dtype, args):
    X, y, X_test, y_test, hidden, max_iter = workload_data(name, args.data, args.quick)
    X = np.ascontiguousarray(X, dtype=dtype)
    X_test = np.ascontiguousarray(X_test, dtype=dtype)
    fits, info = time_fits(X, y, X_test, y_test, hidden, max_iter, args.repeats)
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
    row["same_iterations"] = len({d["n_iter"] for d in info.values()}) == 1
    f = row["fit_s"]
    f["mlp_best"] = min(f["mlp"], f["mlp1"])
    row["mlp_best_threads"] = "1" if f["mlp1"] < f["mlp"] else "default"
    row["fit_ratio_vs_mlp"] = f["ours"] / f["mlp"]
    row["fit_ratio_vs_mlp_best"] = f["ours"] / f["mlp_best"]
    row["per_eval_in_fit_ms"] = {k: 1e3 * f[k] / info[k]["n_evals"] for k in info}
    number = 2 if args.quick else {"W1": 20, "W2": 5, "W3": 1}[name]
    repeats = min(args.repeats, 2) if name == "W3" else args.repeats
    ev = row["eval_ms"] = evaluation_level(X, y, hidden, number, repeats)
    row["eval_over_floor"] = ev["ours"] / ev["floor_same_threads"]
    row["eval_over_best_floor"] = ev["ours"] / ev["floor_best"]
    row["eval_in_fit_over_floor"] = (
        row["per_eval_in_fit_ms"]["ours"] / ev["floor_same_threads"]
    )
    if not args.no_memory and not (args.quick and name != "W1"):
        row["memory"] = {
            kind: in_fresh_process(
                memory_child, (name, dtype, kind, args.data, args.quick, None, None, 3)
            )
            for kind in ("ours", "mlp")
        }
    return row


# ---------------------------------------------------------------------------
# The tables
# ---------------------------------------------------------------------------


def print_fit_table(rows):
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


def print_evaluation_table(rows):
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


def print_memory_table(rows):
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
            f"{mm['tracemalloc_mb']:>9.1f}{mb(mo['rss_mb']):>10}"
            f"{mb(mm['rss_mb']):>9}"
        )


def print_tables(rows):
    print_fit_table(rows)
    print_evaluation_table(rows)
    if any("memory" in r for r in rows):
        print_memory_table(rows)
    print()
    for r in rows:
        if not r["same_iterations"]:
            print(
                f"WARNING: {r['workload']} {r['dtype']}: iterations differ "
                f"(ours {r['ours_n_iter']}, mlp {r['mlp_n_iter']}, "
                f"mlp1 {r['mlp1_n_iter']})"
            )


# ---------------------------------------------------------------------------


def parse_args(argv):
    parser = make_parser(__doc__, "a smoke run: small sizes, float64, seconds")
    add_data_argument(parser)
    parser.add_argument("--json", default=None, help="results file")
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--workloads", default="W1,W2,W3")
    parser.add_argument("--dtypes", default=None, help="default float64,float32")
    parser.add_argument("--no-memory", action="store_true")
    args = parser.parse_args(argv)
    if args.repeats is None:
        args.repeats = 1 if args.quick else 3
    if args.dtypes is None:
        args.dtypes = "float64" if args.quick else "float64,float32"
    return args


def main(argv=None):
    args = parse_args(argv)
    workloads = [w.strip() for w in args.workloads.split(",") if w.strip()]
    problem = None
    if not (args.quick and args.data is None):
        problem = missing_mnist(args.data or DEFAULT_DATA)
    if problem and workloads == ["W2"]:
        sys.exit(f"bench_same_cost.py: {problem}")
    if problem and "W2" in workloads:
        workloads.remove("W2")
        print(f"WARNING: W2 LEFT OUT: {problem}\n", file=sys.stderr)
    result = {"environment": print_environment(), "args": vars(args)}
    start = time.perf_counter()
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
    result["environment"]["loadavg_end"] = load_average()
    print(f"\n{result['seconds']:.0f} s; ", end="")
    write_json(json_path("bench_same_cost", args.quick, args.json), result)


if __name__ == "__main__":
    main()
