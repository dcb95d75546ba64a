"""BackpropRegressor: the course's network with identity outputs and the squared error.

Its cost is checked against scikit-learn's own: MLPRegressor's loss and
gradient on identical weights, and Ridge's minimum where the network has no
hidden layer (a convex cost, so every solver must find the same minimum).
"""

import pickle
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.datasets import load_diabetes, make_friedman1
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import Ridge
from sklearn.metrics import r2_score
from sklearn.model_selection import GridSearchCV
from sklearn.neural_network import MLPRegressor
from sklearn.neural_network._multilayer_perceptron import _pack
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skbackprop import BackpropClassifier, BackpropRegressor
from skbackprop._compat import HAS_SKLEARN_CALLBACKS
from skbackprop.backprop import cost_function, init_thetas, unroll

SOLVERS = ["L-BFGS-B", "CG", "BFGS", "TNC", "Newton-CG", "trust-ncg", "trust-krylov"]


@pytest.fixture(scope="module")
def friedman():
    X, y = make_friedman1(n_samples=120, noise=0.5, random_state=0)
    return X, (y - y.mean()) / y.std()


@pytest.fixture(scope="module")
def two_outputs(friedman):
    X, y = friedman
    return X, np.column_stack([y, np.sin(3 * X[:, 0]) + X[:, 1]])


def fit_quietly(est, X, y, **fit_params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, y, **fit_params)


# ---------------------------------------------------------------------------
# The cost against scikit-learn's: MLPRegressor on identical weights
# ---------------------------------------------------------------------------


class RecordingMLP(MLPRegressor):
    """MLPRegressor keeping the arguments of its L-BFGS loss function."""

    def _loss_grad_lbfgs(self, packed_coef_inter, *args):
        self.lbfgs_args_ = args
        return super()._loss_grad_lbfgs(packed_coef_inter, *args)


def mlp_loss_gradient(thetas, X, y, alpha):
    """MLPRegressor's (loss, gradient as D(l) matrices) at the weights ``thetas``."""
    mlp = RecordingMLP(
        hidden_layer_sizes=[t.shape[0] for t in thetas[:-1]],
        activation="logistic",
        solver="lbfgs",
        alpha=alpha,
        max_iter=1,
    )
    fit_quietly(mlp, X, y)
    # MLP's coefs_[l] is Theta(l)[:, 1:] transposed, intercepts_[l] its column 0.
    coefs = [t[:, 1:].T.copy() for t in thetas]
    intercepts = [t[:, 0].copy() for t in thetas]
    loss, packed = mlp._loss_grad_lbfgs(_pack(coefs, intercepts), *mlp.lbfgs_args_)
    n_coef = sum(c.size for c in coefs)
    coef_grads, intercept_grads, start = [], [], 0
    for c in coefs:
        coef_grads.append(packed[start : start + c.size].reshape(c.shape))
        start += c.size
    for b in intercepts:
        intercept_grads.append(packed[n_coef : n_coef + b.size])
        n_coef += b.size
    D = [np.column_stack([b, c.T]) for c, b in zip(coef_grads, intercept_grads)]
    return loss, D


@pytest.mark.parametrize("hidden", [(), (5,), (4, 3)])
@pytest.mark.parametrize("weighted", [False, True])
def test_one_output_cost_and_gradient_equal_mlp_regressors(friedman, hidden, weighted):
    X, y = friedman
    # Integer weights: MLPRegressor's loss on the rows repeated that many
    # times is the weighted loss, on every scikit-learn version (sample_weight
    # in MLPRegressor.fit is newer than the oldest version supported).
    w = np.random.RandomState(1).randint(0, 4, len(y)) if weighted else None
    layer_sizes = (X.shape[1], *hidden, 1)
    thetas = init_thetas(layer_sizes, epsilon_init=0.5, random_state=3)
    J, grad = cost_function(
        unroll(thetas), layer_sizes, X, y[:, None], 0.7, w, output_activation="identity"
    )
    if weighted:
        X, y = np.repeat(X, w, axis=0), np.repeat(y, w)
    loss, D = mlp_loss_gradient(thetas, X, y, 0.7)
    assert J == pytest.approx(loss, rel=1e-12)
    np.testing.assert_allclose(grad, unroll(D), rtol=1e-10, atol=1e-14)


def test_several_outputs_relate_to_mlp_regressor_as_documented(two_outputs):
    # What docs/math.rst says of K outputs (scikit-learn <= 1.9, its issue
    # #8349): MLPRegressor's loss averages the squared error over the K
    # outputs, (1/K) (1/2m) sum ||h - y||^2 + (alpha/2m) sum W^2, while its
    # gradient is that of our J at the same alpha (deltas h - y, not divided
    # by K). Should scikit-learn change either, this fails and the docs with it.
    X, Y = two_outputs
    layer_sizes = (X.shape[1], 4, 2)
    thetas = init_thetas(layer_sizes, epsilon_init=0.5, random_state=3)
    params = unroll(thetas)
    J, grad = cost_function(
        params, layer_sizes, X, Y, 0.7, output_activation="identity"
    )
    J_data, _ = cost_function(
        params, layer_sizes, X, Y, 0.0, output_activation="identity"
    )
    penalty = J - J_data
    loss, D = mlp_loss_gradient(thetas, X, Y, 0.7)
    assert loss == pytest.approx(J_data / 2 + penalty, rel=1e-12)
    np.testing.assert_allclose(unroll(D), grad, rtol=1e-10, atol=1e-14)


# ---------------------------------------------------------------------------
# No hidden layer: ridge regression, for every solver
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("solver", SOLVERS)
def test_no_hidden_layer_is_ridge_for_every_solver(two_outputs, solver):
    # J * 2m = sum_i w_i ||r_i||^2 + lambda ||W||^2, intercept not penalised:
    # exactly Ridge(alpha=lambda)'s objective, for each output.
    X, Y = two_outputs
    w = np.random.RandomState(2).uniform(0.5, 2.0, len(Y))
    ridge = Ridge(alpha=3.0).fit(X, Y, sample_weight=w)
    reg = BackpropRegressor(hidden_layer_sizes=(), alpha=3.0, solver=solver)
    reg.fit(X, Y, sample_weight=w)
    theta = reg.thetas_[0]
    np.testing.assert_allclose(theta[:, 0], ridge.intercept_, rtol=1e-7, atol=1e-8)
    np.testing.assert_allclose(theta[:, 1:], ridge.coef_, rtol=1e-7, atol=1e-8)
    np.testing.assert_allclose(reg.predict(X), ridge.predict(X), atol=1e-7)


# ---------------------------------------------------------------------------
# Fit: attributes, the cost at the fitted weights, shapes of y
# ---------------------------------------------------------------------------


def test_fit_sets_attributes_and_minimises_the_cost(friedman):
    X, y = friedman
    reg = BackpropRegressor(hidden_layer_sizes=(6,), random_state=0).fit(X, y)
    assert reg.n_outputs_ == 1 and reg.layer_sizes_ == (10, 6, 1)
    assert reg.n_features_in_ == 10 and not hasattr(reg, "classes_")
    assert [t.shape for t in reg.thetas_] == [(6, 11), (1, 7)]
    J, grad = cost_function(
        unroll(reg.thetas_), reg.layer_sizes_, X, y[:, None], 1.0,
        output_activation="identity",
    )  # fmt: skip
    assert reg.loss_ == pytest.approx(J, rel=1e-12)
    assert np.max(np.abs(grad)) < 1e-8  # trained to a minimum
    assert (
        reg.loss_curve_[-1] <= reg.loss_curve_[0]
        and len(reg.loss_curve_) == reg.n_iter_
    )
    assert reg.validation_scores_ is None and reg.best_validation_score_ is None
    # The prediction is z(L) of the fitted network, as forward propagation gives.
    a = 1 / (1 + np.exp(-(X @ reg.thetas_[0][:, 1:].T + reg.thetas_[0][:, 0])))
    h = a @ reg.thetas_[1][:, 1:].T + reg.thetas_[1][:, 0]
    np.testing.assert_allclose(reg.predict(X), h.ravel(), rtol=1e-12)
    assert reg.score(X, y) > 0.6


def test_prediction_shape_follows_y(friedman, two_outputs):
    X, y = friedman
    reg = BackpropRegressor(hidden_layer_sizes=(3,), max_iter=20, random_state=0)
    assert fit_quietly(reg, X, y).predict(X).shape == (120,)
    assert fit_quietly(clone(reg), X, y[:, None]).predict(X).shape == (120, 1)
    X, Y = two_outputs
    multi = fit_quietly(clone(reg), X, Y)
    assert multi.predict(X).shape == (120, 2) and multi.n_outputs_ == 2
    assert multi.layer_sizes_ == (10, 3, 2)


def test_multi_output_fits_the_summed_cost(two_outputs):
    X, Y = two_outputs
    # Run to the minimum, however many iterations this machine's rounding
    # takes through the flat valley (1,104 on one, under 1,000 on another).
    reg = BackpropRegressor(
        hidden_layer_sizes=(5,), alpha=0.5, random_state=0, max_iter=5000
    )
    reg.fit(X, Y)
    assert reg.n_iter_ < reg.max_iter
    J, grad = cost_function(
        unroll(reg.thetas_), reg.layer_sizes_, X, Y, 0.5, output_activation="identity"
    )
    assert reg.loss_ == pytest.approx(J, rel=1e-12)
    assert np.max(np.abs(grad)) < 1e-8
    assert r2_score(Y, reg.predict(X)) == pytest.approx(reg.score(X, Y))


def test_integer_targets_and_object_arrays_of_numbers(friedman):
    X, y = friedman
    y_int = np.round(3 * y).astype(int)
    reg = BackpropRegressor(hidden_layer_sizes=(3,), max_iter=30, random_state=0)
    a = fit_quietly(clone(reg), X, y_int).predict(X)
    b = fit_quietly(clone(reg), X, y_int.astype(object)).predict(X)
    np.testing.assert_array_equal(a, b)
    assert a.dtype == np.float64


@pytest.mark.parametrize(
    "y_bad, error, match",
    [
        (np.array([1.0, np.nan] * 60), ValueError, "y contains NaN"),
        (np.array([1.0, np.inf] * 60), ValueError, "y contains infinity"),
        (np.array(["a", "b"] * 60), ValueError, "strings"),
        (np.ones((120, 2, 2)), ValueError, "y"),
        (sp.csr_matrix(np.ones((120, 2))), TypeError, "dense data is required"),
    ],
)
def test_bad_targets_are_refused(friedman, y_bad, error, match):
    X, _ = friedman
    reg = BackpropRegressor()
    with pytest.raises(error, match=match):
        reg.fit(X, y_bad)
    assert not hasattr(reg, "thetas_") and not hasattr(reg, "n_features_in_")


@pytest.mark.parametrize(
    "params, error, match",
    [
        ({"alpha": -1.0}, ValueError, "alpha == -1.0"),
        ({"activation": "identity"}, ValueError, "activation must be one of"),
        ({"solver": "sgd"}, ValueError, "solver must be one of"),
        ({"hidden_layer_sizes": (0,)}, ValueError, "hidden_layer_sizes"),
        ({"early_stopping": 1}, TypeError, "early_stopping must be a bool"),
    ],
)
def test_invalid_parameters_are_refused(friedman, params, error, match):
    X, y = friedman
    with pytest.raises(error, match=match):
        BackpropRegressor(**params).fit(X, y)


def test_classifier_still_refuses_identity_output():
    X = np.random.RandomState(0).randn(10, 2)
    with pytest.raises(
        ValueError, match="output_activation must be one of 'sigmoid', 'softmax'"
    ):
        BackpropClassifier(output_activation="identity").fit(X, [0, 1] * 5)


def test_regressor_has_the_classifiers_parameters_less_the_class_ones():
    ours = set(BackpropRegressor().get_params())
    theirs = set(BackpropClassifier().get_params())
    assert ours == theirs - {"class_weight", "output_activation"}
    for name in ours:
        assert (
            BackpropRegressor().get_params()[name]
            == (BackpropClassifier().get_params()[name])
        )


# ---------------------------------------------------------------------------
# Options
# ---------------------------------------------------------------------------


def test_regressor_with_integer_sample_weights_equals_repeated_rows(friedman):
    X, y = friedman
    w = np.random.RandomState(0).randint(0, 3, len(y))
    reg = BackpropRegressor(hidden_layer_sizes=(3,), alpha=2.0, random_state=0)
    weighted = clone(reg).fit(X, y, sample_weight=w)
    repeated = clone(reg).fit(np.repeat(X, w, 0), np.repeat(y, w))
    np.testing.assert_allclose(weighted.predict(X), repeated.predict(X), atol=1e-7)


def test_sample_weight_changes_the_regressors_predictions(friedman):
    X, y = friedman
    reg = BackpropRegressor(hidden_layer_sizes=(3,), random_state=0)
    w = np.where(X[:, 0] > 0.5, 5.0, 0.2)
    a = clone(reg).fit(X, y).predict(X)
    b = clone(reg).fit(X, y, sample_weight=w).predict(X)
    assert np.max(np.abs(a - b)) > 1e-2


@pytest.mark.parametrize("batch_size", [1, 17, 500])
def test_batch_size_gives_the_full_batch_fit(friedman, batch_size):
    X, y = friedman
    reg = BackpropRegressor(hidden_layer_sizes=(4,), max_iter=25, random_state=0)
    full = fit_quietly(clone(reg), X, y)
    chunked = fit_quietly(clone(reg).set_params(batch_size=batch_size), X, y)
    np.testing.assert_allclose(
        unroll(chunked.thetas_), unroll(full.thetas_), rtol=1e-7, atol=1e-9
    )


@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_sparse_x_fits_like_dense(friedman, fmt):
    X, y = friedman
    X = X * (X > 0.4)
    reg = BackpropRegressor(hidden_layer_sizes=(4,), alpha=3.0, random_state=0)
    dense = clone(reg).fit(X, y)
    sparse = clone(reg).fit(sp.csr_matrix(X).asformat(fmt), y)
    np.testing.assert_allclose(
        sparse.predict(sp.csr_matrix(X)), dense.predict(X), atol=1e-7
    )


def test_regressor_fits_and_predicts_float32_in_float32(friedman):
    X, y = friedman
    reg = BackpropRegressor(hidden_layer_sizes=(4,), alpha=3.0, random_state=0)
    r64 = clone(reg).fit(X, y)
    r32 = fit_quietly(clone(reg), X.astype(np.float32), y)
    pred = r32.predict(X.astype(np.float32))
    assert pred.dtype == np.float32
    np.testing.assert_allclose(pred, r64.predict(X), atol=1e-3)


@pytest.mark.parametrize("solver", SOLVERS)
def test_every_solver_fits(friedman, solver):
    X, y = friedman
    reg = BackpropRegressor(hidden_layer_sizes=(4,), solver=solver, random_state=0)
    fit_quietly(reg, X, y)
    J, grad = cost_function(
        unroll(reg.thetas_), reg.layer_sizes_, X, y[:, None], 1.0,
        output_activation="identity",
    )  # fmt: skip
    assert np.max(np.abs(grad)) < 1e-6 and reg.loss_ == pytest.approx(J)
    assert reg.score(X, y) > 0.6
    if solver in ("Newton-CG", "trust-ncg", "trust-krylov"):
        assert reg.n_hessp_evals_ > 0
    else:
        assert reg.n_hessp_evals_ == 0


def test_warm_start_continues_and_refuses_other_outputs(friedman, two_outputs):
    X, y = friedman
    reg = BackpropRegressor(
        hidden_layer_sizes=(4,), max_iter=5, warm_start=True, random_state=0
    )
    fit_quietly(reg, X, y)
    first = reg.loss_
    fit_quietly(reg, X, y)
    # Started from the previous weights: its first iteration is below their J,
    # which a fresh start's first iteration is far above.
    cold = fit_quietly(clone(reg).set_params(warm_start=False), X, y)
    assert reg.loss_curve_[0] <= first < cold.loss_curve_[0]
    assert reg.loss_ < first
    thetas = [t.copy() for t in reg.thetas_]
    with pytest.raises(ValueError, match="same number of outputs"):
        reg.fit(two_outputs[0], two_outputs[1])
    for a, b in zip(reg.thetas_, thetas):  # a failed fit changes nothing
        np.testing.assert_array_equal(a, b)


def fit_early_stopping(X, y, solver="L-BFGS-B"):
    reg = BackpropRegressor(
        hidden_layer_sizes=(20,),
        alpha=1e-4,
        solver=solver,
        early_stopping=True,
        validation_fraction=0.25,
        n_iter_no_change=5,
        random_state=0,
    )
    return fit_quietly(reg, X, y)


@pytest.mark.parametrize("solver", ["L-BFGS-B", "trust-ncg"])
def test_early_stopping_scores_r2_and_keeps_the_best(friedman, solver):
    X, y = friedman
    reg = fit_early_stopping(X, y, solver)
    scores = np.asarray(reg.validation_scores_)
    assert len(scores) == reg.n_iter_ < 1000
    assert reg.best_validation_score_ == scores.max()
    best = len(scores) - 1 - int(np.argmax(scores[::-1]))
    assert reg.loss_ == pytest.approx(reg.loss_curve_[best], rel=1e-12)


def forward(thetas, X):
    """h(x) of a sigmoid network with one hidden layer, written out."""
    a = 1 / (1 + np.exp(-(X @ thetas[0][:, 1:].T + thetas[0][:, 0])))
    return (a @ thetas[1][:, 1:].T + thetas[1][:, 0]).ravel()


@pytest.mark.parametrize("weighted", [False, True])
def test_early_stopping_score_is_the_weighted_r2_of_the_hold_out(
    friedman, monkeypatch, weighted
):
    X, y = friedman
    w = np.random.RandomState(0).uniform(0.5, 2.0, len(y)) if weighted else None
    seen = []
    original = BackpropRegressor._validation_score

    def spy(self, z, y_val, sample_weight_val, encoding):
        score = original(self, z, y_val, sample_weight_val, encoding)
        seen.append((z.copy(), y_val, sample_weight_val, score))
        return score

    monkeypatch.setattr(BackpropRegressor, "_validation_score", spy)
    reg = BackpropRegressor(
        hidden_layer_sizes=(3,),
        early_stopping=True,
        validation_fraction=0.25,
        max_iter=8,
        random_state=0,
    )
    fit_quietly(reg, X, y, sample_weight=w)
    assert len(seen) == reg.n_iter_
    z, y_val, sw_val, score = seen[-1]
    assert len(y_val) == 30  # 25% of 120 rows, a plain random hold-out
    assert (sw_val is None) == (not weighted)
    assert score == pytest.approx(r2_score(y_val, z, sample_weight=sw_val), rel=1e-12)
    assert reg.validation_scores_ == [s[-1] for s in seen]


def test_early_stopping_with_a_single_held_out_sample():
    # R² is undefined on one sample: the score is minus its squared error.
    rng = np.random.RandomState(0)
    X, y = rng.randn(6, 2), rng.randn(6)
    reg = BackpropRegressor(
        hidden_layer_sizes=(3,), early_stopping=True, max_iter=20, random_state=0
    )
    fit_quietly(reg, X, y)
    assert np.all(np.asarray(reg.validation_scores_) <= 0)
    assert np.all(np.isfinite(reg.validation_scores_))


def test_regressor_verbose_prints_a_line_per_iteration_and_why_it_stopped(
    friedman, capsys
):
    X, y = friedman
    reg = BackpropRegressor(hidden_layer_sizes=(3,), max_iter=4, verbose=1)
    fit_quietly(reg, X, y)
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].split()[:3] == ["iter", "J", "|grad|"]
    # The header, its rule, one line per iteration, then why it stopped.
    assert len(lines) == 3 + reg.n_iter_ == 7
    assert lines[-1].startswith("Stopped after 4 iterations (max_iter)")


def test_ctrl_c_keeps_the_lowest_cost(friedman, interrupt_after):
    X, y = friedman
    interrupt_after(3)
    reg = BackpropRegressor(hidden_layer_sizes=(3,), solver="CG", random_state=0)
    with pytest.warns(ConvergenceWarning, match="interrupted"):
        reg.fit(X, y)
    assert reg.n_iter_ == 3 and reg.loss_ == min(reg.loss_curve_)


def test_sklearn_callbacks_see_every_iteration_and_can_stop(friedman):
    class StopAt:
        def __init__(self, n):
            self.n, self.fitted = n, None

        def setup(self, estimator, context):
            pass

        def on_fit_task_begin(self, estimator, context, *, fitted_estimator=None):
            pass

        def on_fit_task_end(self, estimator, context, *, fitted_estimator=None):
            if context.task_name == "iteration" and fitted_estimator is not None:
                self.fitted = fitted_estimator
                return context.task_id + 1 >= self.n
            return False

        def teardown(self, estimator, context):
            pass

    X, y = friedman
    callback = StopAt(4)
    reg = BackpropRegressor(hidden_layer_sizes=(3,), random_state=0)
    if HAS_SKLEARN_CALLBACKS:
        reg.set_callbacks(callback).fit(X, y)
        assert reg.n_iter_ == 4
        np.testing.assert_array_equal(callback.fitted.predict(X), reg.predict(X))
    else:  # scikit-learn < 1.9: no callback API, a plain fit
        assert not hasattr(reg, "set_callbacks")
        assert reg.fit(X, y).n_iter_ > 4


# ---------------------------------------------------------------------------
# In scikit-learn's tools
# ---------------------------------------------------------------------------


def test_pipeline_grid_search_of_lambda_on_diabetes():
    X, y = load_diabetes(return_X_y=True)
    pipe = make_pipeline(
        StandardScaler(), BackpropRegressor(hidden_layer_sizes=(3,), random_state=0)
    )
    search = GridSearchCV(pipe, {"backpropregressor__alpha": [1.0, 100.0]}, cv=3)
    fit_quietly(search, X, y)
    assert search.best_score_ > 0.4


def test_clone_and_pickle(friedman):
    X, y = friedman
    reg = BackpropRegressor(hidden_layer_sizes=(3,), random_state=0).fit(X, y)
    assert not hasattr(clone(reg), "thetas_")
    again = pickle.loads(pickle.dumps(reg))
    np.testing.assert_array_equal(again.predict(X), reg.predict(X))


def test_loss_curve_display_draws_a_regressor(friedman):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from skbackprop.inspection import LossCurveDisplay

    X, y = friedman
    reg = BackpropRegressor(hidden_layer_sizes=(3,), random_state=0).fit(X, y)
    display = LossCurveDisplay.from_estimator(make_pipeline(reg))
    _, loss = display.line_.get_data()
    np.testing.assert_array_equal(loss, reg.loss_curve_)
    plt.close("all")
