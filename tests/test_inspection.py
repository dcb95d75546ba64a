"""Tests of skbackprop.inspection, drawn with matplotlib's Agg backend."""

import sys

import matplotlib
import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler

from skbackprop import BackpropClassifier
from skbackprop.inspection import HiddenUnitsDisplay, LossCurveDisplay

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def digits_clf():
    X, y = load_digits(return_X_y=True)
    clf = BackpropClassifier(hidden_layer_sizes=(6,), tol=1e-3, random_state=0)
    return clf.fit(X[:300] / 16.0, y[:300])


def _rendered_pixels(figure):
    figure.canvas.draw()
    return np.asarray(figure.canvas.buffer_rgba())[..., :3]


def _assert_not_blank(pixels):
    # A blank canvas is one colour; a drawing has many, spread over the image.
    colours = np.unique(pixels.reshape(-1, 3), axis=0)
    assert len(colours) > 10
    assert pixels.std() > 10


# ---------------------------------------------------------------------------
# HiddenUnitsDisplay
# ---------------------------------------------------------------------------


def test_hidden_units_montage_holds_each_units_scaled_weights(digits_clf):
    display = HiddenUnitsDisplay.from_estimator(digits_clf)
    # 6 units -> a 3 x 3 grid (ceil(sqrt(6)) columns, 2 rows) of 8 x 8 patches.
    assert display.montage_.shape == (1 + 2 * 9, 1 + 3 * 9)
    W = digits_clf.thetas_[0][:, 1:]
    for k in range(6):
        top, left = 1 + (k // 3) * 9, 1 + (k % 3) * 9
        expected = W[k].reshape(8, 8) / np.abs(W[k]).max()
        np.testing.assert_allclose(
            display.montage_[top : top + 8, left : left + 8], expected
        )
    # The padding lines between the patches are -1 (black).
    assert np.all(display.montage_[[0, 9, 18], :] == -1.0)
    assert np.all(display.montage_[:, [0, 9, 18, 27]] == -1.0)


def test_hidden_units_pixel_order_and_shape():
    # Unit 0 weighs only the pixel in row 1, column 2 of a 3 x 4 image,
    # stored row by row ("C", index 1 * 4 + 2 = 6) or column by column
    # ("F", index 2 * 3 + 1 = 7).
    for order, index in (("C", 6), ("F", 7)):
        weights = np.zeros((2, 12))
        weights[0, index] = -0.5
        weights[1] = 1.0
        display = HiddenUnitsDisplay(weights, image_shape=(3, 4), order=order)
        display.plot(n_cols=2, padding=2)
        patch = display.montage_[2:5, 2:6]
        expected = np.zeros((3, 4))
        expected[1, 2] = -1.0  # scaled by the largest absolute weight
        np.testing.assert_array_equal(patch, expected)
        np.testing.assert_array_equal(display.montage_[2:5, 8:12], np.ones((3, 4)))
        assert display.montage_.shape == (2 + 3 + 2, 2 + 2 * (4 + 2))


def test_hidden_units_image_is_drawn(digits_clf):
    fig, ax = plt.subplots(figsize=(4, 3), dpi=100)
    display = HiddenUnitsDisplay.from_estimator(digits_clf, ax=ax)
    assert display.ax_ is ax
    assert display.figure_ is fig
    np.testing.assert_array_equal(display.im_.get_array(), display.montage_)
    assert display.im_.get_clim() == (-1.0, 1.0)
    pixels = _rendered_pixels(fig)
    assert pixels.shape == (300, 400, 3)
    _assert_not_blank(pixels)


def test_hidden_units_new_figure_and_pipeline():
    X, y = load_digits(return_X_y=True)
    model = make_pipeline(
        MinMaxScaler(),
        BackpropClassifier(hidden_layer_sizes=(4,), tol=1e-3, random_state=0),
    ).fit(X[:200], y[:200])
    display = HiddenUnitsDisplay.from_estimator(model, cmap="viridis")
    assert display.ax_.figure is display.figure_
    W = model[-1].thetas_[0][:, 1:]
    np.testing.assert_allclose(
        display.montage_[1:9, 1:9], W[0].reshape(8, 8) / np.abs(W[0]).max()
    )
    _assert_not_blank(_rendered_pixels(display.figure_))


def test_hidden_units_errors(digits_clf):
    with pytest.raises(NotFittedError):
        HiddenUnitsDisplay.from_estimator(BackpropClassifier())
    with pytest.raises(ValueError, match="not a square number.*image_shape"):
        HiddenUnitsDisplay(np.ones((2, 12))).plot()
    with pytest.raises(ValueError, match="pair of positive ints"):
        HiddenUnitsDisplay.from_estimator(digits_clf, image_shape=(4, 8, 2))
    with pytest.raises(ValueError, match="does not fit the network's 64 inputs"):
        HiddenUnitsDisplay.from_estimator(digits_clf, image_shape=(7, 9))
    with pytest.raises(ValueError, match="order must be"):
        HiddenUnitsDisplay.from_estimator(digits_clf, order="A")
    with pytest.raises(ValueError, match="n_cols must be a positive int"):
        HiddenUnitsDisplay.from_estimator(digits_clf, n_cols=0)
    with pytest.raises(ValueError, match="padding must be"):
        HiddenUnitsDisplay.from_estimator(digits_clf, padding=-1)
    with pytest.raises(ValueError, match="2-D array"):
        HiddenUnitsDisplay(np.ones(64)).plot()


def test_hidden_units_zero_weights_do_not_divide_by_zero():
    display = HiddenUnitsDisplay(np.zeros((1, 4))).plot()
    np.testing.assert_array_equal(display.montage_[1:3, 1:3], np.zeros((2, 2)))


# ---------------------------------------------------------------------------
# LossCurveDisplay
# ---------------------------------------------------------------------------


def test_loss_curve_draws_loss_curve(digits_clf):
    fig, ax = plt.subplots(figsize=(5, 4), dpi=80)
    display = LossCurveDisplay.from_estimator(digits_clf, ax=ax)
    assert display.ax_ is ax and display.figure_ is fig
    x, y = display.line_.get_data()
    np.testing.assert_array_equal(x, np.arange(1, len(digits_clf.loss_curve_) + 1))
    np.testing.assert_array_equal(y, digits_clf.loss_curve_)
    assert "BackpropClassifier" in display.line_.get_label()
    if getattr(digits_clf, "validation_scores_", None) is None:
        assert display.validation_line_ is None
        assert display.validation_ax_ is None
    pixels = _rendered_pixels(fig)
    assert pixels.shape == (320, 400, 3)
    _assert_not_blank(pixels)


def test_loss_curve_draws_validation_scores_when_present():
    X, y = load_digits(return_X_y=True)
    est = BackpropClassifier(hidden_layer_sizes=(3,), max_iter=4, random_state=0)
    with pytest.warns(ConvergenceWarning):
        est.fit(X[:100] / 16.0, y[:100])
    # As a fit with early stopping records them (set here by hand, so that
    # this test does not depend on that feature).
    est.validation_scores_ = [0.5, 0.7, 0.8, 0.75]
    display = LossCurveDisplay.from_estimator(est, name="net")
    assert display.line_.get_label() == "net: loss J"
    assert display.validation_ax_ is not None
    assert display.validation_ax_ is not display.ax_
    x, y = display.validation_line_.get_data()
    np.testing.assert_array_equal(x, [1, 2, 3, 4])
    np.testing.assert_array_equal(y, est.validation_scores_)
    # One legend for both curves, on the twin axes that is drawn on top.
    legend = display.validation_ax_.get_legend()
    assert [t.get_text() for t in legend.get_texts()] == [
        "net: loss J",
        "validation score",
    ]
    assert display.ax_.get_legend() is None


def test_loss_curve_draws_the_validation_loss_curve():
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    est = BackpropClassifier(hidden_layer_sizes=(5,), random_state=0)
    est.fit(X[:300], y[:300], X_val=X[300:400], y_val=y[300:400])
    display = LossCurveDisplay.from_estimator(est, name="net")
    # On the axes of J (same units), dashed; the scores on the twin axes.
    assert display.validation_loss_line_.axes is display.ax_
    assert display.validation_loss_line_.get_linestyle() == "--"
    x, y_drawn = display.validation_loss_line_.get_data()
    np.testing.assert_array_equal(x, np.arange(1, est.n_iter_ + 1))
    np.testing.assert_array_equal(y_drawn, est.validation_loss_curve_)
    np.testing.assert_array_equal(
        display.validation_line_.get_data()[1], est.validation_scores_
    )
    legend = display.validation_ax_.get_legend()
    assert [t.get_text() for t in legend.get_texts()] == [
        "net: loss J",
        "validation loss (no penalty)",
        "validation score",
    ]
    _assert_not_blank(_rendered_pixels(display.figure_))


def test_loss_curve_without_validation_scores():
    display = LossCurveDisplay(loss_curve=[3.0, 2.0], validation_scores=[]).plot()
    assert display.validation_line_ is None
    assert display.validation_loss_line_ is None
    assert display.line_.get_label() == "loss J"
    legend = display.ax_.get_legend()
    assert [t.get_text() for t in legend.get_texts()] == ["loss J"]


def test_loss_curve_errors():
    with pytest.raises(NotFittedError):
        LossCurveDisplay.from_estimator(BackpropClassifier())
    with pytest.raises(ValueError, match="loss_curve is empty"):
        LossCurveDisplay(loss_curve=[]).plot()


# ---------------------------------------------------------------------------
# matplotlib is optional
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make",
    [
        lambda: HiddenUnitsDisplay(np.ones((1, 4))),
        lambda: LossCurveDisplay(loss_curve=[1.0]),
    ],
)
def test_clear_error_without_matplotlib(monkeypatch, make):
    display = make()
    # A None entry in sys.modules makes `import` raise ImportError.
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match="requires matplotlib.*pip install"):
        display.plot()


def test_inspection_imports_without_matplotlib(monkeypatch):
    import importlib

    import skbackprop.inspection as inspection

    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    reloaded = importlib.reload(inspection)
    assert reloaded.HiddenUnitsDisplay.__name__ == "HiddenUnitsDisplay"
