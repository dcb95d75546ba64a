"""scikit-learn's callback API (sklearn.callback): iterations, stopping, progress.

Callbacks see every iteration and the training rows left after a hold-out,
can stop the fit, and see an unfitted estimator during its first fit; without
the callback module the estimator still works. Each backend's callbacks are
tested in its module.
"""

import importlib
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

import skbackprop._base as base_module
from skbackprop import BackpropClassifier
from skbackprop._compat import HAS_SKLEARN_CALLBACKS
from skbackprop.backprop import unroll

from _helpers import iris_scaled


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


def _probe(estimator):
    """``(check_is_fitted passes, what predict gives)`` for ``estimator``."""
    X_iris, _ = iris_scaled()
    try:
        check_is_fitted(estimator)
        fitted = True
    except NotFittedError:
        fitted = False
    try:
        predicted = estimator.predict(X_iris).shape
    except NotFittedError:
        predicted = "NotFittedError"
    return fitted, predicted


class _ProbeDuringFit:
    """A scikit-learn callback that probes the live estimator as fit begins."""

    def __init__(self):
        self.seen = []

    def setup(self, estimator, context):
        pass

    def on_fit_task_begin(self, estimator, context, *, fitted_estimator=None):
        if context.task_name == "fit":
            self.seen.append(_probe(estimator))

    def on_fit_task_end(self, estimator, context, *, fitted_estimator=None):
        return False

    def teardown(self, estimator, context):
        pass


def test_estimator_during_its_first_fit_is_not_fitted(monkeypatch):
    """check_is_fitted says fitted exactly when predict works (no AttributeError).

    Validation sets ``n_features_in_`` at the start of fit; what the solver
    (and a callback) then sees of the estimator is probed during the fit.
    """
    X_iris, y_iris = iris_scaled()
    est = BackpropClassifier(hidden_layer_sizes=(3,), tol=1e-4)
    seen = []
    real = base_module.minimize_network

    def probing(*args, **kwargs):
        seen.append((hasattr(est, "n_features_in_"), *_probe(est)))
        return real(*args, **kwargs)

    monkeypatch.setattr(base_module, "minimize_network", probing)
    est.fit(X_iris, y_iris)
    est.fit(X_iris, y_iris)  # a refit sees the previous model
    assert seen == [(True, False, "NotFittedError"), (True, True, (150,))]
    with pytest.raises(NotFittedError):
        check_is_fitted(BackpropClassifier())
    monkeypatch.undo()

    if HAS_SKLEARN_CALLBACKS:  # the instance: a callback's live estimator
        probe = _ProbeDuringFit()
        est = BackpropClassifier(hidden_layer_sizes=(3,), tol=1e-4)
        est.set_callbacks(probe).fit(X_iris, y_iris)
        est.fit(X_iris, y_iris)
        assert probe.seen == [(False, "NotFittedError"), (True, (150,))]
    else:  # scikit-learn < 1.9: no callbacks to see it
        assert not hasattr(est, "set_callbacks")
