"""Ctrl-C (KeyboardInterrupt) during a fit: a whole model, the best weights kept.

In a callback, during a cost evaluation, before the first iteration, with
early stopping, in a warm-started fit, and after the optimizer has returned
(the final refinement, the early-stopping restore). Ctrl-C in other
subjects is tested with them: the stopping rule's ``stop_reason_``, early
stopping, the regressor, the path estimators and the Dask backend.
"""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

import skbackprop._solver as solver_module
from skbackprop import BackpropClassifier
from skbackprop.backprop import cost_function, init_thetas, unroll

from _helpers import SOLVERS, _assert_finite_model, _patch_cost, iris_scaled

# ---------------------------------------------------------------------------
# During the optimization
# ---------------------------------------------------------------------------


def _interrupt_in_cost(monkeypatch, on_call):
    """Make the ``on_call``-th cost evaluation raise KeyboardInterrupt (Ctrl-C)."""
    calls = [0]

    def interrupting(cost):
        def wrapped(params):
            calls[0] += 1
            if calls[0] == on_call:
                raise KeyboardInterrupt
            return cost(params)

        return wrapped

    _patch_cost(monkeypatch, interrupting)


@pytest.mark.parametrize("solver", SOLVERS)
def test_keyboard_interrupt_in_callback_keeps_best_weights(
    monkeypatch, solver, interrupt_after
):
    X_iris, y_iris = iris_scaled()
    params = dict(hidden_layer_sizes=(4,), solver=solver, random_state=0)
    interrupt_after(7)
    est = BackpropClassifier(**params)
    with pytest.warns(ConvergenceWarning, match="Training was interrupted"):
        est.fit(X_iris, y_iris)
    monkeypatch.undo()

    assert est.n_iter_ == 7
    assert len(est.loss_curve_) == 7
    assert est.loss_ == pytest.approx(min(est.loss_curve_), rel=1e-12)
    # loss_ is J at thetas_.
    args = (est.layer_sizes_, X_iris, est._label_binarizer.transform(y_iris), 1.0)
    assert cost_function(unroll(est.thetas_), *args)[0] == pytest.approx(
        est.loss_, rel=1e-12
    )
    _assert_finite_model(est, X_iris)
    assert est.score(X_iris, y_iris) > 0.5
    # The weights are those after 7 iterations: the same as stopping at max_iter=7.
    with pytest.warns(ConvergenceWarning, match="max_iter=7"):
        seven = BackpropClassifier(**params, max_iter=7).fit(X_iris, y_iris)
    for got, expected in zip(est.thetas_, seven.thetas_):
        np.testing.assert_array_equal(got, expected)
    assert est.loss_curve_ == seven.loss_curve_


def test_keyboard_interrupt_during_cost_evaluation(monkeypatch):
    """Ctrl-C inside a cost evaluation (where fits spend their time)."""
    X_iris, y_iris = iris_scaled()
    _interrupt_in_cost(monkeypatch, on_call=30)
    est = BackpropClassifier(hidden_layer_sizes=(4,), random_state=0)
    with pytest.warns(ConvergenceWarning, match="interrupted.*best weights"):
        est.fit(X_iris, y_iris)
    assert 0 < est.n_iter_ < 30
    assert len(est.loss_curve_) == est.n_iter_
    assert est.loss_ == pytest.approx(min(est.loss_curve_), rel=1e-12)
    _assert_finite_model(est, X_iris)


def test_keyboard_interrupt_before_first_iteration_keeps_initial_weights(
    monkeypatch,
):
    X_iris, y_iris = iris_scaled()
    _interrupt_in_cost(monkeypatch, on_call=1)
    est = BackpropClassifier(hidden_layer_sizes=(4,), random_state=0)
    with pytest.warns(ConvergenceWarning, match="after 0 of at most"):
        est.fit(X_iris, y_iris)
    assert est.n_iter_ == 0 and est.loss_curve_ == []
    initial = init_thetas((4, 4, 3), None, np.random.RandomState(0))
    for got, expected in zip(est.thetas_, initial):
        np.testing.assert_array_equal(got, expected)
    _assert_finite_model(est, X_iris)


def test_keyboard_interrupt_with_early_stopping_keeps_best_validated(
    monkeypatch, interrupt_after
):
    X_iris, y_iris = iris_scaled()
    interrupt_after(6)
    est = BackpropClassifier(
        hidden_layer_sizes=(4,),
        random_state=0,
        early_stopping=True,
        validation_fraction=0.3,
        n_iter_no_change=50,
    )
    with pytest.warns(ConvergenceWarning, match="interrupted"):
        est.fit(X_iris, y_iris)
    assert est.n_iter_ == 6 and len(est.validation_scores_) == 6
    assert est.best_validation_score_ == max(est.validation_scores_)
    _assert_finite_model(est, X_iris)


def test_interrupted_warm_start_fit_can_continue(monkeypatch, interrupt_after):
    X_iris, y_iris = iris_scaled()
    interrupt_after(5)
    est = BackpropClassifier(hidden_layer_sizes=(4,), random_state=0, warm_start=True)
    with pytest.warns(ConvergenceWarning, match="interrupted"):
        est.fit(X_iris, y_iris)
    interrupted_loss = est.loss_
    monkeypatch.undo()
    est.fit(X_iris, y_iris)
    assert est.loss_ < interrupted_loss


@pytest.mark.parametrize("solver", ["TNC", "trust-krylov"])
def test_interrupt_keeps_lowest_cost_for_new_solvers(
    iris, monkeypatch, solver, interrupt_after
):
    X, y = iris
    interrupt_after(4)
    clf = BackpropClassifier(hidden_layer_sizes=(3,), solver=solver, random_state=0)
    with pytest.warns(ConvergenceWarning, match="interrupted"):
        clf.fit(X, y)
    assert clf.n_iter_ == 4 and clf.loss_ == min(clf.loss_curve_)


# ---------------------------------------------------------------------------
# After the optimizer has returned
# ---------------------------------------------------------------------------


def _count_calls_after_minimize(monkeypatch, interrupt_on=None):
    """Count cost calls made once ``minimize`` has returned (or raised).

    With ``interrupt_on=k``, the k-th of them raises KeyboardInterrupt.
    Returns ``state``: ``calls`` after minimize, ``optimizer_x`` (the
    ``OptimizeResult.x`` when minimize returned one, else the last iterate).
    """
    state = {"after": False, "calls": 0, "optimizer_x": None}
    real_minimize = solver_module.minimize

    def minimize(*args, callback, **kwargs):
        def recording(intermediate_result):
            x = getattr(intermediate_result, "x", intermediate_result)
            state["optimizer_x"] = np.array(x)  # a stop keeps the last iterate
            return callback(intermediate_result)

        try:
            result = real_minimize(*args, callback=recording, **kwargs)
            state["optimizer_x"] = result.x.copy()
            return result
        finally:
            state["after"] = True

    def counting(cost):
        def wrapped(params):
            if state["after"]:
                state["calls"] += 1
                if state["calls"] == interrupt_on:
                    raise KeyboardInterrupt
            return cost(params)

        return wrapped

    monkeypatch.setattr(solver_module, "minimize", minimize)
    _patch_cost(monkeypatch, counting)
    return state


def _fit_recording(est, X_, y_):
    """Fit; return the warnings' messages. An escaping Ctrl-C fails the test
    (instead of stopping pytest)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            est.fit(X_, y_)
        except KeyboardInterrupt:
            pytest.fail("KeyboardInterrupt escaped fit")
    return [str(w.message) for w in caught]


@pytest.mark.parametrize("solver", SOLVERS)
def test_interrupt_during_the_final_refinement_keeps_the_optimizer_result(
    monkeypatch, solver
):
    X_iris, y_iris = iris_scaled()
    params = dict(hidden_layer_sizes=(3,), solver=solver, random_state=0)
    counting = _count_calls_after_minimize(monkeypatch)
    _fit_recording(BackpropClassifier(**params), X_iris, y_iris)
    n_after = counting["calls"]
    monkeypatch.undo()
    assert n_after >= 1  # the refinement evaluates the cost at least once

    first_middle_last = {1, 2, n_after // 2, n_after - 1, n_after}
    for k in sorted(k for k in first_middle_last if 1 <= k <= n_after):
        state = _count_calls_after_minimize(monkeypatch, interrupt_on=k)
        est = BackpropClassifier(**params)
        messages = _fit_recording(est, X_iris, y_iris)
        monkeypatch.undo()
        # (trust-krylov is not bitwise reproducible: a fit can take another
        # path, with fewer calls after the optimizer than the first one.)
        if state["calls"] < k:
            assert k > 1 and solver == "trust-krylov"
            continue
        assert [m for m in messages if "Training was interrupted" in m], k
        # The optimizer's own result, and J there.
        np.testing.assert_array_equal(unroll(est.thetas_), state["optimizer_x"])
        Y = est._label_binarizer.transform(y_iris)
        J = cost_function(unroll(est.thetas_), est.layer_sizes_, X_iris, Y, 1.0)[0]
        assert est.loss_ == pytest.approx(J, rel=1e-12)
        assert est.loss_ == pytest.approx(min(est.loss_curve_), rel=1e-12)
        assert est.n_iter_ == len(est.loss_curve_)


def _falling_validation_scores(monkeypatch):
    """Each iteration scores lower: early stopping keeps the first iterate,
    long gone from any cache by the time it stops."""
    scores = iter(range(0, -(10**6), -1))
    monkeypatch.setattr(
        BackpropClassifier, "_validation_score", lambda *args, **kwargs: next(scores)
    )


@pytest.mark.parametrize("solver", ["L-BFGS-B", "CG", "TNC", "trust-ncg"])
@pytest.mark.parametrize("k", [1, 2, 3])
@pytest.mark.parametrize("scores", ["accuracy", "falling"])
def test_interrupt_after_early_stopping_keeps_the_best_validated_weights(
    monkeypatch, solver, k, scores
):
    """Early stopping ends in the solver; what follows must not lose the fit."""
    X_iris, y_iris = iris_scaled()
    params = dict(
        hidden_layer_sizes=(3,),
        solver=solver,
        random_state=0,
        early_stopping=True,
        n_iter_no_change=5,
    )
    if scores == "falling":
        _falling_validation_scores(monkeypatch)
    reference = BackpropClassifier(**params).fit(X_iris, y_iris)
    if scores == "falling":
        assert reference.n_iter_ == 6  # the first iterate kept
        _falling_validation_scores(monkeypatch)
    state = _count_calls_after_minimize(monkeypatch, interrupt_on=k)
    est = BackpropClassifier(**params)
    messages = _fit_recording(est, X_iris, y_iris)
    if state["calls"] >= k:  # the interrupt happened: said so
        assert [m for m in messages if "Training was interrupted" in m]
    # Either way the kept weights are the best validated ones, loss_ J there.
    np.testing.assert_array_equal(unroll(est.thetas_), unroll(reference.thetas_))
    assert est.loss_ == reference.loss_
    assert est.best_validation_score_ == reference.best_validation_score_
