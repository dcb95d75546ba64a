"""What every benchmark script shares: timing, thread limits, the environment line.

* **Timing**: :func:`call_times` (each call of a function, after warm-up
  calls, optionally synchronising a device), :func:`median_time` and
  :func:`best_time` over them, and :func:`timed_fit` (one ``fit``, its
  ``ConvergenceWarning`` silenced: the benchmarks stop fits on purpose).
* **Threads**: :func:`thread_limit` (every pool, threadpoolctl),
  :func:`numpy_blas_limit` and :func:`numpy_blas_threads` (numpy's BLAS
  alone, the one that runs ``np.matmul``; scipy's may be another library).
* **Memory**: :func:`read_status` and :func:`reset_peak_rss` (Linux's
  ``/proc/self``), :func:`in_fresh_process` (a spawned interpreter, so a
  peak belongs to one measurement).
* **The environment**: :func:`environment` (versions, CPU, BLAS pools, load
  average: what each JSON record carries) and :func:`print_environment`
  (the same as the first lines of every script's output).
* **Running**: :func:`make_parser` (the docstring's first line, ``--quick``),
  :func:`require` (an optional backend, or "skipped: needs ..." and exit 0
  in a ``--quick`` run), :func:`json_path` and :func:`write_json` (quick
  runs write under ``benchmarks/results/quick/``, never over a full run's
  record).
"""

import argparse
import importlib
import json
import multiprocessing
import os
import platform
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import scipy
import sklearn
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import ThreadpoolController, threadpool_info, threadpool_limits

import skbackprop
from skbackprop import _blas

RESULTS = Path(__file__).resolve().parent / "results"


# ---------------------------------------------------------------------------
# Timing
# ---------------------------------------------------------------------------


def call_times(fn, number, warmup=1, sync=None):
    """Seconds of each of ``number`` calls of ``fn()``, after ``warmup`` calls.

    ``sync`` (e.g. ``torch.cuda.synchronize``) runs after each call, inside
    its time, so that a device's queued work is counted.
    """
    sync = sync or (lambda: None)
    for _ in range(warmup):
        fn()
    sync()
    times = []
    for _ in range(number):
        start = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - start)
    return times


def median_time(fn, number, warmup=1, sync=None):
    """Median seconds per call of ``fn`` (see :func:`call_times`)."""
    return statistics.median(call_times(fn, number, warmup, sync))


def best_time(fn, number, warmup=1, sync=None):
    """Fastest call of ``fn``: the one least disturbed by other load."""
    return min(call_times(fn, number, warmup, sync))


def timed_fit(estimator, X, y, **fit_params):
    """Seconds of one ``estimator.fit(X, y)``, its ConvergenceWarning silenced."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        start = time.perf_counter()
        estimator.fit(X, y, **fit_params)
        return time.perf_counter() - start


# ---------------------------------------------------------------------------
# Threads
# ---------------------------------------------------------------------------


def thread_limit(threads):
    """Every thread pool limited to ``threads`` (``None``: as they are)."""
    return threadpool_limits(limits=threads)


def numpy_blas_paths():
    """File paths of numpy's BLAS, and of the other BLAS libraries (scipy's)."""
    libs = ThreadpoolController().select(user_api="blas").lib_controllers
    mine = [lib.filepath for lib in libs if _blas._is_numpy_blas(lib)]
    return mine, [lib.filepath for lib in libs if lib.filepath not in mine]


def numpy_blas_limit(threads):
    """numpy's BLAS (the one that runs ``np.matmul``) limited to ``threads``.

    Where numpy's BLAS cannot be told apart, every BLAS is limited.
    """
    controller = ThreadpoolController()
    mine, _ = numpy_blas_paths()
    if not mine:
        return controller.select(user_api="blas").limit(limits=threads)
    return controller.select(filepath=mine).limit(limits=threads)


def numpy_blas_threads():
    """The current thread count of numpy's BLAS."""
    libs = ThreadpoolController().select(user_api="blas").lib_controllers
    return max(lib.num_threads for lib in libs if _blas._is_numpy_blas(lib))


# ---------------------------------------------------------------------------
# Memory
# ---------------------------------------------------------------------------


def read_status(field):
    """A size field of ``/proc/self/status`` (``VmRSS``, ``VmHWM``) in bytes."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def reset_peak_rss():
    """Reset the peak resident set (``VmHWM``) to the current one; False if not."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def in_fresh_process(fn, *args):
    """``fn(*args)`` in a freshly spawned interpreter (``fn`` importable)."""
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(fn, args)


# ---------------------------------------------------------------------------
# The environment
# ---------------------------------------------------------------------------


def cpu_name():
    """The CPU's model name (``/proc/cpuinfo``), else ``platform.processor()``."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def load_average():
    return os.getloadavg() if hasattr(os, "getloadavg") else None


def environment(**extra):
    """Versions, CPU, BLAS pools and load average, plus ``extra``: a dict."""
    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "sklearn": sklearn.__version__,
        "skbackprop": skbackprop.__version__,
        "cpu": cpu_name(),
        "cpu_count": os.cpu_count(),
        "machine": platform.machine(),
        "loadavg_start": load_average(),
        "blas_env": {
            k: v
            for k, v in os.environ.items()
            if k.startswith(("OPENBLAS", "OMP_", "MKL_"))
        },
        "threadpools": threadpool_info(),
        "time": time.strftime("%Y-%m-%d %H:%M:%S"),
        **extra,
    }


def environment_lines(env):
    """The environment as printed: one line of versions, one per thread pool."""
    load = env["loadavg_start"]
    load = "n/a" if load is None else ", ".join(f"{x:.1f}" for x in load)
    lines = [
        f"python {env['python']}, numpy {env['numpy']}, scipy {env['scipy']}, "
        f"scikit-learn {env['sklearn']}, skbackprop {env['skbackprop']}; "
        f"{env['cpu_count']} CPUs ({env['cpu']}), load average {load}"
    ]
    for pool in env["threadpools"]:
        lines.append(
            f"  {pool['user_api']:<7}{pool.get('internal_api', ''):<9}"
            f"{pool['num_threads']} threads  {pool.get('architecture', '')}  "
            f"{Path(pool['filepath']).name}"
        )
    if env["blas_env"]:
        lines.append(f"  environment: {env['blas_env']}")
    return lines


def print_environment(**extra):
    """Print the environment's lines and return its dict (for the JSON record)."""
    env = environment(**extra)
    print("\n".join(environment_lines(env)), flush=True)
    return env


# ---------------------------------------------------------------------------
# Running
# ---------------------------------------------------------------------------


def make_parser(doc, quick_help="a smoke run: small data, seconds"):
    """An ArgumentParser described by ``doc``'s first line, with ``--quick``."""
    parser = argparse.ArgumentParser(
        description=doc.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help=quick_help)
    return parser


def parse_suite_args(doc, argv=None):
    """The suite studies' arguments: ``--quick`` and ``--n-jobs`` (outer folds at once).

    ``--n-jobs`` defaults to 2, and to 1 in a quick run, whose fits are too
    short to pay for workers.
    """
    parser = make_parser(doc, "2 problems, 2 folds, 3 λ, one job")
    parser.add_argument("--n-jobs", type=int, default=None, help="outer folds at once")
    args = parser.parse_args(argv)
    if args.n_jobs is None:
        args.n_jobs = 1 if args.quick else 2
    return args


def require(module, quick, why=None):
    """Import an optional backend; without it, skip a quick run or fail.

    A ``--quick`` run (the smoke run of CI) prints "skipped: needs MODULE"
    and exits 0; a full run exits with the same message as its error.
    """
    try:
        return importlib.import_module(module)
    except ImportError:
        message = f"needs {module}" + (f" ({why})" if why else "")
        if quick:
            print(f"skipped: {message}")
            sys.exit(0)
        sys.exit(f"{Path(sys.argv[0]).name}: {message}")


def json_path(name, quick, given=None):
    """Where a run writes its JSON: ``given``, else ``results/[quick/]NAME.json``."""
    if given is not None:
        return Path(given)
    return RESULTS / "quick" / f"{name}.json" if quick else RESULTS / f"{name}.json"


def write_json(path, record):
    """Write ``record`` as JSON (anything not serialisable as its ``str``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=1, default=str) + "\n")
    print(f"results written to {path}")


def run_repeated_study(doc, argv, name, key, study):
    """Parse ``--quick``, ``--data``, ``--repeats`` and ``--json``; run ``study(args)``.

    ``--repeats`` defaults to 3 (1 in a quick run). The result, with the
    environment and the arguments, goes under ``key`` to ``name``'s JSON file.
    """
    from mnist_data import add_data_argument  # not at the top: mnist_data is a peer

    parser = make_parser(doc)
    add_data_argument(parser)
    parser.add_argument("--repeats", type=int, default=None, help="default 3")
    parser.add_argument("--json", default=None, help="results file")
    args = parser.parse_args(argv)
    if args.repeats is None:
        args.repeats = 1 if args.quick else 3
    result = {"environment": print_environment(), "args": vars(args)}
    result[key] = study(args)
    write_json(json_path(name, args.quick, args.json), result)
