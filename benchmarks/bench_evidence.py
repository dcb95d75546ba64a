"""``alpha="evidence"`` beside the default fit and a grid search over alpha.

For each dataset, a 5-fold outer cross-validation; in each outer fold three
ways of choosing lambda, each a Pipeline(StandardScaler, estimator) fitted on
the training folds and scored on the held-out one:

* ``default``: ``alpha=1.0``;
* ``evidence``: ``alpha="evidence"``;
* ``grid``: GridSearchCV over 10 values of alpha (``logspace(-3, 2, 10)``),
  5-fold, refit on the whole training folds.

Timings are per outer fold, in one process, as ratios to the default fit.
Datasets: digits, make_moons(1000, noise=0.25), make_gaussian_quantiles
(1000 rows, 2 features, 3 classes), make_hastie_10_2 (2000 rows) for
BackpropClassifier; diabetes (target standardised) for BackpropRegressor.
Every other parameter is the estimator's default.

A ``--quick`` run: moons on 300 rows and diabetes, 2 outer and 2 inner
folds, a grid of 3.

Usage (from the repository root; the table of docs/performance.rst's
"Choosing λ by the evidence")::

    python benchmarks/bench_evidence.py            # all sets (~5 minutes)
    python benchmarks/bench_evidence.py --sets moons diabetes
    python benchmarks/bench_evidence.py --mnist   # MNIST-8k, 25/100 units (~5 minutes)
    python benchmarks/bench_evidence.py --quick   # a smoke run, seconds
"""

import warnings

import numpy as np
from _harness import make_parser, print_environment, timed_fit
from mnist_data import add_data_argument, mnist_or_stand_in
from sklearn.datasets import (
    load_diabetes,
    load_digits,
    make_gaussian_quantiles,
    make_hastie_10_2,
    make_moons,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, KFold, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skbackprop import BackpropClassifier, BackpropRegressor

GRID = np.logspace(-3, 2, 10)
#: A quick run's (outer folds, grid, inner folds) and sets.
QUICK = (2, np.logspace(-2, 1, 3), 2)
QUICK_SETS = ["moons", "diabetes"]


def datasets(quick=False):
    """name -> (X, y, Estimator); a quick run's moons has 300 rows."""
    X_d, y_d = load_diabetes(return_X_y=True)
    moons = make_moons(300 if quick else 1000, noise=0.25, random_state=0)
    return {
        "digits": (*load_digits(return_X_y=True), BackpropClassifier),
        "moons": (*moons, BackpropClassifier),
        "quantiles": (
            *make_gaussian_quantiles(
                n_samples=1000, n_features=2, n_classes=3, random_state=0
            ),
            BackpropClassifier,
        ),
        "hastie": (*make_hastie_10_2(2000, random_state=0), BackpropClassifier),
        "diabetes": (X_d, (y_d - y_d.mean()) / y_d.std(), BackpropRegressor),
    }


def timed_score(model, X_train, y_train, X_test, y_test):
    seconds = timed_fit(model, X_train, y_train)
    return seconds, 100 * model.score(X_test, y_test), model


def one_set(X, y, Estimator, folds=5, grid=GRID, inner=5):
    """Per method: mean time ratio to default, mean score, the chosen alphas."""
    regression = Estimator is BackpropRegressor
    outer = (KFold if regression else StratifiedKFold)(
        folds, shuffle=True, random_state=0
    )
    rows = {
        name: {"time": [], "score": [], "alpha": []}
        for name in ("default", "evidence", "grid")
    }
    for train, test in outer.split(X, y):
        args = (X[train], y[train], X[test], y[test])
        models = {
            "default": make_pipeline(StandardScaler(), Estimator(random_state=0)),
            "evidence": make_pipeline(
                StandardScaler(), Estimator(alpha="evidence", random_state=0)
            ),
            "grid": GridSearchCV(
                make_pipeline(StandardScaler(), Estimator(random_state=0)),
                {f"{Estimator.__name__.lower()}__alpha": grid},
                cv=inner,
            ),
        }
        for name, model in models.items():
            seconds, score, fitted = timed_score(model, *args)
            rows[name]["time"].append(seconds)
            rows[name]["score"].append(score)
            if name == "evidence":
                rows[name]["alpha"].append(fitted[-1].alpha_)
            elif name == "grid":
                rows[name]["alpha"].append(next(iter(fitted.best_params_.values())))
            else:
                rows[name]["alpha"].append(1.0)
    base = np.array(rows["default"]["time"])
    return {
        name: (
            float(np.mean(np.array(r["time"]) / base)),
            float(np.mean(r["score"])),
            float(np.median(r["alpha"])),
        )
        for name, r in rows.items()
    }


def median_pair(models, args, repeats):
    """``timed_score`` of the default fit and the evidence, ``repeats`` times in
    turn, each with its median time (one run's noise is a tenth of the ratio)."""
    runs = {name: [] for name in models}
    for _ in range(repeats):
        for name, model in models.items():
            runs[name].append(timed_score(model, *args))
    return {
        name: (float(np.median([r[0] for r in found])), *found[-1][1:])
        for name, found in runs.items()
    }


def mnist_cost(data_dir, quick, hidden_sizes=(25, 100), repeats=1):
    """The cost target's sets: fits on the 8,000 MNIST training rows.

    The rows of the out-of-the-box benchmark (the first 8,000 of the MNIST
    test set, pixels / 255); the test score on the other 2,000. Beside the
    default fit and the evidence, a 5-fold ``GridSearchCV`` over ``GRID``
    (refit on the 8,000 rows), timed once; the default fit and the evidence
    are timed ``repeats`` times in turn, the median. A quick run: 500 of
    them, 25 units, a grid of 3 and 2 folds.
    """
    X, y, source = mnist_or_stand_in(data_dir, quick)
    print(f"rows: {source}")
    n_train, hidden_sizes = (500, (25,)) if quick else (8000, hidden_sizes)
    folds, grid, inner = QUICK if quick else (5, GRID, 5)
    for hidden in hidden_sizes:
        params = dict(hidden_layer_sizes=(hidden,), random_state=0)
        data = (X[:n_train], y[:n_train], X[8000:], y[8000:])
        pair = {
            "1.0": BackpropClassifier(**params),
            "evidence": BackpropClassifier(alpha="evidence", **params),
        }
        results = median_pair(pair, data, repeats)
        search = GridSearchCV(BackpropClassifier(**params), {"alpha": grid}, cv=inner)
        results["grid"] = timed_score(search, *data)
        base = results["1.0"][0]
        for name, (seconds, score, model) in results.items():
            chosen = getattr(model, "alpha_", None) or getattr(
                model, "best_params_", {}
            ).get("alpha", 1.0)
            print(
                f"mnist-{hidden:<4} {name:<9} {seconds / base:>10.1f} "
                f"{score:>7.2f} {chosen:>13.4g}  ({seconds:.1f} s)",
                flush=True,
            )


def main():
    parser = make_parser(__doc__, "moons (300 rows), diabetes; 2 folds, a grid of 3")
    parser.add_argument("--sets", nargs="*", default=None)
    parser.add_argument("--mnist", action="store_true", help="the MNIST-8k cost only")
    parser.add_argument(
        "--repeats", type=int, default=3, help="MNIST: default/evidence timings"
    )
    add_data_argument(parser)
    args = parser.parse_args()
    print_environment()
    if args.mnist:
        mnist_cost(args.data, args.quick, repeats=1 if args.quick else args.repeats)
        return
    sets = datasets(args.quick)
    names = args.sets or (QUICK_SETS if args.quick else list(sets))
    sizes = QUICK if args.quick else (5, GRID, 5)
    print(
        f"{'set':<10} {'method':<9} {'t/default':>10} {'score':>7} {'alpha (med.)':>13}"
    )
    for name in names:
        X, y, Estimator = sets[name]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            result = one_set(X, y, Estimator, *sizes)
        for method, (ratio, score, alpha) in result.items():
            print(
                f"{name:<10} {method:<9} {ratio:>10.1f} {score:>7.2f} {alpha:>15.4g}",
                flush=True,
            )


if __name__ == "__main__":
    main()
