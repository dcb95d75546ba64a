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

Usage (from the repository root; "The measured choice" in
docs/performance.rst's "BLAS thread policy")::

    python benchmarks/thread_choice.py               # 3 rounds, ~3 minutes
    python benchmarks/thread_choice.py --repeats 1
    python benchmarks/thread_choice.py --quick       # 1,000 rows, 5 iterations, 1 round
"""

import statistics

from _harness import make_parser, print_environment, thread_limit, timed_fit
from mnist_data import add_data_argument, mnist_or_stand_in
from sklearn.neural_network import MLPClassifier

import skbackprop._blas as blas
from skbackprop import BackpropClassifier


def _ours(X, y, max_iter, measure=True):
    if not measure:  # the size rule alone: numpy's BLAS keeps its threads
        real = blas.measured_blas_thread_limit
        blas.measured_blas_thread_limit = lambda X, n: blas._blas_thread_limit(
            X.shape[0], n
        )
    blas._CHOICES.clear()
    try:
        clf = BackpropClassifier(
            hidden_layer_sizes=(100,), max_iter=max_iter, tol=0, random_state=0
        )
        return timed_fit(clf, X, y), clf.n_fun_evals_
    finally:
        if not measure:
            blas.measured_blas_thread_limit = real


def _mlp(X, y, max_iter):
    mlp = MLPClassifier(
        hidden_layer_sizes=(100,),
        activation="logistic",
        solver="lbfgs",
        max_iter=max_iter,
        tol=0,
        random_state=0,
    )
    return timed_fit(mlp, X, y), mlp.n_iter_


def main():
    parser = make_parser(__doc__, "1,000 rows, 5 iterations, 1 round")
    parser.add_argument("--repeats", type=int, default=None, help="default 3")
    add_data_argument(parser)
    args = parser.parse_args()
    repeats = args.repeats or (1 if args.quick else 3)
    X, y, source = mnist_or_stand_in(args.data, args.quick)
    n_rows, it = (1000, 5) if args.quick else (8000, 30)
    X, y = X[:n_rows], y[:n_rows]
    print_environment()
    print(f"rows: {n_rows} of {source}, {it} iterations")
    variants = {
        "ours, measured": lambda: _ours(X, y, it),
        "ours, 1 thread": lambda: _with_one_thread(lambda: _ours(X, y, it)),
        "ours, all threads": lambda: _ours(X, y, it, measure=False),
        "MLP lbfgs, 1 thread": lambda: _with_one_thread(lambda: _mlp(X, y, it)),
        "MLP lbfgs, all threads": lambda: _mlp(X, y, it),
    }
    times = {name: [] for name in variants}
    chosen = []
    for repeat in range(repeats):
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
    with thread_limit(1):
        return run()


if __name__ == "__main__":
    main()
