"""The solvers: each finds the convex minimum, and their failures are reported.

BFGS's dense-Hessian warning, a trust-krylov breakdown, a non-finite step, a
failed line search, the ConvergenceWarning (pointing at the caller's line),
and TNC's ``maxfun``. The limits (``max_iter``, ``max_fun``) are in
``test_stopping.py``.
"""

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.exceptions import ConvergenceWarning

import skbackprop._solver as solver_module
from skbackprop import BackpropClassifier
from skbackprop.backprop import cost_function, unroll

from _helpers import SOLVERS, X, _assert_finite_model, _patch_cost, iris_scaled, y

# ---------------------------------------------------------------------------
# Every solver at the convex minimum
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def convex_reference(iris):
    # Without a hidden layer the cost is convex: every solver trained to
    # convergence (tol=0) must find the same minimum.
    X, y = iris
    return BackpropClassifier(
        hidden_layer_sizes=(), alpha=1.0, tol=0, random_state=0
    ).fit(X, y)


@pytest.mark.parametrize("solver", SOLVERS)
def test_every_solver_finds_the_convex_minimum(iris, convex_reference, solver):
    X, y = iris
    clf = BackpropClassifier(
        hidden_layer_sizes=(), alpha=1.0, solver=solver, tol=0, random_state=1
    ).fit(X, y)
    np.testing.assert_allclose(
        unroll(clf.thetas_), unroll(convex_reference.thetas_), rtol=1e-6, atol=1e-7
    )
    assert clf.loss_ == pytest.approx(convex_reference.loss_, rel=1e-10)
    assert clf.n_iter_ >= 1 and clf.n_fun_evals_ >= clf.n_iter_
    uses_hessp = solver in ("Newton-CG", "trust-ncg", "trust-krylov")
    assert (clf.n_hessp_evals_ > 0) == uses_hessp


def test_bfgs_warns_when_its_dense_hessian_is_large(small, monkeypatch):
    X, y = small
    # 5-4-3 network: 39 parameters.
    clf = BackpropClassifier(hidden_layer_sizes=(4,), solver="BFGS", max_iter=3)
    monkeypatch.setattr(solver_module, "_BFGS_WARN_PARAMS", 38)
    with pytest.warns(UserWarning, match="dense 39 x 39 inverse Hessian"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.fit(X, y)
    monkeypatch.setattr(solver_module, "_BFGS_WARN_PARAMS", 39)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.set_params(solver="L-BFGS-B").fit(X, y)
    assert solver_module._BFGS_WARN_PARAMS == 39


def test_bfgs_default_threshold_covers_the_course_network():
    # The course's 400-25-10 network (10285 parameters) warns; a 64-10-10
    # digits network (760 parameters) does not.
    assert 25 * 401 + 10 * 26 > solver_module._BFGS_WARN_PARAMS
    assert 10 * 65 + 10 * 11 <= solver_module._BFGS_WARN_PARAMS


# ---------------------------------------------------------------------------
# Failures and warnings
# ---------------------------------------------------------------------------


def test_trust_krylov_breakdown_keeps_last_iterate(small):
    # On this problem scipy's trust-krylov subproblem solver (trlib) returns a
    # NaN step once the gradient is ~1e-8; training keeps the last iterate and
    # the Newton refinement finishes the job, with no warning.
    X, y = small
    clf = BackpropClassifier(
        hidden_layer_sizes=(3,),
        solver="trust-krylov",
        max_iter=200,
        tol=0,
        random_state=1,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        clf.fit(X, y)
    assert clf.n_iter_ < 200
    _, grad = cost_function(unroll(clf.thetas_), clf.layer_sizes_, X, np.eye(3)[y], 1.0)
    assert np.max(np.abs(grad)) < 1e-9


def test_non_finite_step_stops_the_optimizer():
    evals = solver_module._Evaluations(lambda x: (float(x @ x), 2 * x))
    assert evals(np.ones(2))[0] == 2.0
    with pytest.raises(solver_module._StopTrainingError) as stop:
        evals(np.array([1.0, np.nan]))
    assert stop.value.reason == "breakdown" and evals.n_fun == 1


LINE_SEARCH_SOLVERS = ("L-BFGS-B", "CG", "BFGS", "TNC", "Newton-CG")


@pytest.mark.parametrize("solver", SOLVERS)
def test_failed_line_search_warns_and_leaves_a_whole_model(monkeypatch, solver):
    """A gradient pointing uphill makes the optimizer fail, away from a minimum."""

    def uphill(cost):
        def wrapped(params):
            J, grad = cost(params)
            return J, -grad

        return wrapped

    _patch_cost(monkeypatch, uphill)
    est = BackpropClassifier(hidden_layer_sizes=(3,), solver=solver, random_state=0)
    if solver in LINE_SEARCH_SOLVERS:
        match = "stopped before converging.*line search could not lower J"
    else:  # trust-region methods: no line search, the trust region shrinks
        match = "stopped before converging"
    with pytest.warns(ConvergenceWarning, match=match):
        est.fit(X, y)
    assert est.n_iter_ < est.max_iter
    assert len(est.loss_curve_) == est.n_iter_
    _assert_finite_model(est, X)


@pytest.mark.parametrize("cause", ["max_iter", "stall", "interrupt"])
def test_warnings_point_at_the_line_that_called_fit(
    monkeypatch, cause, interrupt_after
):
    params = dict(hidden_layer_sizes=(3,), random_state=0)
    if cause == "max_iter":
        params["max_iter"] = 2
    elif cause == "stall":
        _patch_cost(monkeypatch, lambda cost: lambda p: (cost(p)[0], -cost(p)[1]))
    else:
        interrupt_after(2)
    with pytest.warns(ConvergenceWarning) as record:
        BackpropClassifier(**params).fit(X, y)
    assert [w.filename for w in record] == [__file__] * len(record)


@pytest.mark.parametrize(
    "data, params",
    [
        ("iris-scaled", dict(alpha=1e20)),
        ("iris-scaled", dict(alpha=1e100, solver="CG")),
        ("iris-raw", dict(alpha=0.0, solver="BFGS", hidden_layer_sizes=(5,))),
        ("wine-raw", dict(alpha=0.0, solver="CG", hidden_layer_sizes=(4, 3))),
        ("iris-1e100", dict(hidden_layer_sizes=())),
    ],
)
def test_fit_ends_at_a_minimum_or_warns(data, params):
    """Never a silent non-minimum: a small gradient at thetas_, or a warning."""
    from sklearn.datasets import load_wine

    X_, y_ = load_wine(return_X_y=True) if data == "wine-raw" else iris_scaled()
    if data == "iris-raw":
        X_, y_ = load_iris(return_X_y=True)
    elif data == "iris-1e100":
        X_ = X_ * 1e100
    # tol=0: the optimizer's own stopping rule, which must end at a minimum
    # or warn (the default plateau rule stops short of one, on purpose).
    est = BackpropClassifier(random_state=0, tol=0, **params)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est.fit(X_, y_)
    messages = [str(w.message) for w in caught if w.category is ConvergenceWarning]
    Y = est._label_binarizer.transform(y_).astype(float)
    _, grad = cost_function(unroll(est.thetas_), est.layer_sizes_, X_, Y, est.alpha)
    gmax = np.max(np.abs(grad))
    if gmax > 1e-5:
        stalled = [m for m in messages if "stopped before converging" in m]
        assert stalled or est.n_iter_ == est.max_iter, messages
        assert all(f"is still {gmax:.3g}" in m for m in stalled)
        # The advice names what can be wrong: scaling only for unscaled data.
        if data == "iris-scaled":
            assert any("alpha" in m for m in messages), messages
            assert not any("cale the data" in m for m in messages), messages
        else:
            assert any("cale the data" in m for m in messages), messages
    _assert_finite_model(est, X_)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("solver", SOLVERS)
def test_converged_fit_does_not_warn(solver, dtype):
    """The stalled-solver warning is not raised at a minimum (J's rounding)."""
    X_iris, y_iris = iris_scaled()
    X_iris = X_iris.astype(dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        est = BackpropClassifier(
            hidden_layer_sizes=(3,), solver=solver, alpha=1.0, tol=0
        )
        est.set_params(random_state=0).fit(X_iris, y_iris)
    assert est.n_iter_ < est.max_iter


def test_tnc_takes_the_largest_max_fun_it_can():
    X_iris, y_iris = iris_scaled()
    est = BackpropClassifier(hidden_layer_sizes=(3,), solver="TNC", max_fun=2**31 - 1)
    assert est.fit(X_iris, y_iris).score(X_iris, y_iris) > 0.9


def test_the_tests_name_every_solver_of_the_code():
    # The tests' list is written out (a solver dropped from the code fails
    # them); a solver added to the code must join it, or no test runs it.
    assert sorted(SOLVERS) == sorted(solver_module._SOLVERS)
