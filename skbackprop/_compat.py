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

__all__ = [
    "CallbackSupportMixin",
    "HAS_SKLEARN_CALLBACKS",
    "NoConvergence",
    "with_callbacks",
]
