"""ms per iteration of whole fits with numpy's BLAS on one or on two threads.

What ``skbackprop._blas._SINGLE_THREAD_FLOPS`` decides: 40 L-BFGS-B
iterations of a BackpropClassifier fit (``tol=0``) on the digits (25 and 100
hidden units) and on 500 to 8,000 MNIST rows, the thread policy forced to
one thread (threshold ``inf``) and to numpy's threads (``0``); the best of
``--repeats``. The flops column is ``6 m`` times the weights, an
evaluation's products, which the threshold is compared with.

Usage (from the repository root; the threshold table of
docs/performance.rst's "BLAS thread policy")::

    python benchmarks/bench_thread_threshold.py --repeats 3
    python benchmarks/bench_thread_threshold.py --quick    # digits and a stand-in
"""

import numpy as np
from _harness import run_repeated_study, timed_fit
from mnist_data import mnist_or_stand_in
from sklearn.datasets import load_digits

from skbackprop import BackpropClassifier
from skbackprop import _blas as blas_module

#: The fits across the threshold: (name, rows of MNIST or None for the
#: digits, hidden units).
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
QUICK_FITS = [("digits", None, 25), ("MNIST", 500, 25)]


def per_iteration(X, y, hidden, repeats, max_iter):
    """ms per iteration at one thread and at two, and the last fit."""
    out = {}
    for threads, threshold in ((1, np.inf), (2, 0)):
        blas_module._SINGLE_THREAD_FLOPS = threshold
        clf = BackpropClassifier(
            hidden_layer_sizes=(hidden,), tol=0, max_iter=max_iter, random_state=0
        )
        seconds = min(timed_fit(clf, X, y) for _ in range(repeats))
        out[threads] = 1e3 * seconds / clf.n_iter_
    return out, clf


def threshold_study(args):
    digits_X, digits_y = load_digits(return_X_y=True)
    mnist_X, mnist_y, source = mnist_or_stand_in(args.data, args.quick)
    print(f"MNIST rows: {source}")
    print("\nms per iteration of a fit, numpy's BLAS on 1 or 2 threads")
    saved, results = blas_module._SINGLE_THREAD_FLOPS, []
    try:
        for name, rows, hidden in QUICK_FITS if args.quick else THRESHOLD_FITS:
            X, y = (
                (digits_X / 16.0, digits_y)
                if rows is None
                else (mnist_X[:rows], mnist_y[:rows])
            )
            ms, clf = per_iteration(X, y, hidden, args.repeats, 5 if args.quick else 40)
            flops = 6.0 * X.shape[0] * sum(t.size for t in clf.thetas_)
            print(
                f"{name:>6} {X.shape[0]:>5} x {X.shape[1]:<3} hidden {hidden:>3}  "
                f"{flops:8.2g} flops  1 thread {ms[1]:7.2f}  "
                f"2 threads {ms[2]:7.2f}  2/1 {ms[2] / ms[1]:.2f}"
            )
            results.append(
                {
                    "data": name,
                    "rows": X.shape[0],
                    "hidden": hidden,
                    "flops": flops,
                    "ms_1_thread": ms[1],
                    "ms_2_threads": ms[2],
                }
            )
    finally:
        blas_module._SINGLE_THREAD_FLOPS = saved
    return results


def main(argv=None):
    run_repeated_study(
        __doc__, argv, "bench_thread_threshold", "threshold", threshold_study
    )


if __name__ == "__main__":
    main()
