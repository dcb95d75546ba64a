"""The BLAS thread count chosen by measurement, against both fixed counts.

MNIST 8,000 x 784, 100 hidden units, 30 L-BFGS-B iterations (``tol=0``, so
every fit runs all 30), fitted in turn, ``--repeats`` rounds in one process:

* ours as shipped: a fresh choice each fit (the per-process cache cleared),
  so the measurement's own cost is in its time;
* ours held at one thread (``threadpool_limits(1)``), and at every thread
  (the measurement switched off, the size rule alone);
* ``MLPClassifier(solver="lbfgs")`` at one thread and at every thread.

Prints seconds per fit (median over rounds), the thread count the
measurement chose in each round, and the ratios to MLPClassifier's faster
count.

Usage (from the repository root)::

    python benchmarks/thread_choice.py               # 3 rounds, ~3 minutes
    python benchmarks/thread_choice.py --repeats 1
"""

import argparse
import statistics
import time
import warnings

from mnist_data import DEFAULT_DATA, load_mnist
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier
from threadpoolctl import threadpool_info, threadpool_limits

import skbackprop._blas as blas
from skbackprop import BackpropClassifier


def _ours(X, y, measure=True):
    if not measure:  # the size rule alone: numpy's BLAS keeps its threads
        real = blas.measured_blas_thread_limit
        blas.measured_blas_thread_limit = lambda X, n: blas._blas_thread_limit(
            X.shape[0], n
        )
    blas._CHOICES.clear()
    try:
        clf = BackpropClassifier(
            hidden_layer_sizes=(100,), max_iter=30, tol=0, random_state=0
        )
        start = time.perf_counter()
        clf.fit(X, y)
        return time.perf_counter() - start, clf.n_fun_evals_
    finally:
        if not measure:
            blas.measured_blas_thread_limit = real


def _mlp(X, y):
    mlp = MLPClassifier(
        hidden_layer_sizes=(100,),
        activation="logistic",
        solver="lbfgs",
        max_iter=30,
        tol=0,
        random_state=0,
    )
    start = time.perf_counter()
    mlp.fit(X, y)
    return time.perf_counter() - start, mlp.n_iter_


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--data", default=DEFAULT_DATA)
    args = parser.parse_args()
    X, y = load_mnist(args.data)
    X, y = X[:8000], y[:8000]
    print(
        "BLAS:",
        [(i["internal_api"], i["num_threads"]) for i in threadpool_info()],
    )
    variants = {
        "ours, measured": lambda: _ours(X, y),
        "ours, 1 thread": lambda: _with_one_thread(lambda: _ours(X, y)),
        "ours, all threads": lambda: _ours(X, y, measure=False),
        "MLP lbfgs, 1 thread": lambda: _with_one_thread(lambda: _mlp(X, y)),
        "MLP lbfgs, all threads": lambda: _mlp(X, y),
    }
    times = {name: [] for name in variants}
    chosen = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for repeat in range(args.repeats):
            for name, run in variants.items():
                seconds, _ = run()
                times[name].append(seconds)
                if name == "ours, measured":
                    chosen.append(sorted(blas._CHOICES.values()))
            print(
                f"round {repeat + 1}: "
                + ", ".join(f"{n} {t[-1]:.2f}s" for n, t in times.items())
            )
    medians = {name: statistics.median(t) for name, t in times.items()}
    best_mlp = min(medians["MLP lbfgs, 1 thread"], medians["MLP lbfgs, all threads"])
    print(f"\n{'variant':<26}{'s per fit':>10}{'/ best MLP':>12}")
    for name, seconds in medians.items():
        print(f"{name:<26}{seconds:>10.2f}{seconds / best_mlp:>12.2f}")
    print("threads chosen per round:", chosen)


def _with_one_thread(run):
    with threadpool_limits(1):
        return run()


if __name__ == "__main__":
    main()
