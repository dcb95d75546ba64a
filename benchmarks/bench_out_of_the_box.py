"""Out of the box: BackpropClassifier() against MLPClassifier(), all at their defaults.

Each estimator exactly as a new user runs it, every parameter at its default
but ``hidden_layer_sizes`` (and ``random_state=0``, for a reproducible run),
on the MNIST rows of W2 (8,000 training and 2,000 test rows of the MNIST
test set, pixels / 255) with 25 and 100 hidden units:
``BackpropClassifier()`` (its default stopping rule), ``MLPClassifier()``
(adam) and ``MLPClassifier(solver="lbfgs")``. It prints the fit times
(medians of ``--repeats``, 1 by default), test accuracies and the ratio of
ours to the faster MLPClassifier, against the targets of the out-of-the-box
issue: ours <= 0.5x the faster in time, and at least the better accuracy
minus 0.3 points.

Usage (from the repository root; the table of docs/performance.rst's "Out of
the box" and of the README)::

    python benchmarks/bench_out_of_the_box.py              # the table
    python benchmarks/bench_out_of_the_box.py --repeats 3
    python benchmarks/bench_out_of_the_box.py --quick      # 500 rows, 25 units
"""

import statistics
import time

from _fit_workloads import workload_data
from _harness import (
    json_path,
    load_average,
    make_parser,
    print_environment,
    timed_fit,
    write_json,
)
from mnist_data import add_data_argument
from sklearn.neural_network import MLPClassifier

from skbackprop import BackpropClassifier

#: The configurations: every parameter at its default.
DEFAULT_ESTIMATORS = {
    "BackpropClassifier()": lambda hidden: BackpropClassifier(
        hidden_layer_sizes=hidden, random_state=0
    ),
    "MLPClassifier()": lambda hidden: MLPClassifier(
        hidden_layer_sizes=hidden, random_state=0
    ),
    'MLPClassifier(solver="lbfgs")': lambda hidden: MLPClassifier(
        hidden_layer_sizes=hidden, solver="lbfgs", random_state=0
    ),
}


def fit_defaults(name, hidden, X, y, X_test, y_test, max_iter=None):
    """Fit one default configuration: seconds, test accuracy, iterations."""
    est = DEFAULT_ESTIMATORS[name](hidden)
    if max_iter is not None:  # --quick only: a smoke run, not the defaults
        est.set_params(max_iter=max_iter)
    seconds = timed_fit(est, X, y)
    return seconds, float(est.score(X_test, y_test)), int(est.n_iter_)


def one_width(hidden, data, repeats, max_iter):
    """The row of one hidden size: medians per estimator, and the ratios."""
    names = list(DEFAULT_ESTIMATORS)
    runs = {name: [] for name in names}
    for _ in range(repeats):
        for name in names:
            run = fit_defaults(name, hidden, *data, max_iter=max_iter)
            runs[name].append(run)
            print(
                f"  {hidden} {name}: {run[0]:.1f} s, {100 * run[1]:.2f}%, "
                f"{run[2]} iterations",
                flush=True,
            )
    row = {"hidden": hidden}
    for name in names:
        row[name] = {
            "seconds": statistics.median(r[0] for r in runs[name]),
            "accuracy": statistics.median(r[1] for r in runs[name]),
            "n_iter": statistics.median(r[2] for r in runs[name]),
        }
    ours, mlps = row[names[0]], [row[name] for name in names[1:]]
    row["time_ratio"] = ours["seconds"] / min(m["seconds"] for m in mlps)
    row["accuracy_gap"] = 100 * (ours["accuracy"] - max(m["accuracy"] for m in mlps))
    return row


def print_out_of_the_box(rows, names, source):
    print()
    print(
        "Out of the box: MNIST 8000 training / 2000 test rows, pixels / 255, "
        "defaults (random_state=0)"
    )
    if not source.startswith("the MNIST"):
        print(f"(rows: {source})")
    print(
        f"{'hidden':<8}"
        + "".join(f"{name:>31}" for name in names)
        + f"{'ours / faster':>15}{'acc - better':>14}"
    )
    for row in rows:
        cells = "".join(
            f"{row[n]['seconds']:>9.1f} s {100 * row[n]['accuracy']:>6.2f}% "
            f"{row[n]['n_iter']:>5.0f} it".rjust(31)
            for n in names
        )
        print(
            f"{str(row['hidden']):<8}{cells}{row['time_ratio']:>14.2f}x"
            f"{row['accuracy_gap']:>+13.2f}"
        )
    met = all(r["time_ratio"] <= 0.5 and r["accuracy_gap"] >= -0.3 for r in rows)
    print(
        "targets (time <= 0.5x the faster, accuracy >= the better - 0.3 points): "
        + ("met" if met else "MISSED")
    )


def main(argv=None):
    parser = make_parser(
        __doc__, "a smoke run: 500 rows, 25 units, 10 iterations at most"
    )
    add_data_argument(parser)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--json", default=None, help="results file")
    args = parser.parse_args(argv)
    X, y, X_test, y_test, _, _ = workload_data("W2", args.data, args.quick)
    if args.quick:
        X, y = X[:500], y[:500]
    source = "the MNIST test set"
    if args.quick:
        source = "a quick run's 500 rows, max_iter=10" + (
            ", a generated stand-in" if args.data is None else ""
        )
    result = {"environment": print_environment(), "args": vars(args)}
    start = time.perf_counter()
    widths = [(25,)] if args.quick else [(25,), (100,)]
    max_iter = 10 if args.quick else None
    rows = [
        one_width(hidden, (X, y, X_test, y_test), args.repeats, max_iter)
        for hidden in widths
    ]
    print_out_of_the_box(rows, list(DEFAULT_ESTIMATORS), source)
    result["defaults"] = rows
    result["seconds"] = time.perf_counter() - start
    result["environment"]["loadavg_end"] = load_average()
    write_json(json_path("bench_out_of_the_box", args.quick, args.json), result)


if __name__ == "__main__":
    main()
