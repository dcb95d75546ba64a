"""The prediction path on numpy input, at the cost of the network itself.

A service predicts a row or a few at a time, where the network's arithmetic
(a few small matrix products) takes microseconds and general-purpose
machinery took the rest: scikit-learn's ``validate_data`` (DataFrame and
Array API detection, feature-name checks) and scipy's Array API
``logsumexp`` (most of a one-row call, :ref:`serving`). Here

* an ``X`` that is already what validation would return (a 2-D float64 or
  float32 ndarray of the fitted width, finite, for a model fitted without
  feature names and holding numpy weights) goes straight to the forward pass;
  anything else goes through ``validate_data``, which converts it or raises
  its usual errors and warnings, so both routes give the same results;
* the log-softmax of the output scores is written for a numpy matrix, with
  the arithmetic of scipy's ``logsumexp`` (the same numbers, to the bit, on
  scipy >= 1.15; within float rounding on older scipy).

The host's placement (:class:`~skbackprop._placement.HostPlacement`) calls
these; Array API and dask inputs take their own placements' paths
(:mod:`skbackprop._placement`, :mod:`skbackprop._dask_data`).
"""

import numpy as np
from scipy.special import expit

from .backprop import forward_layer
from .backprop._activations import unit
from .backprop._course import _cast_thetas

#: The dtypes validation keeps as they are (native byte order only).
_FLOATS = (np.dtype(np.float64), np.dtype(np.float32))


def is_ready_for_prediction(estimator, X):
    """Whether ``X`` is already what ``validate_data`` would return for ``estimator``.

    True only for a 2-D ndarray (not a subclass, in any memory order) of
    float64 or float32 with at least one row and ``n_features_in_``
    columns, whose values are all finite, for a fitted model without
    ``feature_names_in_`` (an ndarray would get the feature-name warning)
    whose weights are numpy arrays (others need the namespace check). The
    finiteness test is scikit-learn's own first pass: the sum is finite.
    """
    if not (
        type(X) is np.ndarray
        and X.ndim == 2
        and X.dtype in _FLOATS
        and X.shape[0] > 0
        and X.shape[1] == estimator.n_features_in_
        and type(estimator._output_weights) is np.ndarray
        and not hasattr(estimator, "feature_names_in_")
    ):
        return False
    with np.errstate(over="ignore"):  # a sum that overflows: validate_data decides
        return bool(np.isfinite(X.sum()))


def log_softmax_rows(scores):
    """``scores - logsumexp(scores)`` per row of a finite-maximum numpy matrix.

    scipy's arithmetic (>= 1.15), without its Array API dispatch: the
    entries tied at the row's maximum ``top`` are taken out of the sum, which
    is then ``log1p(rest / n_top) + log(n_top) + top``; for precision, the
    sum of the other terms is kept away from 1. Every row's maximum must be
    finite (the caller maps infinite rows to their limits first), and then
    so is the result's normaliser.
    """
    top = scores.max(axis=1, keepdims=True)
    is_top = scores == top
    n_top = is_top.sum(axis=1, keepdims=True, dtype=scores.dtype)
    rest = np.exp(np.where(is_top, -np.inf, scores) - top)
    rest = rest.sum(axis=1, keepdims=True, dtype=scores.dtype)
    rest /= n_top  # 0 stays 0, as scipy's where(s == 0, s, s / m)
    return scores - (np.log1p(rest) + np.log(n_top) + top)


def softmax_rows(scores):
    """``exp(scores)`` normalised per row, for rows whose maximum is finite.

    The direct form, two passes fewer than ``exp(log_softmax_rows(scores))``
    and within float rounding of it (entries far below their row's maximum
    underflow in both).
    """
    with np.errstate(over="ignore"):  # -1e308 - 1e308 = -inf: probability 0
        proba = scores - scores.max(axis=1, keepdims=True)
    np.exp(proba, out=proba)
    proba /= proba.sum(axis=1, keepdims=True)
    return proba


def normalize_sigmoid_rows(z):
    """``g(z) / sum(g(z))`` per row, or None where that would lose precision.

    The one-vs-all probabilities computed directly. Every ``g(z)`` is then a
    normal float, accurate to an ulp or so, and so is the quotient: that
    needs ``z`` above ``log(tiny)`` (about -708 in float64, -87 in float32)
    with a margin; below, ``g(z)`` is subnormal or 0 and the caller takes the
    logarithmic route.
    """
    if not z.min() > np.log(np.finfo(z.dtype).tiny) + 8:
        return None
    proba = expit(z)
    proba /= proba.sum(axis=1, keepdims=True)
    return proba


def forward_z(thetas, X, activation):
    """``z(L)`` of the network ``thetas`` on a numpy or scipy sparse ``X``.

    The layers of :func:`~skbackprop.backprop.forward_propagate`, keeping
    nothing for backprop, with the hidden units' in-place ``g`` of the fast
    evaluator (numpy's SIMD ``exp`` for the sigmoid: about five times faster
    per element than :func:`scipy.special.expit`, within float rounding of
    it), so a prediction computes what the fit's evaluations computed.
    In ``X``'s precision.
    """
    g = unit(activation).g_inplace
    thetas = _cast_thetas(thetas, X)
    z = forward_layer(X, thetas[0])
    for theta in thetas[1:]:
        z = forward_layer(g(z), theta)
    return z
