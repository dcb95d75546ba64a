"""What differs across the supported versions of scikit-learn and scipy.

Every version-dependent import or call lives here, so the rest of the package
reads as if it ran on one version.
"""

try:  # scipy >= 1.13 exports it; older scipy keeps it in scipy.optimize._nonlin
    from scipy.optimize import NoConvergence
except ImportError:  # pragma: no cover - depends on the installed scipy
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
    from sklearn.utils._array_api import (
        _estimator_with_converted_arrays,
        check_same_namespace,
        get_namespace_and_device,
        move_to,
    )

    HAS_ARRAY_API = True
except ImportError:  # older scikit-learn: numpy inputs only
    from sklearn.utils._array_api import (
        _estimator_with_converted_arrays,
        get_namespace_and_device,
    )

    def check_same_namespace(X, estimator, *, attribute, method):
        return None

    def move_to(*arrays, xp, device):
        raise ValueError(
            "Array API inputs (array_api_dispatch=True with PyTorch, CuPy or "
            "array-api-strict arrays) need a newer scikit-learn: this one has no "
            "sklearn.utils._array_api.move_to. Upgrade scikit-learn, or pass "
            "numpy arrays."
        )

    HAS_ARRAY_API = False

__all__ = [
    "CallbackSupportMixin",
    "HAS_ARRAY_API",
    "HAS_SKLEARN_CALLBACKS",
    "NoConvergence",
    "_estimator_with_converted_arrays",
    "check_same_namespace",
    "get_namespace_and_device",
    "move_to",
    "with_callbacks",
]
