"""The study that chose the default stopping rule (``tol="auto"``).

For each problem, one tight fit (``tol=0``: until J stops decreasing, or
``max_iter``) records ``J`` after every iteration (``loss_curve_``), the test
score after every iteration (accuracy for BackpropClassifier, R² for
BackpropRegressor; the test rows passed as ``X_val``/``y_val``, which without
``early_stopping`` are only scored) and the constant prediction's cost
``J_c`` (:meth:`skbackprop._loss.NetworkLoss.constant_loss`). A stopping rule
does not change the optimizer's path before it stops, so where each
candidate rule would have stopped, and the test score there, are read off
the recorded curves. The rules, over a window of ``n = 10`` iterations:

* ``first``: the rule of 0.2 (``tol`` 1e-2, 1e-4 for the regressor): J fell
  by at most ``tol`` times its fall since the first iteration,
  ``J[k - n] - J[k] <= tol * (J[1] - J[k])``;
* ``const``: the fall measured from the constant prediction instead,
  ``J[k - n] - J[k] <= tol * (J_c - J[k])``, no trial;
* ``trial`` (the one built, :meth:`skbackprop._solver.Monitor.plateau`,
  which decides here): ``const``, and a stop only once ``n`` more iterations
  also fell by little; ``auto`` is its ``tol="auto"`` (1.5e-4 up to 1e7
  rows x weights, log-linearly up to 2e-2 at 1e8), with problems of at most
  5e4 rows x weights fit tight as ``tol="auto"`` fits them.

The tables give, per rule and problem, the iterations run (a fit's time is
about proportional to them) and the test score minus the tight fit's, in
points (accuracy or R², times 100); the summary, per rule, the iterations
summed over the problems as a share of the tight fits' and the worst score
difference.

The problems (standardised inputs, 75/25 splits, BackpropClassifier's or
BackpropRegressor's defaults unless said): ``make_moons`` and
``make_circles`` (several sizes, noise levels and seeds), 3- to 5-bit
parity, ``make_gaussian_quantiles``, ``make_hastie_10_2``, a hard
``make_classification``, iris, wine, breast_cancer, digits, 25 and 100
hidden units, ``alpha`` 1e-4 to 10; for the regressor ``make_friedman1``
to ``3``, diabetes, a target with an offset (``+ 100``) and one scaled
(``x 1e3``). ``--full`` adds more seeds and sizes and the MNIST rows of the
out-of-the-box benchmark (8,000 training / 2,000 test rows, 25 and 100
hidden units).

Usage (from the repository root)::

    python benchmarks/stopping_rule.py           # the default suite (~3 minutes)
    python benchmarks/stopping_rule.py --full    # the whole study, with MNIST
    python benchmarks/stopping_rule.py --save curves.json  # keep the curves
    python benchmarks/stopping_rule.py --load curves.json  # the tables only
    python benchmarks/stopping_rule.py --quick   # a smoke run: 2 problems each

The tables are docs/performance.rst's "The stopping rule".
"""

import itertools
import json
import time
from pathlib import Path

import numpy as np
from _harness import make_parser, print_environment, timed_fit
from mnist_data import add_data_argument, mnist_or_stand_in
from sklearn import datasets
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

import skbackprop._solver as solver_module
from skbackprop import BackpropClassifier, BackpropRegressor
from skbackprop._solver import Monitor, SolverSettings, resolve_tol

WINDOW = 10


# ---------------------------------------------------------------------------
# The rules, replayed on a recorded curve
# ---------------------------------------------------------------------------


def first_stop(J, J_constant, tol):
    """0.2's rule: the fall since the first iteration (1-based stop, or the end)."""
    for k in range(WINDOW, len(J)):
        if J[k - WINDOW] - J[k] <= tol * (J[0] - J[k]):
            return k + 1
    return len(J)


def const_stop(J, J_constant, tol):
    """The fall below the constant prediction's cost, no trial."""
    for k in range(WINDOW, len(J)):
        if J[k - WINDOW] - J[k] <= tol * (J_constant - J[k]) and J_constant > J[k]:
            return k + 1
    return len(J)


def trial_stop(J, J_constant, tol):
    """Where the Monitor's rule (with its trial) stops (1-based), or the end."""
    settings = SolverSettings("L-BFGS-B", len(J) + 1, tol, 10**9)
    monitor = Monitor(settings, n_iter_no_change=WINDOW)
    monitor.start(np.zeros(1), J_constant)
    for k, value in enumerate(J, start=1):
        monitor.loss_curve.append(value)
        if monitor.plateau() is not None:
            return k
    return len(J)


def auto_stop(record):
    """Where ``tol="auto"`` stops: the trial rule at its tol, or tight when tiny."""
    tol = resolve_tol("auto", record["rows"], record["params"])
    if tol == 0:
        return len(record["J"])
    return trial_stop(record["J"], record["J_constant"], tol)


def rules():
    """``(name, stop(record))`` for every candidate."""

    def fixed(stop, tol):
        return lambda r: stop(r["J"], r["J_constant"], tol)

    def first_default(r):
        return first_stop(r["J"], r["J_constant"], 1e-4 if r["regression"] else 1e-2)

    candidates = [("first 0.2 (1e-2/1e-4)", first_default)]
    candidates += [(f"first {t:g}", fixed(first_stop, t)) for t in (1e-3, 1e-4)]
    candidates += [(f"const {t:g}", fixed(const_stop, t)) for t in (1e-3, 1.5e-4)]
    candidates += [
        (f"trial {t:g}", fixed(trial_stop, t)) for t in (2e-2, 1e-3, 1.5e-4, 5e-5)
    ]
    candidates.append(("trial auto (built)", auto_stop))
    return candidates


# ---------------------------------------------------------------------------
# The problems and their tight fits
# ---------------------------------------------------------------------------


def parity(n_bits, n_samples, seed):
    rng = np.random.default_rng(seed)
    bits = rng.integers(0, 2, size=(n_samples, n_bits))
    X = (2 * bits - 1) + 0.1 * rng.normal(size=bits.shape)
    return X, bits.sum(axis=1) % 2


def classification_problems(full):
    """``(name, X, y, params)`` for the classifier."""
    seeds = (0, 1, 2) if full else (0, 1)
    sizes = (1000, 2000, 4000) if full else (1000, 2000)
    for n in sizes:
        for noise in (0.1, 0.25):
            for seed in seeds:
                X, y = datasets.make_moons(n, noise=noise, random_state=seed)
                yield f"moons n={n} noise={noise} s={seed}", X, y, {}
    X, y = datasets.make_moons(1000, noise=0.25, random_state=0)
    for alpha in (1e-4, 0.1):
        yield (
            f"moons (100,) a={alpha:g}",
            X,
            y,
            {
                "hidden_layer_sizes": (100,),
                "alpha": alpha,
            },
        )
    for n, noise in ((1000, 0.1), (2000, 0.2)):
        for seed in seeds:
            X, y = datasets.make_circles(n, noise=noise, factor=0.5, random_state=seed)
            yield f"circles n={n} noise={noise} s={seed}", X, y, {}
    for bits in (3, 4, 5):
        for seed in seeds:
            X, y = parity(bits, 2000, seed)
            yield f"parity {bits} bits s={seed}", X, y, {"random_state": seed}
    X, y = datasets.make_gaussian_quantiles(
        n_samples=2000, n_features=4, n_classes=3, random_state=0
    )
    yield "gaussian_quantiles", X, y, {}
    X, y = datasets.make_hastie_10_2(n_samples=3000, random_state=0)
    yield "hastie_10_2", X, y, {}
    yield "hastie_10_2 (100,)", X, y, {"hidden_layer_sizes": (100,)}
    X, y = datasets.make_classification(
        n_samples=3000,
        n_features=20,
        n_informative=10,
        n_classes=4,
        n_clusters_per_class=3,
        class_sep=0.8,
        flip_y=0.05,
        random_state=0,
    )
    for alpha in (0.1, 1.0, 10.0):
        yield f"classification hard a={alpha:g}", X, y, {"alpha": alpha}
    for name in ("iris", "wine", "breast_cancer", "digits"):
        X, y = getattr(datasets, f"load_{name}")(return_X_y=True)
        yield name, X, y, {}


def regression_problems(full):
    """``(name, X, y, params)`` for the regressor."""
    seeds = (0, 1, 2) if full else (0,)
    for seed in seeds:
        X, y = datasets.make_friedman1(2000, noise=1.0, random_state=seed)
        for alpha in (1.0, 10.0):
            yield (
                f"friedman1 a={alpha:g} s={seed}",
                X,
                y,
                {
                    "hidden_layer_sizes": (20,),
                    "alpha": alpha,
                },
            )
        X, y = datasets.make_friedman2(2000, noise=10.0, random_state=seed)
        yield f"friedman2 s={seed}", X, y, {}
        X, y = datasets.make_friedman3(2000, noise=0.1, random_state=seed)
        yield f"friedman3 s={seed}", X, y, {}
    X, y = datasets.load_diabetes(return_X_y=True)
    yield "diabetes a=10", X, y, {"alpha": 10.0}
    rng = np.random.default_rng(0)
    X = rng.uniform(-3, 3, size=(4000, 2))  # 3,000 training rows: not tiny
    y = np.sin(X[:, 0]) + 0.5 * X[:, 1]
    yield "sin offset +100", X, y + 100, {"hidden_layer_sizes": (10,)}
    yield "sin scaled x1e3", X, 1e3 * y, {"hidden_layer_sizes": (10,)}


def tight_fit(X, y, X_test, y_test, estimator, max_iter):
    """One tight fit's record: J, J_c and test score per iteration, size, time."""
    constants = []
    start_monitor = Monitor.start

    def start(monitor, x0, J_constant=None):
        constants.append(J_constant)
        start_monitor(monitor, x0, J_constant)

    estimator.set_params(tol=0, max_iter=max_iter)
    Monitor.start = start
    try:
        seconds = timed_fit(estimator, X, y, X_val=X_test, y_val=y_test)
    finally:
        Monitor.start = start_monitor
    return {
        "J": estimator.loss_curve_,
        "J_constant": constants[0],
        "score": estimator.validation_scores_,
        "rows": X.shape[0],
        "params": sum(t.size for t in estimator.thetas_),
        "seconds": seconds,
        "regression": isinstance(estimator, BackpropRegressor),
    }


def split(X, y, seed=0):
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=seed)
    scaler = StandardScaler().fit(X_train)
    return scaler.transform(X_train), y_train, scaler.transform(X_test), y_test


def record(args):
    """``{problem: tight-fit record}``, fitted or loaded."""
    if args.load:
        return json.loads(Path(args.load).read_text())
    records = {}
    kinds = [
        (classification_problems, BackpropClassifier, 1000),
        (regression_problems, BackpropRegressor, 2000),
    ]
    for problems, Estimator, max_iter in kinds:
        suite = problems(args.full)
        if args.quick:  # the first two of each, 100 iterations at most
            suite, max_iter = itertools.islice(suite, 2), 100
        for name, X, y, params in suite:
            params = {"random_state": 0, **params}
            est = Estimator(**params)
            records[name] = tight_fit(*split(X, y), est, max_iter)
            print(f"  {name}: {len(records[name]['J'])} iterations", flush=True)
    if args.full:
        X, y, _ = mnist_or_stand_in(args.data, args.quick)
        for hidden in ((25,), (100,)):
            est = BackpropClassifier(hidden_layer_sizes=hidden, random_state=0)
            records[f"MNIST {hidden}"] = tight_fit(
                X[:8000], y[:8000], X[8000:], y[8000:], est, 1000
            )
    if args.save:
        Path(args.save).write_text(json.dumps(records))
    return records


# ---------------------------------------------------------------------------
# The tables
# ---------------------------------------------------------------------------


def stops_and_gains(records, stop):
    """Per problem, ``(iterations, score - tight fit's in points)``."""
    out = {}
    for name, r in records.items():
        k = stop(r)
        out[name] = (k, 100 * (r["score"][k - 1] - r["score"][-1]))
    return out


def print_tables(records):
    candidates = rules()
    results = {name: stops_and_gains(records, stop) for name, stop in candidates}
    built = results["trial auto (built)"]
    print("\nPer problem: the tight fit, and tol='auto' (iterations, points)")
    tiny = solver_module._TINY_FIT
    print(f"(problems of at most {tiny:g} rows x params are fit tight by tol='auto')")
    print(
        f"{'problem':<34} {'rows x params':>13} {'tight it':>8} {'score':>7} "
        f"{'auto it':>7} {'diff':>6} {'0.2 it':>6} {'diff':>6}"
    )
    old = results["first 0.2 (1e-2/1e-4)"]
    for name, r in records.items():
        print(
            f"{name:<34} {r['rows'] * r['params']:>13.2g} {len(r['J']):>8d} "
            f"{100 * r['score'][-1]:>7.2f} {built[name][0]:>7d} "
            f"{built[name][1]:>+6.2f} {old[name][0]:>6d} {old[name][1]:>+6.2f}"
        )
    tight_total = sum(len(r["J"]) for r in records.values())
    print(f"\nSummary over {len(records)} problems (tight fits: {tight_total} it)")
    # Work: iterations times rows x weights, about proportional to the time.
    tight_work = sum(len(r["J"]) * r["rows"] * r["params"] for r in records.values())
    print(
        f"{'rule':<24} {'iters / tight':>13} {'work / tight':>12} {'worst diff':>10} "
        f"{'< -1 point':>10} {'mean diff':>9}"
    )
    for name, _ in candidates:
        res = results[name]
        diffs = np.array([d for _, d in res.values()])
        share = sum(k for k, _ in res.values()) / tight_total
        work = (
            sum(res[n][0] * r["rows"] * r["params"] for n, r in records.items())
            / tight_work
        )
        print(
            f"{name:<24} {share:>12.2f}x {work:>11.2f}x {diffs.min():>+10.2f} "
            f"{int(np.sum(diffs < -1)):>10d} {diffs.mean():>+9.2f}"
        )
    worst = min(built, key=lambda n: built[n][1])
    print(f"\ntol='auto': worst problem {worst} ({built[worst][1]:+.2f} points)")


def main(argv=None):
    parser = make_parser(__doc__, "2 problems of each kind, 100 iterations at most")
    add_data_argument(parser)
    parser.add_argument("--full", action="store_true", help="the whole study")
    parser.add_argument("--save", default=None, help="write the curves to a JSON file")
    parser.add_argument("--load", default=None, help="read the curves from it")
    args = parser.parse_args(argv)
    print_environment()
    begin = time.perf_counter()
    records = record(args)
    print_tables(records)
    print(f"\n({time.perf_counter() - begin:.0f} s; tiny fits below ", end="")
    print(f"{solver_module._TINY_FIT:g} rows x weights are tight)")


if __name__ == "__main__":
    main()
