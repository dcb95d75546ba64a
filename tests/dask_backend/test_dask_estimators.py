"""The estimators on dask arrays: lazy predictions, hold-outs, Ctrl-C, errors.

Predictions are lazy dask arrays; early stopping holds out rows per block;
Ctrl-C and callbacks behave as in memory; bad data and a missing dask get
clear errors; a worker lost mid-fit gives the same fit or a clear error.
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
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.metrics import accuracy_score
from sklearn.utils import check_random_state

import skbackprop._solver as solver_module
from skbackprop import BackpropClassifier
from skbackprop._compat import HAS_SKLEARN_CALLBACKS
from skbackprop.backprop import init_thetas, make_cost_function, unroll

from ._dask_helpers import (
    ROWS,
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
# Predictions are lazy
# ---------------------------------------------------------------------------


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
