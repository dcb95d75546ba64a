"""The units' activations ``g``, their derivatives, and the output layer.

The output layer is one of :data:`OUTPUT_ACTIVATIONS`: logistic units (the
course's classifier), a softmax, or identity units (regression, ``h = z(L)``).
One table, :data:`ACTIVATIONS`' functions keyed by name, holds every hidden-unit
activation the network knows; each public function looks its unit up there, so
a new activation is one row of the table. The fast evaluator uses the in-place
forms of the same rows.
"""

from dataclasses import dataclass

import array_api_compat.numpy as _np_xp  # numpy, with astype on numpy < 2.1
import numpy as np
from scipy.special import expit, softmax


def _sigmoid_inplace(z):
    """``z <- g(z) = 1 / (1 + exp(-z))`` in place, in four vectorised passes.

    numpy's ``exp`` uses SIMD kernels; :func:`scipy.special.expit` is about
    five times slower per element. ``exp(-z)`` overflows to ``inf`` for
    ``z < -709`` and then ``g(z) = 1 / inf = 0`` exactly, so the overflow is
    silenced rather than reported.
    """
    np.negative(z, out=z)
    with np.errstate(over="ignore"):
        np.exp(z, out=z)
    z += 1
    np.divide(1.0, z, out=z)  # faster than np.reciprocal
    return z


def _sigmoid_times_gradient_inplace(delta, a):
    delta *= a
    np.subtract(1, a, out=a)
    delta *= a
    return delta


def _tanh_times_gradient_inplace(delta, a):
    np.multiply(a, a, out=a)
    np.subtract(1, a, out=a)
    delta *= a
    return delta


def _relu_times_gradient_inplace(delta, a):
    np.sign(a, out=a)  # a >= 0, so sign(a) is the 0/1 derivative
    delta *= a
    return delta


def _sigmoid_xp(z, xp):
    """``g(z) = 1 / (1 + exp(-z))`` in any Array API namespace; overwrites ``z``.

    Four elementwise passes, as the fast evaluator's, three of them in place:
    only ``exp`` makes a new array. A new array of a layer's size is the cost
    on a CPU (its pages are faulted in afresh), the passes over it on a GPU.
    ``x **= -1`` is the reciprocal, the same number as ``1 / x``. ``exp(-z)``
    overflows to ``inf`` for very negative ``z`` and ``g`` is then 0 exactly;
    numpy-backed namespaces (array-api-strict) would warn of it, so their
    warning is silenced.
    """
    z *= -1.0
    with np.errstate(over="ignore"):
        a = xp.exp(z)
    a += 1.0
    a **= -1.0
    return a


def _relu_xp(z, xp):
    """``max(z, 0)`` as ``(z + |z|) / 2``, exactly; one new array."""
    a = xp.abs(z)
    a += z
    a *= 0.5
    return a


def _sigmoid_times_gradient_xp(delta, a, xp):
    """``delta <- delta .* a (1 - a)`` in place, overwriting ``a``."""
    delta *= a
    a *= -1.0
    a += 1.0
    delta *= a
    return delta


def _tanh_times_gradient_xp(delta, a, xp):
    """``delta <- delta .* (1 - a^2)`` in place, overwriting ``a``."""
    a *= a
    a *= -1.0
    a += 1.0
    delta *= a
    return delta


@dataclass(frozen=True)
class _Unit:
    """One hidden-unit activation: ``g``, and ``g'`` and ``g''`` from ``a``.

    The derivatives are written once, for any Array API namespace ``xp``
    (numpy's by default; the GPU backend, :mod:`skbackprop.backprop._array_api`,
    passes its own); ``g_xp`` is ``g`` in such a namespace and
    ``times_gradient_xp`` the backward step there, both working in place where
    the standard's operators allow (the device evaluator's arrays are its own).
    """

    g: object  # g(z, out=None)
    g_inplace: object  # z <- g(z), the fast evaluator's form
    gradient_from_a: object  # g'(z) from a = g(z), (a, xp=numpy)
    second_derivative_from_a: object  # g''(z) from a = g(z), (a, xp=numpy)
    times_gradient_inplace: object  # delta <- delta .* g'(z), overwriting a
    g_xp: object  # g(z, xp), which may overwrite z
    times_gradient_xp: object  # delta .* g'(z), (delta, a, xp); may overwrite both


_UNITS = {
    "sigmoid": _Unit(
        g=lambda z, out=None: expit(z, out=out),
        g_inplace=_sigmoid_inplace,
        gradient_from_a=lambda a, xp=_np_xp: a * (1.0 - a),
        second_derivative_from_a=lambda a, xp=_np_xp: a * (1.0 - a) * (1.0 - 2.0 * a),
        times_gradient_inplace=_sigmoid_times_gradient_inplace,
        g_xp=_sigmoid_xp,
        times_gradient_xp=_sigmoid_times_gradient_xp,
    ),
    "tanh": _Unit(
        g=lambda z, out=None: np.tanh(z, out=out),
        g_inplace=lambda z: np.tanh(z, out=z),
        gradient_from_a=lambda a, xp=_np_xp: 1.0 - a * a,
        second_derivative_from_a=lambda a, xp=_np_xp: -2.0 * a * (1.0 - a * a),
        times_gradient_inplace=_tanh_times_gradient_inplace,
        g_xp=lambda z, xp: xp.tanh(z),
        times_gradient_xp=_tanh_times_gradient_xp,
    ),
    "relu": _Unit(
        g=lambda z, out=None: np.maximum(z, 0, out=out),
        g_inplace=lambda z: np.maximum(z, 0, out=z),
        gradient_from_a=lambda a, xp=_np_xp: xp.astype(a > 0, a.dtype),
        # The derivative of a step: zero wherever it exists.
        second_derivative_from_a=lambda a, xp=_np_xp: xp.zeros_like(a),
        times_gradient_inplace=_relu_times_gradient_inplace,
        g_xp=_relu_xp,
        times_gradient_xp=lambda delta, a, xp: delta * xp.astype(a > 0, a.dtype),
    ),
}

#: Hidden-unit activations understood by :func:`activate`.
ACTIVATIONS = tuple(_UNITS)
#: Output layers: one logistic unit per class (the course), a softmax, or
#: identity units for regression (``h = z(L)``, the squared-error cost).
OUTPUT_ACTIVATIONS = ("sigmoid", "softmax", "identity")


def _one_of(names):
    return ", ".join(map(repr, names))


def check_activation(activation):
    """Return ``activation`` if it names a hidden unit, else raise ``ValueError``."""
    if not (isinstance(activation, str) and activation in _UNITS):
        raise ValueError(
            f"activation must be one of {_one_of(ACTIVATIONS)}; got {activation!r}."
        )
    return activation


def check_output_activation(output_activation, allowed=OUTPUT_ACTIVATIONS):
    """Return ``output_activation`` if it names an output layer, else raise.

    ``allowed``: the output layers the caller accepts (an estimator offers
    only those that suit its targets), a subset of :data:`OUTPUT_ACTIVATIONS`.
    """
    if not (isinstance(output_activation, str) and output_activation in allowed):
        raise ValueError(
            f"output_activation must be one of {_one_of(allowed)}; "
            f"got {output_activation!r}."
        )
    return output_activation


def unit(activation):
    """The table row of a hidden-unit activation (its ``g``, ``g'``, ``g''``)."""
    return _UNITS[check_activation(activation)]


def sigmoid(z):
    """Logistic sigmoid ``g(z) = 1 / (1 + exp(-z))``, elementwise.

    Uses :func:`scipy.special.expit`, which raises no overflow warning for any
    finite ``z`` (``g(-1000) == 0.0``, ``g(1000) == 1.0``).

    Parameters
    ----------
    z : array-like
        Input of any shape.

    Returns
    -------
    g : ndarray
        ``g(z)``, same shape as ``z``, values in ``[0, 1]``.

    Examples
    --------
    >>> from skbackprop.backprop import sigmoid
    >>> sigmoid([0.0, -1000.0, 1000.0])
    array([0.5, 0. , 1. ])
    """
    return expit(z)


def sigmoid_gradient(z):
    """Derivative of the sigmoid, ``g'(z) = g(z) (1 - g(z))``, elementwise.

    Parameters
    ----------
    z : array-like
        Input of any shape.

    Returns
    -------
    g_prime : ndarray
        ``g'(z)``, same shape as ``z``, values in ``[0, 0.25]``.

    Examples
    --------
    >>> from skbackprop.backprop import sigmoid_gradient
    >>> sigmoid_gradient([0.0, 1000.0])
    array([0.25, 0.  ])
    """
    g = expit(z)
    return g * (1.0 - g)


def activate(z, activation="sigmoid", out=None):
    """Apply a hidden layer's activation ``g`` elementwise: ``a = g(z)``.

    Parameters
    ----------
    z : ndarray
        Layer inputs ``z(l)``.
    activation : {"sigmoid", "tanh", "relu"}, default="sigmoid"
        ``"sigmoid"`` is the course's logistic unit; ``"tanh"`` the hyperbolic
        tangent; ``"relu"`` is ``max(z, 0)``.
    out : ndarray, optional
        Where to write the result (may be ``z`` itself).

    Returns
    -------
    a : ndarray
        ``g(z)``.

    Examples
    --------
    >>> import numpy as np
    >>> from skbackprop.backprop import activate
    >>> activate(np.array([-1.0, 0.0, 2.0]), "relu")
    array([0., 0., 2.])
    """
    return unit(activation).g(z, out=out)


def activation_gradient(z, activation="sigmoid"):
    """The derivative ``g'(z)`` of a hidden layer's activation, from ``z``.

    ``"sigmoid"``: :func:`sigmoid_gradient`, ``g(z) (1 - g(z))``; ``"tanh"``:
    ``1 - tanh(z)^2``; ``"relu"``: ``1`` where ``z > 0``, else ``0``.

    Parameters
    ----------
    z : ndarray
        Layer inputs ``z(l)``.
    activation : {"sigmoid", "tanh", "relu"}, default="sigmoid"

    Returns
    -------
    g_prime : ndarray
        ``g'(z)``, same shape as ``z``.

    Examples
    --------
    >>> import numpy as np
    >>> from skbackprop.backprop import activation_gradient
    >>> activation_gradient(np.array([0.0]), "tanh")
    array([1.])
    """
    z = np.asarray(z, dtype=np.float64)
    if check_activation(activation) == "sigmoid":
        return sigmoid_gradient(z)
    return activation_gradient_from_a(activate(z, activation), activation)


def activation_gradient_from_a(a, activation="sigmoid"):
    """``g'(z(l))`` computed from the activation ``a(l) = g(z(l))``.

    Backpropagation needs ``g'(z)``; for these units it is a function of
    ``a`` alone, so ``z`` need not be kept: sigmoid ``a (1 - a)``, tanh
    ``1 - a^2``, relu ``1 if a > 0 else 0``.

    Parameters
    ----------
    a : ndarray
        Activations ``a(l)``.
    activation : {"sigmoid", "tanh", "relu"}, default="sigmoid"

    Returns
    -------
    g_prime : ndarray
        ``g'(z(l))``, same shape as ``a``.

    Examples
    --------
    >>> import numpy as np
    >>> from skbackprop.backprop import activation_gradient_from_a
    >>> activation_gradient_from_a(np.array([0.5]), "sigmoid")
    array([0.25])
    """
    return unit(activation).gradient_from_a(a)


def activation_second_derivative_from_a(a, activation="sigmoid"):
    """``g''(z(l))`` computed from the activation ``a(l) = g(z(l))``.

    Needed by :func:`hessian_vector_product`, where the change of
    ``g'(z)`` along a direction enters the backward pass: sigmoid
    ``a (1 - a) (1 - 2a)``, tanh ``-2 a (1 - a^2)``, relu ``0`` (the
    derivative of a step, zero wherever it exists).

    Parameters
    ----------
    a : ndarray
        Activations ``a(l)``.
    activation : {"sigmoid", "tanh", "relu"}, default="sigmoid"

    Returns
    -------
    g_second : ndarray
        ``g''(z(l))``, same shape as ``a``.

    Examples
    --------
    >>> import numpy as np
    >>> from skbackprop.backprop import activation_second_derivative_from_a
    >>> activation_second_derivative_from_a(np.array([0.5, 0.25]), "sigmoid")
    array([0.     , 0.09375])
    """
    return unit(activation).second_derivative_from_a(a)


def output_activation_from_z(z, output_activation="sigmoid", out=None):
    """The hypothesis ``h = a(L)`` from ``z(L)``: sigmoid per unit, softmax per row,
    or ``z(L)`` itself (identity units).

    Parameters
    ----------
    z : ndarray of shape (m, K)
        Output-layer inputs.
    output_activation : {"sigmoid", "softmax", "identity"}, default="sigmoid"
    out : ndarray, optional
        Where to write the result (may be ``z`` itself).

    Returns
    -------
    h : ndarray of shape (m, K)

    Examples
    --------
    >>> import numpy as np
    >>> from skbackprop.backprop import output_activation_from_z
    >>> output_activation_from_z(np.array([[0.0, 0.0]]), "softmax")
    array([[0.5, 0.5]])
    """
    output_activation = check_output_activation(output_activation)
    if output_activation == "sigmoid":
        return expit(z, out=out)
    if output_activation == "identity":
        if out is None:
            return z.copy()
        if out is not z:
            out[...] = z
        return out
    return softmax(z, axis=1) if out is None else _softmax_inplace(z, out)


def _softmax_inplace(z, out):
    out[...] = softmax(z, axis=1)
    return out
