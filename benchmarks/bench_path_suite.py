"""BackpropClassifierCV() at its defaults beside MLPClassifier(), stopping-rule suite.

The classification problems of ``benchmarks/stopping_rule.py`` (each data set
once: the variants that only set ``alpha`` are left out, since the path
chooses it), each scored by a 5-fold outer cross-validation (stratified,
shuffled, ``random_state=0``) of ``Pipeline(StandardScaler, estimator)``,
both estimators with ``random_state=0`` and the problem's hidden sizes. The
table gives the outer mean accuracies in points and their difference; the
summary the worst difference and the mean one.

Usage (from the repository root)::

    python benchmarks/bench_path_suite.py            # ~10 minutes on 2 cores
    python benchmarks/bench_path_suite.py --quick    # 3 problems, 2 folds
"""

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skbackprop import BackpropClassifierCV

sys.path.insert(0, str(Path(__file__).parent))
from stopping_rule import classification_problems  # noqa: E402


def problems(quick):
    """``(name, X, y, hidden)`` of each data set of the suite, once."""
    for name, X, y, params in classification_problems(full=False):
        if "alpha" in params:
            continue
        yield name, X, y, params.get("hidden_layer_sizes", (25,))
        if quick and name.startswith("circles"):
            return


def outer_scores(X, y, hidden, folds, n_jobs):
    """The two estimators' outer fold accuracies."""
    cv = StratifiedKFold(folds, shuffle=True, random_state=0)
    ours = BackpropClassifierCV(hidden_layer_sizes=hidden, random_state=0)
    theirs = MLPClassifier(hidden_layer_sizes=hidden, random_state=0)
    return [
        cross_val_score(
            make_pipeline(StandardScaler(), est), X, y, cv=cv, n_jobs=n_jobs
        )
        for est in (ours, theirs)
    ]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 problems, 2 folds")
    parser.add_argument("--n-jobs", type=int, default=2, help="outer folds at once")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    print("| problem | BackpropClassifierCV() | MLPClassifier() | difference |")
    print("|---|---|---|---|")
    differences = []
    for name, X, y, hidden in problems(args.quick):
        ours, theirs = outer_scores(X, y, hidden, 2 if args.quick else 5, args.n_jobs)
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
