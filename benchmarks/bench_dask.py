"""The full-batch fit on a Dask cluster against the in-memory fit, one run.

On a ``LocalCluster`` of two worker processes of one thread each (the
scheduler runs in this process, as a client's does next to a real cluster;
a ``--quick`` run's workers are two threads in it, which start faster):

1. **Time per evaluation** of the cost and gradient at 60,000 x 784, hidden
   ``(100,)``, 10 classes (the MNIST test set tiled six times, or synthetic
   data without it): in memory (the estimator's evaluator under its BLAS
   thread policy, two threads here) and on Dask (``X`` persisted on the two
   workers, a block each). From the task stream: each block's compute, and
   the rest of the evaluation (scheduling, the parameters to the workers,
   the tree of additions, the result back) as the overhead.
2. **Scheduler overhead per evaluation at small sizes**: a small network on
   a few thousand rows in 2 to 32 blocks, where computing is negligible; a
   straight line through it gives the fixed cost of an evaluation and the
   cost of each block's task.
3. **Client memory**: in a fresh process, ``X`` of 2.1 GB (340,000 x 784
   float64) made on the workers by ``da.random`` (never on the client) and
   ``BackpropClassifier(hidden_layer_sizes=(25,), max_iter=3)`` fitted on
   it; the client's peak resident memory during the fit minus before it.
4. **A paper estimate** of the time per evaluation on 100 workers with 100
   times the rows (600 rows x 10,000 per worker, 6,000,000 in all): the
   measured compute per row of a block, scaled to 60,000 rows per worker,
   plus the measured overhead per evaluation and per task for the 100 block
   tasks and the tree's, plus moving the parameters and the partial sums
   over an assumed 10 Gbit/s network (stated in the output).

Usage (from the repository root)::

    python benchmarks/bench_dask.py            # the sizes above (a few minutes)
    python benchmarks/bench_dask.py --quick    # small sizes, seconds

Results are printed as tables and saved to benchmarks/results/bench_dask.json
(a quick run's to benchmarks/results/quick/). Needs the dask extra.
"""

import math
import multiprocessing
import statistics
import time
import warnings

import numpy as np
from _harness import (
    json_path,
    make_parser,
    median_time,
    print_environment,
    read_status,
    require,
    reset_peak_rss,
    write_json,
)
from mnist_data import DEFAULT_DATA, add_data_argument, load_mnist, missing_mnist

#: Network assumed for the paper estimate: 10 Gbit/s, 0.2 ms per message.
BANDWIDTH = 1.25e9  # bytes per second
LATENCY = 2e-4  # seconds
SPLIT_EVERY = 8


def local_cluster(processes=True):
    import distributed

    return distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=processes,
        protocol="tcp",
        host="127.0.0.1",
        # None would still try port 8787 and warn when it is taken.
        dashboard_address="127.0.0.1:0",
    )


def mnist_rows(m, data_dir, quick):
    """``m`` rows of the MNIST test set (tiled), or synthetic data without it.

    A ``--quick`` run without ``--data`` takes the synthetic rows.
    """
    if data_dir is None and not quick:
        data_dir = DEFAULT_DATA
    if data_dir is not None and not missing_mnist(data_dir):
        X, y = load_mnist(data_dir)
        reps = math.ceil(m / len(y))
        return np.tile(X, (reps, 1))[:m], np.tile(y, reps)[:m], "MNIST test set"
    rng = np.random.default_rng(0)
    return rng.random((m, 784)), rng.integers(0, 10, m), "synthetic"


def one_hot(y, n_classes=10):
    return np.eye(n_classes, dtype=np.uint8)[y]


def block_compute_times(task_stream):
    """Each ``_block_data_sums`` task's compute time (s) in a task stream."""
    times = []
    for task in task_stream.data:
        if "_block_data_sums" not in str(task["key"]):
            continue
        for ss in task["startstops"]:
            if ss["action"] == "compute":
                times.append(ss["stop"] - ss["start"])
    return times


def time_evaluations(cost, params, number):
    """Median wall time (s) of ``number`` evaluations at nearby parameters.

    Each at other parameters (a step of 1e-3 more each call), so that
    nothing the cluster may cache answers for the next one; the warm-up
    call (buffers, imports, connections) at ``params``.
    """
    shifts = iter([0.0, *(1e-3 * i for i in range(number))])  # warm-up, then each
    return median_time(lambda: cost(params + next(shifts)), number)


# ---------------------------------------------------------------------------
# 1. Time per evaluation against the in-memory path
# ---------------------------------------------------------------------------


def per_evaluation(m, number, data_dir, quick):
    import dask.array as da
    import distributed

    from skbackprop._blas import _blas_thread_limit
    from skbackprop._dask import DaskCost
    from skbackprop.backprop import init_thetas, make_cost_function, unroll

    X, y, source = mnist_rows(m, data_dir, quick)
    Y = one_hot(y)
    layer_sizes = (784, 100, 10)
    params = unroll(init_thetas(layer_sizes, random_state=0))
    with _blas_thread_limit(m, params.shape[0]):  # the fit's policy
        in_memory = time_evaluations(
            make_cost_function(layer_sizes, X, Y, 1.0), params, number
        )
    with (
        local_cluster(processes=not quick) as cluster,
        distributed.Client(cluster) as client,
        warnings.catch_warnings(),
    ):
        # X goes from here to the workers once, on purpose (Dask warns).
        warnings.filterwarnings("ignore", "Sending large graph", UserWarning)
        rows = m // 2
        Xd = da.from_array(X, chunks=(rows, 784)).persist()
        Yd = da.from_array(Y, chunks=(rows, 10)).persist()
        distributed.wait([Xd, Yd])
        cost = DaskCost(layer_sizes, Xd, Yd, 1.0)
        cost(params)
        with distributed.get_task_stream(client) as stream:
            on_dask = time_evaluations(cost, params, number)
    block = statistics.median(block_compute_times(stream))
    return {
        "data": f"{source}, {m} x 784, hidden (100,), 10 outputs, float64",
        "m": m,
        "blocks": 2,
        "in_memory_s": in_memory,
        "dask_s": on_dask,
        "ratio": on_dask / in_memory,
        "block_compute_s": block,
        "block_rows": rows,
        "overhead_s": on_dask - block,
        "n_params": int(params.shape[0]),
    }


# ---------------------------------------------------------------------------
# 2. Overhead per evaluation at small sizes
# ---------------------------------------------------------------------------


def small_overhead(number, block_counts, m=2048, processes=True):
    import dask.array as da
    import distributed

    from skbackprop._dask import DaskCost
    from skbackprop.backprop import init_thetas, make_cost_function, unroll

    rng = np.random.default_rng(0)
    X = rng.standard_normal((m, 64))
    Y = one_hot(rng.integers(0, 10, m))
    layer_sizes = (64, 25, 10)
    params = unroll(init_thetas(layer_sizes, random_state=0))
    in_memory = time_evaluations(make_cost_function(layer_sizes, X, Y, 1.0), params, 50)
    rows = []
    with local_cluster(processes) as cluster, distributed.Client(cluster):
        for n_blocks in block_counts:
            Xd = da.from_array(X, chunks=(m // n_blocks, 64)).persist()
            Yd = da.from_array(Y, chunks=(m // n_blocks, 10)).persist()
            distributed.wait([Xd, Yd])
            t = time_evaluations(DaskCost(layer_sizes, Xd, Yd, 1.0), params, number)
            rows.append({"blocks": n_blocks, "dask_s": t})
    blocks = np.array([r["blocks"] for r in rows], dtype=float)
    times = np.array([r["dask_s"] for r in rows])
    per_task, fixed = np.polyfit(blocks, times, 1)
    return {
        "data": f"{m} x 64, hidden (25,), 10 outputs",
        "in_memory_s": in_memory,
        "rows": rows,
        "fixed_s": float(fixed),
        "per_block_s": float(per_task),
    }


# ---------------------------------------------------------------------------
# 3. Client memory while X lives on the workers
# ---------------------------------------------------------------------------


def _rss_mb():
    return read_status("VmRSS") / 2**20


def memory_child(spec, queue):
    """In a fresh process: fit on X made by da.random on the workers."""
    import dask.array as da
    import distributed

    from skbackprop import BackpropClassifier

    m, n = spec["m"], 784
    with local_cluster(spec["processes"]) as cluster, distributed.Client(cluster):
        X = da.random.default_rng(0).random((m, n), chunks=(m // 8, n))
        y = da.random.default_rng(1).integers(0, 10, m, chunks=m // 8)
        clf = BackpropClassifier(hidden_layer_sizes=(25,), max_iter=3, random_state=0)
        # Everything a fit imports and starts, once, on a small fit.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            small = da.random.default_rng(2).random((100, n), chunks=(50, n))
            clf.fit(small, y[:100].persist())
        before = _rss_mb()
        reset_peak_rss()
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            clf.fit(X, y)
        seconds = time.perf_counter() - start
        peak = read_status("VmHWM") / 2**20
        queue.put(
            {
                "X_gb": m * n * 8 / 1e9,
                "shape": [m, n],
                "client_rss_before_mb": before,
                "client_peak_mb": peak,
                "client_growth_mb": peak - before,
                "fit_s": seconds,
                "n_fun_evals": int(clf.n_fun_evals_),
            }
        )


def client_memory(m, processes=True):
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    spec = {"m": m, "processes": processes}
    child = context.Process(target=memory_child, args=(spec, queue))
    child.start()
    result = queue.get()
    child.join()
    return result


# ---------------------------------------------------------------------------
# 4. The paper estimate
# ---------------------------------------------------------------------------


def paper_estimate(evaluation, overhead, workers=100, scale=100):
    """Time per evaluation on ``workers`` workers with ``scale`` times the rows."""
    rows_per_worker = evaluation["m"] * scale // workers
    per_row = evaluation["block_compute_s"] / evaluation["block_rows"]
    compute = per_row * rows_per_worker
    n_tree = 0
    level = workers
    while level > 1:
        level = math.ceil(level / SPLIT_EVERY)
        n_tree += level
    depth = math.ceil(math.log(workers, SPLIT_EVERY))
    vector = 8 * (evaluation["n_params"] + 1)
    # The parameters reach the workers by copies of copies: log2 rounds.
    broadcast = math.ceil(math.log2(workers)) * (LATENCY + vector / BANDWIDTH)
    # Each level of the tree takes up to SPLIT_EVERY vectors into one worker.
    reduce = depth * (LATENCY + SPLIT_EVERY * vector / BANDWIDTH) + vector / BANDWIDTH
    scheduling = overhead["fixed_s"] + overhead["per_block_s"] * (workers + n_tree)
    total = compute + scheduling + broadcast + reduce
    in_memory_one_machine = evaluation["in_memory_s"] * scale
    return {
        "workers": workers,
        "rows": evaluation["m"] * scale,
        "rows_per_worker": rows_per_worker,
        "compute_s": compute,
        "scheduling_s": scheduling,
        "broadcast_s": broadcast,
        "reduce_s": reduce,
        "total_s": total,
        "one_machine_s": in_memory_one_machine,
        "assumptions": (
            f"{BANDWIDTH * 8 / 1e9:.0f} Gbit/s, {LATENCY * 1e3:.1f} ms per message; "
            "each worker as fast as one of this machine's; one block per worker; "
            "the scheduler's cost per task as measured here"
        ),
    }


# ---------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------


def print_report(results):
    ev = results["per_evaluation"]
    print(f"\n1. Time per evaluation ({ev['data']}; 2 workers x 1 thread)")
    print(f"   in memory (2 BLAS threads)   {ev['in_memory_s'] * 1e3:9.1f} ms")
    print(f"   Dask, 2 blocks               {ev['dask_s'] * 1e3:9.1f} ms")
    print(f"     of which a block's compute {ev['block_compute_s'] * 1e3:9.1f} ms")
    print(f"     overhead                   {ev['overhead_s'] * 1e3:9.1f} ms")
    print(f"   ratio Dask / in memory       {ev['ratio']:9.2f}   (target <= 1.5)")
    ov = results["small_overhead"]
    print(f"\n2. Overhead per evaluation at small sizes ({ov['data']})")
    print(f"   in memory                    {ov['in_memory_s'] * 1e3:9.2f} ms")
    for row in ov["rows"]:
        print(
            f"   Dask, {row['blocks']:2d} blocks              "
            f"{row['dask_s'] * 1e3:9.1f} ms"
        )
    print(
        f"   fit: {ov['fixed_s'] * 1e3:.1f} ms + {ov['per_block_s'] * 1e3:.2f} ms "
        "per block"
    )
    mem = results["client_memory"]
    print(
        f"\n3. Client memory, X of {mem['X_gb']:.2f} GB {tuple(mem['shape'])} "
        "made on the workers"
    )
    print(f"   client RSS before fit        {mem['client_rss_before_mb']:9.0f} MB")
    print(f"   client peak during fit       {mem['client_peak_mb']:9.0f} MB")
    print(
        f"   growth                       {mem['client_growth_mb']:9.0f} MB"
        "   (target <= 200)"
    )
    print(
        f"   fit (max_iter=3)             {mem['fit_s']:9.1f} s, "
        f"{mem['n_fun_evals']} evaluations"
    )
    est = results["paper_estimate"]
    print(
        f"\n4. Estimate: {est['workers']} workers, {est['rows']:,} rows "
        f"({est['rows_per_worker']:,} per worker)"
    )
    for name in ("compute", "scheduling", "broadcast", "reduce", "total"):
        print(f"   {name:<28} {est[name + '_s'] * 1e3:9.1f} ms")
    print(
        f"   one machine, in memory       {est['one_machine_s'] * 1e3:9.1f} ms "
        "(if the rows fitted)"
    )
    print(f"   assumptions: {est['assumptions']}")


def main(argv=None):
    parser = make_parser(__doc__, "small sizes, seconds")
    add_data_argument(parser)
    parser.add_argument("--json", default=None, help="results file")
    args = parser.parse_args(argv)
    quick = args.quick
    dask = require("dask", quick, "the dask extra")
    distributed = require("distributed", quick, "the dask extra")
    env = print_environment(dask=dask.__version__, distributed=distributed.__version__)
    results = {"environment": env, "quick": quick}
    results["per_evaluation"] = per_evaluation(
        4000 if quick else 60000, 3 if quick else 10, args.data, quick
    )
    results["small_overhead"] = small_overhead(
        5 if quick else 30, (2, 4) if quick else (2, 4, 8, 16, 32), 2048, not quick
    )
    results["client_memory"] = client_memory(8000 if quick else 340000, not quick)
    results["paper_estimate"] = paper_estimate(
        results["per_evaluation"], results["small_overhead"]
    )
    print_report(results)
    write_json(json_path("bench_dask", quick, args.json), results)


if __name__ == "__main__":
    main()
