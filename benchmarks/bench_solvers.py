"""Every solver of BackpropClassifier on the digits, side by side.

The course's setting on scikit-learn's 8x8 digits: 64-25-10 sigmoid network,
alpha (lambda) = 1, StandardScaler, first 1500 images for training, the last
297 for testing, random_state=0, the estimator's defaults otherwise
(``tol="auto"``, ``max_iter=1000``; ``--tol 0`` fits each to its minimum).
Prints a Markdown table: iterations, cost-and-gradient evaluations,
Hessian-vector products, wall time, final J, test accuracy and the
warnings of the fit (a ConvergenceWarning's first sentence).

Usage (from the repository root; no table of docs/performance.rst: the
solvers are described in the user guide's "Solvers, iterations and
convergence")::

    python benchmarks/bench_solvers.py                   # all seven solvers
    python benchmarks/bench_solvers.py --tol 0 --bfgs-max-iter 50
    python benchmarks/bench_solvers.py --solvers L-BFGS-B CG --early-stopping
    python benchmarks/bench_solvers.py --quick           # L-BFGS-B and Newton-CG

scipy's BFGS updates its dense 1885 x 1885 inverse Hessian with two dense
matrix products per iteration, so it is run with a smaller max_iter
(``--bfgs-max-iter``, 50).
"""

import time
import warnings

from _harness import make_parser, print_environment
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler

from skbackprop import BackpropClassifier

SOLVERS = ("L-BFGS-B", "CG", "BFGS", "TNC", "Newton-CG", "trust-ncg", "trust-krylov")
QUICK_SOLVERS = ("L-BFGS-B", "Newton-CG")


def fit_row(solver, max_iter, tol, early_stopping, data):
    """One solver's fit: the table's row."""
    X_train, y_train, X_test, y_test = data
    clf = BackpropClassifier(
        solver=solver,
        max_iter=max_iter,
        tol=tol,
        random_state=0,
        early_stopping=early_stopping,
    )
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        clf.fit(X_train, y_train)
    elapsed = time.perf_counter() - start
    notes = [str(w.message).split(".")[0] for w in caught]
    if early_stopping:
        notes.append(f"best val. score {clf.best_validation_score_:.4f}")
    return (
        f"| {solver} | {clf.n_iter_} | {clf.n_fun_evals_} | {clf.n_hessp_evals_} "
        f"| {elapsed:.2f} | {clf.loss_:.10f} | {clf.score(X_test, y_test):.4f} "
        f"| {'; '.join(notes)} |"
    )


def main():
    parser = make_parser(__doc__, "L-BFGS-B and Newton-CG, 50 iterations at most")
    parser.add_argument("--bfgs-max-iter", type=int, default=50)
    parser.add_argument("--tol", default="auto", help="'auto' or a number")
    parser.add_argument("--early-stopping", action="store_true")
    parser.add_argument("--solvers", nargs="*", default=None)
    args = parser.parse_args()
    solvers = args.solvers or (QUICK_SOLVERS if args.quick else SOLVERS)
    tol = args.tol if args.tol == "auto" else float(args.tol)
    print_environment()

    X, y = load_digits(return_X_y=True)
    scaler = StandardScaler().fit(X[:1500])
    data = (scaler.transform(X[:1500]), y[:1500], scaler.transform(X[1500:]), y[1500:])
    print(
        "| solver | iterations | f+g evals | Hv products | time (s) | final J "
        "| test accuracy | note |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---|")
    for solver in solvers:
        max_iter = args.bfgs_max_iter if solver == "BFGS" else 1000
        if args.quick:
            max_iter = min(max_iter, 50)
        print(fit_row(solver, max_iter, tol, args.early_stopping, data), flush=True)


if __name__ == "__main__":
    main()
