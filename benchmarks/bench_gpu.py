"""The Array API backend on a GPU: against the matrix-multiply floor, PyTorch, the CPU.

The workload: 60,000 x 784 inputs (the MNIST test set tiled six times with a
small jitter, or synthetic data of the same shape when the MNIST files are
absent), the network 784-256-128-10, float32, alpha = 1, 100 L-BFGS-B
iterations. In one run, on one device:

* ``ours eval``: one cost-and-gradient evaluation of the Array API evaluator
  as the optimizer calls it (the host parameter vector to the device, the
  passes, the gradient back), median of ``--repeats``;
* ``ours eval, on device``: the data term's sums on the device, without the
  two transfers and the host's last steps (divide by m, the penalty);
* ``matmul floor``: the evaluation's eight matrix products alone (forward
  ``a @ W``, backward ``a^T d`` and ``d W``: same shapes, dtype, device);
* ``ours fit``: ``BackpropClassifier`` fitted on the device tensors with
  ``array_api_dispatch``, ``max_iter`` iterations of scipy's L-BFGS-B;
* ``torch.optim.LBFGS fit``: the route a PyTorch user would take, the same
  cost (sigmoid hidden units, logistic outputs, the course's penalty) with
  autograd, the same initial weights, history and number of iterations;
* ``eval / torch autograd, interleaved``: ours and autograd's evaluation of
  that cost timed in turn, one each per round (the median of the rounds'
  ratios), so that the machine's load moves both;
* ``numpy CPU eval`` and ``numpy CPU fit``: our numpy path (the fast
  evaluator) on this machine's CPU, the same data and iterations.

Prints a table and writes JSON (``--json``, default
``benchmarks/results/bench_gpu.json``). From the repository root (the tables
of docs/performance.rst's "On a GPU")::

    python benchmarks/bench_gpu.py                        # on the GPU (cuda)
    python benchmarks/bench_gpu.py --device cpu --quick   # PyTorch on the CPU
    python benchmarks/bench_gpu.py --quick                # skipped without a GPU

Needs PyTorch (not in any extra of the project): a ``--quick`` run without
it, or on ``cuda`` without a GPU, prints "skipped: ..." and exits 0.
``benchmarks/gpu_check.sh`` runs it, with the GPU tests, on a fresh GPU machine.
"""

import os
import platform
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("SCIPY_ARRAY_API", "1")  # before scipy is imported

import numpy as np  # noqa: E402
import sklearn  # noqa: E402
from _harness import (  # noqa: E402
    environment,
    json_path,
    make_parser,
    median_time,
    require,
    timed_fit,
    write_json,
)
from mnist_data import DEFAULT_DATA, MNIST_FILES, load_idx  # noqa: E402

from skbackprop import BackpropClassifier  # noqa: E402
from skbackprop.backprop import (  # noqa: E402
    init_thetas,
    make_array_api_cost_function,
    make_cost_function,
    unroll,
)

HIDDEN = (256, 128)
ALPHA = 1.0


# ---------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------


def workload(data_dir, rows, seed=0):
    """``(X, y, source)``: float32 inputs in [0, 1], int64 labels, where from.

    ``data_dir`` None (a ``--quick`` run without ``--data``): synthetic rows.
    """
    rng = np.random.default_rng(seed)
    paths = [Path(data_dir or "") / name for name in MNIST_FILES]
    if data_dir is not None and all(path.is_file() for path in paths):
        images = load_idx(paths[0]).reshape(-1, 784).astype(np.float32) / 255
        labels = load_idx(paths[1]).astype(np.int64)
        copies = -(-rows // images.shape[0])
        X = np.tile(images, (copies, 1))[:rows]
        y = np.tile(labels, copies)[:rows]
        # A jitter of up to half a grey level, so that no two rows are equal.
        X += rng.uniform(-0.5 / 255, 0.5 / 255, X.shape).astype(np.float32)
        np.clip(X, 0.0, 1.0, out=X)
        return X, y, f"MNIST test set tiled to {rows} rows, jittered ({data_dir})"
    X = rng.random((rows, 784), dtype=np.float32)
    y = np.argmax(X @ rng.standard_normal((784, 10)).astype(np.float32), axis=1)
    where = "--quick" if data_dir is None else f"no MNIST in {data_dir}"
    return X, y.astype(np.int64), f"synthetic, {rows} rows ({where})"


# ---------------------------------------------------------------------------
# Timing
# ---------------------------------------------------------------------------


def synchronizer(torch, device):
    if device.type == "cuda":
        return lambda: torch.cuda.synchronize(device)
    return lambda: None


def matmul_floor(torch, device, m, layer_sizes, sync, repeats):
    """The eight matrix products of one evaluation, alone, on random data."""
    gen = torch.Generator(device=device).manual_seed(0)

    def rand(*shape):
        return torch.rand(shape, generator=gen, device=device, dtype=torch.float32)

    acts = [rand(m, s) for s in layer_sizes[:-1]]  # X, a(2), a(3)
    weights_t = [rand(s, s_next) for s, s_next in zip(layer_sizes, layer_sizes[1:])]
    deltas = [rand(m, s) for s in layer_sizes[1:]]  # d(2), d(3), d(4)

    def products():
        for a, w_t in zip(acts, weights_t):  # forward: a(l) @ Theta(l)^T
            a @ w_t
        for i in range(len(weights_t) - 1, -1, -1):
            acts[i].T @ deltas[i]  # Delta(l)^T = a(l)^T d(l+1)
            if i > 0:
                deltas[i] @ weights_t[i].T  # d(l+1) Theta(l)[:, 1:]

    return median_time(products, repeats, warmup=2, sync=sync)


def torch_course_cost(torch, X, Y, thetas):
    """``(params, cost)``: the course's cost as a PyTorch user writes it.

    Sigmoid hidden units, logistic outputs, the penalty without the bias
    rows; ``params`` the transposed ``Theta(l)`` as leaf tensors.
    """
    m = X.shape[0]
    params = [
        torch.tensor(t.T.copy(), dtype=torch.float32, device=X.device).requires_grad_()
        for t in thetas
    ]

    def cost():
        a = X
        for i, theta_t in enumerate(params):
            z = a @ theta_t[1:] + theta_t[0]
            if i < len(params) - 1:
                a = torch.sigmoid(z)
        data = torch.nn.functional.binary_cross_entropy_with_logits(
            z, Y, reduction="sum"
        )
        penalty = sum((theta_t[1:] ** 2).sum() for theta_t in params)
        return data / m + ALPHA / (2 * m) * penalty

    return params, cost


def interleaved_ratio(ours, theirs, repeats, sync):
    """The median over rounds of ``ours``' time over ``theirs``', timed in turn.

    Each round times one call of each, back to back, so a change in the
    machine's load moves both.
    """
    for fn in (ours, theirs):  # warm-up
        fn()
    ratios = []
    for _ in range(repeats):
        times = []
        for fn in (ours, theirs):
            sync()
            start = time.perf_counter()
            fn()
            sync()
            times.append(time.perf_counter() - start)
        ratios.append(times[0] / times[1])
    return statistics.median(ratios)


def torch_lbfgs_fit(torch, X, Y, thetas, iterations, sync):
    """``torch.optim.LBFGS`` on the course's cost: ``(seconds, n_iter, evals, J)``."""
    params, cost = torch_course_cost(torch, X, Y, thetas)
    evals = [0]
    optimizer = torch.optim.LBFGS(
        params,
        lr=1,
        max_iter=iterations,
        max_eval=5 * iterations,
        history_size=10,  # scipy's L-BFGS-B default (maxcor)
        tolerance_grad=0.0,
        tolerance_change=0.0,
        line_search_fn="strong_wolfe",
    )

    def closure():
        evals[0] += 1
        optimizer.zero_grad()
        loss = cost()
        loss.backward()
        return loss

    def one_eval():
        closure()

    eval_seconds = median_time(one_eval, 5, warmup=2, sync=sync)
    evals[0] = 0
    sync()
    start = time.perf_counter()
    optimizer.step(closure)
    sync()
    seconds = time.perf_counter() - start
    state = optimizer.state[optimizer.param_groups[0]["params"][0]]
    with torch.no_grad():
        J = float(cost())
    return seconds, int(state["n_iter"]), evals[0], J, eval_seconds


def our_fit(X, y, iterations):
    """``BackpropClassifier`` fitted (100 L-BFGS-B iterations): seconds and it."""
    model = BackpropClassifier(
        hidden_layer_sizes=HIDDEN,
        alpha=ALPHA,
        max_iter=iterations,
        tol=0.0,
        random_state=0,
    )
    return timed_fit(model, X, y), model


# ---------------------------------------------------------------------------
# The run
# ---------------------------------------------------------------------------


def run(args):
    torch = require("torch", args.quick, "PyTorch, in no extra of the project")
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        message = "PyTorch sees no CUDA GPU here (--device cpu runs it on the CPU)"
        if args.quick:
            print(f"skipped: needs a CUDA GPU: {message}")
            return
        sys.exit(f"--device cuda: {message}.")
    sync = synchronizer(torch, device)
    rows = args.rows or (6000 if args.quick else 60000)
    iterations = args.iterations or (10 if args.quick else 100)
    repeats = args.repeats or (3 if args.quick else 10)
    X, y, source = workload(args.data, rows)
    classes = np.unique(y)
    Y = (y[:, None] == classes[None, :]).astype(np.float32)
    layer_sizes = (X.shape[1], *HIDDEN, classes.shape[0])
    params = unroll(init_thetas(layer_sizes, random_state=0))
    print(f"data: {source}; network {layer_sizes}, float32, {iterations} iterations")
    print(f"device: {device_name(torch, device)}")

    X_dev = torch.asarray(X, device=device)
    y_dev = torch.asarray(y, device=device)
    Y_dev = torch.asarray(Y, device=device)
    fun = make_array_api_cost_function(layer_sizes, X_dev, Y_dev, ALPHA)
    params_dev = fun.to_device(params)
    results = {
        "ours_eval_s": median_time(lambda: fun(params), repeats, 2, sync),
        "ours_eval_on_device_s": median_time(
            lambda: fun.data_sums(params_dev), repeats, 2, sync
        ),
        "matmul_floor_s": matmul_floor(torch, device, rows, layer_sizes, sync, repeats),
    }
    params_t, cost = torch_course_cost(
        torch, X_dev, Y_dev, init_thetas(layer_sizes, None, 0)
    )

    def autograd_eval():
        for p in params_t:
            p.grad = None
        cost().backward()

    results["ours_over_autograd_interleaved"] = interleaved_ratio(
        lambda: fun(params), autograd_eval, repeats, sync
    )
    with sklearn.config_context(array_api_dispatch=True):
        our_fit(X_dev, y_dev, 2)  # warm-up: CUDA kernels, cuBLAS handles
        seconds, model = our_fit(X_dev, y_dev, iterations)
    results.update(
        ours_fit_s=seconds,
        ours_n_iter=model.n_iter_,
        ours_n_evals=model.n_fun_evals_,
        ours_J=model.loss_,
    )
    lbfgs = torch_lbfgs_fit(
        torch, X_dev, Y_dev, init_thetas(layer_sizes, None, 0), iterations, sync
    )
    results.update(
        torch_lbfgs_fit_s=lbfgs[0],
        torch_lbfgs_n_iter=lbfgs[1],
        torch_lbfgs_n_evals=lbfgs[2],
        torch_lbfgs_J=lbfgs[3],
        torch_autograd_eval_s=lbfgs[4],
    )
    cpu_fun = make_cost_function(layer_sizes, X, Y, ALPHA)
    results["numpy_cpu_eval_s"] = median_time(
        lambda: cpu_fun(params), max(3, repeats // 3)
    )
    seconds, cpu_model = our_fit(X, y, iterations)
    results.update(
        numpy_cpu_fit_s=seconds,
        numpy_cpu_n_iter=cpu_model.n_iter_,
        numpy_cpu_n_evals=cpu_model.n_fun_evals_,
        numpy_cpu_J=cpu_model.loss_,
    )
    report(results, args, torch, device, source, rows, iterations, layer_sizes)


def device_name(torch, device):
    if device.type == "cuda":
        return f"{torch.cuda.get_device_name(device)} (cuda)"
    return f"CPU, PyTorch on {torch.get_num_threads()} threads ({platform.processor()})"


def _fit_label(name, results, key):
    n_iter, n_evals = results[f"{key}_n_iter"], results[f"{key}_n_evals"]
    return f"{name} ({n_iter} it, {n_evals} evals)"


def report(results, args, torch, device, source, rows, iterations, layer_sizes):
    """Print the table and the target ratios; write the JSON record."""
    r = results
    floor = r["matmul_floor_s"]
    per_evaluation = [
        ("ours eval (params in, gradient out)", r["ours_eval_s"]),
        ("ours eval, on device (no transfers)", r["ours_eval_on_device_s"]),
        ("matmul floor (8 products alone)", floor),
        ("torch autograd eval (same cost)", r["torch_autograd_eval_s"]),
        ("numpy CPU eval (our CPU path)", r["numpy_cpu_eval_s"]),
    ]
    fits = [
        (_fit_label("ours fit", r, "ours"), r["ours_fit_s"]),
        (_fit_label("torch.optim.LBFGS fit", r, "torch_lbfgs"), r["torch_lbfgs_fit_s"]),
        (_fit_label("numpy CPU fit", r, "numpy_cpu"), r["numpy_cpu_fit_s"]),
    ]
    print()
    print(f"{'measurement':<48} {'time':>12}")
    print("-" * 62)
    for label, seconds in per_evaluation:
        print(f"{label:<48} {seconds * 1e3:>9.2f} ms")
    for label, seconds in fits:
        print(f"{label:<48} {seconds:>10.2f} s")
    targets = {
        "eval / matmul floor (target <= 1.3)": r["ours_eval_s"] / floor,
        "eval / torch autograd, interleaved (target <= 1.2)": (
            r["ours_over_autograd_interleaved"]
        ),
        "ours fit / torch.optim.LBFGS fit (target <= 1)": (
            r["ours_fit_s"] / r["torch_lbfgs_fit_s"]
        ),
        "numpy CPU fit / ours fit (target >= 20)": (
            r["numpy_cpu_fit_s"] / r["ours_fit_s"]
        ),
    }
    print()
    for label, ratio in targets.items():
        print(f"{label:<48} {ratio:>10.2f}")
    print(
        f"final J: ours {r['ours_J']:.6f}, torch.optim.LBFGS "
        f"{r['torch_lbfgs_J']:.6f}, numpy CPU {r['numpy_cpu_J']:.6f}"
    )
    record = {
        "results": results,
        "ratios": targets,
        "settings": {
            "rows": rows,
            "layer_sizes": layer_sizes,
            "iterations": iterations,
            "dtype": "float32",
            "alpha": ALPHA,
            "data": source,
            "quick": args.quick,
        },
        "environment": environment(
            device=device_name(torch, device),
            torch=torch.__version__,
            tf32_matmul=bool(torch.backends.cuda.matmul.allow_tf32),
        ),
    }
    print()
    write_json(json_path("bench_gpu", args.quick, args.json), record)


def main():
    parser = make_parser(__doc__, "6000 rows, 10 it; skipped without torch or GPU")
    parser.add_argument("--device", default="cuda", help="a torch device (cuda, cpu)")
    parser.add_argument(
        "--data",
        default=None,
        help=f"folder of MNIST t10k (default {DEFAULT_DATA}; --quick: synthetic)",
    )
    parser.add_argument("--json", default=None, help="where to write JSON")
    parser.add_argument("--rows", type=int, help="rows (default 60000)")
    parser.add_argument("--iterations", type=int, help="L-BFGS iterations (100)")
    parser.add_argument("--repeats", type=int, help="timed evaluations per median")
    args = parser.parse_args()
    if args.data is None and not args.quick:
        args.data = DEFAULT_DATA
    run(args)


if __name__ == "__main__":
    main()
