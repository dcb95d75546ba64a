"""The λ path estimators beside ``GridSearchCV`` over the same folds and λ grid.

For each dataset (standardised features), ``BackpropClassifierCV()`` or
``BackpropRegressorCV()`` at its defaults (10 λ values) and
``GridSearchCV(BackpropClassifier(), {"alpha": path.alphas_})`` (refit on all
rows, as both do), both with ``random_state=0``, 5-fold (stratified and
shuffled for classifiers, ``random_state=0``), one job, in one process. The
table gives each one's chosen λ, best mean CV score and total time, and the
time ratio path / grid.

Usage (from the repository root; the first table of docs/performance.rst's
"Choosing λ along a path")::

    python benchmarks/bench_path.py                 # the bundled and synthetic sets
    python benchmarks/bench_path.py --sets moons    # some of them
    python benchmarks/bench_path.py --mnist         # adds MNIST-8k (25 units)
    python benchmarks/bench_path.py --quick         # a smoke run (2 sets, 2 folds, 3 λ)
"""

import time
import warnings

import numpy as np
from _harness import make_parser, print_environment, thread_limit
from mnist_data import add_data_argument, mnist_or_stand_in
from sklearn.base import is_classifier
from sklearn.datasets import (
    load_diabetes,
    load_digits,
    make_friedman1,
    make_gaussian_quantiles,
    make_hastie_10_2,
    make_moons,
)
from sklearn.model_selection import GridSearchCV, KFold, StratifiedKFold
from sklearn.preprocessing import StandardScaler

from skbackprop import (
    BackpropClassifier,
    BackpropClassifierCV,
    BackpropRegressor,
    BackpropRegressorCV,
)

SETS = {
    "digits": lambda: load_digits(return_X_y=True),
    "moons": lambda: make_moons(1000, noise=0.25, random_state=0),
    "quantiles": lambda: make_gaussian_quantiles(
        n_samples=1500, n_features=4, n_classes=3, random_state=0
    ),
    "hastie": lambda: make_hastie_10_2(2000, random_state=0),
    "diabetes": lambda: load_diabetes(return_X_y=True),
    "friedman1": lambda: make_friedman1(1000, random_state=0),
}
REGRESSION = ("diabetes", "friedman1")
QUICK_SETS = ["moons", "diabetes"]


def compare(X, y, path, base, cv):
    """One row: the path's and the grid's chosen λ, best mean score, time."""
    start = time.perf_counter()
    path.set_params(cv=cv).fit(X, y)
    path_time = time.perf_counter() - start
    start = time.perf_counter()
    grid = GridSearchCV(base, {"alpha": path.alphas_}, cv=cv).fit(X, y)
    grid_time = time.perf_counter() - start
    steps = abs(
        int(np.flatnonzero(path.alphas_ == path.alpha_)[0])
        - int(np.flatnonzero(path.alphas_ == grid.best_params_["alpha"])[0])
    )
    best_path = float(np.max(path.cv_results_["mean_test_score"]))
    return {
        "path alpha": path.alpha_,
        "grid alpha": grid.best_params_["alpha"],
        "steps": steps,
        "path score": best_path,
        "grid score": grid.best_score_,
        "path s": path_time,
        "grid s": grid_time,
        "ratio": path_time / grid_time,
    }


def estimators(name, quick):
    regression = name in REGRESSION
    path = (BackpropRegressorCV if regression else BackpropClassifierCV)(
        random_state=0, alphas=3 if quick else 10
    )
    base = (BackpropRegressor if regression else BackpropClassifier)(random_state=0)
    return path, base


def load(name, data_dir, quick):
    if name == "mnist":
        X, y, _ = mnist_or_stand_in(data_dir, quick)
        return X[:8000], y[:8000]  # pixels / 255, not standardised
    X, y = SETS[name]()
    return StandardScaler().fit_transform(X), y


def main(argv=None):
    parser = make_parser(__doc__, f"{', '.join(QUICK_SETS)}; 2 folds, 3 λ")
    parser.add_argument("--sets", nargs="+", default=None, choices=list(SETS))
    parser.add_argument("--mnist", action="store_true", help="add MNIST-8k")
    add_data_argument(parser)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    if args.sets is None:
        args.sets = QUICK_SETS if args.quick else list(SETS)
    warnings.simplefilter("ignore")
    print_environment()
    print(f"# {args.threads} BLAS thread(s)")
    columns = ["set", "λ path", "λ grid", "steps", "score path", "score grid"]
    columns += ["path s", "grid s", "ratio"]
    print("| " + " | ".join(columns) + " |\n|" + "---|" * len(columns))
    for name in args.sets + (["mnist"] if args.mnist else []):
        X, y = load(name, args.data, args.quick)
        path, base = estimators(name, args.quick)
        folds = 2 if args.quick else 5
        cv = (
            StratifiedKFold(folds, shuffle=True, random_state=0)
            if is_classifier(base)
            else KFold(folds, shuffle=True, random_state=0)
        )
        with thread_limit(args.threads):
            row = compare(X, y, path, base, cv)
        print(
            f"| {name} | {row['path alpha']:.3g} | {row['grid alpha']:.3g} | "
            f"{row['steps']} | {row['path score']:.4f} | {row['grid score']:.4f} | "
            f"{row['path s']:.1f} | {row['grid s']:.1f} | {row['ratio']:.2f}x |",
            flush=True,
        )


if __name__ == "__main__":
    main()
