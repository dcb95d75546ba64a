"""Per-evaluation time with numpy's and scipy's BLAS on one or two threads each.

numpy's BLAS runs the evaluation's matrix products; scipy's (another
OpenBLAS in the PyPI wheels) runs L-BFGS-B's own small products. For W1 (the
digits) and W2 (MNIST, 8,000 rows; ``_fit_workloads.py``), one
cost-and-gradient evaluation is timed alone (median of 20 or 5 calls) and
inside a run of L-BFGS-B (30 or 10 iterations, the fit's time per
evaluation), with the two pools at (1, 1), (2, 2), (2, 1) and (1, 2) threads;
medians over ``--repeats``. Where numpy and scipy share one BLAS there is
nothing to tell apart, and the script says so.

Usage (from the repository root; the first tables of docs/performance.rst's
"BLAS thread policy")::

    python benchmarks/bench_thread_pools.py               # medians of 3
    python benchmarks/bench_thread_pools.py --repeats 1
    python benchmarks/bench_thread_pools.py --quick       # digits and a stand-in
"""

import functools
import statistics
import time

import numpy as np
from _fit_workloads import ALPHA, one_hot, workload_data
from _harness import median_time, numpy_blas_paths, run_repeated_study
from scipy.optimize import minimize
from threadpoolctl import ThreadpoolController

from skbackprop.backprop import init_thetas, make_cost_function, unroll

#: (numpy's threads, scipy's threads) measured.
PAIRS = [(1, 1), (2, 2), (2, 1), (1, 2)]


class CountedFunction:
    def __init__(self, fun):
        self.fun, self.count = fun, 0

    def __call__(self, params):
        self.count += 1
        return self.fun(params)


def alone_and_inside(fun, p0, number, iters):
    """Seconds of one evaluation alone, and per evaluation inside L-BFGS-B."""
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
    return alone, (time.perf_counter() - start) / counted.count


def one_workload(name, args, controller, np_paths, sp_paths):
    X, y, _, _, hidden, _ = workload_data(name, args.data, args.quick)
    Y = one_hot(y, np.unique(y)).astype(np.float64)
    layer_sizes = (X.shape[1], *hidden, Y.shape[1])
    fun = make_cost_function(layer_sizes, X, Y, ALPHA)
    p0 = unroll(init_thetas(layer_sizes, random_state=0))
    number, iters = (20, 30) if name == "W1" else (5, 10)
    if args.quick:
        number, iters = 2, 5
    times = {}
    for _ in range(args.repeats):
        for nt_np, nt_sp in PAIRS:
            with (
                controller.select(filepath=np_paths).limit(limits=nt_np),
                controller.select(filepath=sp_paths).limit(limits=nt_sp),
            ):
                times.setdefault((nt_np, nt_sp), []).append(
                    alone_and_inside(fun, p0, number, iters)
                )
    results = []
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


def thread_study(args):
    """The table: every workload at every pair of thread counts."""
    np_paths, sp_paths = numpy_blas_paths()
    if not np_paths or not sp_paths:
        print("numpy and scipy share one BLAS here; no thread study to make.")
        return []
    controller = ThreadpoolController()
    print()
    print(
        "ms per evaluation: alone, and inside L-BFGS-B "
        "(numpy BLAS / scipy BLAS threads)"
    )
    results = []
    for name in ("W1", "W2"):
        results += one_workload(name, args, controller, np_paths, sp_paths)
    return results


def main(argv=None):
    run_repeated_study(__doc__, argv, "bench_thread_pools", "threads", thread_study)


if __name__ == "__main__":
    main()
