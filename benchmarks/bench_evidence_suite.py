"""``alpha="evidence"`` beside the default λ and the cross-validated one, suite-wide.

The problems of ``benchmarks/stopping_rule.py``, each data set once (the
variants that only set ``alpha`` count once, since every method here chooses
or fixes it), each scored by a 5-fold outer cross-validation (stratified for
the classifier, shuffled, ``random_state=0``) of ``Pipeline(StandardScaler,
estimator)`` with the problem's hidden sizes and ``random_state=0``:

* ``default``: ``alpha=1.0``;
* ``evidence``: ``alpha="evidence"``;
* ``cv``: ``BackpropClassifierCV()`` / ``BackpropRegressorCV()`` at their
  defaults (10 λ, 5 folds), the cross-validated λ.

The table gives the outer mean scores in points (accuracy, or R² times 100)
and the evidence's differences; the summary counts the problems where the
evidence is within 1 point of the cross-validated λ and those where it is
more than 1 point below the default. Accuracy only: the outer folds run two
at a time, so the times are not comparable (``bench_evidence.py`` times it).

Usage (from the repository root; docs/performance.rst's "Choosing λ by the
evidence")::

    python benchmarks/bench_evidence_suite.py           # ~15 minutes on 2 cores
    python benchmarks/bench_evidence_suite.py --quick   # 2 problems, 2 folds, 3 λ
"""

import re
import warnings

import numpy as np
from _harness import parse_suite_args, print_environment
from sklearn.model_selection import KFold, StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from stopping_rule import classification_problems, regression_problems

from skbackprop import (
    BackpropClassifier,
    BackpropClassifierCV,
    BackpropRegressor,
    BackpropRegressorCV,
)


def problems(quick):
    """``(name, X, y, hidden, regression)`` of each data set of the suite, once.

    A quick run: the first moons problem on 300 rows and diabetes.
    """
    seen = set()
    suites = ((classification_problems, False), (regression_problems, True))
    for generate, regression in suites:
        for name, X, y, params in generate(full=False):
            name = re.sub(r" a=\S+", "", name)
            if name in seen:
                continue
            seen.add(name)
            hidden = params.get("hidden_layer_sizes", (25,))
            if not quick:
                yield name, X, y, hidden, regression
            elif name.startswith("moons") and len(seen) == 1:
                yield f"{name} (300 rows)", X[:300], y[:300], hidden, regression
            elif name.startswith("diabetes"):
                yield name, X, y, hidden, regression


def estimators(hidden, regression, alphas):
    """name -> estimator: the default λ, the evidence, the cross-validated λ."""
    Estimator, EstimatorCV = (
        (BackpropRegressor, BackpropRegressorCV)
        if regression
        else (BackpropClassifier, BackpropClassifierCV)
    )
    params = dict(hidden_layer_sizes=hidden, random_state=0)
    return {
        "default": Estimator(**params),
        "evidence": Estimator(alpha="evidence", **params),
        "cv": EstimatorCV(alphas=alphas, **params),
    }


def outer_means(X, y, hidden, regression, folds, alphas, n_jobs):
    """The outer mean score of each method, in points."""
    splitter = KFold if regression else StratifiedKFold
    cv = splitter(folds, shuffle=True, random_state=0)
    return {
        name: 100
        * cross_val_score(
            make_pipeline(StandardScaler(), est), X, y, cv=cv, n_jobs=n_jobs
        ).mean()
        for name, est in estimators(hidden, regression, alphas).items()
    }


def main(argv=None):
    args = parse_suite_args(__doc__, argv)
    folds, alphas = (2, 3) if args.quick else (5, 10)
    warnings.simplefilter("ignore")
    print_environment()
    print("| problem | default | evidence | cv | evidence - cv | evidence - default |")
    print("|---|---|---|---|---|---|")
    to_cv, to_default = [], []
    for name, X, y, hidden, regression in problems(args.quick):
        score = outer_means(X, y, hidden, regression, folds, alphas, args.n_jobs)
        to_cv.append(score["evidence"] - score["cv"])
        to_default.append(score["evidence"] - score["default"])
        print(
            f"| {name} | {score['default']:.2f} | {score['evidence']:.2f} | "
            f"{score['cv']:.2f} | {to_cv[-1]:+.2f} | {to_default[-1]:+.2f} |",
            flush=True,
        )
    to_cv, to_default = np.array(to_cv), np.array(to_default)
    print(
        f"\n{len(to_cv)} problems: within 1 point of cv (or above) on "
        f"{np.sum(to_cv >= -1)}, worst {to_cv.min():+.2f}, mean {to_cv.mean():+.2f}; "
        f"more than 1 point below the default on {np.sum(to_default < -1)}, "
        f"worst {to_default.min():+.2f}, mean {to_default.mean():+.2f}"
    )


if __name__ == "__main__":
    main()
