"""The fast evaluation (make_cost_function) against the step-by-step references.

``cost_function`` (vectorised, written step by step) and ``backprop_loop`` (the
course's per-example algorithm) are independent of the fast path's buffers,
in-place steps and row chunks, so agreement to 1e-12 relative (float64) checks
all three. No timings here: speed and memory are measured in ``benchmarks/``.
"""

import tracemalloc
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import ThreadpoolController, threadpool_limits

from skbackprop import BackpropClassifier
from skbackprop import _blas as blas_module
from skbackprop.backprop import (
    backprop_loop,
    cost_function,
    init_thetas,
    make_cost_function,
    roll,
    unroll,
)

RTOL = 1e-12


def assert_rel_close(actual, desired, rtol=RTOL):
    """``max |actual - desired| <= rtol * max |desired|`` (relative in norm)."""
    actual = np.asarray(actual, dtype=np.float64)
    desired = np.asarray(desired, dtype=np.float64)
    assert actual.shape == desired.shape
    scale = np.max(np.abs(desired))
    assert scale > 0
    err = np.max(np.abs(actual - desired))
    assert err <= rtol * scale, f"max error {err:.3e} > {rtol:.0e} * {scale:.3e}"


def make_problem(
    layer_sizes,
    m=37,
    softmax=False,
    seed=0,
    weights=False,
    density=None,
    output_activation=None,
):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((m, layer_sizes[0]))
    if density is not None:
        X[rng.random(X.shape) > density] = 0.0
    K = layer_sizes[-1]
    softmax = softmax or output_activation == "softmax"
    if output_activation == "identity":  # regression: real-valued targets
        Y = 3.0 * rng.standard_normal((m, K)) + 1.0
    elif softmax or K > 1:
        Y = np.eye(K)[rng.integers(0, K, m)]
    else:
        Y = rng.integers(0, 2, (m, 1)).astype(np.float64)
    if output_activation != "identity" and not softmax and K > 1 and seed % 2:
        # multilabel rows too
        Y = (rng.random((m, K)) < 0.4).astype(np.float64)
    params = unroll(init_thetas(layer_sizes, epsilon_init=1.0, random_state=seed))
    w = rng.uniform(0.0, 3.0, m) if weights else None
    return X, Y, params, w


LAYERS = [(4, 3), (5, 1), (4, 6, 3), (6, 5, 4, 3)]
OPTIONS = [
    ("sigmoid", "sigmoid"),
    ("tanh", "sigmoid"),
    ("relu", "sigmoid"),
    ("sigmoid", "softmax"),
    ("relu", "softmax"),
    ("sigmoid", "identity"),
    ("tanh", "identity"),
    ("relu", "identity"),
]
BATCHES = [None, 1, 5, 36, 37, 1000]
# A softmax over one output unit is constant, so it is paired only with K > 1.
CONFIGS = [
    (layer_sizes, activation, output_activation)
    for layer_sizes in LAYERS
    for activation, output_activation in OPTIONS
    if output_activation == "sigmoid" or layer_sizes[-1] > 1
]


@pytest.mark.parametrize("layer_sizes, activation, output_activation", CONFIGS)
@pytest.mark.parametrize("weights", [False, True])
@pytest.mark.parametrize("batch_size", BATCHES)
def test_fast_path_equals_cost_function(
    layer_sizes, activation, output_activation, weights, batch_size
):
    X, Y, params, w = make_problem(
        layer_sizes, weights=weights, output_activation=output_activation
    )
    alpha = 0.7
    fun = make_cost_function(
        layer_sizes,
        X,
        Y,
        alpha,
        sample_weight=w,
        activation=activation,
        output_activation=output_activation,
        batch_size=batch_size,
    )
    J, grad = fun(params)
    J_ref, grad_ref = cost_function(
        params, layer_sizes, X, Y, alpha, w, activation, output_activation
    )
    assert isinstance(J, float)
    assert grad.dtype == np.float64 and grad.shape == params.shape
    assert_rel_close(J, J_ref)
    assert_rel_close(grad, grad_ref)


@pytest.mark.parametrize("layer_sizes, activation, output_activation", CONFIGS)
@pytest.mark.parametrize("batch_size", [None, 1, 8])
@pytest.mark.parametrize("alpha", [0.0, 3.0])
def test_fast_path_equals_course_loop(
    layer_sizes, activation, output_activation, batch_size, alpha
):
    X, Y, params, _ = make_problem(
        layer_sizes, m=19, seed=3, output_activation=output_activation
    )
    fun = make_cost_function(
        layer_sizes,
        X,
        Y,
        alpha,
        activation=activation,
        output_activation=output_activation,
        batch_size=batch_size,
    )
    J, grad = fun(params)
    J_ref, D_ref = backprop_loop(
        roll(params, layer_sizes), X, Y, alpha, activation, output_activation
    )
    assert_rel_close(J, J_ref)
    assert_rel_close(grad, unroll(D_ref))


@pytest.mark.parametrize("weights", [False, True])
def test_sums_over_blocks_of_rows_give_the_cost(weights):
    # The hook a backend holding the rows in blocks uses: each block's
    # unnormalised sums, added up, then the course's /m and penalty.
    from skbackprop.backprop._fast import cost_from_sums

    layer_sizes = (5, 4, 3)
    X, Y, params, w = make_problem(layer_sizes, m=37, weights=weights)
    J_ref, grad_ref = cost_function(params, layer_sizes, X, Y, 0.4, w, "tanh")
    data_cost, delta = 0.0, np.zeros_like(params)
    for rows in (slice(0, 10), slice(10, 11), slice(11, 37)):
        part = make_cost_function(
            layer_sizes,
            X[rows],
            Y[rows],
            99.0,
            None if w is None else w[rows],
            activation="tanh",
        ).data_sums(params)  # alpha is not part of the sums
        data_cost += part[0]
        delta += part[1]
    m = 37.0 if w is None else w.sum()
    J, grad = cost_from_sums(data_cost, delta, params, layer_sizes, 0.4, m)
    assert_rel_close(J, J_ref)
    assert_rel_close(grad, grad_ref)


def test_chunked_equals_unchunked_on_the_digits():
    """Many chunks, uneven last chunk, a realistic network: still 1e-12."""
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    Y = np.eye(10)[y]
    layer_sizes = (64, 25, 10)
    params = unroll(init_thetas(layer_sizes, random_state=0))
    J0, g0 = make_cost_function(layer_sizes, X, Y, 1.0)(params)
    for batch_size in (1, 100, 257, 1796, 1797):
        J, g = make_cost_function(layer_sizes, X, Y, 1.0, batch_size=batch_size)(params)
        assert_rel_close(J, J0)
        assert_rel_close(g, g0)
    J_ref, g_ref = cost_function(params, layer_sizes, X, Y, 1.0)
    assert_rel_close(J0, J_ref)
    assert_rel_close(g0, g_ref)


@pytest.mark.parametrize("fmt", ["csr", "csc", "coo"])
@pytest.mark.parametrize("batch_size", [None, 4, 37])
@pytest.mark.parametrize("weights", [False, True])
@pytest.mark.parametrize("output_activation", ["sigmoid", "identity"])
def test_sparse_x_equals_dense(fmt, batch_size, weights, output_activation):
    layer_sizes = (6, 5, 3)
    X, Y, params, w = make_problem(
        layer_sizes,
        weights=weights,
        density=0.3,
        output_activation=output_activation,
    )
    Xs = sp.csr_matrix(X).asformat(fmt)
    kw = {"output_activation": output_activation}
    J, grad = make_cost_function(
        layer_sizes, Xs, Y, 0.5, sample_weight=w, batch_size=batch_size, **kw
    )(params)
    J_ref, grad_ref = cost_function(params, layer_sizes, X, Y, 0.5, w, **kw)
    assert_rel_close(J, J_ref)
    assert_rel_close(grad, grad_ref)


@pytest.mark.parametrize("activation, output_activation", OPTIONS)
@pytest.mark.parametrize("batch_size", [None, 7])
@pytest.mark.parametrize("sparse", [False, True])
def test_fast_evaluator_computes_float32_in_float32(
    activation, output_activation, batch_size, sparse
):
    """float32 X: float32 accuracy against the float64 result, float64 gradient."""
    layer_sizes = (6, 5, 3)
    X, Y, params, w = make_problem(
        layer_sizes, weights=True, output_activation=output_activation
    )
    X32 = X.astype(np.float32)
    J64, g64 = cost_function(
        params, layer_sizes, X32.astype(np.float64), Y, 1.0, w, activation,
        output_activation,
    )  # fmt: skip
    X_in = sp.csr_matrix(X32) if sparse else X32
    fun = make_cost_function(
        layer_sizes,
        X_in,
        Y,
        1.0,
        sample_weight=w,
        activation=activation,
        output_activation=output_activation,
        batch_size=batch_size,
    )
    J, grad = fun(params)
    assert grad.dtype == np.float64
    assert_rel_close(J, J64, rtol=1e-5)
    assert_rel_close(grad, g64, rtol=1e-5)
    # ... and not a float64 computation in disguise: float32 rounding shows.
    assert abs(J - J64) > 0 or np.any(grad != g64)
    J32, g32 = cost_function(
        params, layer_sizes, X_in, Y, 1.0, w, activation, output_activation
    )
    assert_rel_close(J, J32, rtol=1e-5)
    assert_rel_close(grad, g32, rtol=1e-5)


def test_buffers_do_not_leak_between_calls():
    """Results depend only on the parameters, never on the previous call."""
    layer_sizes = (5, 7, 4, 3)
    X, Y, p1, w = make_problem(layer_sizes, m=40, weights=True)
    p2 = unroll(init_thetas(layer_sizes, epsilon_init=3.0, random_state=9))
    for batch_size in (None, 9):
        fun = make_cost_function(
            layer_sizes, X, Y, 1.0, sample_weight=w, batch_size=batch_size
        )
        J1, g1 = fun(p1)
        g1_copy = g1.copy()
        J2, g2 = fun(p2)
        J1_again, g1_again = fun(p1)
        assert g2 is not g1 and not np.shares_memory(g1, g2)
        assert_rel_close(J2, cost_function(p2, layer_sizes, X, Y, 1.0, w)[0])
        assert J1_again == J1
        np.testing.assert_array_equal(g1_again, g1_copy)
        np.testing.assert_array_equal(g1, g1_copy)  # not overwritten by later calls


def test_inputs_are_not_modified():
    layer_sizes = (4, 6, 3)
    X, Y, params, w = make_problem(layer_sizes, weights=True)
    copies = [a.copy() for a in (X, Y, params, w)]
    fun = make_cost_function(layer_sizes, X, Y, 2.0, sample_weight=w, batch_size=5)
    fun(params)
    fun(params)
    for original, copy in zip((X, Y, params, w), copies):
        np.testing.assert_array_equal(original, copy)


def test_non_contiguous_and_integer_inputs():
    """F-ordered and strided X, int Y and bool Y give the same numbers."""
    layer_sizes = (4, 5, 3)
    X, Y, params, _ = make_problem(layer_sizes)
    J_ref, g_ref = cost_function(params, layer_sizes, X, Y, 1.0)
    wide = np.zeros((X.shape[0], 2 * X.shape[1]))
    wide[:, ::2] = X
    for X_in, Y_in in [
        (np.asfortranarray(X), Y),
        (wide[:, ::2], Y.astype(np.int64)),
        (X, Y.astype(bool)),
    ]:
        for batch_size in (None, 6):
            J, g = make_cost_function(
                layer_sizes, X_in, Y_in, 1.0, batch_size=batch_size
            )(params)
            assert_rel_close(J, J_ref)
            assert_rel_close(g, g_ref)


def test_saturated_units_give_finite_cost_without_warnings():
    layer_sizes = (3, 4, 2)
    X = np.array([[1000.0, -1000.0, 0.0], [-800.0, 900.0, 1.0]])
    Y = np.array([[1.0, 0.0], [0.0, 1.0]])
    params = unroll(init_thetas(layer_sizes, epsilon_init=5.0, random_state=1))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for output_activation in ("sigmoid", "softmax"):
            J, g = make_cost_function(
                layer_sizes, X, Y, 1.0, output_activation=output_activation
            )(params)
            J_ref, g_ref = cost_function(
                params, layer_sizes, X, Y, 1.0, output_activation=output_activation
            )
            assert np.isfinite(J) and np.all(np.isfinite(g))
            assert_rel_close(J, J_ref)
            assert_rel_close(g, g_ref)


def _peak_bytes(fn):
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        result = fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak, result


def test_memory_is_set_by_the_chunk_and_x_is_not_copied():
    m, n, hidden = 20000, 50, 40
    rng = np.random.default_rng(0)
    X = rng.standard_normal((m, n))  # 8 MB
    Y = np.eye(4)[rng.integers(0, 4, m)]
    layer_sizes = (n, hidden, 4)
    params = unroll(init_thetas(layer_sizes, random_state=0))
    hidden_layer_bytes = m * hidden * 8  # one full-batch hidden layer: 6.4 MB

    peak_make, fun = _peak_bytes(
        lambda: make_cost_function(layer_sizes, X, Y, 1.0, batch_size=200)
    )
    peak_call, _ = _peak_bytes(lambda: fun(params))
    # Buffers for 200 rows are ~100 kB: far below one copy of X or of a layer.
    assert peak_make < hidden_layer_bytes / 10
    assert peak_call < hidden_layer_bytes / 10
    # Unchunked, the hidden layer's buffers are allocated once, at make time,
    # and a call allocates little beyond the gradient; X is still not copied.
    peak_make_full, fun_full = _peak_bytes(
        lambda: make_cost_function(layer_sizes, X, Y, 1.0)
    )
    peak_call_full, _ = _peak_bytes(lambda: fun_full(params))
    buffers = m * (2 * hidden + 2 * 4) * 8  # z/a and d per hidden layer; z(L), Y
    assert buffers <= peak_make_full < buffers + X.nbytes / 2
    assert peak_call_full < hidden_layer_bytes / 10


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"batch_size": 0}, ValueError, "batch_size"),
        ({"batch_size": -3}, ValueError, "batch_size"),
        ({"batch_size": 2.5}, TypeError, "batch_size"),
        ({"batch_size": True}, TypeError, "batch_size"),
        ({"activation": "softplus"}, ValueError, "activation"),
        ({"output_activation": "linear"}, ValueError, "output_activation"),
        ({"sample_weight": np.ones(3)}, ValueError, "sample_weight"),
        ({"sample_weight": np.zeros(37)}, ValueError, "sum of sample_weight"),
    ],
)
def test_bad_arguments_raise_clear_errors(kwargs, error, match):
    layer_sizes = (4, 3, 2)
    X, Y, _, _ = make_problem(layer_sizes)
    with pytest.raises(error, match=match):
        make_cost_function(layer_sizes, X, Y, 1.0, **kwargs)


def test_bad_shapes_raise_clear_errors():
    layer_sizes = (4, 3, 2)
    X, Y, params, _ = make_problem(layer_sizes)
    with pytest.raises(ValueError, match="0 rows"):
        make_cost_function(layer_sizes, X[:0], Y[:0], 1.0)
    with pytest.raises(ValueError, match="X has shape"):
        make_cost_function(layer_sizes, X[:, :3], Y, 1.0)
    with pytest.raises(ValueError, match="Y has shape"):
        make_cost_function(layer_sizes, X, Y[:-1], 1.0)
    fun = make_cost_function(layer_sizes, X, Y, 1.0)
    with pytest.raises(ValueError, match="nn_params has shape"):
        fun(params[:-1])


# ---------------------------------------------------------------------------
# The classifier's use of the fast path
# ---------------------------------------------------------------------------


def _digits():
    X, y = load_digits(return_X_y=True)
    return X / 16.0, y


def test_classifier_batch_size_gives_the_full_batch_fit():
    X, y = _digits()
    X, y = X[:600], y[:600]
    kwargs = dict(hidden_layer_sizes=(10,), max_iter=30, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        full = BackpropClassifier(**kwargs).fit(X, y)
        chunked = BackpropClassifier(batch_size=64, **kwargs).fit(X, y)
    assert chunked.n_iter_ == full.n_iter_ == 30
    np.testing.assert_allclose(chunked.loss_curve_, full.loss_curve_, rtol=1e-9)
    for a, b in zip(chunked.thetas_, full.thetas_):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-9)


def test_classifier_fits_the_same_cost_as_cost_function():
    """The objective the optimizer saw is the course's cost at thetas_."""
    X, y = _digits()
    X, y = X[:300], y[:300]
    w = np.random.default_rng(0).uniform(0.5, 2.0, 300)
    clf = BackpropClassifier(
        hidden_layer_sizes=(8,), alpha=0.3, max_iter=200, batch_size=50
    )
    clf.set_params(random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y, sample_weight=w)
    Y = np.eye(10)[y]
    J, _ = cost_function(unroll(clf.thetas_), clf.layer_sizes_, X, Y, 0.3, w)
    assert clf.loss_ == pytest.approx(J, rel=1e-10)


def test_classifier_keeps_float32_x_in_float32():
    X, y = _digits()
    X32 = X[:500].astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf32 = BackpropClassifier(hidden_layer_sizes=(10,), max_iter=50)
        clf32.set_params(random_state=0).fit(X32, y[:500])
        clf64 = BackpropClassifier(hidden_layer_sizes=(10,), max_iter=50)
        clf64.set_params(random_state=0).fit(X32.astype(np.float64), y[:500])
    assert all(t.dtype == np.float64 for t in clf32.thetas_)
    # float32 rounding changes the path a little, not the fit.
    assert clf32.loss_ == pytest.approx(clf64.loss_, rel=1e-3)
    assert clf32.score(X[500:], y[500:]) == pytest.approx(
        clf64.score(X[500:], y[500:]), abs=0.03
    )
    assert clf32.loss_curve_[0] != clf64.loss_curve_[0]  # really computed in float32


@pytest.mark.parametrize("batch_size", [0, -1])
def test_classifier_rejects_bad_batch_size(batch_size):
    X, y = _digits()
    with pytest.raises(ValueError, match="batch_size"):
        BackpropClassifier(batch_size=batch_size).fit(X[:50], y[:50])


def test_classifier_rejects_non_integer_batch_size():
    X, y = _digits()
    with pytest.raises(TypeError, match="batch_size"):
        BackpropClassifier(batch_size=12.5).fit(X[:50], y[:50])


# ---------------------------------------------------------------------------
# The BLAS thread policy
# ---------------------------------------------------------------------------


def _blas_threads():
    return {
        lib.filepath: lib.num_threads
        for lib in ThreadpoolController().select(user_api="blas").lib_controllers
    }


def test_thread_policy_small_problem_runs_blas_on_one_thread():
    before = _blas_threads()
    with blas_module._blas_thread_limit(1797, 1885):
        inside = _blas_threads()
    assert set(inside.values()) == {1}
    assert _blas_threads() == before  # restored afterwards


def test_thread_policy_large_problem_keeps_numpy_threads(monkeypatch):
    controller = ThreadpoolController().select(user_api="blas")
    libs = controller.lib_controllers
    numpy_libs = [lib.filepath for lib in libs if blas_module._is_numpy_blas(lib)]
    other_libs = [lib.filepath for lib in libs if lib.filepath not in numpy_libs]
    with threadpool_limits(limits=2, user_api="blas"):
        with blas_module._blas_thread_limit(10**6, 10**6):
            inside = _blas_threads()
    for path in numpy_libs:
        assert inside[path] == 2
    if numpy_libs:  # a separate scipy BLAS only serves the optimizer's vectors
        for path in other_libs:
            assert inside[path] == 1
    # Threshold 0: numpy's BLAS keeps its threads even on a tiny problem.
    monkeypatch.setattr(blas_module, "_SINGLE_THREAD_FLOPS", 0)
    with threadpool_limits(limits=2, user_api="blas"):
        with blas_module._blas_thread_limit(10, 10):
            inside = _blas_threads()
    for path in numpy_libs:
        assert inside[path] == 2


def test_thread_policy_never_raises_a_users_limit():
    with threadpool_limits(limits=1, user_api="blas"):
        with blas_module._blas_thread_limit(10**6, 10**6):
            inside = _blas_threads()
    assert set(inside.values()) == {1}
