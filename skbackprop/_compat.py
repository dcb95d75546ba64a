"""What differs across the supported versions of scikit-learn and scipy.

Every version-dependent import or call lives here, so the rest of the package
reads as if it ran on one version. The supported range is the one
``pyproject.toml`` declares (scikit-learn >= 1.6, scipy >= 1.11.1,
numpy >= 1.24); CI runs the test suite on its oldest and its newest releases.
Each difference is detected by feature, never by comparing version numbers:

* ``NoConvergence`` (what :func:`scipy.optimize.newton_krylov` raises):
  exported from :mod:`scipy.optimize` only by newer scipy; scipy 1.11 defines
  it in the private ``scipy.optimize._nonlin``.
* :func:`compute_class_weight`: the ``sample_weight`` argument of scikit-learn's
  ``compute_class_weight`` (the weighted ``"balanced"`` heuristic) exists only
  in scikit-learn >= 1.7; on older releases the weighted heuristic is computed
  here with scikit-learn's own formula.
* The callback API (``sklearn.callback``, ``set_callbacks``): scikit-learn
  >= 1.9. On older releases the estimator has no ``set_callbacks`` and fits
  without callbacks; ``HAS_SKLEARN_CALLBACKS`` says which.
* Array API dispatch (``array_api_dispatch=True``): the estimators follow
  scikit-learn's convention with its helpers ``move_to`` and
  ``check_same_namespace`` (scikit-learn >= 1.9), and scikit-learn accepts
  the setting only with a recent scipy (>= 1.14). ``HAS_ARRAY_API`` says
  whether both hold; where they do not, the estimators take numpy inputs only
  (their ``array_api_support`` tag is False). The Array API evaluators of
  :mod:`skbackprop.backprop` need neither.
"""

import inspect

import numpy as np
from sklearn import config_context
from sklearn.utils._array_api import (
    _estimator_with_converted_arrays,
    get_namespace_and_device,
)
from sklearn.utils.class_weight import (
    compute_class_weight as _sklearn_compute_class_weight,
)

try:  # newer scipy exports it
    from scipy.optimize import NoConvergence
except ImportError:  # older scipy: defined, not exported
    from scipy.optimize._nonlin import NoConvergence

try:  # scikit-learn's callback API (scikit-learn >= 1.9)
    from sklearn.callback import CallbackSupportMixin, with_callbacks

    HAS_SKLEARN_CALLBACKS = True
except ImportError:  # older scikit-learn: the estimator works without it

    class CallbackSupportMixin:  # noqa: D101 - placeholder base class
        pass

    def with_callbacks(method):
        return method

    HAS_SKLEARN_CALLBACKS = False

try:  # scikit-learn's array API helpers for estimators ("everything follows X")
    from sklearn.utils._array_api import check_same_namespace, move_to

    _HAS_ARRAY_API_HELPERS = True
except ImportError:  # older scikit-learn: numpy inputs only
    _HAS_ARRAY_API_HELPERS = False

    def check_same_namespace(X, estimator, *, attribute, method):
        return None

    def move_to(*arrays, xp, device):
        raise ValueError(
            "Array API inputs (array_api_dispatch=True with PyTorch, CuPy or "
            "array-api-strict arrays) need scikit-learn >= 1.9: this one has no "
            "sklearn.utils._array_api.move_to. Upgrade scikit-learn, or pass "
            "numpy arrays."
        )


def _sklearn_accepts_array_api_dispatch():
    """Whether ``array_api_dispatch=True`` can be set (scipy recent enough)."""
    try:
        with config_context(array_api_dispatch=True):
            return True
    except ImportError:  # scikit-learn refuses: scipy (or numpy) too old
        return False
    except RuntimeError:  # only SCIPY_ARRAY_API is unset: the user's to set
        return True


#: Whether the estimators follow scikit-learn's array API dispatch.
HAS_ARRAY_API = _HAS_ARRAY_API_HELPERS and _sklearn_accepts_array_api_dispatch()

#: Whether scikit-learn's ``compute_class_weight`` takes ``sample_weight``.
SKLEARN_CLASS_WEIGHT_HAS_SAMPLE_WEIGHT = (
    "sample_weight" in inspect.signature(_sklearn_compute_class_weight).parameters
)


def compute_class_weight(class_weight, classes, y, sample_weight=None):
    """scikit-learn's ``compute_class_weight``, ``sample_weight`` on every version.

    With ``class_weight="balanced"`` and ``sample_weight`` given, class ``c``
    weighs ``sum(w) / (n_classes * sum(w[y == c]))``, where ``n_classes``
    counts the classes present in ``y``: the count of each class replaced by
    its total sample weight, as newer scikit-learn defines it (and computed in
    the same order, so the results agree bit for bit). ``sample_weight`` is
    ignored for a dict or ``None``, as in scikit-learn.

    Parameters
    ----------
    class_weight : dict, "balanced" or None
    classes : ndarray of shape (n_classes,)
        The classes, as given by ``np.unique`` of the labels.
    y : array-like of shape (n_samples,)
    sample_weight : array-like of shape (n_samples,), default=None

    Returns
    -------
    ndarray of shape (n_classes,)
        The weight of each class of ``classes``. A class whose samples all
        weigh 0 gets an infinite weight (divide-by-zero warning included), as
        in scikit-learn.

    Examples
    --------
    >>> import numpy as np
    >>> from skbackprop._compat import compute_class_weight
    >>> y = np.array([0, 0, 1])
    >>> compute_class_weight("balanced", np.array([0, 1]), y, [1.0, 1.0, 4.0])
    array([1.5 , 0.75])
    """
    if SKLEARN_CLASS_WEIGHT_HAS_SAMPLE_WEIGHT:
        return _sklearn_compute_class_weight(
            class_weight, classes=classes, y=y, sample_weight=sample_weight
        )
    # scikit-learn's checks of class_weight, classes and y, and its result
    # for every case but the weighted "balanced" one.
    weight = _sklearn_compute_class_weight(class_weight, classes=classes, y=y)
    if (
        isinstance(class_weight, str)
        and class_weight == "balanced"
        and sample_weight is not None
    ):
        return _weighted_balanced_class_weight(classes, y, sample_weight)
    return weight


def _weighted_balanced_class_weight(classes, y, sample_weight):
    """The weighted "balanced" class weights, as newer scikit-learn computes them.

    ``sum(w) / (n_classes * bincount(y, weights=w))``, in scikit-learn's order
    of operations, with ``n_classes`` the number of classes present in ``y``.
    """
    y = np.asarray(y)
    sample_weight = np.asarray(sample_weight, dtype=np.float64)
    if sample_weight.ndim == 0:
        sample_weight = np.full(y.shape[0], sample_weight, dtype=np.float64)
    if sample_weight.shape != (y.shape[0],):
        raise ValueError(
            f"sample_weight.shape == {sample_weight.shape}, expected {(y.shape[0],)}!"
        )
    y_classes, y_ind = np.unique(y, return_inverse=True)
    weighted_class_counts = np.bincount(y_ind.ravel(), weights=sample_weight)
    recip_freq = np.sum(weighted_class_counts) / (
        y_classes.shape[0] * weighted_class_counts
    )
    return recip_freq[np.searchsorted(y_classes, classes)]


__all__ = [
    "HAS_ARRAY_API",
    "HAS_SKLEARN_CALLBACKS",
    "SKLEARN_CLASS_WEIGHT_HAS_SAMPLE_WEIGHT",
    "CallbackSupportMixin",
    "NoConvergence",
    "_estimator_with_converted_arrays",
    "check_same_namespace",
    "compute_class_weight",
    "get_namespace_and_device",
    "move_to",
    "with_callbacks",
]
