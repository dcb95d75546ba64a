"""BackpropClassifierCV() at its defaults beside MLPClassifier(), stopping-rule suite.

The classification problems of ``benchmarks/stopping_rule.py`` (each data set
once: the variants that only set ``alpha`` are left out, since the path
chooses it), each scored by a 5-fold outer cross-validation (stratified,
shuffled, ``random_state=0``) of ``Pipeline(StandardScaler, estimator)``,
both estimators with ``random_state=0`` and the problem's hidden sizes. The
table gives the outer mean accuracies in points and their difference; the
summary the worst difference and the mean one.

Usage (from the repository root; the second table of docs/performance.rst's
"Choosing λ along a path")::

    python benchmarks/bench_path_suite.py            # ~10 minutes on 2 cores
    python benchmarks/bench_path_suite.py --quick    # 2 problems, 2 folds, 3 λ
"""

import itertools
import warnings

import numpy as np
from _harness import parse_suite_args, print_environment
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from stopping_rule import classification_problems

from skbackprop import BackpropClassifierCV


def problems(quick):
    """``(name, X, y, hidden)`` of each data set of the suite, once.

    A quick run: the first moons and circles problems, on 300 rows each.
    """
    suite = (
        (name, X, y, params.get("hidden_layer_sizes", (25,)))
        for name, X, y, params in classification_problems(full=False)
        if "alpha" not in params
    )
    if not quick:
        yield from suite
        return
    for _, group in itertools.groupby(suite, key=lambda p: p[0].split()[0]):
        name, X, y, hidden = next(group)
        if name.startswith(("moons", "circles")):
            yield f"{name} (300 rows)", X[:300], y[:300], hidden


def outer_scores(X, y, hidden, folds, n_jobs, alphas=10):
    """The two estimators' outer fold accuracies."""
    cv = StratifiedKFold(folds, shuffle=True, random_state=0)
    ours = BackpropClassifierCV(
        hidden_layer_sizes=hidden, random_state=0, alphas=alphas
    )
    theirs = MLPClassifier(hidden_layer_sizes=hidden, random_state=0)
    return [
        cross_val_score(
            make_pipeline(StandardScaler(), est), X, y, cv=cv, n_jobs=n_jobs
        )
        for est in (ours, theirs)
    ]


def main(argv=None):
    args = parse_suite_args(__doc__, argv)
    warnings.simplefilter("ignore")
    print_environment()
    print("| problem | BackpropClassifierCV() | MLPClassifier() | difference |")
    print("|---|---|---|---|")
    differences = []
    for name, X, y, hidden in problems(args.quick):
        folds, alphas = (2, 3) if args.quick else (5, 10)
        ours, theirs = outer_scores(X, y, hidden, folds, args.n_jobs, alphas)
        differences.append(100 * (ours.mean() - theirs.mean()))
        print(
            f"| {name} | {100 * ours.mean():.2f} | {100 * theirs.mean():.2f} | "
            f"{differences[-1]:+.2f} |",
            flush=True,
        )
    print(
        f"\nworst difference {min(differences):+.2f} points, mean "
        f"{np.mean(differences):+.2f}, over {len(differences)} problems"
    )


if __name__ == "__main__":
    main()
