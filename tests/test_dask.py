"""The Dask backend: the full-batch fit over a dask.array spread across workers.

Run on a loopback ``LocalCluster`` of two one-thread workers (threads in this
process; worker processes for the lost-worker test). The backend adds up the
same per-row sums in blocks, so its numbers are compared with the in-memory
path: to rounding with ``batch_size=None``, and with ``batch_size`` equal to
the blocks' rows (the same partial sums, added in the same order) bit for bit
under Dask's synchronous scheduler and to rounding on the cluster, whose
last bits vary from run to run (weights 1.6e-14 to 7.5e-14 apart after 20
iterations, over six fits on one machine, also with one BLAS thread).
"""

import contextlib
import os
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.metrics import accuracy_score, r2_score
from sklearn.preprocessing import StandardScaler
from sklearn.utils import check_random_state

import skbackprop._solver as solver_module
from skbackprop import BackpropClassifier, BackpropRegressor
from skbackprop._compat import HAS_SKLEARN_CALLBACKS
from skbackprop._loss import NetworkLoss
from skbackprop.backprop import (
    init_thetas,
    make_cost_function,
    make_hessian_vector_product,
    roll,
    unroll,
)

dask = pytest.importorskip("dask", reason="dask is not installed")
da = pytest.importorskip("dask.array", reason="dask is not installed")
distributed = pytest.importorskip("distributed", reason="distributed is not installed")
_dask = pytest.importorskip("skbackprop._dask")
_dask_data = pytest.importorskip("skbackprop._dask_data")

SOLVERS = (
    "L-BFGS-B",
    "CG",
    "BFGS",
    "TNC",
    "Newton-CG",
    "trust-ncg",
    "trust-krylov",
)
ROWS = 60  # rows per block


def _local_cluster(processes):
    # Loopback only, random ports: parallel runs cannot collide.
    return distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=processes,
        protocol="tcp",
        host="127.0.0.1",
        # None would still try port 8787 and warn when it is taken.
        dashboard_address="127.0.0.1:0",
    )


@pytest.fixture(scope="module")
def client():
    with _local_cluster(processes=False) as cluster, distributed.Client(cluster) as c:
        yield c


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    X = StandardScaler().fit_transform(X[:240])
    return X, y[:240]


def _chunked(*arrays, rows=ROWS):
    return [
        da.from_array(a, chunks=(rows, *a.shape[1:])) if a is not None else None
        for a in arrays
    ]


def _fit(X, y, sample_weight=None, fit_params=None, **params):
    params = {"hidden_layer_sizes": (4,), "max_iter": 20, "random_state": 0, **params}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return BackpropClassifier(**params).fit(
            X, y, sample_weight=sample_weight, **(fit_params or {})
        )


#: An upper bound of ``sum |dJ/dTheta|`` at the 20-iteration fits compared
#: here (0.09 to 1.6 measured over the solvers on these digits).
GRADIENT_L1_BOUND = 2.0


def _assert_same_fit(a, b, atol=1e-9):
    """The same fit to rounding: the weights within ``atol``, J as they imply.

    J moves by at most ``max |dTheta| * sum |dJ/dTheta|`` between the two
    weight vectors (to first order), plus the rounding of J's own sums in
    another order: a fixed bound below that (1e-12 once) fails on machines
    where a Newton path amplifies rounding a little more (Newton-CG's weights
    5.8e-11 apart, J 1.2e-12).
    """
    theta_a, theta_b = unroll(a.thetas_), unroll(b.thetas_)
    np.testing.assert_allclose(theta_a, theta_b, rtol=0, atol=atol)
    implied = np.abs(theta_a - theta_b).max() * GRADIENT_L1_BOUND
    assert abs(a.loss_ - b.loss_) <= implied + 1e-14 * abs(b.loss_)
    assert a.n_iter_ == b.n_iter_


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


# ---------------------------------------------------------------------------
# Predictions are lazy
# ---------------------------------------------------------------------------


def _poisoned(X, rows=ROWS):
    """A dask array that fails if any block is computed."""

    def explode(block):
        raise AssertionError("a block of X was computed")

    return _chunked(X, rows=rows)[0].map_blocks(explode, dtype=X.dtype)


@pytest.mark.parametrize(
    "method", ["decision_function", "predict_proba", "predict_log_proba", "predict"]
)
@pytest.mark.parametrize("target", ["multiclass", "binary", "multilabel"])
def test_predictions_are_lazy_dask_arrays(client, digits, method, target):
    X, y = digits
    y = {
        "multiclass": y,
        "binary": y % 2,
        "multilabel": np.column_stack([y % 2, y > 4]).astype(int),
    }[target]
    clf = _fit(X, y, max_iter=3)
    lazy = getattr(clf, method)(_poisoned(X))  # nothing computed yet
    assert isinstance(lazy, da.Array)
    result = getattr(clf, method)(_chunked(X)[0])
    expected = getattr(clf, method)(X)
    assert result.shape == expected.shape and result.dtype == expected.dtype
    np.testing.assert_array_equal(result.compute(), expected)


def test_prediction_errors_are_raised_at_once(client, digits):
    X, y = digits
    with pytest.raises(NotFittedError):
        BackpropClassifier().predict(_poisoned(X))
    clf = _fit(X, y, max_iter=2)
    with pytest.raises(ValueError, match="features"):
        clf.predict(_poisoned(X[:, :10]))


def test_lazy_predictions_keep_the_weights_they_were_made_with(client, digits):
    X, y = digits
    clf = _fit(X, y, max_iter=3)
    lazy = clf.predict_proba(_chunked(X)[0])
    expected = clf.predict_proba(X)
    clf.set_params(max_iter=6)
    _fit(X, y % 2)  # another model; and clf refitted below
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y % 2)
    np.testing.assert_array_equal(lazy.compute(), expected)


# ---------------------------------------------------------------------------
# Early stopping, Ctrl-C, callbacks
# ---------------------------------------------------------------------------


def test_hold_out_is_chosen_and_stratified_per_block(client, digits):
    X, y = digits
    y = y % 3
    Xd, yd = _chunked(X, y)
    Yd = _chunked(np.eye(3, dtype=np.uint8)[y])[0]
    # The user's weights (here each row's index) are cut as the training rows.
    user_w = _chunked(np.arange(len(y), dtype=float))[0]
    (X_tr, Y_tr, y_tr, _), validation, user_w_tr = _dask_data.split_validation(
        Xd, Yd, yd, None, 0.1, yd, np.random.RandomState(0), user_w
    )
    X_val, Y_val, y_val, sw_val = validation
    assert sw_val is None
    np.testing.assert_array_equal(X_tr.compute(), X[user_w_tr.compute().astype(int)])
    np.testing.assert_array_equal(Y_val, np.eye(3)[y_val])
    assert X_val.chunks[0] == (6, 6, 6, 6)  # ceil(0.1 * 60) rows from each block
    assert X_tr.chunks[0] == (54, 54, 54, 54)
    for b in range(4):
        # The classes in the block's proportions, each at least once.
        held = np.bincount(y_val[6 * b : 6 * (b + 1)], minlength=3)
        share = 6 * np.bincount(y[ROWS * b : ROWS * (b + 1)], minlength=3) / ROWS
        assert np.all(held >= 1) and np.all(np.abs(held - share) < 1)
    # Every row is either kept for training or held out, once.
    rows = np.concatenate([X_tr.compute(), X_val.compute()])
    assert sorted(map(tuple, rows)) == sorted(map(tuple, X))
    np.testing.assert_array_equal(Y_tr.compute(), np.eye(3)[y_tr.compute()])


def test_early_stopping_trains_on_the_rest_and_scores_the_hold_out(client, digits):
    X, y = digits
    Xd, yd = _chunked(X, y)
    clf = _fit(Xd, yd, early_stopping=True, n_iter_no_change=3, max_iter=200)
    assert clf.n_iter_ < 200
    assert clf.best_validation_score_ == max(clf.validation_scores_)
    # The hold-out the fit drew: the same random state, drawn after x0.
    rng = check_random_state(0)
    init_thetas(clf.layer_sizes_, None, rng)
    Yd = _chunked(clf._label_binarizer.transform(y).astype(np.uint8))[0]
    (X_tr, _, y_tr, _), (X_val, _, y_val, _), _ = _dask_data.split_validation(
        Xd, Yd, yd, None, 0.1, yd, rng
    )
    X_val = X_val.compute()
    assert clf.best_validation_score_ == accuracy_score(y_val, clf.predict(X_val))
    # loss_ is J on the training rows only.
    J = make_cost_function(
        clf.layer_sizes_, X_tr.compute(), clf._label_binarizer.transform(y_tr), 1.0
    )(unroll(clf.thetas_))[0]
    assert abs(clf.loss_ - J) < 1e-12


def test_a_validation_set_on_dask_is_scored_as_in_memory(client, digits):
    # fit(X, y, X_val=..., y_val=...): X_val stays on the workers (its output
    # layer comes back), the scores and validation losses are the in-memory
    # ones, to rounding, with a dask or a numpy training set.
    X, y = digits
    X_tr, y_tr, X_val, y_val = X[:180], y[:180], X[180:], y[180:]
    w_val = np.arange(60) % 3 + 1.0
    kwargs = {"X_val": X_val, "y_val": y_val, "sample_weight_val": w_val}
    in_memory = _fit(X_tr, y_tr, fit_params=kwargs)
    X_val_d, y_val_d, w_val_d = _chunked(X_val, y_val, w_val, rows=25)
    dask_kwargs = {"X_val": X_val_d, "y_val": y_val_d, "sample_weight_val": w_val_d}
    for X_fit, y_fit in (_chunked(X_tr, y_tr), (X_tr, y_tr)):
        on_dask = _fit(X_fit, y_fit, fit_params=dask_kwargs)
        _assert_same_fit(on_dask, in_memory)
        np.testing.assert_allclose(
            on_dask.validation_scores_, in_memory.validation_scores_, atol=1e-12
        )
        np.testing.assert_allclose(
            on_dask.validation_loss_curve_,
            in_memory.validation_loss_curve_,
            rtol=1e-12,
        )
    with pytest.raises(ValueError, match="X_val is not valid input.*features"):
        _fit(
            *_chunked(X_tr, y_tr),
            fit_params={"X_val": _poisoned(X_val[:, :5]), "y_val": y_val},
        )


def test_early_stopping_needs_blocks_of_two_rows(client, digits):
    X, y = digits
    with pytest.raises(ValueError, match="fewer than 2 rows"):
        _fit(*_chunked(X[:4], y[:4], rows=1), early_stopping=True)


def test_ctrl_c_keeps_the_lowest_cost_as_in_memory(client, digits, interrupt_after):
    X, y = digits
    interrupt_after(4)
    with pytest.warns(ConvergenceWarning, match="interrupted"):
        on_dask = BackpropClassifier(hidden_layer_sizes=(4,), random_state=0)
        on_dask.fit(*_chunked(X, y))
    with pytest.warns(ConvergenceWarning, match="interrupted"):
        in_memory = BackpropClassifier(hidden_layer_sizes=(4,), random_state=0)
        in_memory.fit(X, y)
    assert on_dask.n_iter_ == 4
    _assert_same_fit(on_dask, in_memory)


class _Recorder:
    def __init__(self):
        self.iterations = 0

    def setup(self, estimator, context):
        pass

    def on_fit_task_begin(self, estimator, context, *, fitted_estimator=None):
        pass

    def on_fit_task_end(self, estimator, context, *, fitted_estimator=None):
        if context.task_name == "iteration" and fitted_estimator is not None:
            self.iterations += 1
            self.last_thetas = [t.copy() for t in fitted_estimator.thetas_]
        return self.iterations >= 3

    def teardown(self, estimator, context):
        pass


def test_sklearn_callbacks_see_the_iterations_and_can_stop(client, digits):
    X, y = digits
    recorder = _Recorder()
    clf = BackpropClassifier(hidden_layer_sizes=(4,), random_state=0)
    if not HAS_SKLEARN_CALLBACKS:  # scikit-learn < 1.9: nothing to call
        assert not hasattr(clf, "set_callbacks")
        return
    clf.set_callbacks(recorder).fit(*_chunked(X, y))
    assert clf.n_iter_ == 3
    np.testing.assert_array_equal(unroll(recorder.last_thetas), unroll(clf.thetas_))


# ---------------------------------------------------------------------------
# Clear errors
# ---------------------------------------------------------------------------


def test_bad_data_gets_a_clear_error_and_leaves_the_estimator(client, digits):
    X, y = digits
    clf = _fit(X, y, max_iter=2)
    before = unroll(clf.thetas_)
    X_nan = X.copy()
    X_nan[200, 3] = np.nan
    w_negative = np.ones(len(y))
    w_negative[130] = -1
    cases = [
        ((X_nan, y), ValueError, "Input X contains NaN"),
        ((X, y[:-1]), ValueError, "inconsistent numbers of samples"),
        ((X, y, w_negative), ValueError, "Negative values"),
        ((X, y + 0.5), ValueError, "Unknown label type"),
        ((X[:, :1].ravel(), y), ValueError, "2D"),
    ]
    for arrays, error, message in cases:
        with pytest.raises(error, match=message):
            clf.fit(*_chunked(*arrays))
        np.testing.assert_array_equal(unroll(clf.thetas_), before)
    with pytest.raises(ValueError, match="numeric dtype"):
        clf.fit(_chunked(X.astype(str))[0], y)
    with pytest.raises(TypeError, match="is not supported: pass a dask.array"):
        clf.fit(dask.delayed(X), y)
    sparse_blocks = _chunked(X)[0].map_blocks(sp.csr_matrix, meta=sp.csr_matrix((0, 0)))
    with pytest.raises(TypeError, match="sparse blocks are not supported"):
        clf.fit(sparse_blocks, y)
    np.testing.assert_array_equal(unroll(clf.thetas_), before)


def test_dask_is_imported_only_when_needed_and_its_absence_is_explained():
    code = textwrap.dedent(
        """
        import sys
        from sklearn.datasets import load_iris
        from skbackprop import BackpropClassifier, BackpropRegressor
        X, y = load_iris(return_X_y=True)
        BackpropClassifier(max_iter=5).fit(X, y).predict(X)
        print("dask" in sys.modules, "skbackprop._dask" in sys.modules)
        sys.modules["dask"] = None  # as if dask were not installed
        try:
            import skbackprop._dask
        except ImportError as exc:
            print(exc)
        """
    )
    result = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", code],
        capture_output=True,
        text=True,
        check=True,
    )
    imported, message = result.stdout.split("\n", 1)
    assert imported == "False False"
    assert "dask[array] and distributed" in message
    assert "pip install skbackprop[dask]" in message


# ---------------------------------------------------------------------------
# A worker lost in the middle of a fit
# ---------------------------------------------------------------------------


@pytest.fixture
def process_cluster():
    with _local_cluster(processes=True) as cluster, distributed.Client(cluster) as c:
        yield c


def _lose_a_worker_after(monkeypatch, client, n_iterations):
    """Kill a worker process from the optimizer's callback after n iterations."""
    real_minimize = solver_module.minimize

    def minimize(*args, callback, **kwargs):
        count = [0]

        def losing(intermediate_result):
            callback(intermediate_result)
            count[0] += 1
            if count[0] == n_iterations:
                held = client.has_what()
                worker = max(held, key=lambda address: len(held[address]))
                # The worker dies before it can answer: the call fails.
                with contextlib.suppress(Exception):
                    client.run(os._exit, 1, workers=[worker])

        return real_minimize(*args, callback=losing, **kwargs)

    monkeypatch.setattr(solver_module, "minimize", minimize)


def test_a_lost_worker_gives_the_same_fit_or_a_clear_error(
    process_cluster, digits, monkeypatch
):
    X, y = digits
    Xd, yd = _chunked(X, y)
    undisturbed = _fit(Xd, yd, max_iter=6)
    _lose_a_worker_after(monkeypatch, process_cluster, 2)
    disturbed = _fit(Xd, yd, max_iter=6)
    # Dask computed the lost blocks again from their source: the same fit, to
    # the cluster's rounding.
    _assert_same_fit(disturbed, undisturbed)
    np.testing.assert_allclose(
        disturbed.loss_curve_, undisturbed.loss_curve_, rtol=1e-12
    )
    # Blocks that exist only as scattered data cannot be computed again.
    futures = process_cluster.scatter(np.array_split(X, 4))
    X_scattered = da.concatenate(
        [da.from_delayed(f, (60, 64), dtype=X.dtype) for f in futures]
    )
    before = unroll(undisturbed.thetas_)
    _lose_a_worker_after(monkeypatch, process_cluster, 1)
    with pytest.raises(_dask.LostDataError, match="cannot compute"):
        undisturbed.fit(X_scattered, yd)
    np.testing.assert_array_equal(unroll(undisturbed.thetas_), before)


def test_the_lambda_path_on_dask_arrays_matches_the_in_memory_one(client):
    # Each fold's rows stay dask arrays (cut by index), fit on the workers;
    # at tol=0 (15 iterations, no plateau rule) the folds' fits follow the
    # in-memory ones to rounding: the same scores, lambda and predictions.
    from sklearn.datasets import make_moons

    from skbackprop import BackpropClassifierCV

    X, y = make_moons(120, noise=0.2, random_state=0)
    params = dict(
        hidden_layer_sizes=(3,), alphas=2, cv=2, tol=0, max_iter=15, random_state=0
    )
    in_memory = BackpropClassifierCV(**params).fit(X, y)
    Xd, yd = _chunked(X, y)
    on_dask = BackpropClassifierCV(**params).fit(Xd, yd)
    assert on_dask.alpha_ == in_memory.alpha_
    np.testing.assert_allclose(on_dask.scores_, in_memory.scores_, atol=1e-12)
    lazy = on_dask.predict(Xd)
    assert isinstance(lazy, da.Array)
    np.testing.assert_array_equal(lazy.compute(), in_memory.predict(X))
