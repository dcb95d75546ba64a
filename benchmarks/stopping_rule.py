"""The study that chose the default stopping rule (``tol="auto"``).

For each dataset, one tight fit (``tol=0``: until J stops decreasing) records
``J`` after every iteration (``loss_curve_``) and the test score after
every iteration (accuracy for BackpropClassifier, R² for BackpropRegressor;
the test rows passed as ``X_val``/``y_val``, which without
``early_stopping`` are only scored). A stopping rule does not change the
optimizer's path before it stops, so where each candidate rule would have
stopped, and the test accuracy there, are read off the recorded curves. Two
families of rules over a window of ``n`` iterations are compared:

* ``rel``: J fell by at most ``tol`` times its current value,
  ``J[k - n] - J[k] <= tol * J[k]``;
* ``fall`` (the one built, :meth:`skbackprop._solver.Monitor.plateau`, which
  decides here): J fell by at most ``tol`` times its whole fall since the
  first iteration, ``J[k - n] - J[k] <= tol * (J[1] - J[k])``.

The table gives, per rule and dataset, the iterations run (a fit's time is
about proportional to them) and the test score minus the tight fit's, in
points (accuracy or R², times 100).

Datasets: scikit-learn's iris, wine, breast_cancer and digits (standardised;
5 stratified 70/30 splits each, results averaged), and the MNIST rows of the
out-of-the-box benchmark (8,000 training / 2,000 test rows of the MNIST test
set, pixels / 255) with 25 and 100 hidden units. Every other parameter is
BackpropClassifier's default. For the regressor: ``make_friedman1``
(2,000 rows, noise 1, standardised; 3 seeds, 75/25 splits) with 20 hidden
units at ``alpha`` 1 and 10, BackpropRegressor's defaults otherwise.

Usage (from the repository root)::

    python benchmarks/stopping_rule.py            # all datasets (~5 minutes)
    python benchmarks/stopping_rule.py --no-mnist # the bundled sets only
    python benchmarks/stopping_rule.py --save curves.json  # keep the curves
    python benchmarks/stopping_rule.py --load curves.json  # the tables only
"""

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np
from mnist_data import DEFAULT_DATA, load_mnist
from sklearn.datasets import (
    load_breast_cancer,
    load_digits,
    load_iris,
    load_wine,
    make_friedman1,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import StratifiedShuffleSplit, train_test_split
from sklearn.preprocessing import StandardScaler

from skbackprop import BackpropClassifier, BackpropRegressor
from skbackprop._solver import Monitor, SolverSettings


def relative_stop(loss_curve, tol, window):
    """Where ``J[k - n] - J[k] <= tol * J[k]`` stops (1-based), or the end."""
    J = np.asarray(loss_curve)
    for k in range(window, len(J)):
        if J[k - window] - J[k] <= tol * abs(J[k]):
            return k + 1
    return len(J)


def fall_stop(loss_curve, tol, window):
    """Where the Monitor's plateau rule stops (1-based), or the end."""
    settings = SolverSettings("L-BFGS-B", len(loss_curve) + 1, tol, 10**9)
    monitor = Monitor(settings, n_iter_no_change=window)
    for k, J in enumerate(loss_curve, start=1):
        monitor.loss_curve.append(J)
        if monitor.plateau() is not None:
            return k
    return len(loss_curve)


def tight_fit(X, y, X_test, y_test, hidden=(25,), max_iter=1000, estimator=None):
    """One tight fit's record: J and test score per iteration, its size, time."""
    clf = estimator or BackpropClassifier(hidden_layer_sizes=hidden)
    clf.set_params(tol=0, max_iter=max_iter, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        start = time.perf_counter()
        clf.fit(X, y, X_val=X_test, y_val=y_test)
        seconds = time.perf_counter() - start
    return {
        "J": clf.loss_curve_,
        "score": clf.validation_scores_,
        "rows": X.shape[0],
        "params": sum(t.size for t in clf.thetas_),
        "seconds": seconds,
    }


def bundled_splits(load, n_splits=5):
    X, y = load(return_X_y=True)
    splits = StratifiedShuffleSplit(n_splits=n_splits, test_size=0.3, random_state=0)
    for train, test in splits.split(X, y):
        scaler = StandardScaler().fit(X[train])
        yield scaler.transform(X[train]), y[train], scaler.transform(X[test]), y[test]


def friedman_splits(seeds=(0, 1, 2)):
    for seed in seeds:
        X, y = make_friedman1(n_samples=2000, noise=1.0, random_state=seed)
        X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=seed)
        scaler = StandardScaler().fit(X_train)
        yield scaler.transform(X_train), y_train, scaler.transform(X_test), y_test


def mnist_split(data_dir):
    X, y = load_mnist(data_dir)
    return X[:8000], y[:8000], X[8000:], y[8000:]


def record(args):
    """``{dataset: [tight-fit records]}``, fitted or loaded."""
    if args.load:
        return json.loads(Path(args.load).read_text())
    records = {}
    for name, load in [
        ("iris", load_iris),
        ("wine", load_wine),
        ("breast_cancer", load_breast_cancer),
        ("digits", load_digits),
    ]:
        records[name] = [tight_fit(*split) for split in bundled_splits(load)]
    for alpha in (1.0, 10.0):
        regressor = BackpropRegressor(hidden_layer_sizes=(20,), alpha=alpha)
        records[f"friedman1 a={alpha:g}"] = [
            tight_fit(*split, max_iter=2000, estimator=regressor)
            for split in friedman_splits()
        ]
    if not args.no_mnist:
        split = mnist_split(args.data)
        for hidden in ((25,), (100,)):
            records[f"MNIST {hidden}"] = [tight_fit(*split, hidden=hidden)]
    if args.save:
        Path(args.save).write_text(json.dumps(records))
    return records


def print_tables(records):
    print("Tight fits (tol=0), averaged over the splits:")
    print(
        f"{'dataset':<14} {'rows x params':>13} {'iters':>6} {'seconds':>8} "
        f"{'score':>8}"
    )
    for name, fits in records.items():
        print(
            f"{name:<14} {fits[0]['rows'] * fits[0]['params']:>13.2g} "
            f"{np.mean([len(f['J']) for f in fits]):>6.0f} "
            f"{np.mean([f['seconds'] for f in fits]):>8.2f} "
            f"{100 * np.mean([f['score'][-1] for f in fits]):>8.2f}"
        )
    print("\nWhere each rule stops: iterations, test score - tight fit's (points)")
    print(f"{'rule':>4} {'tol':>6} {'n':>3} " + "".join(f"{n:>15}" for n in records))
    rules = [
        ("rel", relative_stop, t, n) for t in (1e-3, 3e-3, 1e-2, 2e-2) for n in (5, 10)
    ]
    rules += [
        ("fall", fall_stop, t, n)
        for t in (1e-4, 3e-4, 1e-3, 2e-3, 3e-3, 5e-3, 1e-2, 1.5e-2, 2e-2)
        for n in (5, 10, 20)
    ]
    for kind, stop, tol, window in rules:
        row = f"{kind:>4} {tol:>6g} {window:>3d} "
        for fits in records.values():
            stops = [stop(f["J"], tol, window) for f in fits]
            gain = np.mean(
                [f["score"][k - 1] - f["score"][-1] for f, k in zip(fits, stops)]
            )
            row += f"{np.mean(stops):>8.0f} {100 * gain:>+6.2f}"
        print(row)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=str(DEFAULT_DATA), help="MNIST folder")
    parser.add_argument("--no-mnist", action="store_true")
    parser.add_argument("--save", default=None, help="write the curves to a JSON file")
    parser.add_argument("--load", default=None, help="read the curves from it")
    print_tables(record(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
