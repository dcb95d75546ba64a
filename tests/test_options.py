"""BackpropClassifier's options: activations, outputs, solvers, inputs, weights,
early stopping, max_fun, the verbose table and scikit-learn's callback API."""

import importlib
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.special import softmax
from sklearn.datasets import load_iris, make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler
from sklearn.utils.class_weight import compute_sample_weight

import skbackprop._placement as placement_module
import skbackprop._solver as solver_module
from skbackprop import BackpropClassifier
from skbackprop._compat import HAS_SKLEARN_CALLBACKS
from skbackprop.backprop import (
    backprop_loop,
    cost_function,
    debug_initialize_weights,
    numerical_gradient,
    roll,
    unroll,
)

ACTIVATIONS = ("sigmoid", "tanh", "relu")
OUTPUTS = ("sigmoid", "softmax")
SOLVERS = (
    "L-BFGS-B",
    "CG",
    "BFGS",
    "TNC",
    "Newton-CG",
    "trust-ncg",
    "trust-krylov",
)


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y


@pytest.fixture(scope="module")
def small():
    X, y = make_classification(
        n_samples=60, n_features=5, n_informative=3, n_classes=3, random_state=0
    )
    return X, y


def forward_z(thetas, X, g):
    a = X
    for theta in thetas[:-1]:
        a = g(a @ theta[:, 1:].T + theta[:, 0])
    return a @ thetas[-1][:, 1:].T + thetas[-1][:, 0]


NUMPY_G = {
    "sigmoid": lambda z: 1 / (1 + np.exp(-z)),
    "tanh": np.tanh,
    "relu": lambda z: np.maximum(z, 0),
}


# ---------------------------------------------------------------------------
# activation and output_activation in the math
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("output_activation", OUTPUTS)
def test_every_combination_passes_gradient_check(activation, output_activation):
    # The course's checkNNGradients network, every activation and output.
    layer_sizes = (3, 5, 3)
    thetas = [debug_initialize_weights(5, 3), debug_initialize_weights(3, 5)]
    X = debug_initialize_weights(5, 2)
    Y = np.eye(3)[np.mod(np.arange(1, 6), 3)]
    params = unroll(thetas)

    def cost(p):
        return cost_function(
            p, layer_sizes, X, Y, 3.0, None, activation, output_activation
        )

    _, grad = cost(params)
    num = numerical_gradient(cost, params)
    assert np.linalg.norm(num - grad) / np.linalg.norm(num + grad) < 1e-9
    # ... and the vectorised path equals the course's per-example loop.
    J_loop, D_loop = backprop_loop(thetas, X, Y, 3.0, activation, output_activation)
    assert cost(params)[0] == pytest.approx(J_loop, rel=1e-12)
    np.testing.assert_allclose(grad, unroll(D_loop), rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("output_activation", OUTPUTS)
def test_fit_uses_activation_and_output(small, activation, output_activation):
    X, y = small
    clf = BackpropClassifier(
        hidden_layer_sizes=(4,),
        activation=activation,
        output_activation=output_activation,
        max_iter=30,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    z = forward_z(clf.thetas_, X, NUMPY_G[activation])
    np.testing.assert_allclose(clf.decision_function(X), z, rtol=1e-10, atol=1e-12)
    # loss_ is J of the chosen activation and output at thetas_.
    J = cost_function(
        unroll(clf.thetas_),
        clf.layer_sizes_,
        X,
        np.eye(3)[y],
        clf.alpha,
        None,
        activation,
        output_activation,
    )[0]
    assert clf.loss_ == pytest.approx(J, rel=1e-12)
    proba = clf.predict_proba(X)
    expected = (
        softmax(z, axis=1)
        if output_activation == "softmax"
        else NUMPY_G["sigmoid"](z) / NUMPY_G["sigmoid"](z).sum(axis=1, keepdims=True)
    )
    np.testing.assert_allclose(proba, expected, rtol=1e-10)


def test_softmax_binary_uses_two_units(iris):
    X, y = iris
    mask = y < 2
    clf = BackpropClassifier(
        hidden_layer_sizes=(3,), output_activation="softmax", random_state=0
    ).fit(X[mask], y[mask])
    assert clf.layer_sizes_[-1] == 2
    assert abs(clf.thetas_[-1][:, 0].sum()) < 1e-12  # output biases centred
    z = forward_z(clf.thetas_, X[mask], NUMPY_G["sigmoid"])
    np.testing.assert_allclose(clf.decision_function(X[mask]), z[:, 1] - z[:, 0])
    np.testing.assert_allclose(clf.predict_proba(X[mask]), softmax(z, axis=1))
    assert clf.score(X[mask], y[mask]) == 1.0


def test_softmax_rejects_multilabel():
    X = np.random.RandomState(0).randn(10, 3)
    Y = np.array([[0, 1], [1, 1], [1, 0], [0, 0], [1, 1]] * 2)
    with pytest.raises(ValueError, match="softmax.*multilabel"):
        BackpropClassifier(output_activation="softmax").fit(X, Y)


# ---------------------------------------------------------------------------
# Parameter validation
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "params, error, match",
    [
        ({"activation": "logistic"}, ValueError, "activation must be one of"),
        ({"output_activation": "linear"}, ValueError, "output_activation must be"),
        ({"class_weight": "auto"}, ValueError, "class_weight must be None"),
        ({"class_weight": [1, 2]}, ValueError, "class_weight must be None"),
        ({"early_stopping": "yes"}, TypeError, "early_stopping must be a bool"),
        ({"validation_fraction": 0.0}, ValueError, "validation_fraction == 0.0"),
        ({"validation_fraction": 1.0}, ValueError, "validation_fraction == 1.0"),
        ({"n_iter_no_change": 0}, ValueError, "n_iter_no_change == 0"),
        ({"n_iter_no_change": 2.5}, TypeError, "n_iter_no_change must be"),
        ({"max_fun": 0}, ValueError, "max_fun == 0"),
        ({"solver": "Nelder-Mead"}, ValueError, "solver must be one of"),
        ({"solver": "sgd"}, ValueError, "'L-BFGS-B', 'CG', 'BFGS', 'TNC'"),
        ({"solver": None}, ValueError, "trust-krylov"),
    ],
)
def test_invalid_parameters_raise_clear_errors(small, params, error, match):
    X, y = small
    with pytest.raises(error, match=match):
        BackpropClassifier(**params).fit(X, y)


def test_solver_names_are_case_insensitive(small):
    X, y = small
    a = BackpropClassifier(solver="l-bfgs-b", max_iter=5, random_state=0)
    b = BackpropClassifier(solver="L-BFGS-B", max_iter=5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        np.testing.assert_array_equal(
            unroll(a.fit(X, y).thetas_), unroll(b.fit(X, y).thetas_)
        )


# ---------------------------------------------------------------------------
# Solvers
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
# Sparse and float32 input
# ---------------------------------------------------------------------------


class NoDensifyCSR(sp.csr_matrix):
    """A CSR matrix that refuses to be densified."""

    def toarray(self, *args, **kwargs):
        raise AssertionError("X was densified")

    todense = toarray

    def __array__(self, *args, **kwargs):
        raise AssertionError("X was densified")


@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_sparse_fit_equals_dense_fit(small, fmt):
    X, y = small
    X = X * (np.abs(X) > 0.8)
    dense = BackpropClassifier(hidden_layer_sizes=(4,), max_iter=20, random_state=0)
    sparse = BackpropClassifier(hidden_layer_sizes=(4,), max_iter=20, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        dense.fit(X, y)
        sparse.fit(sp.csr_matrix(X).asformat(fmt), y)
    np.testing.assert_allclose(
        unroll(sparse.thetas_), unroll(dense.thetas_), rtol=1e-10, atol=1e-12
    )
    np.testing.assert_allclose(
        sparse.predict_proba(sp.csr_matrix(X).asformat(fmt)),
        dense.predict_proba(X),
        rtol=1e-10,
    )


def test_sparse_cost_equals_dense_cost(small):
    X, y = small
    X = X * (np.abs(X) > 0.8)
    Y = np.eye(3)[y]
    params = unroll(BackpropClassifier(hidden_layer_sizes=(4,)).fit(X, y).thetas_)
    for fmt in ("csr", "csc"):
        Xs = sp.csr_matrix(X).asformat(fmt)
        for out in OUTPUTS:
            J_d, g_d = cost_function(params, (5, 4, 3), X, Y, 1.0, None, "tanh", out)
            J_s, g_s = cost_function(params, (5, 4, 3), Xs, Y, 1.0, None, "tanh", out)
            assert J_s == pytest.approx(J_d, rel=1e-10)
            assert np.linalg.norm(g_s - g_d) <= 1e-10 * np.linalg.norm(g_d)


def test_sparse_x_is_never_densified(small):
    X, y = small
    X = NoDensifyCSR(X * (np.abs(X) > 0.8))
    with pytest.raises(AssertionError, match="densified"):
        X.toarray()
    clf = BackpropClassifier(hidden_layer_sizes=(4,), max_iter=10, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    assert clf.predict(X).shape == (60,)
    assert clf.__sklearn_tags__().input_tags.sparse


def test_float32_is_computed_in_float32(small):
    X, y = small
    Y = np.eye(3)[y]
    params = unroll(BackpropClassifier(hidden_layer_sizes=(4,)).fit(X, y).thetas_)
    J64, g64 = cost_function(params, (5, 4, 3), X, Y, 1.0)
    J32, g32 = cost_function(params, (5, 4, 3), X.astype(np.float32), Y, 1.0)
    assert g32.dtype == np.float64
    # float32 rounding (~1e-7), not float64's (~1e-16).
    assert 1e-12 < abs(J32 - J64) / J64 < 1e-5


def test_float32_fit_predicts_like_float64_fit(iris):
    X, y = iris
    kwargs = dict(hidden_layer_sizes=(5,), alpha=1.0, random_state=0, tol=1e-5)
    clf64 = BackpropClassifier(**kwargs).fit(X, y)
    clf32 = BackpropClassifier(**kwargs).fit(X.astype(np.float32), y)
    assert all(t.dtype == np.float64 for t in clf32.thetas_)
    np.testing.assert_array_equal(clf32.predict(X), clf64.predict(X))
    np.testing.assert_array_equal(clf32.predict(X.astype(np.float32)), clf64.predict(X))


# ---------------------------------------------------------------------------
# class_weight
# ---------------------------------------------------------------------------


def fit_thetas(X, y, **params):
    clf = BackpropClassifier(hidden_layer_sizes=(3,), random_state=0, **params)
    sample_weight = params.pop("_sw", None)
    return unroll(clf.fit(X, y, sample_weight=sample_weight).thetas_)


def test_class_weight_dict_equals_sample_weight(small):
    X, y = small
    a = BackpropClassifier(
        hidden_layer_sizes=(3,), class_weight={0: 3.0, 2: 0.5}, random_state=0
    ).fit(X, y)
    sw = np.choose(y, [3.0, 1.0, 0.5])
    b = BackpropClassifier(hidden_layer_sizes=(3,), random_state=0).fit(X, y, sw)
    np.testing.assert_allclose(unroll(a.thetas_), unroll(b.thetas_), rtol=1e-8)
    assert a.loss_ == pytest.approx(b.loss_, rel=1e-12)


def test_class_weight_balanced_combines_with_sample_weight(small):
    X, y = small
    y = y.copy()
    y[:15] = 0  # unbalanced classes
    sw = np.random.RandomState(0).uniform(0.5, 2.0, y.size)
    a = BackpropClassifier(
        hidden_layer_sizes=(3,), class_weight="balanced", random_state=0
    ).fit(X, y, sample_weight=sw)
    counts = np.bincount(y, weights=sw)
    expected = sw * (sw.sum() / (3 * counts))[y]
    b = BackpropClassifier(hidden_layer_sizes=(3,), random_state=0).fit(X, y, expected)
    np.testing.assert_allclose(unroll(a.thetas_), unroll(b.thetas_), rtol=1e-8)
    # Without sample_weight, "balanced" is scikit-learn's compute_sample_weight.
    c = BackpropClassifier(
        hidden_layer_sizes=(3,), class_weight="balanced", random_state=0
    ).fit(X, y)
    d = BackpropClassifier(hidden_layer_sizes=(3,), random_state=0).fit(
        X, y, compute_sample_weight("balanced", y)
    )
    np.testing.assert_allclose(unroll(c.thetas_), unroll(d.thetas_), rtol=1e-8)
    assert not np.allclose(unroll(a.thetas_), unroll(c.thetas_), rtol=1e-3)


def test_class_weight_changes_the_decision(small):
    X, y = small
    plain = BackpropClassifier(hidden_layer_sizes=(3,), random_state=0).fit(X, y)
    heavy = BackpropClassifier(
        hidden_layer_sizes=(3,), class_weight={1: 50.0}, random_state=0
    ).fit(X, y)
    assert (heavy.predict(X) == 1).sum() > (plain.predict(X) == 1).sum()


def test_class_weight_rejects_multilabel():
    X = np.random.RandomState(0).randn(10, 3)
    Y = np.array([[0, 1], [1, 1], [1, 0], [0, 0], [1, 1]] * 2)
    with pytest.raises(
        ValueError, match="class_weight is not supported for multilabel"
    ):
        BackpropClassifier(class_weight="balanced").fit(X, Y)


# ---------------------------------------------------------------------------
# Early stopping, max_fun, n_fun_evals_
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def noisy():
    # Label noise: the validation score goes up and down as training overfits.
    return make_classification(
        n_samples=200, n_features=20, n_informative=5, flip_y=0.2, random_state=0
    )


def fit_early_stopping(X, y, solver):
    return BackpropClassifier(
        hidden_layer_sizes=(10,),
        alpha=1e-4,
        solver=solver,
        early_stopping=True,
        validation_fraction=0.2,
        n_iter_no_change=3,
        random_state=0,
    ).fit(X, y)


@pytest.mark.parametrize("solver", SOLVERS)
def test_early_stopping_keeps_best_weights(noisy, solver):
    clf = fit_early_stopping(*noisy, solver)
    scores = np.asarray(clf.validation_scores_)
    assert len(scores) == clf.n_iter_ == len(clf.loss_curve_)
    first_best = int(np.argmax(scores))
    last_best = len(scores) - 1 - int(np.argmax(scores[::-1]))
    assert clf.best_validation_score_ == scores.max()
    # Stopped exactly n_iter_no_change iterations after the first best score
    # (an equal score is no improvement) ...
    assert clf.n_iter_ == first_best + 1 + 3 < 1000
    # ... keeping the weights of the last iteration with the best score.
    assert clf.loss_ == pytest.approx(clf.loss_curve_[last_best], rel=1e-12)


@pytest.mark.parametrize("solver", ["TNC", "trust-ncg"])
def test_early_stopping_does_not_keep_the_last_weights(noisy, solver):
    clf = fit_early_stopping(*noisy, solver)
    scores = np.asarray(clf.validation_scores_)
    assert scores[-1] < scores.max()  # the score fell at the end ...
    assert clf.loss_ > clf.loss_curve_[-1]  # ... and the last weights were dropped


def test_early_stopping_holds_out_validation_fraction(iris, monkeypatch):
    X, y = iris
    seen = []
    original = BackpropClassifier._validation_score

    def spy(self, z, y_val, sample_weight_val, encoding):
        seen.append(y_val)
        return original(self, z, y_val, sample_weight_val, encoding)

    monkeypatch.setattr(BackpropClassifier, "_validation_score", spy)
    clf = BackpropClassifier(
        early_stopping=True, validation_fraction=0.2, max_iter=5, random_state=0
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    y_val = seen[0]
    assert len(y_val) == 30
    np.testing.assert_array_equal(np.bincount(y_val), [10, 10, 10])  # stratified


def test_early_stopping_off_records_no_scores(small):
    X, y = small
    clf = BackpropClassifier(hidden_layer_sizes=(3,), random_state=0).fit(X, y)
    assert clf.validation_scores_ is None and clf.best_validation_score_ is None


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_early_stopping_on_tiny_data(monkeypatch):
    held_out = []
    original = BackpropClassifier._validation_score

    def spy(self, z, y_val, sample_weight_val, encoding):
        held_out.append(y_val)
        return original(self, z, y_val, sample_weight_val, encoding)

    monkeypatch.setattr(BackpropClassifier, "_validation_score", spy)
    X = np.arange(16.0).reshape(8, 2)
    # 10% of 8 rows is one, but a stratified hold-out needs one per class.
    y = np.array([0, 0, 0, 1, 1, 1, 2, 2])
    BackpropClassifier(early_stopping=True, max_iter=5, random_state=0).fit(X, y)
    np.testing.assert_array_equal(np.sort(held_out[-1]), [0, 1, 2])
    # A class with a single row cannot be stratified: a plain hold-out.
    y = np.array([0, 0, 0, 1, 1, 1, 1, 2])
    BackpropClassifier(early_stopping=True, max_iter=5, random_state=0).fit(X, y)
    assert len(held_out[-1]) == 1
    with pytest.raises(ValueError, match="needs at least 2 samples"):
        BackpropClassifier(early_stopping=True).fit(X[:1], np.array([[0, 1]]))


@pytest.mark.parametrize("solver", SOLVERS)
def test_max_fun_limits_evaluations(iris, solver):
    X, y = iris
    clf = BackpropClassifier(solver=solver, max_fun=12, random_state=0)
    with pytest.warns(ConvergenceWarning, match="max_fun=12"):
        clf.fit(X, y)
    # Checked after each iteration: one iteration's line search may go past.
    assert 12 <= clf.n_fun_evals_ <= 12 + 25
    assert clf.n_iter_ < 12


def test_n_fun_evals_counts_every_cost_evaluation(iris, monkeypatch):
    X, y = iris
    calls = []
    original = placement_module.make_cost_function

    def counting_factory(*args, **kwargs):
        fun = original(*args, **kwargs)

        def counting(nn_params):
            calls.append(1)
            return fun(nn_params)

        return counting

    monkeypatch.setattr(placement_module, "make_cost_function", counting_factory)
    clf = BackpropClassifier(hidden_layer_sizes=(3,), random_state=0).fit(X, y)
    assert clf.n_fun_evals_ == len(calls) > clf.n_iter_


# ---------------------------------------------------------------------------
# verbose
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("solver", ["L-BFGS-B", "TNC"])
def test_verbose_prints_one_line_per_iteration(iris, capsys, solver):
    X, y = iris
    clf = BackpropClassifier(
        hidden_layer_sizes=(3,),
        solver=solver,
        verbose=1,
        early_stopping=True,
        n_iter_no_change=2,
        random_state=0,
    ).fit(X, y)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == [
        *("iter", "J", "|grad|", "val.", "loss", "val.", "score", "time", "(s)")
    ]
    rows = [line.split() for line in lines[2 : 2 + clf.n_iter_]]
    assert [int(r[0]) for r in rows] == list(range(1, clf.n_iter_ + 1))
    np.testing.assert_allclose([float(r[1]) for r in rows], clf.loss_curve_, rtol=1e-9)
    np.testing.assert_allclose(
        [float(r[3]) for r in rows], clf.validation_loss_curve_, atol=1e-6
    )
    np.testing.assert_allclose(
        [float(r[4]) for r in rows], clf.validation_scores_, atol=1e-6
    )
    assert all(float(r[2]) >= 0 and float(r[5]) >= 0 for r in rows)


def test_verbose_zero_prints_nothing(small, capsys):
    X, y = small
    for solver in SOLVERS:
        BackpropClassifier(
            hidden_layer_sizes=(3,),
            solver=solver,
            max_iter=50,
            max_fun=200,
            early_stopping=True,
        ).fit(X, y)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


# ---------------------------------------------------------------------------
# scikit-learn's callback API
# ---------------------------------------------------------------------------


class Recorder:
    """A minimal FitCallback recording the hooks called."""

    def __init__(self, stop_at=None):
        self.events = []
        self.stop_at = stop_at

    def setup(self, estimator, context):
        self.events.append(("setup", context.task_name))

    def on_fit_task_begin(self, estimator, context, *, fitted_estimator=None):
        self.events.append(("begin", context.task_name, context.task_id))

    def on_fit_task_end(self, estimator, context, *, fitted_estimator=None):
        self.events.append(("end", context.task_name, context.task_id))
        if context.task_name == "iteration" and fitted_estimator is not None:
            self.last_fitted = fitted_estimator
            self.last_thetas = [t.copy() for t in fitted_estimator.thetas_]
            return self.stop_at is not None and context.task_id + 1 >= self.stop_at
        return False

    def teardown(self, estimator, context):
        self.events.append(("teardown", context.task_name))


def check_no_callback_api(clf):
    """The documented fallback where scikit-learn predates its callback API (1.9).

    There is no ``sklearn.callback`` to import and the estimator has no
    ``set_callbacks``; it fits as it does with the API and no callbacks set.
    """
    assert not HAS_SKLEARN_CALLBACKS
    with pytest.raises(ImportError):
        importlib.import_module("sklearn.callback")
    assert not hasattr(clf, "set_callbacks")


@pytest.mark.parametrize("solver", ["L-BFGS-B", "TNC", "trust-ncg"])
def test_sklearn_callbacks_see_every_iteration(iris, solver):
    X, y = iris
    recorder = Recorder()
    clf = BackpropClassifier(hidden_layer_sizes=(3,), solver=solver, random_state=0)
    if HAS_SKLEARN_CALLBACKS:
        clf.set_callbacks(recorder).fit(X, y)
        names = [e[0] for e in recorder.events]
        assert names[0] == "setup" and names[-1] == "teardown"
        iter_ends = [e for e in recorder.events if e[:2] == ("end", "iteration")]
        # One subtask per iteration, plus the never-run one that close() ends.
        assert len(iter_ends) == clf.n_iter_ + 1
        assert [e[2] for e in iter_ends] == list(range(clf.n_iter_ + 1))
        assert names.count("begin") == names.count("end") == clf.n_iter_ + 2
    else:
        check_no_callback_api(clf)
        clf.fit(X, y)
        assert clf.n_iter_ > 0 and recorder.events == []
    # The same fit with and without callbacks.
    plain = BackpropClassifier(hidden_layer_sizes=(3,), solver=solver, random_state=0)
    np.testing.assert_array_equal(unroll(plain.fit(X, y).thetas_), unroll(clf.thetas_))


def test_sklearn_callback_gets_a_fitted_estimator_and_can_stop(iris):
    X, y = iris
    recorder = Recorder(stop_at=4)
    clf = BackpropClassifier(hidden_layer_sizes=(3,), random_state=0)
    if HAS_SKLEARN_CALLBACKS:
        clf.set_callbacks(recorder).fit(X, y)
        assert clf.n_iter_ == 4
        # The fitted estimator handed to the callback at iteration 4 predicts
        # with that iteration's weights, which training kept.
        np.testing.assert_array_equal(unroll(recorder.last_thetas), unroll(clf.thetas_))
        np.testing.assert_array_equal(recorder.last_fitted.predict(X), clf.predict(X))
    else:
        # No callback can stop training: it runs to convergence, as a plain fit.
        check_no_callback_api(clf)
        clf.fit(X, y)
        plain = BackpropClassifier(hidden_layer_sizes=(3,), random_state=0).fit(X, y)
        assert clf.n_iter_ == plain.n_iter_ > 4
        np.testing.assert_array_equal(unroll(plain.thetas_), unroll(clf.thetas_))


@pytest.mark.parametrize("sample_weight", [np.ones(150), np.arange(150) % 3 + 1.0])
def test_callbacks_score_the_training_rows_left_after_the_hold_out(iris, sample_weight):
    # The callbacks got the training rows left after early stopping's
    # hold-out with the weights of all rows: "inconsistent numbers of
    # samples: [135, 135, 150]".
    X, y = iris
    params = dict(early_stopping=True, hidden_layer_sizes=(3,), random_state=0)
    clf = BackpropClassifier(**params)
    if not HAS_SKLEARN_CALLBACKS:
        check_no_callback_api(clf)
        return
    from sklearn.callback import ScoringMonitor

    monitor = ScoringMonitor(scoring="accuracy")
    clf.set_callbacks(monitor).fit(X, y, sample_weight=sample_weight)
    scores = [row["accuracy"] for row in monitor.get_logs().data]
    assert len(scores) == clf.n_iter_ + 1 and all(0 <= a <= 1 for a in scores)
    plain = BackpropClassifier(**params).fit(X, y, sample_weight=sample_weight)
    np.testing.assert_array_equal(unroll(plain.thetas_), unroll(clf.thetas_))


def test_progress_bar(iris):
    X, y = iris
    clf = BackpropClassifier(hidden_layer_sizes=(3,), solver="CG", random_state=0)
    if HAS_SKLEARN_CALLBACKS:
        from sklearn.callback import ProgressBar

        clf.set_callbacks(ProgressBar()).fit(X, y)
    else:
        check_no_callback_api(clf)
        clf.fit(X, y)
    plain = BackpropClassifier(hidden_layer_sizes=(3,), solver="CG", random_state=0)
    np.testing.assert_array_equal(unroll(plain.fit(X, y).thetas_), unroll(clf.thetas_))


def test_works_without_sklearn_callback_module():
    code = textwrap.dedent(
        """
        import sys
        # Import what skbackprop uses from scikit-learn first (parts of
        # scikit-learn itself import sklearn.callback), then hide the module
        # as if scikit-learn were older than 1.9.
        import sklearn.base, sklearn.metrics, sklearn.model_selection
        import sklearn.preprocessing, sklearn.utils.class_weight
        from sklearn.datasets import load_iris
        sys.modules["sklearn.callback"] = None
        from skbackprop import BackpropClassifier
        import skbackprop._compat as m
        assert not m.HAS_SKLEARN_CALLBACKS
        X, y = load_iris(return_X_y=True)
        clf = BackpropClassifier(hidden_layer_sizes=(3,), random_state=0).fit(X, y)
        assert not hasattr(clf, "set_callbacks")
        print("score", clf.score(X, y))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert float(out.split()[-1]) > 0.9


def test_roll_of_fitted_thetas_roundtrips(small):
    X, y = small
    clf = BackpropClassifier(hidden_layer_sizes=(3,), random_state=0).fit(X, y)
    for a, b in zip(roll(unroll(clf.thetas_), clf.layer_sizes_), clf.thetas_):
        np.testing.assert_array_equal(a, b)


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


def test_interrupt_with_early_stopping_keeps_best_validation_weights(
    noisy, monkeypatch, interrupt_after
):
    X, y = noisy
    interrupt_after(6)
    with pytest.warns(ConvergenceWarning, match="interrupted"):
        clf = fit_early_stopping(X, y, "trust-ncg")
    scores = np.asarray(clf.validation_scores_)
    assert clf.n_iter_ == len(scores) == 6
    last_best = len(scores) - 1 - int(np.argmax(scores[::-1]))
    assert clf.loss_ == pytest.approx(clf.loss_curve_[last_best], rel=1e-12)


@pytest.mark.parametrize("solver", ["Newton-CG", "trust-ncg", "TNC"])
def test_non_finite_cost_is_a_clear_error_for_new_solvers(iris, monkeypatch, solver):
    X, y = iris
    real = placement_module.make_cost_function
    calls = [0]

    def nan_after_three(*args, **kwargs):
        fun = real(*args, **kwargs)

        def wrapped(p):
            calls[0] += 1
            J, grad = fun(p)
            return (np.nan, grad) if calls[0] > 3 else (J, grad)

        return wrapped

    monkeypatch.setattr(placement_module, "make_cost_function", nan_after_three)
    clf = BackpropClassifier(hidden_layer_sizes=(3,), solver=solver, random_state=0)
    with pytest.raises(ValueError, match="became NaN or infinite"):
        clf.fit(X, y)
    assert not hasattr(clf, "thetas_")


def test_loss_curve_display_draws_early_stopping_scores(noisy):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from skbackprop.inspection import LossCurveDisplay

    clf = fit_early_stopping(*noisy, "L-BFGS-B")
    display = LossCurveDisplay.from_estimator(clf)
    _, scores = display.validation_line_.get_data()
    np.testing.assert_array_equal(scores, clf.validation_scores_)
    _, loss = display.line_.get_data()
    np.testing.assert_array_equal(loss, clf.loss_curve_)
    plt.close(display.figure_)
