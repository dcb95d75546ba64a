"""The study that chose the default stopping rule (``tol="auto"``).

For each dataset, one tight fit (``tol=0``: until J stops decreasing) records
``J`` after every iteration (``loss_curve_``) and the test accuracy after
every iteration (the test rows passed as ``X_val``/``y_val``, which without
``early_stopping`` are only scored). The plateau rule

    stop at the first iteration k where J[k - n] - J[k] <= tol * J[k]

does not change the optimizer's path before it stops, so where each
candidate ``(tol, n)`` would have stopped, and the test accuracy there, are
read off the recorded curves. The table gives, per rule, the iterations run
(a fit's time is about proportional to them) and the test accuracy minus the
tight fit's, in points.

Datasets: scikit-learn's iris, wine, breast_cancer and digits (standardised;
5 stratified 70/30 splits each, results averaged), and the MNIST rows of the
out-of-the-box benchmark (8,000 training / 2,000 test rows of the MNIST test
set, pixels / 255) with 25 and 100 hidden units. Every other parameter is
BackpropClassifier's default.

Usage (from the repository root)::

    python benchmarks/stopping_rule.py            # all datasets (~3 minutes)
    python benchmarks/stopping_rule.py --no-mnist # the bundled sets only
"""

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.datasets import load_breast_cancer, load_digits, load_iris, load_wine
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import StratifiedShuffleSplit
from sklearn.preprocessing import StandardScaler

from skbackprop import BackpropClassifier

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"
RULES = [(tol, n) for tol in (1e-3, 3e-4, 1e-4, 3e-5, 1e-5) for n in (5, 10, 20)]


def plateau_stop(loss_curve, tol, window):
    """The iteration (1-based) at which the plateau rule stops, or the last one."""
    J = np.asarray(loss_curve)
    for k in range(window, len(J)):
        if J[k - window] - J[k] <= tol * abs(J[k]):
            return k + 1
    return len(J)


def tight_fit(X, y, X_test, y_test, hidden=(25,), max_iter=1000):
    """A tight fit's curves: J and test accuracy per iteration, s/iter, n_params."""
    clf = BackpropClassifier(
        hidden_layer_sizes=hidden, tol=0, max_iter=max_iter, random_state=0
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        start = time.perf_counter()
        clf.fit(X, y, X_val=X_test, y_val=y_test)
        seconds = time.perf_counter() - start
    n_params = sum(t.size for t in clf.thetas_)
    CURVES.append(
        {"J": clf.loss_curve_, "acc": clf.validation_scores_, "rows": X.shape[0]}
    )
    return clf.loss_curve_, clf.validation_scores_, seconds / clf.n_iter_, n_params


CURVES = []


def bundled_splits(load, n_splits=5):
    X, y = load(return_X_y=True)
    splits = StratifiedShuffleSplit(n_splits=n_splits, test_size=0.3, random_state=0)
    for train, test in splits.split(X, y):
        scaler = StandardScaler().fit(X[train])
        yield scaler.transform(X[train]), y[train], scaler.transform(X[test]), y[test]


def mnist_split(data_dir):
    from bench_fit import MNIST_FILES, load_idx  # noqa: PLC0415 - optional data

    X = load_idx(Path(data_dir) / MNIST_FILES[0]).reshape(-1, 784) / 255.0
    y = load_idx(Path(data_dir) / MNIST_FILES[1]).astype(np.int64)
    return X[:8000], y[:8000], X[8000:], y[8000:]


def study(name, fits):
    """Print one dataset's table from its tight fits' curves."""
    curves = list(fits)
    n_rows = curves[0][4]
    tight_iters = np.mean([len(c[0]) for c in curves])
    tight_acc = np.mean([c[1][-1] for c in curves])
    per_iter = np.mean([c[2] for c in curves])
    print(
        f"\n{name}: {n_rows} training rows x {curves[0][3]} parameters = "
        f"{n_rows * curves[0][3]:.2g}; tight fit {tight_iters:.0f} iterations, "
        f"{per_iter * tight_iters:.2f} s, test accuracy {100 * tight_acc:.2f}%"
    )
    print(f"{'tol':>8} {'n':>3} {'iters':>7} {'of tight':>9} {'acc - tight':>12}")
    for tol, window in RULES:
        stops = [plateau_stop(c[0], tol, window) for c in curves]
        accs = [c[1][k - 1] for c, k in zip(curves, stops)]
        print(
            f"{tol:>8.0e} {window:>3d} {np.mean(stops):>7.0f} "
            f"{np.mean(stops) / tight_iters:>9.2f} "
            f"{100 * (np.mean(accs) - tight_acc):>+12.2f}"
        )


def run_bundled(name, load):
    def fits():
        for X, y, X_test, y_test in bundled_splits(load):
            yield (*tight_fit(X, y, X_test, y_test), X.shape[0])

    study(name, fits())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=str(DEFAULT_DATA), help="MNIST folder")
    parser.add_argument("--no-mnist", action="store_true")
    parser.add_argument("--save", default=None, help="write the curves to a JSON file")
    args = parser.parse_args(argv)
    for name, load in [
        ("iris", load_iris),
        ("wine", load_wine),
        ("breast_cancer", load_breast_cancer),
        ("digits", load_digits),
    ]:
        run_bundled(name, load)
    if not args.no_mnist:
        X, y, X_test, y_test = mnist_split(args.data)
        for hidden in ((25,), (100,)):
            curves = tight_fit(X, y, X_test, y_test, hidden=hidden)
            study(f"MNIST 8000/2000, hidden {hidden}", [(*curves, X.shape[0])])
    if args.save:
        Path(args.save).write_text(json.dumps(CURVES))


if __name__ == "__main__":
    main()
