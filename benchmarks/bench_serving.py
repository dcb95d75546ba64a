"""Prediction latency, as a service sees it: p50 and p99 per call.

A fitted network answers requests of 1, 10 and 1,000 rows. Each call is
timed alone (``time.perf_counter`` around it), the implementations
interleaved call by call in one process, so a busy neighbour slows them
alike: ours (``predict_proba`` of a classifier, ``predict`` of a regressor),
scikit-learn's ``MLPClassifier``/``MLPRegressor`` with the same layer sizes
and logistic hidden units, and the ONNX export of ours
(:func:`skbackprop.onnx.to_onnx`, float64, as ``predict`` computes) run in
onnxruntime. Everything runs on one thread: numpy's BLAS through
threadpoolctl, onnxruntime's intra- and inter-op pools set to 1.

Models: the digits (64 pixels, 10 classes) with 25 hidden units, and the
MNIST test images (784 pixels) with 100; the regressors predict the digit's
value. The weights come from a short fit: a prediction's cost does not depend
on how well the network was trained.

Usage (from the repository root; the table of docs/performance.rst's
"Serving: prediction latency")::

    python benchmarks/bench_serving.py                 # the tables, ~2 minutes
    python benchmarks/bench_serving.py --quick         # a smoke run
    python benchmarks/bench_serving.py --repeats 3     # three rounds, ratios of each
    python benchmarks/bench_serving.py --data PATH     # MNIST's folder
"""

import time
import warnings

import numpy as np
from _harness import make_parser, print_environment, thread_limit
from mnist_data import DEFAULT_DATA, load_mnist
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier, MLPRegressor

from skbackprop import BackpropClassifier, BackpropRegressor

#: Rows per request, and the calls timed per implementation at each size.
SIZES = {1: 3000, 10: 3000, 1000: 300}


def _fit_models(X, y, hidden, regression):
    """Ours and the MLP peer, both briefly fitted: (ours, peer, our method, peer's)."""
    target = y / 9.0 if regression else y
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        if regression:
            ours = BackpropRegressor(
                hidden_layer_sizes=(hidden,), max_iter=5, random_state=0
            )
            peer = MLPRegressor(
                hidden_layer_sizes=(hidden,), activation="logistic", max_iter=5
            )
        else:
            ours = BackpropClassifier(
                hidden_layer_sizes=(hidden,), max_iter=5, random_state=0
            )
            peer = MLPClassifier(
                hidden_layer_sizes=(hidden,), activation="logistic", max_iter=5
            )
        ours.fit(X, target)
        peer.set_params(random_state=0).fit(X, target)
    method = "predict" if regression else "predict_proba"
    return ours, peer, method


def _onnx_call(model, X, regression):
    """A callable running ``model``'s ONNX export on one thread, or None."""
    try:
        import onnxruntime as ort

        from skbackprop.onnx import to_onnx
    except ImportError:
        return None
    onx = to_onnx(model, X[:1])
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(
        onx.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )
    name = session.get_inputs()[0].name
    output = [session.get_outputs()[0 if regression else 1].name]
    return lambda rows: session.run(output, {name: rows})[0]


def _check_agreement(calls, rows):
    """The implementations compute the same thing (the peers' weights differ)."""
    ours = calls["ours"](rows)
    if "onnx" in calls:
        np.testing.assert_allclose(calls["onnx"](rows), ours, rtol=1e-6, atol=1e-9)


def _time_interleaved(calls, rows, n_calls):
    """Per-call seconds of each callable, called in turn ``n_calls`` times."""
    names = list(calls)
    times = {name: np.empty(n_calls) for name in names}
    for name in names:  # warm-up: caches, lazy imports, first allocations
        for _ in range(20):
            calls[name](rows)
    for i in range(n_calls):
        for name in names[i % len(names) :] + names[: i % len(names)]:
            start = time.perf_counter()
            calls[name](rows)
            times[name][i] = time.perf_counter() - start
    return times


def _case(label, X, y, hidden, regression, n_calls_scale):
    ours, peer, method = _fit_models(X, y, hidden, regression)
    calls = {"ours": getattr(ours, method), "mlp": getattr(peer, method)}
    onnx = _onnx_call(ours, X, regression)
    if onnx is not None:
        calls["onnx"] = onnx
    rows_out = []
    for n_rows, n_calls in SIZES.items():
        rows = np.ascontiguousarray(X[:n_rows])
        _check_agreement(calls, rows)
        times = _time_interleaved(calls, rows, max(20, int(n_calls * n_calls_scale)))
        stats = {
            name: (np.percentile(t, 50) * 1e6, np.percentile(t, 99) * 1e6)
            for name, t in times.items()
        }
        rows_out.append((label, method, n_rows, stats))
    return rows_out


def _print_table(results):
    header = (
        f"{'model':<29}{'rows':>6}{'ours p50':>10}{'p99':>9}{'MLP p50':>10}"
        f"{'p99':>9}{'ONNX p50':>10}{'p99':>9}{'ours/MLP p50':>14}{'p99':>7}"
        f"{'ours/ONNX p50':>15}"
    )
    print(header)
    for label, method, n_rows, stats in results:
        ours, mlp = stats["ours"], stats["mlp"]
        onnx = stats.get("onnx", (np.nan, np.nan))
        print(
            f"{label + ' ' + method:<29}{n_rows:>6}{ours[0]:>10.1f}{ours[1]:>9.1f}"
            f"{mlp[0]:>10.1f}{mlp[1]:>9.1f}{onnx[0]:>10.1f}{onnx[1]:>9.1f}"
            f"{ours[0] / mlp[0]:>14.2f}{ours[1] / mlp[1]:>7.2f}"
            f"{ours[0] / onnx[0]:>15.2f}"
        )


def main():
    parser = make_parser(__doc__, "few calls, digits only")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--data", default=DEFAULT_DATA, help="MNIST's folder")
    args = parser.parse_args()
    print_environment()
    print("times in microseconds per call, one thread")
    X_digits, y_digits = load_digits(return_X_y=True)
    problems = [("digits 64-25", X_digits / 16.0, y_digits, 25)]
    if not args.quick:
        try:
            X_mnist, y_mnist = load_mnist(args.data)
            problems.append(("MNIST 784-100", X_mnist[:2000], y_mnist[:2000], 100))
        except FileNotFoundError:
            print(f"MNIST not found in {args.data}: digits only")
    scale = 0.05 if args.quick else 1.0
    with thread_limit(1):
        for repeat in range(args.repeats):
            print(f"\nround {repeat + 1} of {args.repeats}")
            results = []
            for label, X, y, hidden in problems:
                for regression in (False, True):
                    name = label + ("-1" if regression else "-10")
                    results += _case(name, X, y, hidden, regression, scale)
            _print_table(results)


if __name__ == "__main__":
    main()
