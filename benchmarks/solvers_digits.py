"""Every solver of BackpropClassifier on the digits, side by side.

The course's setting on scikit-learn's 8x8 digits: 64-25-10 sigmoid network,
alpha (lambda) = 1, StandardScaler, first 1500 images for training, the last
297 for testing, random_state=0, default tol=1e-10 and max_iter=1000.
Prints a Markdown table: iterations, cost-and-gradient evaluations,
Hessian-vector products, wall time, final J and test accuracy.

    python benchmarks/solvers_digits.py [--bfgs-max-iter 50] [--early-stopping]

scipy's BFGS updates its dense 1885 x 1885 inverse Hessian with two dense
matrix products per iteration, so it is run with a smaller max_iter.
"""

import argparse
import time
import warnings

from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler

from skbackprop import BackpropClassifier

SOLVERS = ("L-BFGS-B", "CG", "BFGS", "TNC", "Newton-CG", "trust-ncg", "trust-krylov")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bfgs-max-iter", type=int, default=50)
    parser.add_argument("--early-stopping", action="store_true")
    parser.add_argument("--solvers", nargs="*", default=SOLVERS)
    args = parser.parse_args()

    X, y = load_digits(return_X_y=True)
    scaler = StandardScaler().fit(X[:1500])
    X_train, y_train = scaler.transform(X[:1500]), y[:1500]
    X_test, y_test = scaler.transform(X[1500:]), y[1500:]

    print(
        "| solver | iterations | f+g evals | Hv products | time (s) | final J "
        "| test accuracy | note |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---|")
    for solver in args.solvers:
        max_iter = args.bfgs_max_iter if solver == "BFGS" else 1000
        clf = BackpropClassifier(
            solver=solver,
            max_iter=max_iter,
            random_state=0,
            early_stopping=args.early_stopping,
        )
        start = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            clf.fit(X_train, y_train)
        elapsed = time.perf_counter() - start
        notes = [str(w.message).split(".")[0] for w in caught]
        if args.early_stopping:
            notes.append(f"best val. score {clf.best_validation_score_:.4f}")
        print(
            f"| {solver} | {clf.n_iter_} | {clf.n_fun_evals_} | {clf.n_hessp_evals_} "
            f"| {elapsed:.2f} | {clf.loss_:.10f} | {clf.score(X_test, y_test):.4f} "
            f"| {'; '.join(notes)} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
