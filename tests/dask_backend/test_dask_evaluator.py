"""The Dask backend's evaluator and fits: the in-memory path's numbers, block by block.

On the cluster and to the tolerances that ``_dask_helpers`` describes: to
rounding with ``batch_size=None``, bit for bit with ``batch_size`` equal to
the blocks' rows under Dask's synchronous scheduler.
"""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import r2_score
from sklearn.utils import check_random_state

import skbackprop._solver as solver_module
from skbackprop import BackpropClassifier, BackpropRegressor
from skbackprop._loss import NetworkLoss
from skbackprop.backprop import (
    init_thetas,
    make_cost_function,
    make_hessian_vector_product,
    roll,
    unroll,
)

from ._dask_helpers import (
    ROWS,
    SOLVERS,
    _assert_same_fit,
    _chunked,
    _dask,
    _dask_data,
    _fit,
    _poisoned,
    da,
    dask,
)

# ---------------------------------------------------------------------------
# The evaluator: the numpy evaluator's sums, block by block
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"weights": True, "batch_size": 7},
        {"activation": "tanh", "output_activation": "softmax", "float32": True},
    ],
)
def test_cost_and_hessian_product_match_the_numpy_evaluator(client, options):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((130, 6)).astype(
        np.float32 if options.get("float32") else np.float64
    )
    Y = np.eye(3, dtype=np.uint8)[rng.integers(0, 3, 130)]
    w = rng.uniform(0.5, 2.0, 130) if options.get("weights") else None
    if w is not None:
        w[40:80] = 0.0  # a whole block of zero weight
    layer_sizes = (6, 5, 3)
    kwargs = {
        "activation": options.get("activation", "sigmoid"),
        "output_activation": options.get("output_activation", "sigmoid"),
        "batch_size": options.get("batch_size"),
    }
    # Blocks of unequal rows, one of them empty.
    chunks = (40, 0, 40, 50)
    Xd = da.from_array(X, chunks=(chunks, 6))
    Yd = da.from_array(Y, chunks=(chunks, 3))
    wd = None if w is None else da.from_array(w, chunks=(chunks,))
    params = unroll(init_thetas(layer_sizes, random_state=1))
    v = np.random.default_rng(2).standard_normal(params.shape)
    cost = _dask.DaskCost(layer_sizes, Xd, Yd, 0.7, wd, **kwargs)
    J, grad = cost(params)
    J_ref, grad_ref = make_cost_function(layer_sizes, X, Y, 0.7, w, **kwargs)(params)
    rtol = 1e-5 if options.get("float32") else 1e-12
    np.testing.assert_allclose(J, J_ref, rtol=rtol)
    np.testing.assert_allclose(grad, grad_ref, rtol=rtol, atol=rtol * 1e-3)
    Hv = cost.hessian_product(params)(v)
    Hv_ref = make_hessian_vector_product(params, layer_sizes, X, Y, 0.7, w, **kwargs)(v)
    np.testing.assert_allclose(Hv, Hv_ref, rtol=rtol, atol=rtol * 1e-3)


def test_network_loss_dispatches_on_a_dask_array(client, monkeypatch):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((50, 4))
    Y = np.eye(2, dtype=np.uint8)[rng.integers(0, 2, 50)]
    Xd, Yd = _chunked(X, Y, rows=20)
    loss = NetworkLoss((4, 3, 2))
    params = unroll(init_thetas((4, 3, 2), random_state=0))
    J, grad = loss.loss_gradient(params, Xd, Yd)
    assert isinstance(loss._evaluator, _dask.DaskCost)
    J_ref, grad_ref = NetworkLoss((4, 3, 2)).loss_gradient(params, X, Y)
    np.testing.assert_allclose(grad, grad_ref, rtol=1e-12)
    z = loss.forward(roll(params, (4, 3, 2)), Xd)  # gathered, for the hold-out
    assert isinstance(z, np.ndarray)
    np.testing.assert_array_equal(z, loss.forward(roll(params, (4, 3, 2)), X))


def test_blocks_that_arrive_unaligned_are_aligned_once():
    # Blocks sent from the client reach a worker process in the buffer they
    # arrived in, which need not be aligned; numpy's matrix products would
    # copy them at every call.
    raw = np.zeros(6 * 8 + 4, dtype=np.uint8)
    unaligned = np.frombuffer(raw.data, np.float64, count=6, offset=4).reshape(3, 2)
    assert not unaligned.flags.aligned
    fixed = _dask._aligned(unaligned)
    assert fixed.flags.aligned and fixed.flags.c_contiguous
    np.testing.assert_array_equal(fixed, unaligned)
    aligned = np.ones((3, 2))
    assert _dask._aligned(aligned) is aligned  # no copy when there is no need


# ---------------------------------------------------------------------------
# Exactness of a fit
# ---------------------------------------------------------------------------


def _check_fit_equals_the_in_memory_fit(X, y, solver, exact):
    on_dask = _fit(*_chunked(X, y), solver=solver)
    # The same partial sums of the cost and gradient, added in the same
    # order: in this process (``exact``), the same fit bit for bit; on the
    # cluster, to rounding. Hessian-vector products add their terms in
    # another order (and scipy's trust-krylov is not reproducible to the bit
    # even in memory): to rounding.
    blocks = _fit(X, y, solver=solver, batch_size=ROWS)
    if solver in solver_module._HESSP_SOLVERS or not exact:
        _assert_same_fit(on_dask, blocks)
    else:
        np.testing.assert_array_equal(unroll(on_dask.thetas_), unroll(blocks.thetas_))
        assert on_dask.loss_curve_ == blocks.loss_curve_
    # All rows at once: the same sums in another order. TNC's finite
    # differences of the gradient amplify the last bits of rounding (in memory
    # too: its batch_size=60 and batch_size=None fits differ by more than 1e-6
    # after 20 iterations), so it is held to the comparison above.
    if solver != "TNC":
        _assert_same_fit(on_dask, _fit(X, y, solver=solver))


@pytest.mark.parametrize("solver", ["L-BFGS-B", "trust-ncg"])
def test_fit_on_the_cluster_equals_the_in_memory_fit(client, digits, solver):
    _check_fit_equals_the_in_memory_fit(*digits, solver, exact=False)


# On purpose: the module's cluster client exists while this runs in-process.
@pytest.mark.filterwarnings("ignore:Running on a single-machine scheduler")
@pytest.mark.parametrize("solver", SOLVERS)
def test_fit_equals_the_in_memory_fit_for_every_solver(digits, solver):
    # The backend's graphs run by Dask's synchronous scheduler, in this
    # process: the same computation as on the cluster (shown above for a
    # gradient and a Hessian-vector solver), without the cluster's latency
    # per evaluation, which TNC's ~200 evaluations would pay.
    with dask.config.set(scheduler="synchronous"):
        _check_fit_equals_the_in_memory_fit(*digits, solver, exact=True)


def test_tnc_amplifies_rounding_in_memory_too(digits):
    # Why TNC is compared with the blocked in-memory fit only.
    X, y = digits
    whole, blocks = _fit(X, y, solver="TNC"), _fit(X, y, solver="TNC", batch_size=ROWS)
    assert np.abs(unroll(whole.thetas_) - unroll(blocks.thetas_)).max() > 1e-6


@pytest.mark.parametrize(
    "params",
    [
        {"sample_weight": "dask", "class_weight": "balanced"},
        {"sample_weight": "numpy", "class_weight": {0: 2.0, 3: 0.5}},
        {"batch_size": 25, "activation": "tanh"},
        {"output_activation": "softmax", "binary": True},
        {"float32": True},
    ],
    ids=["weights-balanced", "numpy-weights-dict", "batch_size", "softmax", "f32"],
)
def test_options_equal_the_in_memory_fit(client, digits, params):
    X, y = digits
    params = dict(params)
    if params.pop("float32", False):
        X = X.astype(np.float32)
    if params.pop("binary", False):
        y = y % 2
    w = np.random.default_rng(0).integers(0, 4, len(y)).astype(float)
    kind = params.pop("sample_weight", None)
    w_dask = {"dask": _chunked(w)[0], "numpy": w, None: None}[kind]
    w = None if kind is None else w
    on_dask = _fit(*_chunked(X, y), w_dask, **params)
    if "batch_size" not in params:  # the blocks' partial sums, in memory
        blocks = _fit(X, y, w, **params, batch_size=ROWS)
        # float32's rounding is 2**29 times float64's: the cluster's run-to-run
        # 1e-14 becomes ~5e-6, amplified over 20 iterations (3.2e-5 measured).
        _assert_same_fit(on_dask, blocks, atol=1e-3 if X.dtype == np.float32 else 1e-9)
    if X.dtype == np.float32:
        # float32 sums in other blocks differ by ~1e-7: not compared below.
        assert on_dask.predict_proba(X).dtype == np.float32
        return
    _assert_same_fit(on_dask, _fit(X, y, w, **params))


def test_multilabel_and_column_y(client, digits):
    X, y = digits
    Y = np.column_stack([y % 2, y > 4, y == 0]).astype(int)
    on_dask = _fit(*_chunked(X, Y))
    _assert_same_fit(on_dask, _fit(X, Y))
    np.testing.assert_array_equal(on_dask.classes_, [0, 1, 2])
    with pytest.warns(Warning, match="column-vector y"):
        column = _fit(*_chunked(X, y[:, None]))
    _assert_same_fit(column, _fit(X, y))


def test_warm_start_continues_as_in_memory(client, digits):
    X, y = digits
    on_dask = BackpropClassifier(
        hidden_layer_sizes=(4,), max_iter=5, warm_start=True, random_state=0
    )
    in_memory = BackpropClassifier(**on_dask.get_params())
    Xd, yd = _chunked(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for _ in range(2):
            on_dask.fit(Xd, yd)
            in_memory.fit(X, y)
    _assert_same_fit(on_dask, in_memory)
    with pytest.raises(ValueError, match="same classes"):
        on_dask.fit(Xd, yd % 3)


def test_classes_are_found_without_gathering_y(client, digits, monkeypatch):
    # Only the distinct labels of each block reach the client.
    X, y = digits
    labels = np.array(["one", "two", "three"])[y % 3]
    gathered = []
    real_compute = _dask.dask.compute

    def recording_compute(*collections, **kwargs):
        results = real_compute(*collections, **kwargs)
        gathered.extend(np.shape(r) for r in results if r is not None)
        return results

    monkeypatch.setattr(_dask.dask, "compute", recording_compute)
    Xd, yd = _chunked(X, labels)
    binarizer, Y = _dask_data.encode_labels(yd, "sigmoid")
    np.testing.assert_array_equal(binarizer.classes_, ["one", "three", "two"])
    assert max(size for shape in gathered for size in shape) == 3
    np.testing.assert_array_equal(Y.compute(), binarizer.transform(labels))


def test_regressor_on_dask_equals_in_memory(client, digits):
    # The regressor's identity outputs and squared error, block by block;
    # two outputs, early stopping scored by R² on the per-block hold-out.
    X, labels = digits
    Y = np.column_stack([labels / 9.0, X[:, 20]])
    Xd, Yd = _chunked(X, Y)
    kwargs = {"hidden_layer_sizes": (4,), "max_iter": 20, "random_state": 0}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        on_dask = BackpropRegressor(**kwargs).fit(Xd, Yd)
        in_memory = BackpropRegressor(**kwargs).fit(X, Y)
        one_output = BackpropRegressor(**kwargs).fit(Xd, Yd[:, 0])
        stopped = BackpropRegressor(
            **{**kwargs, "max_iter": 100}, early_stopping=True, n_iter_no_change=3
        ).fit(Xd, Yd)
    _assert_same_fit(on_dask, in_memory)
    lazy = on_dask.predict(_poisoned(X))
    assert isinstance(lazy, da.Array) and lazy.shape == (240, 2)
    np.testing.assert_array_equal(on_dask.predict(Xd).compute(), on_dask.predict(X))
    assert one_output.predict(Xd).shape == (240,)
    rng = check_random_state(0)
    init_thetas(stopped.layer_sizes_, None, rng)
    _, (X_val, _, Y_val, _), _ = _dask_data.split_validation(
        Xd, Yd, Yd, None, 0.1, None, rng
    )
    r2 = r2_score(Y_val, stopped.predict(X_val.compute()))
    assert stopped.best_validation_score_ == pytest.approx(r2, abs=1e-12)
    with pytest.raises(ValueError, match="y contains NaN"):
        BackpropRegressor().fit(Xd, _chunked(np.where(labels == 3, np.nan, 1.0))[0])
