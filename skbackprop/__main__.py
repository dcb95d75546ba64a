"""``python -m skbackprop``: the course's exercise 4, end to end, on the digits.

1. Check the backpropagation gradient against finite differences on the
   course's small 3-5-3 network (lambda 0 and 3).
2. Train the course's network (one hidden layer of 25 sigmoid units) with
   the course's lambda on scikit-learn's handwritten digits (8x8 images,
   bundled with scikit-learn, no download), and report training and
   held-out accuracy and the fit time.
3. Choose lambda (``alpha``) by stratified 5-fold cross-validation along a
   warm-started path (:class:`~skbackprop.BackpropClassifierCV`: each fold
   fits the grid from the smallest lambda up, each fit starting from the
   previous one's weights; the best lambda refit on all the digits).
"""

import argparse
import sys
import time
import warnings

import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import StratifiedKFold, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from . import BackpropClassifier, BackpropClassifierCV, __version__
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
            "handwritten digits: gradient check, training, choosing lambda by "
            "cross-validation."
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


def _choose_lambda(args, X, y):
    """Step 3: the lambda path's table, one row per lambda, and its choice.

    The scaler is fit on all the digits before the folds are cut, as for
    any path estimator in a pipeline (``LogisticRegressionCV`` alike).
    """
    alphas = [10.0, 3.0, 1.0, 0.1, 0.01]
    print(
        "\n3. Choosing lambda: BackpropClassifierCV, stratified 5-fold CV on all "
        "the digits\n   (each fold walks lambda up from the smallest, warm-started)"
    )
    search = make_pipeline(
        StandardScaler(),
        BackpropClassifierCV(
            hidden_layer_sizes=args.hidden,
            alphas=alphas,
            cv=StratifiedKFold(5, shuffle=True, random_state=args.random_state),
            max_iter=args.max_iter,
            random_state=args.random_state,
        ),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        start = time.perf_counter()
        search.fit(X, y)
        search_time = time.perf_counter() - start
    path = search[-1]
    results = path.cv_results_
    print(
        f"   {'lambda':>8}  {'mean CV accuracy':>16}  {'std':>6}  {'fit (s)':>7}"
        f"  {'iterations':>10}"
    )
    for alpha, mean, std, fit_s, n_iter in zip(
        results["param_alpha"],
        results["mean_test_score"],
        results["std_test_score"],
        results["mean_fit_time"],
        results["mean_n_iter"],
    ):
        best = "  <- best" if alpha == path.alpha_ else ""
        print(
            f"   {alpha:>8g}  {mean:>16.4f}  {std:>6.4f}  {fit_s:>7.2f}"
            f"  {n_iter:>10.1f}{best}"
        )
    best_score = results["mean_test_score"][results["param_alpha"] == path.alpha_][0]
    print(
        f"   best lambda {path.alpha_:g}, mean CV accuracy {best_score:.4f} "
        f"({search_time:.1f} s in all, the refit included)"
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

    _choose_lambda(args, X, y)
    return 0 if worst < 1e-9 else 1


if __name__ == "__main__":
    sys.exit(main())
