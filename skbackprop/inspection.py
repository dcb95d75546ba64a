"""Pictures of what a fitted network learned.

Two displays that follow scikit-learn's Display convention (a
``from_estimator`` class method that computes and plots, a ``plot`` method
that draws on a given or new axes, and the ``figure_`` and ``ax_`` attributes
afterwards):

* :class:`HiddenUnitsDisplay` draws the first layer's weights, one row of
  ``Theta(1)`` per hidden unit, as a grid of images: the course's picture of
  what the hidden units look for in the input image.
* :class:`LossCurveDisplay` draws the cost ``J`` after each optimizer
  iteration (``loss_curve_``), and the validation loss and scores when the
  estimator recorded them.
* :class:`AlphaPathDisplay` draws a path estimator's mean fold score against
  lambda, with its spread over the folds and the chosen lambda marked.

matplotlib is an optional dependency, imported only when something is drawn.
"""

import math
import numbers

import numpy as np
from sklearn.utils.validation import check_is_fitted

from ._dispatch import fitted_on_host

__all__ = ["AlphaPathDisplay", "HiddenUnitsDisplay", "LossCurveDisplay"]


def _import_pyplot(what):
    """Import ``matplotlib.pyplot`` or raise an ImportError saying how to get it."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(
            f"{what} requires matplotlib, which is not installed. Install it with "
            "`pip install matplotlib` (or `pip install 'skbackprop[docs]'`)."
        ) from exc
    return plt


def _final_estimator(estimator):
    """The network itself: ``estimator``, or the last step of a Pipeline."""
    steps = getattr(estimator, "steps", None)
    if steps is not None:
        return steps[-1][1]
    return estimator


def _image_shape_for(n_inputs, image_shape):
    """Check or infer the ``(height, width)`` of an input image."""
    if image_shape is None:
        side = math.isqrt(n_inputs)
        if side * side != n_inputs:
            raise ValueError(
                f"The network has {n_inputs} inputs, which is not a square number, "
                "so the image shape cannot be inferred; pass "
                "image_shape=(height, width) with height * width == "
                f"{n_inputs}."
            )
        return (side, side)
    try:
        height, width = (int(s) for s in image_shape)
    except (TypeError, ValueError):
        raise ValueError(
            f"image_shape must be a pair of positive ints (height, width), got "
            f"{image_shape!r}."
        ) from None
    if height <= 0 or width <= 0 or height * width != n_inputs:
        raise ValueError(
            f"image_shape={tuple(image_shape)!r} does not fit the network's "
            f"{n_inputs} inputs: height * width must equal {n_inputs}."
        )
    return (height, width)


def _montage(weights, image_shape, order, n_cols, padding):
    """The course's ``displayData``: one image per row of ``weights``, in a grid.

    Each row is reshaped to ``image_shape`` and divided by its largest
    absolute value, so every patch uses the full range ``[-1, 1]``; patches
    are separated by ``padding`` pixels of ``-1`` (black in gray scale).
    """
    n_units = weights.shape[0]
    height, width = image_shape
    n_rows = math.ceil(n_units / n_cols)
    montage = -np.ones(
        (padding + n_rows * (height + padding), padding + n_cols * (width + padding))
    )
    for k, row in enumerate(weights):
        scale = np.max(np.abs(row))
        patch = row.reshape(image_shape, order=order) / (scale if scale > 0 else 1.0)
        top = padding + (k // n_cols) * (height + padding)
        left = padding + (k % n_cols) * (width + padding)
        montage[top : top + height, left : left + width] = patch
    return montage


class HiddenUnitsDisplay:
    """The first layer's weights drawn as images, one per hidden unit.

    Each hidden unit ``j`` computes ``g(Theta(1)[j, 0] + Theta(1)[j, 1:] x)``,
    so the weights ``Theta(1)[j, 1:]``, laid out like the input image, show
    the pattern of pixels that excites the unit (light) or inhibits it
    (dark). This is the picture of the course's exercise 4 (its
    ``displayData(Theta1(:, 2:end))``): each patch is scaled by its largest
    absolute weight and the patches are set in a grid.

    Use :meth:`from_estimator` to make one from a fitted network; the
    constructor takes the weights directly.

    Parameters
    ----------
    weights : ndarray of shape (n_units, n_inputs)
        One row per unit: ``Theta(1)`` without its bias column 0.
    image_shape : tuple of (int, int) or None, default=None
        ``(height, width)`` of an input image. ``None`` infers a square
        shape, which needs ``n_inputs`` to be a square number.
    order : {"C", "F"}, default="C"
        How an image was flattened into a row of ``X``: ``"C"`` row by row
        (scikit-learn's ``load_digits``, ``images.reshape(n, -1)``), ``"F"``
        column by column (the course's Octave data, ``X(i, :) = image(:)'``).

    Attributes
    ----------
    montage_ : ndarray of shape (grid_height, grid_width)
        The image drawn: the scaled patches in ``[-1, 1]``, separated by
        padding pixels of value ``-1``.
    im_ : matplotlib.image.AxesImage
        The image artist.
    ax_ : matplotlib.axes.Axes
        Axes holding the picture.
    figure_ : matplotlib.figure.Figure
        Figure holding the axes.

    See Also
    --------
    LossCurveDisplay : the cost after each iteration.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skbackprop import BackpropClassifier
    >>> from skbackprop.inspection import HiddenUnitsDisplay
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = BackpropClassifier(hidden_layer_sizes=(9,), tol=1e-3, random_state=0)
    >>> clf = clf.fit(X[:300] / 16, y[:300])
    >>> display = HiddenUnitsDisplay.from_estimator(clf)
    >>> display.montage_.shape  # 3 x 3 patches of 8 x 8 pixels, 1 pixel apart
    (28, 28)
    """

    def __init__(self, weights, *, image_shape=None, order="C"):
        self.weights = weights
        self.image_shape = image_shape
        self.order = order

    @classmethod
    def from_estimator(
        cls,
        estimator,
        *,
        image_shape=None,
        order="C",
        n_cols=None,
        padding=1,
        cmap="gray",
        ax=None,
    ):
        """Draw the first layer's weights of a fitted network.

        Parameters
        ----------
        estimator : BackpropClassifier or Pipeline
            A fitted :class:`~skbackprop.BackpropClassifier`, or a fitted
            :class:`~sklearn.pipeline.Pipeline` ending in one (the weights
            then apply to the output of the steps before it, for example to
            scaled pixels).
        image_shape : tuple of (int, int) or None, default=None
            ``(height, width)`` of an input image; ``None`` infers a square
            shape.
        order : {"C", "F"}, default="C"
            How an image was flattened into a row of ``X``; see the class
            docstring.
        n_cols : int or None, default=None
            Patches per row of the grid; ``None`` makes the grid about square.
        padding : int, default=1
            Pixels between patches.
        cmap : str or matplotlib.colors.Colormap, default="gray"
            Colormap, applied to the range ``[-1, 1]``.
        ax : matplotlib.axes.Axes or None, default=None
            Axes to draw on; ``None`` makes a new figure.

        Returns
        -------
        display : HiddenUnitsDisplay
            The display, with ``montage_``, ``im_``, ``ax_`` and ``figure_``.
        """
        network = fitted_on_host(_final_estimator(estimator))
        check_is_fitted(network, "thetas_")
        weights = network.thetas_[0][:, 1:]
        display = cls(weights, image_shape=image_shape, order=order)
        return display.plot(ax=ax, n_cols=n_cols, padding=padding, cmap=cmap)

    def plot(self, ax=None, *, n_cols=None, padding=1, cmap="gray"):
        """Draw the weights as a grid of images.

        Parameters
        ----------
        ax : matplotlib.axes.Axes or None, default=None
            Axes to draw on; ``None`` makes a new figure.
        n_cols : int or None, default=None
            Patches per row of the grid; ``None`` makes the grid about square.
        padding : int, default=1
            Pixels between patches.
        cmap : str or matplotlib.colors.Colormap, default="gray"
            Colormap, applied to the range ``[-1, 1]``.

        Returns
        -------
        display : HiddenUnitsDisplay
            The display, with ``montage_``, ``im_``, ``ax_`` and ``figure_``.
        """
        weights = np.asarray(self.weights, dtype=np.float64)
        if weights.ndim != 2 or weights.shape[0] == 0:
            raise ValueError(
                "weights must be a 2-D array with one row per unit, got shape "
                f"{weights.shape}."
            )
        if self.order not in ("C", "F"):
            raise ValueError(f'order must be "C" or "F", got {self.order!r}.')
        if n_cols is None:
            n_cols = math.ceil(math.sqrt(weights.shape[0]))
        if (
            isinstance(n_cols, bool)
            or not isinstance(n_cols, numbers.Integral)
            or n_cols < 1
        ):
            raise ValueError(f"n_cols must be a positive int, got {n_cols!r}.")
        if (
            isinstance(padding, bool)
            or not isinstance(padding, numbers.Integral)
            or padding < 0
        ):
            raise ValueError(f"padding must be an int >= 0, got {padding!r}.")
        image_shape = _image_shape_for(weights.shape[1], self.image_shape)
        plt = _import_pyplot("HiddenUnitsDisplay")

        self.montage_ = _montage(weights, image_shape, self.order, n_cols, padding)
        if ax is None:
            _, ax = plt.subplots()
        self.im_ = ax.imshow(
            self.montage_, cmap=cmap, vmin=-1.0, vmax=1.0, interpolation="nearest"
        )
        ax.set_axis_off()
        ax.set_title(f"{weights.shape[0]} units, {image_shape[0]}x{image_shape[1]}")
        self.ax_ = ax
        self.figure_ = ax.figure
        return self


class LossCurveDisplay:
    """The cost ``J`` after each optimizer iteration, and the validation curves.

    Draws ``loss_curve_`` against the iteration number. When the estimator
    also recorded curves on validation data (with ``early_stopping``, or
    ``X_val`` passed to ``fit``), draws ``validation_loss_curve_``, the cost
    without the penalty on the validation data, on the same axes (dashed),
    and ``validation_scores_`` on a second y axis on the right, since a score
    and the cost have different scales. The training curve includes the
    penalty, the validation curve does not: a validation loss that turns up
    while ``J`` still falls is overfitting.

    Use :meth:`from_estimator` to make one from a fitted network.

    Parameters
    ----------
    loss_curve : array-like of shape (n_iter,)
        The cost after each iteration.
    validation_scores : array-like of shape (n_scores,) or None, default=None
        A validation score per iteration, or None.
    name : str or None, default=None
        Label of the loss curve in the legend.
    validation_loss_curve : array-like of shape (n_iter,) or None, default=None
        The cost without the penalty on the validation data per iteration,
        or None.

    Attributes
    ----------
    line_ : matplotlib.lines.Line2D
        The loss curve.
    validation_loss_line_ : matplotlib.lines.Line2D or None
        The validation loss curve, or None when there is none.
    validation_line_ : matplotlib.lines.Line2D or None
        The validation scores, or None when there are none.
    validation_ax_ : matplotlib.axes.Axes or None
        The right-hand axes of the validation scores, or None.
    ax_ : matplotlib.axes.Axes
        Axes of the loss curves.
    figure_ : matplotlib.figure.Figure
        Figure holding the axes.

    See Also
    --------
    HiddenUnitsDisplay : the first layer's weights as images.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from skbackprop import BackpropClassifier
    >>> from skbackprop.inspection import LossCurveDisplay
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = BackpropClassifier(hidden_layer_sizes=(5,), random_state=0)
    >>> clf = clf.fit(X[::2], y[::2], X_val=X[1::2], y_val=y[1::2])
    >>> display = LossCurveDisplay.from_estimator(clf)
    >>> len(display.validation_loss_line_.get_ydata()) == clf.n_iter_
    True
    """

    def __init__(
        self,
        *,
        loss_curve,
        validation_scores=None,
        name=None,
        validation_loss_curve=None,
    ):
        self.loss_curve = loss_curve
        self.validation_scores = validation_scores
        self.name = name
        self.validation_loss_curve = validation_loss_curve

    @classmethod
    def from_estimator(cls, estimator, *, name=None, ax=None):
        """Draw the loss curves of a fitted network.

        Parameters
        ----------
        estimator : BackpropClassifier or Pipeline
            A fitted :class:`~skbackprop.BackpropClassifier`, or a fitted
            :class:`~sklearn.pipeline.Pipeline` ending in one.
        name : str or None, default=None
            Label of the loss curve; ``None`` uses the estimator's class name.
        ax : matplotlib.axes.Axes or None, default=None
            Axes to draw on; ``None`` makes a new figure.

        Returns
        -------
        display : LossCurveDisplay
            The display, with ``line_``, ``ax_`` and ``figure_``.
        """
        network = fitted_on_host(_final_estimator(estimator))
        check_is_fitted(network, "loss_curve_")
        display = cls(
            loss_curve=network.loss_curve_,
            validation_scores=getattr(network, "validation_scores_", None),
            name=type(network).__name__ if name is None else name,
            validation_loss_curve=getattr(network, "validation_loss_curve_", None),
        )
        return display.plot(ax=ax)

    def plot(self, ax=None, *, name=None):
        """Draw the loss curve (and the validation curves, if any).

        Parameters
        ----------
        ax : matplotlib.axes.Axes or None, default=None
            Axes to draw on; ``None`` makes a new figure.
        name : str or None, default=None
            Label of the loss curve; ``None`` uses the ``name`` given to the
            constructor.

        Returns
        -------
        display : LossCurveDisplay
            The display, with ``line_``, ``validation_loss_line_``,
            ``validation_line_``, ``validation_ax_``, ``ax_`` and ``figure_``.
        """
        loss = np.asarray(self.loss_curve, dtype=np.float64).ravel()
        if loss.size == 0:
            raise ValueError(
                "loss_curve is empty: the optimizer ran no iteration, so there "
                "is nothing to draw."
            )
        scores = _curve_or_none(self.validation_scores)
        validation_loss = _curve_or_none(self.validation_loss_curve)
        plt = _import_pyplot("LossCurveDisplay")

        if ax is None:
            _, ax = plt.subplots()
        name = self.name if name is None else name
        label = "loss J" if name is None else f"{name}: loss J"
        (self.line_,) = ax.plot(np.arange(1, loss.size + 1), loss, label=label)
        ax.set_xlabel("iteration")
        ax.set_ylabel("cost J (training)")
        handles = [self.line_]
        self.validation_loss_line_ = None
        if validation_loss is not None:
            (self.validation_loss_line_,) = ax.plot(
                np.arange(1, validation_loss.size + 1),
                validation_loss,
                linestyle="--",
                color="tab:green",
                label="validation loss (no penalty)",
            )
            ax.set_ylabel("cost J")
            handles.append(self.validation_loss_line_)
        self.validation_ax_ = None
        self.validation_line_ = None
        if scores is not None:
            self.validation_ax_ = ax.twinx()
            (self.validation_line_,) = self.validation_ax_.plot(
                np.arange(1, scores.size + 1),
                scores,
                color="tab:orange",
                label="validation score",
            )
            self.validation_ax_.set_ylabel("validation score")
            handles.append(self.validation_line_)
            # The twin axes is drawn on top, so the legend goes there; the
            # falling loss and the rising score usually leave the right
            # middle free.
            self.validation_ax_.legend(handles=handles, loc="center right")
        else:
            ax.legend(handles=handles, loc="best")
        self.ax_ = ax
        self.figure_ = ax.figure
        return self


def _curve_or_none(curve):
    """``curve`` as a 1-D float array, or None when it is None or empty."""
    if curve is None:
        return None
    curve = np.asarray(curve, dtype=np.float64).ravel()
    return curve if curve.size else None


class AlphaPathDisplay:
    """A path estimator's cross-validated score against lambda.

    Draws the mean fold score at each lambda of ``alphas_`` on a log axis,
    a band of one standard deviation over the folds, and a vertical line at
    the chosen ``alpha_``. Use :meth:`from_estimator` on a fitted
    :class:`~skbackprop.BackpropClassifierCV` or
    :class:`~skbackprop.BackpropRegressorCV` (or a Pipeline ending in one).

    Parameters
    ----------
    alphas : array-like of shape (n_alphas,)
        The lambda values.
    mean_scores, std_scores : array-like of shape (n_alphas,)
        The mean and standard deviation of the fold scores at each lambda.
    alpha : float
        The chosen lambda.

    Attributes
    ----------
    line_ : matplotlib.lines.Line2D
        The mean scores.
    band_ : matplotlib.collections.PolyCollection
        The band of one standard deviation.
    chosen_line_ : matplotlib.lines.Line2D
        The vertical line at the chosen lambda.
    ax_ : matplotlib.axes.Axes
        Axes of the plot.
    figure_ : matplotlib.figure.Figure
        Figure holding the axes.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from skbackprop import BackpropClassifierCV
    >>> from skbackprop.inspection import AlphaPathDisplay
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = BackpropClassifierCV(alphas=[1.0, 0.1], cv=3, random_state=0)
    >>> display = AlphaPathDisplay.from_estimator(clf.fit(X, y))
    >>> display.chosen_line_.get_xdata()[0] == clf.alpha_
    True
    """

    def __init__(self, *, alphas, mean_scores, std_scores, alpha):
        self.alphas = alphas
        self.mean_scores = mean_scores
        self.std_scores = std_scores
        self.alpha = alpha

    @classmethod
    def from_estimator(cls, estimator, *, ax=None):
        """Plot the path of a fitted path estimator (or Pipeline ending in one)."""
        model = _final_estimator(estimator)
        if not hasattr(model, "cv_results_"):
            state = " (not fitted)" if hasattr(model, "alphas") else ""
            raise ValueError(
                "AlphaPathDisplay needs a fitted BackpropClassifierCV or "
                f"BackpropRegressorCV; got {type(model).__name__}{state}."
            )
        results = model.cv_results_
        return cls(
            alphas=results["param_alpha"],  # numpy, wherever the model was fit
            mean_scores=results["mean_test_score"],
            std_scores=results["std_test_score"],
            alpha=model.alpha_,
        ).plot(ax=ax)

    def plot(self, ax=None):
        """Draw on ``ax`` (a new figure when None); return ``self``."""
        plt = _import_pyplot("AlphaPathDisplay")
        if ax is None:
            _, ax = plt.subplots()
        alphas = np.asarray(self.alphas, dtype=float)
        mean = np.asarray(self.mean_scores, dtype=float)
        std = np.asarray(self.std_scores, dtype=float)
        (self.line_,) = ax.semilogx(alphas, mean, "o-", label="mean fold score")
        self.band_ = ax.fill_between(alphas, mean - std, mean + std, alpha=0.2)
        self.chosen_line_ = ax.axvline(
            self.alpha,
            color="gray",
            ls="--",
            lw=0.8,
            label=f"alpha_ = {self.alpha:.3g}",
        )
        ax.set_xlabel("lambda (alpha)")
        ax.set_ylabel("cross-validated score")
        ax.legend()
        self.ax_, self.figure_ = ax, ax.figure
        return self
