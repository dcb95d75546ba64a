"""BackpropRegressor against scikit-learn's MLPRegressor: accuracy and fit time.

Two tables, the targets of issue 14:

* **R²**: scikit-learn's bundled diabetes data and ``make_friedman1``
  (n=2000, noise=1.0), 5-fold cross-validation (shuffled, seed 0), each model
  in a Pipeline after a StandardScaler; BackpropRegressor and
  ``MLPRegressor(solver="lbfgs", activation="logistic")`` with the same
  hidden layer and the same lambda grid (for one output both minimise the
  same cost, so ``alpha`` means the same). The mean R² at each lambda, and
  the best over the grid. Target: ours at least MLPRegressor's, or within
  0.01 of it, on each dataset. MLPRegressor with its default relu units and
  Ridge are listed for reference.
* **Fit time**: 8000 x 784 MNIST pixels (scaled to [0, 1]) regressing the
  digit's value, one hidden layer of 100 units, ``alpha=1``, both with
  ``tol=0`` so that both run exactly ``max_iter`` L-BFGS-B iterations
  (checked). Timed in turn, ``--repeats`` times, medians reported: each
  estimator with its own default thread policy, and with every thread pool
  limited to one thread. Target: ours <= 0.5 x MLPRegressor's time; the
  ratios against MLPRegressor as users run it, at its faster thread count,
  and at equal threads are printed.
* **Out of the box** (``--defaults`` only): every parameter at its default
  but the hidden sizes (and ``random_state=0``), BackpropRegressor against
  ``MLPRegressor()`` and ``MLPRegressor(solver="lbfgs")``: ``make_friedman1``
  (2000 rows, noise 1, standardised, 75/25 split) with 20 hidden units and
  the MNIST rows above (8000 training, 2000 test) with 100; fit time, test
  R² and iterations, one run.

Usage (from the repository root; the tables of docs/performance.rst's
"BackpropRegressor")::

    python benchmarks/bench_regressor.py            # both tables
    python benchmarks/bench_regressor.py --quick    # a smoke run (generated MNIST)
    python benchmarks/bench_regressor.py --data PATH  # MNIST's folder
    python benchmarks/bench_regressor.py --defaults   # the out-of-the-box table
"""

import statistics
import warnings

import numpy as np
from _harness import make_parser, print_environment, thread_limit, timed_fit
from mnist_data import add_data_argument, mnist_or_stand_in
from sklearn.datasets import load_diabetes, make_friedman1
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import Ridge
from sklearn.model_selection import KFold, cross_val_score, train_test_split
from sklearn.neural_network import MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skbackprop import BackpropRegressor

HIDDEN = (20,)
ALPHAS = (0.01, 0.1, 1.0, 10.0, 100.0)
MAX_ITER = 1000


# ---------------------------------------------------------------------------
# R² table
# ---------------------------------------------------------------------------


def datasets(quick):
    X, y = load_diabetes(return_X_y=True)
    n = 300 if quick else 2000
    Xf, yf = make_friedman1(n_samples=n, noise=1.0, random_state=0)
    return {"diabetes": (X, y), f"friedman1 (n={n})": (Xf, yf)}


def models(alpha, max_iter=MAX_ITER):
    return {
        "BackpropRegressor": BackpropRegressor(
            hidden_layer_sizes=HIDDEN, alpha=alpha, max_iter=max_iter, random_state=0
        ),
        "MLPRegressor (lbfgs, logistic)": MLPRegressor(
            hidden_layer_sizes=HIDDEN,
            activation="logistic",
            solver="lbfgs",
            alpha=alpha,
            max_iter=max_iter,
            random_state=0,
        ),
        "MLPRegressor (lbfgs, relu)": MLPRegressor(
            hidden_layer_sizes=HIDDEN,
            solver="lbfgs",
            alpha=alpha,
            max_iter=max_iter,
            random_state=0,
        ),
        "Ridge": Ridge(alpha=alpha),
    }


def r2_table(quick):
    """Mean 5-fold R² per dataset, model and lambda.

    A quick run: 2 folds, one λ, 100 iterations at most.
    """
    cv = KFold(n_splits=2 if quick else 5, shuffle=True, random_state=0)
    alphas = ALPHAS[2:3] if quick else ALPHAS
    table = {}
    for data_name, (X, y) in datasets(quick).items():
        for alpha in alphas:
            for name, model in models(alpha, 100 if quick else MAX_ITER).items():
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", ConvergenceWarning)
                    scores = cross_val_score(
                        make_pipeline(StandardScaler(), model), X, y, cv=cv
                    )
                table[data_name, name, alpha] = scores.mean()
                print(f"  {data_name:<20} {name:<31} alpha={alpha:<7g} "
                      f"R2={scores.mean():.4f}", flush=True)  # fmt: skip
    return table, alphas


def print_r2_table(table, alphas):
    data_names = sorted({k[0] for k in table}, key=lambda d: d != "diabetes")
    names = list(models(1.0))
    header = f"| {'dataset':<20} | {'model':<31} | " + " | ".join(
        f"{a:>7g}" for a in alphas
    )
    print("\nMean 5-fold R² at each lambda (alpha), and the best over the grid:\n")
    print(header + " |    best |")
    print("|" + "---|" * (len(alphas) + 3))
    for data_name in data_names:
        for name in names:
            row = [table[data_name, name, a] for a in alphas]
            cells = " | ".join(f"{v:7.4f}" for v in row)
            print(f"| {data_name:<20} | {name:<31} | {cells} | {max(row):7.4f} |")
    print(
        "\nTarget: BackpropRegressor's best >= MLPRegressor (lbfgs, logistic)'s - 0.01"
    )
    for data_name in data_names:
        ours = max(table[data_name, "BackpropRegressor", a] for a in alphas)
        mlp = max(table[data_name, "MLPRegressor (lbfgs, logistic)", a] for a in alphas)
        verdict = "met" if ours >= mlp - 0.01 else "MISSED"
        print(f"  {data_name}: {ours:.4f} vs {mlp:.4f} ({ours - mlp:+.4f}): {verdict}")


# ---------------------------------------------------------------------------
# Fit time on MNIST
# ---------------------------------------------------------------------------


def mnist_digit_values(data_dir, n_rows, quick=False):
    X, y, _ = mnist_or_stand_in(data_dir, quick)
    return X[:n_rows], y[:n_rows].astype(np.float64)


def fit_kind(kind, X, y, max_iter):
    if kind.startswith("ours"):
        est = BackpropRegressor(
            hidden_layer_sizes=(100,), alpha=1.0, max_iter=max_iter, tol=0.0,
            random_state=0,
        )  # fmt: skip
    else:
        est = MLPRegressor(
            hidden_layer_sizes=(100,), activation="logistic", solver="lbfgs",
            alpha=1.0, max_iter=max_iter, tol=0.0, random_state=0,
        )  # fmt: skip
    with thread_limit(1 if kind.endswith("1") else None):
        seconds = timed_fit(est, X, y)
    return seconds, est.n_iter_


def fit_time_row(data_dir, quick, repeats):
    n_rows, max_iter = (500, 5) if quick else (8000, 100)
    X, y = mnist_digit_values(data_dir, n_rows, quick)
    times = {"ours": [], "mlp": [], "ours1": [], "mlp1": []}
    for _ in range(repeats):
        for kind in times:
            seconds, n_iter = fit_kind(kind, X, y, max_iter)
            assert n_iter == max_iter, f"{kind} ran {n_iter} iterations"
            times[kind].append(seconds)
    med = {kind: statistics.median(t) for kind, t in times.items()}
    print(
        f"\nFit time, {n_rows} x 784 MNIST pixels -> digit value, hidden (100,), "
        f"{max_iter} L-BFGS-B iterations each, median of {repeats} (seconds; "
        "default: each library's own thread policy; 1 thread: every pool "
        "limited to one):\n"
    )
    print("| ours | MLPRegressor | ours, 1 thread | MLPRegressor, 1 thread |")
    print("|---|---|---|---|")
    print(
        f"| {med['ours']:.2f} | {med['mlp']:.2f} | {med['ours1']:.2f} | "
        f"{med['mlp1']:.2f} |"
    )
    ratios = {
        "ours / MLPRegressor as users run it (default threads)": (
            med["ours"] / med["mlp"]
        ),
        "ours / MLPRegressor at its faster thread count": (
            med["ours"] / min(med["mlp"], med["mlp1"])
        ),
        "equal threads: ours / MLPRegressor, both on one thread": (
            med["ours1"] / med["mlp1"]
        ),
    }
    print("\nTarget: ours <= 0.5 x MLPRegressor")
    for name, ratio in ratios.items():
        print(f"  {name}: {ratio:.2f} ({'met' if ratio <= 0.5 else 'missed'})")


# ---------------------------------------------------------------------------
# Out of the box
# ---------------------------------------------------------------------------

#: The estimators of ``--defaults``: every parameter at its default.
DEFAULT_ESTIMATORS = {
    "BackpropRegressor()": lambda hidden: BackpropRegressor(
        hidden_layer_sizes=hidden, random_state=0
    ),
    "MLPRegressor()": lambda hidden: MLPRegressor(
        hidden_layer_sizes=hidden, random_state=0
    ),
    'MLPRegressor(solver="lbfgs")': lambda hidden: MLPRegressor(
        hidden_layer_sizes=hidden, solver="lbfgs", random_state=0
    ),
}


def default_problems(data_dir):
    """``{name: (X, y, X_test, y_test, hidden)}`` of the out-of-the-box table."""
    X, y = make_friedman1(n_samples=2000, noise=1.0, random_state=0)
    X, X_test, y, y_test = train_test_split(X, y, random_state=0)
    scaler = StandardScaler().fit(X)
    X_mnist, y_mnist = mnist_digit_values(data_dir, 10000)
    return {
        "friedman1 (20,)": (
            scaler.transform(X),
            y,
            scaler.transform(X_test),
            y_test,
            (20,),
        ),
        "MNIST digit (100,)": (
            X_mnist[:8000],
            y_mnist[:8000],
            X_mnist[8000:],
            y_mnist[8000:],
            (100,),
        ),
    }


def out_of_the_box(data_dir):
    print("\nOut of the box (seconds, test R², iterations; random_state=0):\n")
    print("| data | " + " | ".join(DEFAULT_ESTIMATORS) + " |")
    print("|---|---|---|---|")
    for name, (X, y, X_test, y_test, hidden) in default_problems(data_dir).items():
        cells = []
        for make in DEFAULT_ESTIMATORS.values():
            est = make(hidden)
            seconds = timed_fit(est, X, y)
            cells.append(
                f"{seconds:.2f} s, {est.score(X_test, y_test):.4f}, {est.n_iter_} it"
            )
        print(f"| {name} | " + " | ".join(cells) + " |", flush=True)


def main():
    parser = make_parser(__doc__)
    add_data_argument(parser)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-r2", action="store_true")
    parser.add_argument("--skip-time", action="store_true")
    parser.add_argument(
        "--defaults", action="store_true", help="the out-of-the-box table only"
    )
    args = parser.parse_args()
    print_environment()
    if args.defaults:
        out_of_the_box(args.data)
        return
    if not args.skip_r2:
        print_r2_table(*r2_table(args.quick))
    if not args.skip_time:
        fit_time_row(args.data, args.quick, 1 if args.quick else args.repeats)


if __name__ == "__main__":
    main()
