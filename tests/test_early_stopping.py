"""early_stopping: a hold-out, the best validated weights kept, its display.

Validation data given to fit (``X_val``) are in ``test_validation_data.py``.
"""

import warnings

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning

from skbackprop import BackpropClassifier

from _helpers import SOLVERS


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
