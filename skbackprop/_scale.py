"""Valid but hopeless input, told: data on a scale the network cannot start from.

The course's network starts from small random weights and expects inputs
(and, for the regressor, targets) of about unit size. Far from it, a fit
still runs and returns a model, but a poor one, silently: features times
1e4 saturate every sigmoid unit from the first evaluation, targets of 1e8
make the first step throw the weights into saturation, and validation data
on another scale than the training data (an ``X_val`` that a Pipeline did
not transform, a ``y_val`` that ``TransformedTargetRegressor`` did not)
score a network that never saw anything like them. Each check here costs
one pass over the data (a sum of squares per column), no forward pass, and
says what to do. The thresholds were chosen from measurements on
scikit-learn's bundled sets, listed on the reliability page.
"""

import warnings

import numpy as np
import scipy.sparse

from ._solver import caller_stacklevel
from .backprop._array_api import is_array_api_array, namespace_and_device, to_numpy

#: The typical size of the first layer's inputs ``z(2)`` at the initial
#: weights above which a fit is warned about. 3-fold accuracy of the
#: default network falls from about 100 on (raw wine: 187, 0.955 against
#: 0.977 standardised; raw breast cancer: 247, 0.90 against 0.98; digits
#: pixels x10: 93, 0.88 against 0.98); standardised data give about 1, raw
#: iris 2, raw digits 9, and scikit-learn's checks at most 116 (features of
#: mean 100 in check_fit_idempotent, with no hidden layer), which the limit
#: leaves out.
INPUT_SCALE_LIMIT = 150.0

#: The root mean square of a regressor's targets above which a fit is
#: warned about. R² (3-fold, standardised X) falls from there: friedman1's
#: y + 1000 (rms 1.0e3) 0.79 against 0.97, make_regression's y * 100
#: (1.9e4) 0.88 against 0.98; diabetes' raw y has 171, make_regression's 190.
TARGET_SCALE_LIMIT = 1e3

#: The factor by which the columns' root mean squares in the validation data
#: may differ from the training data's (the median over the columns of the
#: larger of the ratio and its inverse). Splits of seven scikit-learn sets
#: (5 to 30 validation rows, 20 seeds, raw or after one of three scalers)
#: reach 4.3 at most (iris, 5 rows), 2.0 but for that one; an X_val left
#: raw while X was scaled gives 8 to 32 on breast cancer, diabetes and
#: digits (2.4 to 8 on iris and wine, milder cases that may pass).
VALIDATION_SCALE_FACTOR = 5.0

#: The factor beyond which ``y_val`` is refused: targets standardised by
#: ``TransformedTargetRegressor`` against raw ones differ by far more.
TARGET_VALIDATION_FACTOR = 100.0


def _tell(message):
    """A ``UserWarning`` pointing at the line that called ``fit``."""
    warnings.warn(message, UserWarning, stacklevel=caller_stacklevel())


def _size(value):
    """``value`` for a message: beyond float64 when it overflowed."""
    return f"{value:.3g}" if np.isfinite(value) else "beyond float64's range"


def column_mean_squares(X):
    """The mean of each column's squared values, float64 on the host.

    A sum of squares per column, accumulated in float64 (an overflow is
    ``inf``, which counts as large); sparse ``X`` uses its stored values,
    an Array API ``X`` is reduced where it lies.
    """
    n_samples = X.shape[0]
    with np.errstate(over="ignore", invalid="ignore"):
        if is_array_api_array(X):
            xp, _ = namespace_and_device(X)
            sums = to_numpy(xp.sum(X * X, axis=0))
        elif scipy.sparse.issparse(X):
            sums = np.asarray(X.multiply(X).sum(axis=0)).ravel()
        else:
            sums = np.einsum("ij,ij->j", X, X, dtype=np.float64)
    return np.asarray(sums, dtype=np.float64) / max(n_samples, 1)


def initial_input_scale(mean_squares, epsilon):
    """The typical ``|z(2)|`` at weights uniform in ``[-epsilon, epsilon]``.

    ``z = Theta[:, 0] + Theta[:, 1:] x`` has variance
    ``epsilon**2 / 3 * (1 + ||x||**2)`` over the random weights; its root
    mean over the rows is this.
    """
    with np.errstate(over="ignore"):
        return float(epsilon / np.sqrt(3.0) * np.sqrt(1.0 + np.sum(mean_squares)))


def warn_if_inputs_saturate(mean_squares, layer_sizes, epsilon_init, name):
    """Warn when the inputs are so large that the first layer starts saturated.

    ``mean_squares`` are :func:`column_mean_squares` of ``X``; ``name`` is
    the estimator's, for the recipe in the message.
    """
    epsilon = epsilon_init
    if epsilon is None:  # init_thetas' default for the first layer
        epsilon = np.sqrt(6.0) / np.sqrt(layer_sizes[0] + layer_sizes[1])
    scale = initial_input_scale(mean_squares, epsilon)
    if not scale <= INPUT_SCALE_LIMIT:
        with np.errstate(over="ignore"):
            rms = np.sqrt(np.mean(mean_squares))
        _tell(
            f"X's features are large (root mean square {_size(rms)}): at the "
            "initial weights the first layer's inputs z(2) are of typical size "
            f"{_size(scale)}, so its units start saturated (relu units: huge) and "
            "the network learns slowly, to a poor model. Scale the features, "
            f"e.g. make_pipeline(StandardScaler(), {name}())."
        )


def warn_if_targets_are_large(Y):
    """Warn when a regressor's targets are far from unit size."""
    with np.errstate(over="ignore"):  # inf counts as large
        rms = float(np.sqrt(np.mean(np.square(Y))))
    if not rms <= TARGET_SCALE_LIMIT:
        _tell(
            f"y is large (root mean square {_size(rms)}): the network's outputs "
            "start near 0, and the first steps towards such targets saturate "
            "its hidden units. Scale the targets, e.g. "
            "TransformedTargetRegressor(BackpropRegressor(), "
            "transformer=StandardScaler()) (with early_stopping=True rather "
            "than y_val, which it does not transform)."
        )


def scale_factors(mean_squares, mean_squares_val):
    """Per column, how many times larger one set's root mean square is (>= 1).

    The larger of the ratio of the validation and training root mean squares
    and its inverse, so that columns grown and columns shrunk both count.
    Columns zero in both are left out; a column zero in one only gives
    ``inf``.
    """
    keep = (mean_squares > 0) | (mean_squares_val > 0)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        ratio = np.sqrt(mean_squares_val[keep] / mean_squares[keep])
        return np.maximum(ratio, 1.0 / ratio)


def warn_if_validation_scale_differs(mean_squares, mean_squares_val):
    """Warn when ``X_val``'s columns are on another scale than ``X``'s.

    From both sets' :func:`column_mean_squares`: the median over the columns
    of :func:`scale_factors` above
    ``VALIDATION_SCALE_FACTOR``: the case of a Pipeline that transformed
    ``X`` but not ``X_val``.
    """
    factors = scale_factors(mean_squares, mean_squares_val)
    if factors.size == 0:
        return
    factor = float(np.median(factors))
    if not factor <= VALIDATION_SCALE_FACTOR:
        _tell(
            f"X_val's columns are on another scale than X's (their root mean "
            f"squares differ by a median factor of {factor:.3g}): validation "
            "data must be transformed as the training data were. In a "
            "Pipeline, pass Pipeline(..., transform_input=['X_val']) so that "
            "its steps transform X_val before the network sees it."
        )


def check_validation_target_scale(Y, Y_val):
    """Refuse regression targets ``y_val`` on a far other scale than ``y``.

    ``TransformedTargetRegressor`` transforms ``y`` and hands ``y_val`` to
    the network as it is: standardised targets against raw ones differ by
    far more than :data:`TARGET_VALIDATION_FACTOR` in their location or
    spread (measured by each output's mean and standard deviation).
    """
    mean, std = Y.mean(axis=0), Y.std(axis=0)
    mean_val, std_val = Y_val.mean(axis=0), Y_val.std(axis=0)
    spread = np.where(std > 0, std, np.maximum(np.abs(mean), 1.0))
    shift = np.abs(mean_val - mean) / spread
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(std_val > 0, std_val / spread, 1.0)
    factor = TARGET_VALIDATION_FACTOR
    if np.all(shift <= factor) and np.all((1 / factor <= ratio) & (ratio <= factor)):
        return
    extreme = ratio.ravel()[np.argmax(np.abs(np.log(ratio)).ravel())]
    raise ValueError(
        "y_val is on another scale than y: its mean is "
        f"{np.max(shift):.3g} standard deviations of y away from y's (its "
        f"spread {extreme:.3g} times y's). TransformedTargetRegressor "
        "transforms y but passes y_val as it is: use early_stopping=True "
        "without X_val and y_val (the hold-out is cut from the transformed y), "
        "or pass y_val transformed as y."
    )
