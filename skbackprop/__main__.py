"""``python -m skbackprop``: the course's exercise 4, end to end, on the digits.

1. Check the backpropagation gradient against finite differences on the
   course's small 3-5-3 network (lambda 0 and 3).
2. Train the course's network (one hidden layer of 25 sigmoid units) with
   the course's lambda on scikit-learn's handwritten digits (8x8 images,
   bundled with scikit-learn, no download), and report training and
   held-out accuracy and the fit time.
3. Grid-search lambda (``alpha``) with stratified 5-fold cross-validation.
"""

import argparse
import sys
import time
import warnings

import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, StratifiedKFold, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from . import BackpropClassifier, __version__
from .backprop import check_gradients


def _positive_int(text):
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def _non_negative_float(text):
    value = float(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be a number >= 0, got {text}")
    return value


def _hidden_sizes(text):
    try:
        sizes = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be comma-separated positive integers such as 25 or 64,32; "
            f"got {text!r}"
        ) from None
    if any(size <= 0 for size in sizes):
        raise argparse.ArgumentTypeError(f"sizes must be positive, got {text!r}")
    return sizes


def build_parser():
    """The command-line interface."""
    parser = argparse.ArgumentParser(
        prog="python -m skbackprop",
        description=(
            "The course's neural-network exercise end to end on scikit-learn's "
            "handwritten digits: gradient check, training, lambda grid search."
        ),
    )
    parser.add_argument(
        "--alpha",
        type=_non_negative_float,
        default=1.0,
        help="regularisation lambda for the training step (default: 1, the course's)",
    )
    parser.add_argument(
        "--hidden",
        type=_hidden_sizes,
        default=(25,),
        help="hidden layer sizes, comma-separated (default: 25)",
    )
    parser.add_argument(
        "--max-iter",
        type=_positive_int,
        default=1000,
        help="optimizer iteration limit (default: 1000)",
    )
    parser.add_argument(
        "--random-state",
        type=int,
        default=0,
        help="seed for the split, the folds and the initial weights (default: 0)",
    )
    return parser


def _model(args, alpha):
    return make_pipeline(
        StandardScaler(),
        BackpropClassifier(
            hidden_layer_sizes=args.hidden,
            alpha=alpha,
            max_iter=args.max_iter,
            random_state=args.random_state,
        ),
    )


def main(argv=None):
    """Run the exercise; return the process exit status."""
    args = build_parser().parse_args(argv)
    print(f"skbackprop {__version__}: the course's exercise 4 on the digits")
    print("=" * 64)

    print("\n1. Gradient check (3-5-3 network, 5 examples, sin-based weights)")
    worst = 0.0
    for alpha in (0.0, 3.0):
        diff = check_gradients(alpha)
        worst = max(worst, diff)
        print(f"   lambda = {alpha:<4g} relative difference = {diff:.3e}")
    verdict = "OK" if worst < 1e-9 else "FAILED"
    print(f"   {verdict}: backpropagation agrees with finite differences (< 1e-9)")

    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=args.random_state
    )
    hidden = ", ".join(map(str, args.hidden)) or "none"
    print(
        f"\n2. Training: {X.shape[1]} inputs, hidden layers ({hidden}), "
        f"{len(np.unique(y))} outputs; lambda = {args.alpha:g}"
    )
    print(f"   {len(X_train)} training and {len(X_test)} held-out 8x8 digit images")
    model = _model(args, args.alpha)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        start = time.perf_counter()
        model.fit(X_train, y_train)
        fit_time = time.perf_counter() - start
    clf = model[-1]
    print(f"   iterations          {clf.n_iter_}")
    print(f"   final cost J        {clf.loss_:.6f}")
    print(f"   fit time            {fit_time:.2f} s")
    print(f"   training accuracy   {model.score(X_train, y_train):.4f}")
    print(f"   held-out accuracy   {model.score(X_test, y_test):.4f}")
    if any(issubclass(w.category, ConvergenceWarning) for w in caught):
        print("   (stopped at --max-iter before converging)")

    alphas = [0.01, 0.1, 1.0, 3.0, 10.0]
    print("\n3. Choosing lambda: GridSearchCV, stratified 5-fold CV on all the digits")
    search = GridSearchCV(
        _model(args, args.alpha),
        {"backpropclassifier__alpha": alphas},
        cv=StratifiedKFold(5, shuffle=True, random_state=args.random_state),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        start = time.perf_counter()
        search.fit(X, y)
        search_time = time.perf_counter() - start
    results = search.cv_results_
    print(f"   {'lambda':>8}  {'mean CV accuracy':>16}  {'std':>6}  {'fit (s)':>7}")
    for alpha, mean, std, fit_s in zip(
        alphas,
        results["mean_test_score"],
        results["std_test_score"],
        results["mean_fit_time"],
    ):
        best = (
            "  <- best"
            if alpha == search.best_params_["backpropclassifier__alpha"]
            else ""
        )
        print(f"   {alpha:>8g}  {mean:>16.4f}  {std:>6.4f}  {fit_s:>7.2f}{best}")
    print(
        f"   best lambda {search.best_params_['backpropclassifier__alpha']:g}, "
        f"mean CV accuracy {search.best_score_:.4f} ({search_time:.1f} s in all)"
    )
    return 0 if worst < 1e-9 else 1


if __name__ == "__main__":
    sys.exit(main())
