"""Time per evaluation against the number of rows and the hidden width; peak memory.

Synthetic data (``make_classification``, 784 features, 10 classes: W3's,
``_fit_workloads.py``), float64, one hidden layer of 25, 100 or 256 units,
``m`` from 1,000 to 240,000 rows. Each evaluation of
``make_cost_function`` is timed next to its GEMM floor (the evaluation's
matrix products alone) on one and on all threads of numpy's BLAS, and the
fastest of the repeats is kept (the least disturbed by other load);
``policy`` is the thread count ``fit`` uses at that size. Then the peak
memory of a 2-iteration fit of the 784-256-128-10 network, in a fresh
process each, on all rows at once and with ``batch_size=4096``.

Usage (from the repository root; the tables of docs/performance.rst's
"Scaling")::

    python benchmarks/bench_scaling.py            # the tables (several minutes)
    python benchmarks/bench_scaling.py --quick    # a smoke run, small sizes
"""

import functools
import gc
import os
import time

import numpy as np
from _fit_workloads import (
    ALPHA,
    gemm_floor_fn,
    mb,
    memory_child,
    one_hot,
    policy_limit,
    synthetic,
)
from _harness import (
    in_fresh_process,
    json_path,
    make_parser,
    median_time,
    numpy_blas_limit,
    numpy_blas_threads,
    print_environment,
    write_json,
)

from skbackprop.backprop import init_thetas, make_cost_function, unroll


def time_one_size(X, Y, h, quick=False):
    """Best-of-repeats ms of ours and the floor on 1 and all threads."""
    n_cpu = os.cpu_count()
    m = X.shape[0]
    layer_sizes = (784, h, 10)
    params = unroll(init_thetas(layer_sizes, random_state=0))
    fun = functools.partial(make_cost_function(layer_sizes, X, Y, ALPHA), params)
    floor = gemm_floor_fn(X, layer_sizes)
    small = m * h < 5e6
    number, repeats = (5, 2) if small else (1, 3)
    if quick:
        number, repeats = 2, 1
    times = {}
    for _ in range(repeats):
        for t in (1, n_cpu):
            for name, fn in (("ours", fun), ("floor", floor)):
                with numpy_blas_limit(t):
                    times.setdefault(f"{name}{t}", []).append(
                        median_time(fn, number, warmup=int(small))
                    )
    ms_ = {k: 1e3 * min(v) for k, v in times.items()}
    with policy_limit(m, params.size):
        threads = numpy_blas_threads()
    return ms_, threads


def evaluation_table(ms, widths, quick=False):
    n_cpu = os.cpu_count()
    X_all, y_all = synthetic(max(ms))
    X_all = np.ascontiguousarray(X_all)
    rows = []
    print()
    print("Time per evaluation (ms), 784 inputs, 10 outputs, float64")
    print(
        f"{'m':>8}{'hidden':>8}{'ours 1t':>10}{f'ours {n_cpu}t':>10}"
        f"{'floor 1t':>10}{f'floor {n_cpu}t':>10}{'policy':>8}{'/floor':>8}"
    )
    for m in ms:
        X, Y = X_all[:m], one_hot(y_all[:m], np.arange(10))
        for h in widths:
            ms_, threads = time_one_size(X, Y, h, quick)
            ratio = ms_[f"ours{threads}"] / ms_[f"floor{threads}"]
            print(
                f"{m:>8}{h:>8}{ms_['ours1']:>10.2f}{ms_[f'ours{n_cpu}']:>10.2f}"
                f"{ms_['floor1']:>10.2f}{ms_[f'floor{n_cpu}']:>10.2f}"
                f"{threads:>7}t{ratio:>8.2f}",
                flush=True,
            )
            rows.append({"m": m, "hidden": h, "policy_threads": threads, **ms_})
            gc.collect()
    return rows


def memory_table(ms):
    memory = []
    print()
    print("Peak memory during fit (MB beyond X, tracemalloc / RSS growth),")
    print("784-256-128-10 network, float64, 2 iterations, fresh process each")
    print(
        f"{'m':>8}{'X MB':>8}{'full tm':>10}{'full RSS':>10}"
        f"{'4096 tm':>10}{'4096 RSS':>10}"
    )
    for m in ms:
        full, chunk = (
            in_fresh_process(
                memory_child, ("scaling", np.float64, "ours", None, False, m, b, 2)
            )
            for b in (None, 4096)
        )
        print(
            f"{m:>8}{m * 784 * 8 / 2**20:>8.0f}{full['tracemalloc_mb']:>10.1f}"
            f"{mb(full['rss_mb']):>10}{chunk['tracemalloc_mb']:>10.1f}"
            f"{mb(chunk['rss_mb']):>10}"
        )
        memory.append({"m": m, "full": full, "batch_size_4096": chunk})
    return memory


def main(argv=None):
    parser = make_parser(__doc__)
    parser.add_argument("--json", default=None, help="results file")
    parser.add_argument("--no-memory", action="store_true")
    args = parser.parse_args(argv)
    result = {"environment": print_environment(), "args": vars(args)}
    start = time.perf_counter()
    if args.quick:
        ms, widths, mem_ms = [1000, 2000], [25, 100], [2000]
    else:
        ms, widths = [1000, 4000, 15000, 60000, 240000], [25, 100, 256]
        mem_ms = [60000, 120000, 240000]
    result["time_per_evaluation"] = evaluation_table(ms, widths, args.quick)
    if not args.no_memory:
        result["peak_memory"] = memory_table(mem_ms)
    result["seconds"] = time.perf_counter() - start
    print(f"\n{result['seconds']:.0f} s; ", end="")
    write_json(json_path("bench_scaling", args.quick, args.json), result)


if __name__ == "__main__":
    main()
