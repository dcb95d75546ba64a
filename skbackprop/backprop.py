"""The mathematics of the course's neural network, one step per function.

Every function here works on plain numpy arrays and follows the notation of
Andrew Ng's Machine Learning course (exercise 4), 1-based in the text and
0-based in the code:

* ``layer_sizes = (s_1, ..., s_L)``: units per layer, bias not counted.
* ``Theta(l)`` has shape ``(s_{l+1}, s_l + 1)``; column 0 multiplies the bias.
* ``a(1) = x``; ``z(l+1) = Theta(l) [1; a(l)]``; ``a(l+1) = g(z(l+1))``.
* ``J`` is the regularised logistic cost and ``D(l)`` its gradient with
  respect to ``Theta(l)``, computed by backpropagation.
* The parameters travel as one unrolled vector,
  ``nn_params = [Theta1(:); Theta2(:); ...]``, each matrix column-major as in
  the course's Octave code.

The vectorised :func:`cost_function` is the fast path used for training;
:func:`backprop_loop` is the course's per-example algorithm, kept as a
reference to read beside the handout and to test the fast path against.

This module imports only numpy and scipy.
"""

import numbers

import numpy as np
import scipy.sparse as sp
from scipy.special import expit, logsumexp, softmax

__all__ = [
    "sigmoid",
    "sigmoid_gradient",
    "activate",
    "activation_gradient",
    "activation_gradient_from_a",
    "unroll",
    "roll",
    "init_thetas",
    "forward_layer",
    "forward_propagate",
    "logistic_loss_from_z",
    "softmax_loss_from_z",
    "output_activation_from_z",
    "regularization_cost",
    "cost_function",
    "activation_second_derivative_from_a",
    "forward_layer_direction",
    "hessian_vector_product",
    "make_hessian_vector_product",
    "make_cost_function",
    "backprop_loop",
    "numerical_gradient",
    "check_gradients",
]


# ---------------------------------------------------------------------------
# The activation g and its derivative g'
# ---------------------------------------------------------------------------


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
    if activation == "sigmoid":
        return expit(z, out=out)
    if activation == "tanh":
        return np.tanh(z, out=out)
    if activation == "relu":
        return np.maximum(z, 0, out=out)
    raise ValueError(f"activation must be one of {ACTIVATIONS}; got {activation!r}.")


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
    if activation == "sigmoid":
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
    if activation == "sigmoid":
        return a * (1.0 - a)
    if activation == "tanh":
        return 1.0 - a * a
    if activation == "relu":
        return (a > 0).astype(a.dtype)
    raise ValueError(f"activation must be one of {ACTIVATIONS}; got {activation!r}.")


#: Hidden-unit activations understood by :func:`activate`.
ACTIVATIONS = ("sigmoid", "tanh", "relu")
#: Output layers: one logistic unit per class (the course) or a softmax.
OUTPUT_ACTIVATIONS = ("sigmoid", "softmax")


# ---------------------------------------------------------------------------
# Unrolling and rolling the parameters
# ---------------------------------------------------------------------------


def _theta_shapes(layer_sizes):
    """Shapes ``(s_{l+1}, s_l + 1)`` of ``Theta(1), ..., Theta(L-1)``."""
    return [(s_next, s + 1) for s, s_next in zip(layer_sizes[:-1], layer_sizes[1:])]


def _n_params(layer_sizes):
    return sum(r * c for r, c in _theta_shapes(layer_sizes))


def unroll(thetas):
    """Unroll the weight matrices into one vector, ``[Theta1(:); Theta2(:); ...]``.

    Each matrix is flattened column-major (Fortran order), exactly like the
    course's Octave ``Theta1(:)``, so a course parameter vector and this one
    hold the same numbers in the same order.

    Parameters
    ----------
    thetas : list of ndarray
        ``Theta(l)`` matrices, ``Theta(l)`` of shape ``(s_{l+1}, s_l + 1)``.

    Returns
    -------
    nn_params : ndarray of shape (n_params,), dtype float64
        The unrolled parameters.

    See Also
    --------
    roll : the inverse.

    Examples
    --------
    >>> import numpy as np
    >>> from skbackprop.backprop import unroll
    >>> unroll([np.array([[1.0, 2.0], [3.0, 4.0]])])
    array([1., 3., 2., 4.])
    """
    return np.concatenate(
        [np.asarray(t, dtype=np.float64).ravel(order="F") for t in thetas]
    )


def roll(nn_params, layer_sizes):
    """Roll an unrolled parameter vector back into the ``Theta(l)`` matrices.

    The inverse of :func:`unroll`. The matrices are column-major views of
    ``nn_params`` where possible (no copy), so writing into them writes into
    the vector.

    Parameters
    ----------
    nn_params : ndarray of shape (n_params,)
        Unrolled parameters.
    layer_sizes : sequence of int
        ``(s_1, ..., s_L)``, units per layer without the bias.

    Returns
    -------
    thetas : list of ndarray
        ``Theta(l)`` of shape ``(s_{l+1}, s_l + 1)`` for ``l = 1, ..., L-1``.

    Raises
    ------
    ValueError
        If the length of ``nn_params`` does not match ``layer_sizes``.

    Examples
    --------
    >>> import numpy as np
    >>> from skbackprop.backprop import roll
    >>> roll(np.array([1.0, 3.0, 2.0, 4.0]), (1, 2))
    [array([[1., 2.],
           [3., 4.]])]
    """
    nn_params = np.asarray(nn_params)
    shapes = _theta_shapes(layer_sizes)
    expected = sum(r * c for r, c in shapes)
    if nn_params.ndim != 1 or nn_params.shape[0] != expected:
        raise ValueError(
            f"nn_params has shape {nn_params.shape}, but layer_sizes "
            f"{tuple(layer_sizes)} need a 1-D vector of {expected} parameters."
        )
    thetas = []
    start = 0
    for rows, cols in shapes:
        stop = start + rows * cols
        thetas.append(nn_params[start:stop].reshape((rows, cols), order="F"))
        start = stop
    return thetas


# ---------------------------------------------------------------------------
# Random initialisation (symmetry breaking)
# ---------------------------------------------------------------------------


def _as_generator(random_state):
    """A numpy random generator from ``None``, an int, or a generator."""
    if random_state is None or random_state is np.random:
        return np.random.mtrand._rand
    if isinstance(random_state, numbers.Integral):
        return np.random.RandomState(random_state)
    if isinstance(random_state, (np.random.RandomState, np.random.Generator)):
        return random_state
    raise ValueError(
        f"random_state must be None, an int, or a numpy RandomState or "
        f"Generator; got {random_state!r}."
    )


def init_thetas(layer_sizes, epsilon_init=None, random_state=None):
    """Random initial weights, uniform in ``[-epsilon_init, epsilon_init]``.

    The course's ``randInitializeWeights``: small random values break the
    symmetry between hidden units.

    Parameters
    ----------
    layer_sizes : sequence of int
        ``(s_1, ..., s_L)``, units per layer without the bias.
    epsilon_init : float or None, default=None
        Half-width of the interval. ``None`` uses the course's suggestion
        ``sqrt(6) / sqrt(s_l + s_{l+1})`` for each layer (0.12 for the
        course's 400-25 layer).
    random_state : None, int, numpy.random.RandomState or numpy.random.Generator
        Source of randomness; an int makes the weights reproducible.

    Returns
    -------
    thetas : list of ndarray
        ``Theta(l)`` of shape ``(s_{l+1}, s_l + 1)``, float64.

    Examples
    --------
    >>> from skbackprop.backprop import init_thetas
    >>> [t.shape for t in init_thetas((400, 25, 10), random_state=0)]
    [(25, 401), (10, 26)]
    """
    rng = _as_generator(random_state)
    thetas = []
    for s_in, s_out in zip(layer_sizes[:-1], layer_sizes[1:]):
        eps = (
            np.sqrt(6.0) / np.sqrt(s_in + s_out)
            if epsilon_init is None
            else epsilon_init
        )
        thetas.append(rng.uniform(-eps, eps, size=(s_out, s_in + 1)))
    return thetas


# ---------------------------------------------------------------------------
# The vectorised cost and gradient (the fast path)
# ---------------------------------------------------------------------------


def _is_sparse(X):
    return sp.issparse(X)


def forward_layer(a, theta):
    """One step of forward propagation: ``z(l+1) = Theta(l) [1; a(l)]`` for all rows.

    The bias is added as ``Theta(l)[:, 0]`` instead of stacking a column of
    ones onto ``a``, so ``a`` (the data ``X`` for the first layer) is never
    copied. ``a`` may be a scipy sparse matrix; the product is then sparse
    times dense, and ``X`` is never densified.

    Parameters
    ----------
    a : ndarray or sparse matrix of shape (m, s_l)
        Activations of layer ``l``, one example per row.
    theta : ndarray of shape (s_{l+1}, s_l + 1)
        ``Theta(l)``.

    Returns
    -------
    z : ndarray of shape (m, s_{l+1})

    Examples
    --------
    >>> import numpy as np
    >>> from skbackprop.backprop import forward_layer
    >>> forward_layer(np.array([[1.0, 2.0]]), np.array([[0.5, 1.0, -1.0]]))
    array([[-0.5]])
    """
    z = np.asarray(a @ theta[:, 1:].T)
    z += theta[:, 0]
    return z


def logistic_loss_from_z(z, Y):
    """Per-example logistic loss ``sum_k -y log h - (1 - y) log(1 - h)``, from ``z``.

    With ``h = g(z)`` the loss of one unit is
    ``-y log g(z) - (1 - y) log(1 - g(z)) = log(1 + exp(z)) - y z``, computed as
    ``logaddexp(0, z) - y z``: finite for every finite ``z``, so a saturated
    unit never gives ``log(0)``.

    Parameters
    ----------
    z : ndarray of shape (m, K)
        Output-layer inputs ``z(L)``.
    Y : ndarray of shape (m, K)
        0/1 label indicators.

    Returns
    -------
    loss : ndarray of shape (m,)
        Loss of each example, summed over the ``K`` output units.

    Examples
    --------
    >>> import numpy as np
    >>> from skbackprop.backprop import logistic_loss_from_z
    >>> z, Y = np.array([[0.0], [1000.0]]), np.array([[1.0], [0.0]])
    >>> logistic_loss_from_z(z, Y).round(6).tolist()
    [0.693147, 1000.0]
    """
    loss = np.logaddexp(0.0, z)
    loss -= Y * z
    return loss.sum(axis=1)


def softmax_loss_from_z(z, Y):
    """Per-example categorical cross-entropy ``-sum_k y_k log softmax(z)_k``.

    Computed as ``logsumexp(z) - sum_k y_k z_k`` (for rows of ``Y`` summing
    to 1), finite for every finite ``z``.

    Parameters
    ----------
    z : ndarray of shape (m, K)
        Output-layer inputs ``z(L)``.
    Y : ndarray of shape (m, K)
        One-hot label indicators.

    Returns
    -------
    loss : ndarray of shape (m,)

    Examples
    --------
    >>> import numpy as np
    >>> from skbackprop.backprop import softmax_loss_from_z
    >>> softmax_loss_from_z(np.array([[0.0, 0.0]]), np.array([[1.0, 0.0]]))
    array([0.69314718])
    """
    return logsumexp(z, axis=1) - np.einsum("ij,ij->i", Y, z)


def output_activation_from_z(z, output_activation="sigmoid", out=None):
    """The hypothesis ``h = a(L)`` from ``z(L)``: sigmoid per unit, or softmax per row.

    Parameters
    ----------
    z : ndarray of shape (m, K)
        Output-layer inputs.
    output_activation : {"sigmoid", "softmax"}, default="sigmoid"
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
    if output_activation == "sigmoid":
        return expit(z, out=out)
    if output_activation == "softmax":
        return softmax(z, axis=1) if out is None else _softmax_inplace(z, out)
    raise ValueError(
        f"output_activation must be one of {OUTPUT_ACTIVATIONS}; "
        f"got {output_activation!r}."
    )


def _softmax_inplace(z, out):
    out[...] = softmax(z, axis=1)
    return out


def regularization_cost(thetas, alpha, m):
    """The course's penalty ``(lambda / 2m) sum_l sum_{j>=1} Theta(l)_{:,j}^2``.

    The bias column ``j = 0`` is left out.

    Parameters
    ----------
    thetas : list of ndarray
        ``Theta(l)`` matrices.
    alpha : float
        The regularisation strength lambda.
    m : float
        Number of examples (or the sum of the sample weights).

    Returns
    -------
    penalty : float

    Examples
    --------
    >>> import numpy as np
    >>> from skbackprop.backprop import regularization_cost
    >>> float(regularization_cost([np.array([[5.0, 1.0, 2.0]])], alpha=1.0, m=1))
    2.5
    """
    if alpha == 0:
        return 0.0
    return alpha / (2.0 * m) * sum(float(np.vdot(t[:, 1:], t[:, 1:])) for t in thetas)


def _check_sample_weight_array(sample_weight, m):
    if sample_weight is None:
        return None, float(m)
    w = np.asarray(sample_weight, dtype=np.float64)
    if w.shape != (m,):
        raise ValueError(f"sample_weight has shape {w.shape}, expected ({m},).")
    total = float(w.sum())
    if not total > 0:
        raise ValueError("The sum of sample_weight must be positive.")
    return w, total


def _compute_dtype(X):
    """float32 data is computed in float32; everything else in float64."""
    return np.float32 if X.dtype == np.float32 else np.float64


def forward_propagate(thetas, X, activation="sigmoid"):
    """Forward propagation through every layer, keeping what backprop needs.

    ``a(1) = X``; ``z(l+1) = Theta(l) [1; a(l)]``; ``a(l+1) = g(z(l+1))`` for
    the hidden layers. The output layer's ``z(L)`` is returned as is, so the
    cost can be computed from it without ``log(0)``.

    Parameters
    ----------
    thetas : list of ndarray
        ``Theta(l)`` matrices.
    X : ndarray or sparse matrix of shape (m, s_1)
        Inputs.
    activation : {"sigmoid", "tanh", "relu"}, default="sigmoid"
        Hidden units' activation.

    Returns
    -------
    activations : list
        ``[a(1), ..., a(L-1)]``: ``X`` itself, then the hidden activations.
    z_out : ndarray of shape (m, s_L)
        ``z(L)``.

    Examples
    --------
    >>> import numpy as np
    >>> from skbackprop.backprop import forward_propagate, init_thetas
    >>> acts, z = forward_propagate(init_thetas((2, 3, 1), random_state=0), np.eye(2))
    >>> [a.shape for a in acts], z.shape
    ([(2, 2), (2, 3)], (2, 1))
    """
    activations = [X]
    z = forward_layer(X, thetas[0])
    for theta in thetas[1:]:
        activations.append(activate(z, activation, out=z))
        z = forward_layer(activations[-1], theta)
    return activations, z


def cost_function(
    nn_params,
    layer_sizes,
    X,
    Y,
    alpha,
    sample_weight=None,
    activation="sigmoid",
    output_activation="sigmoid",
):
    """Regularised logistic cost ``J`` and its gradient, by vectorised backprop.

    Computes, for all examples at once,

    * forward: ``a(1) = X``, ``z(l+1) = Theta(l) [1; a(l)]``,
      ``a(l+1) = g(z(l+1))``;
    * cost: ``J = (1/m) sum_i w_i sum_k [-y log h - (1-y) log(1-h)]
      + (lambda/2m) sum_l sum_{j>=1} Theta(l)_{:,j}^2``, from ``z(L)`` so that it is
      finite for saturated units;
    * backward: ``d(L) = a(L) - Y``, ``d(l) = (d(l+1) Theta(l)[:,1:]) .* g'(z(l))``,
      ``D(l) = d(l+1)^T [1, a(l)] / m + (lambda/m) Theta(l)`` without the bias
      column's penalty.

    With ``sample_weight`` ``w``, ``m = sum(w)`` and each example's loss and
    delta are weighted by ``w_i``. Without it, ``w_i = 1`` and ``m`` is the
    number of rows.

    With ``output_activation="softmax"`` the data term is the categorical
    cross-entropy ``-(1/m) sum_i w_i sum_k y_ik log softmax(z(L))_ik``; the
    output delta is still ``a(L) - y``.

    Parameters
    ----------
    nn_params : ndarray of shape (n_params,)
        Unrolled parameters (see :func:`unroll`).
    layer_sizes : sequence of int
        ``(s_1, ..., s_L)``: ``s_1`` input features, ``s_L`` output units.
    X : ndarray or scipy sparse matrix of shape (m, s_1)
        Inputs, one example per row. Never copied or densified. float32
        data is computed in float32 (the returned gradient is float64).
    Y : ndarray of shape (m, s_L)
        0/1 indicator matrix of the labels.
    alpha : float
        Regularisation strength (the course's lambda).
    sample_weight : array-like of shape (m,), default=None
        Non-negative weight of each example.
    activation : {"sigmoid", "tanh", "relu"}, default="sigmoid"
        Hidden units' activation ``g``.
    output_activation : {"sigmoid", "softmax"}, default="sigmoid"
        One logistic unit per output (the course), or a softmax over them.

    Returns
    -------
    J : float
        The cost.
    grad : ndarray of shape (n_params,)
        Its gradient, unrolled like ``nn_params``.

    Examples
    --------
    >>> import numpy as np
    >>> from skbackprop.backprop import cost_function, init_thetas, unroll
    >>> X = np.array([[0.0, 1.0], [1.0, 0.0]])
    >>> Y = np.array([[1.0], [0.0]])
    >>> params = unroll(init_thetas((2, 3, 1), random_state=0))
    >>> J, grad = cost_function(params, (2, 3, 1), X, Y, alpha=1.0)
    >>> grad.shape
    (13,)
    """
    dtype = _compute_dtype(X)
    thetas = [t.astype(dtype, copy=False) for t in roll(nn_params, layer_sizes)]
    m = X.shape[0]
    w, m_eff = _check_sample_weight_array(sample_weight, m)
    Y = np.asarray(Y, dtype=dtype)

    activations, z = forward_propagate(thetas, X, activation)

    # Cost, from z(L).
    if output_activation == "softmax":
        losses = softmax_loss_from_z(z, Y)
    else:
        losses = logistic_loss_from_z(z, Y)
    data_cost = losses.sum(dtype=np.float64) if w is None else w @ losses
    J = float(data_cost / m_eff + regularization_cost(thetas, alpha, m_eff))

    # Backward propagation: d(L) = a(L) - y.
    delta = output_activation_from_z(z, output_activation, out=z)
    delta -= Y
    if w is not None:
        delta *= w[:, None].astype(dtype)
    grad = np.empty(nn_params.shape[0], dtype=np.float64)
    grads = roll(grad, layer_sizes)
    for i in range(len(thetas) - 1, -1, -1):
        a = activations[i]
        D = grads[i]
        # Delta(l) = d(l+1)^T [1, a(l)]: the bias column, then the rest.
        D[:, 0] = delta.sum(axis=0, dtype=np.float64)
        if _is_sparse(a):
            D[:, 1:] = (a.T @ delta).T
        else:
            D[:, 1:] = delta.T @ a
        D /= m_eff
        if alpha != 0:
            D[:, 1:] += (alpha / m_eff) * thetas[i][:, 1:]
        if i > 0:
            # d(l) = (d(l+1) Theta(l)[:, 1:]) .* g'(z(l)), g' from a(l).
            delta = delta @ thetas[i][:, 1:]
            delta *= activation_gradient_from_a(a, activation)
    return J, grad


# ---------------------------------------------------------------------------
# The fast evaluation: work buffers reused across calls, rows a chunk at a time
# ---------------------------------------------------------------------------


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
    np.reciprocal(z, out=z)
    return z


def _activate_inplace(z, activation):
    """``z <- g(z)`` for a hidden layer, in place."""
    if activation == "sigmoid":
        return _sigmoid_inplace(z)
    return activate(z, activation, out=z)


def _times_activation_gradient_inplace(delta, a, activation):
    """``delta <- delta .* g'(z(l))`` with ``g'`` from ``a(l)``; overwrites ``a``.

    The course's ``d(l) = (Theta(l)^T d(l+1)) .* g'(z(l))`` without a
    temporary the size of the layer: sigmoid ``g' = a (1 - a)``, tanh
    ``1 - a^2``, relu ``1 if a > 0 else 0`` (``sign(a)`` for ``a >= 0``).
    """
    if activation == "sigmoid":
        delta *= a
        np.subtract(1, a, out=a)
    elif activation == "tanh":
        np.multiply(a, a, out=a)
        np.subtract(1, a, out=a)
    else:  # relu: a >= 0, so sign(a) is the 0/1 derivative
        np.sign(a, out=a)
    delta *= a
    return delta


def _check_batch_size(batch_size, m):
    """Rows per chunk: ``m`` for ``None``, else ``min(batch_size, m)``."""
    if batch_size is None:
        return max(m, 1)
    if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral):
        raise TypeError(f"batch_size must be None or an int; got {batch_size!r}.")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1; got {batch_size}.")
    return max(min(int(batch_size), m), 1)


def make_cost_function(
    layer_sizes,
    X,
    Y,
    alpha,
    sample_weight=None,
    activation="sigmoid",
    output_activation="sigmoid",
    batch_size=None,
):
    """Build the fast ``fun(nn_params) -> (J, grad)`` for fixed data.

    The same cost and gradient as :func:`cost_function`, organised for an
    optimizer that calls it hundreds of times on the same ``X`` and ``Y``:

    * the work buffers ``z(l)``/``a(l)`` and ``d(l)`` are allocated once here
      and reused by every call, and the elementwise steps (bias, ``g``,
      ``g'``, ``a(L) - y``) run in place in them;
    * one forward pass gives both the cost (from ``z(L)``) and what backprop
      needs; ``X`` is never copied, and the bias enters as ``Theta(l)[:, 0]``
      added to ``z``, never as a column of ones;
    * with ``batch_size``, the rows are taken ``batch_size`` at a time and the
      course's ``Delta(l) += d(l+1) [1, a(l)]`` is accumulated chunk by chunk
      (in float64), so the memory beyond ``X`` and ``Y`` is set by the chunk,
      not by ``m``, and the result is the full-batch one (to rounding: 1e-12
      relative in float64).

    Parameters
    ----------
    layer_sizes : sequence of int
        ``(s_1, ..., s_L)``: ``s_1`` input features, ``s_L`` output units.
    X : ndarray or scipy sparse matrix of shape (m, s_1)
        Inputs. float32 data is computed in float32, float64 data in float64,
        and neither is copied; other dtypes are converted to float64 once,
        here. Sparse ``X`` in a format other than CSR is converted to CSR once
        when ``batch_size`` splits it.
    Y : array-like of shape (m, s_L)
        0/1 indicator matrix of the labels (any numeric or bool dtype; a chunk
        at a time is cast to the compute dtype).
    alpha : float
        Regularisation strength (the course's lambda).
    sample_weight : array-like of shape (m,), default=None
        Non-negative weight of each example; ``m`` becomes their sum.
    activation : {"sigmoid", "tanh", "relu"}, default="sigmoid"
        Hidden units' activation ``g``.
    output_activation : {"sigmoid", "softmax"}, default="sigmoid"
        One logistic unit per output (the course), or a softmax over them.
    batch_size : int or None, default=None
        Rows per chunk; ``None`` takes all rows at once.

    Returns
    -------
    fun : callable
        ``fun(nn_params)`` returns ``(J, grad)`` exactly as
        :func:`cost_function` does, ``grad`` a new float64 array each call.
        ``fun`` keeps its buffers between calls, so one ``fun`` must not be
        called from several threads at once.

    See Also
    --------
    cost_function : the same numbers, written step by step.

    Examples
    --------
    >>> import numpy as np
    >>> from skbackprop.backprop import (
    ...     cost_function, init_thetas, make_cost_function, unroll)
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((50, 4))
    >>> Y = np.eye(3)[rng.integers(0, 3, 50)]
    >>> params = unroll(init_thetas((4, 5, 3), random_state=0))
    >>> fun = make_cost_function((4, 5, 3), X, Y, alpha=1.0, batch_size=16)
    >>> J, grad = fun(params)
    >>> J_ref, grad_ref = cost_function(params, (4, 5, 3), X, Y, alpha=1.0)
    >>> bool(np.isclose(J, J_ref, rtol=1e-12)), bool(np.allclose(grad, grad_ref))
    (True, True)
    """
    if activation not in ACTIVATIONS:
        raise ValueError(
            f"activation must be one of {ACTIVATIONS}; got {activation!r}."
        )
    if output_activation not in OUTPUT_ACTIVATIONS:
        raise ValueError(
            f"output_activation must be one of {OUTPUT_ACTIVATIONS}; "
            f"got {output_activation!r}."
        )
    layer_sizes = tuple(int(s) for s in layer_sizes)
    shapes = _theta_shapes(layer_sizes)
    n_params = sum(r * c for r, c in shapes)
    n_thetas = len(shapes)
    sparse = _is_sparse(X)
    if not sparse:
        X = np.asarray(X)
    if X.ndim != 2 or X.shape[1] != layer_sizes[0]:
        raise ValueError(
            f"X has shape {X.shape}, but layer_sizes {layer_sizes} need "
            f"{layer_sizes[0]} columns."
        )
    dtype = _compute_dtype(X)
    if X.dtype != dtype:
        X = X.astype(dtype)
    m = X.shape[0]
    Y = np.asarray(Y)
    if Y.shape != (m, layer_sizes[-1]):
        raise ValueError(f"Y has shape {Y.shape}, expected ({m}, {layer_sizes[-1]}).")
    w, m_eff = _check_sample_weight_array(sample_weight, m)
    alpha = float(alpha)
    chunk = _check_batch_size(batch_size, m)
    if sparse and chunk < m and X.format != "csr":
        X = X.tocsr()

    # Work buffers, allocated once. acts[l] holds z(l+1) and then, in place,
    # a(l+1); the output layer's becomes a(L) - y, the output delta.
    acts = [None] + [np.empty((chunk, s), dtype) for s in layer_sizes[1:]]
    deltas = [None] + [np.empty((chunk, s), dtype) for s in layer_sizes[1:-1]]
    loss_buf = np.empty((chunk, layer_sizes[-1]), dtype)
    loss_tmp = np.empty_like(loss_buf)
    y_buf = None if Y.dtype == dtype else np.empty_like(loss_buf)
    w_buf = None if w is None else np.empty((chunk, 1), dtype)
    # float32 data: float32 copies of the Theta(l), and a float32 Delta(l)
    # per chunk, added into the float64 gradient.
    theta_bufs = (
        None
        if dtype == np.float64
        else [np.empty(shape, dtype, order="F") for shape in shapes]
    )
    direct = dtype == np.float64 and chunk == m and not sparse
    grad_bufs = None if direct else [np.empty((c - 1, r), dtype) for r, c in shapes]

    def add_layer_gradient(G, delta, a, i, first):
        """``Delta(l) += d(l+1)^T [1, a(l)]`` into the float64 ``G``."""
        bias = delta.sum(axis=0, dtype=np.float64)
        if first:
            G[:, 0] = bias
        else:
            G[:, 0] += bias
        GT = G[:, 1:].T  # C-contiguous (s_l, s_{l+1}) view of the gradient
        if direct:
            np.matmul(a.T, delta, out=GT)
            return
        if sparse and i == 0:
            part = np.asarray(a.T @ delta)
        else:
            part = np.matmul(a.T, delta, out=grad_bufs[i])
        if first:
            GT[...] = part
        else:
            GT += part

    def chunk_cost(thetas, grads, start, stop):
        """Forward and backward over rows ``start:stop``; returns their data cost."""
        rows = stop - start
        Xc = X if rows == m else X[start:stop]
        if y_buf is None:
            Yc = Y[start:stop]
        else:
            Yc = y_buf[:rows]
            np.copyto(Yc, Y[start:stop], casting="unsafe")

        # Forward: z(l+1) = a(l) Theta(l)[:, 1:]^T + Theta(l)[:, 0], a = g(z).
        a = Xc
        for i, theta in enumerate(thetas):
            z = acts[i + 1][:rows]
            if sparse and i == 0:
                z[...] = a @ theta[:, 1:].T
            else:
                np.matmul(a, theta[:, 1:].T, out=z)
            z += theta[:, 0]
            if i < n_thetas - 1:
                _activate_inplace(z, activation)
            a = z

        # Cost from z(L), then d(L) = a(L) - y in the same buffer.
        if output_activation == "softmax":
            yz = np.einsum("ij,ij->i", Yc, z)
            z_max = z.max(axis=1, keepdims=True)
            z -= z_max
            np.exp(z, out=z)
            total = z.sum(axis=1, keepdims=True)
            losses = (np.log(total) + z_max)[:, 0] - yz
            z /= total
        else:
            lb = np.logaddexp(0, z, out=loss_buf[:rows])
            lb -= np.multiply(Yc, z, out=loss_tmp[:rows])
            losses = lb.sum(axis=1)
            _sigmoid_inplace(z)
        if w is None:
            data_cost = float(losses.sum(dtype=np.float64))
        else:
            wc = w[start:stop]
            data_cost = float(wc @ losses)
        delta = z
        delta -= Yc
        if w is not None:
            wb = w_buf[:rows]
            wb[:, 0] = wc
            delta *= wb

        # Backward: Delta(l) += d(l+1)^T [1, a(l)]; d(l) = d(l+1) Theta .* g'.
        first = start == 0
        for i in range(n_thetas - 1, -1, -1):
            a = Xc if i == 0 else acts[i][:rows]
            add_layer_gradient(grads[i], delta, a, i, first)
            if i > 0:
                d_prev = np.matmul(delta, thetas[i][:, 1:], out=deltas[i][:rows])
                delta = _times_activation_gradient_inplace(d_prev, a, activation)
        return data_cost

    def fun(nn_params):
        params = np.asarray(nn_params, dtype=np.float64)
        if params.shape != (n_params,):
            raise ValueError(
                f"nn_params has shape {params.shape}, but layer_sizes "
                f"{layer_sizes} need a 1-D vector of {n_params} parameters."
            )
        thetas64 = roll(params, layer_sizes)
        thetas = thetas64
        if theta_bufs is not None:
            for buf, theta in zip(theta_bufs, thetas64):
                np.copyto(buf, theta, casting="same_kind")
            thetas = theta_bufs
        grad = np.empty(n_params, dtype=np.float64)
        grads = roll(grad, layer_sizes)
        data_cost = 0.0
        for start in range(0, m, chunk):
            data_cost += chunk_cost(thetas, grads, start, min(start + chunk, m))
        grad /= m_eff
        J = data_cost / m_eff
        if alpha != 0:
            J += regularization_cost(thetas64, alpha, m_eff)
            for G, theta in zip(grads, thetas64):
                G[:, 1:] += (alpha / m_eff) * theta[:, 1:]
        return float(J), grad

    return fun


# ---------------------------------------------------------------------------
# The course's per-example algorithm (the reference)
# ---------------------------------------------------------------------------


def backprop_loop(
    thetas, X, Y, alpha, activation="sigmoid", output_activation="sigmoid"
):
    """The course's backpropagation, one training example at a time.

    A literal transcription of exercise 4's steps, to read beside the
    handout and to check :func:`cost_function` against; it is slow on
    purpose. Set every ``Delta(l)`` to zero; then for ``t = 1, ..., m``:

    1. ``a(1) = [1; x(t)]``; forward-propagate ``z(l+1) = Theta(l) a(l)``,
       ``a(l+1) = [1; g(z(l+1))]`` (no bias on the output layer).
    2. ``d(L) = a(L) - y(t)``.
    3. ``d(l) = (Theta(l)^T d(l+1))[1:] .* g'(z(l))`` for the hidden layers,
       dropping the bias entry.
    4. ``Delta(l) = Delta(l) + d(l+1) a(l)^T``.

    Then ``D(l) = Delta(l) / m``, plus ``(lambda/m) Theta(l)`` on every column
    but the bias column ``j = 0``.

    Parameters
    ----------
    thetas : list of ndarray
        ``Theta(l)`` of shape ``(s_{l+1}, s_l + 1)``.
    X : ndarray of shape (m, s_1)
        Inputs.
    Y : ndarray of shape (m, s_L)
        0/1 indicator matrix of the labels.
    alpha : float
        Regularisation strength (the course's lambda).
    activation : {"sigmoid", "tanh", "relu"}, default="sigmoid"
        Hidden units' activation ``g``.
    output_activation : {"sigmoid", "softmax"}, default="sigmoid"
        One logistic unit per output (the course), or a softmax over them.

    Returns
    -------
    J : float
        The regularised cost.
    D : list of ndarray
        Gradient matrices, ``D(l)`` shaped like ``Theta(l)``.

    Examples
    --------
    >>> import numpy as np
    >>> from skbackprop.backprop import backprop_loop, init_thetas
    >>> thetas = init_thetas((2, 3, 1), random_state=0)
    >>> J, D = backprop_loop(thetas, np.eye(2), np.array([[1.0], [0.0]]), 0.0)
    >>> [d.shape for d in D]
    [(3, 3), (1, 4)]
    """
    X = np.asarray(X, dtype=np.float64)
    Y = np.asarray(Y, dtype=np.float64)
    m = X.shape[0]
    n_layers = len(thetas) + 1
    Delta = [np.zeros_like(theta, dtype=np.float64) for theta in thetas]
    J = 0.0
    for t in range(m):
        # Step 1: forward-propagate example t, a(l) with the bias unit in front.
        a = [np.concatenate(([1.0], X[t]))]
        z = [None]  # z(1) does not exist
        for theta in thetas[:-1]:
            z.append(theta @ a[-1])
            a.append(np.concatenate(([1.0], activate(z[-1], activation))))
        z.append(thetas[-1] @ a[-1])
        y = Y[t]
        if output_activation == "softmax":
            h = np.exp(z[-1] - logsumexp(z[-1]))
            J += -np.sum(y * np.log(h))
        else:
            h = sigmoid(z[-1])  # the output layer has no bias unit
            J += np.sum(-y * np.log(h) - (1.0 - y) * np.log(1.0 - h))
        # Step 2: the output layer's error.
        d = [None] * n_layers
        d[-1] = h - y
        # Step 3: the hidden layers' errors, by g'(z), bias entry dropped.
        for layer in range(n_layers - 2, 0, -1):
            g_prime = activation_gradient(z[layer], activation)
            d[layer] = (thetas[layer].T @ d[layer + 1])[1:] * g_prime
        # Step 4: accumulate Delta(l) += d(l+1) a(l)^T.
        for layer in range(n_layers - 1):
            Delta[layer] += np.outer(d[layer + 1], a[layer])
    J /= m
    D = []
    for theta, Delta_l in zip(thetas, Delta):
        D_l = Delta_l / m
        D_l[:, 1:] += (alpha / m) * theta[:, 1:]  # no penalty on the bias column j = 0
        D.append(D_l)
        J += alpha / (2.0 * m) * np.sum(theta[:, 1:] ** 2)
    return float(J), D


# ---------------------------------------------------------------------------
# Exact Hessian-vector products (Pearlmutter's R-operator)
# ---------------------------------------------------------------------------


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
    if activation == "sigmoid":
        return a * (1.0 - a) * (1.0 - 2.0 * a)
    if activation == "tanh":
        return -2.0 * a * (1.0 - a * a)
    if activation == "relu":
        return np.zeros_like(a)
    raise ValueError(f"activation must be one of {ACTIVATIONS}; got {activation!r}.")


def forward_layer_direction(a, r_a, theta, v):
    """R-operator of :func:`forward_layer`: the change of ``z(l+1)`` along ``V``.

    With ``z(l+1) = Theta(l) [1; a(l)]`` and the parameters moving along the
    direction ``V`` (shaped like the ``Theta`` matrices),
    ``R{z(l+1)} = V(l) [1; a(l)] + Theta(l) [0; R{a(l)}]``.

    Parameters
    ----------
    a : ndarray or sparse matrix of shape (m, s_l)
        Activations ``a(l)``.
    r_a : ndarray of shape (m, s_l) or None
        Their directional derivative ``R{a(l)}``; ``None`` for the inputs,
        which do not depend on the parameters.
    theta : ndarray of shape (s_{l+1}, s_l + 1)
        ``Theta(l)``.
    v : ndarray of shape (s_{l+1}, s_l + 1)
        ``V(l)``, the direction for ``Theta(l)``.

    Returns
    -------
    r_z : ndarray of shape (m, s_{l+1})
        ``R{z(l+1)}``.

    Examples
    --------
    >>> import numpy as np
    >>> from skbackprop.backprop import forward_layer_direction
    >>> a = np.array([[1.0, 2.0]])
    >>> theta = np.array([[0.5, 1.0, -1.0]])
    >>> forward_layer_direction(a, None, theta, np.array([[1.0, 0.0, 1.0]]))
    array([[3.]])
    """
    r_z = forward_layer(a, v)
    if r_a is not None:
        r_z += r_a @ theta[:, 1:].T
    return r_z


def hessian_vector_product(
    nn_params,
    v,
    layer_sizes,
    X,
    Y,
    alpha,
    sample_weight=None,
    activation="sigmoid",
    output_activation="sigmoid",
):
    """The exact product ``H v`` of the Hessian of ``J`` with a vector ``v``.

    Pearlmutter's R-operator, ``R{f} = d/dr f(theta + r v)`` at ``r = 0``,
    applied to every step of :func:`cost_function`: one forward pass of
    directional derivatives and one backward pass give
    ``R{grad J} = H v`` exactly (up to rounding), at the cost of about two
    gradient evaluations, without ever forming ``H``.

    * forward: ``R{z(1+1)} = V(1) [1; x]``;
      ``R{a(l)} = g'(z(l)) .* R{z(l)}``;
      ``R{z(l+1)} = V(l) [1; a(l)] + Theta(l) [0; R{a(l)}]``;
    * output: ``R{d(L)} = w .* R{a(L)}``, with
      ``R{a(L)} = a(L) .* (1 - a(L)) .* R{z(L)}`` for sigmoid units and
      ``a(L) .* (R{z(L)} - sum_k a_k(L) R{z_k(L)})`` for a softmax;
    * backward: ``R{D(l)} = (R{d(l+1)}^T [1, a(l)] + d(l+1)^T [0, R{a(l)}]) / m
      + (lambda/m) V(l)`` without the bias column's penalty, and
      ``R{d(l)} = (R{d(l+1)} Theta(l)[:,1:] + d(l+1) V(l)[:,1:]) .* g'(z(l))
      + (d(l+1) Theta(l)[:,1:]) .* g''(z(l)) .* R{z(l)}``.

    For ``"relu"`` units ``g'' = 0``: the product is that of the Hessian
    wherever it exists (no pre-activation exactly at 0).

    Parameters
    ----------
    nn_params : ndarray of shape (n_params,)
        Unrolled parameters (see :func:`unroll`).
    v : ndarray of shape (n_params,)
        The direction, unrolled like ``nn_params``.
    layer_sizes : sequence of int
        ``(s_1, ..., s_L)``.
    X : ndarray or scipy sparse matrix of shape (m, s_1)
        Inputs. Never copied or densified; float32 data is computed in
        float32 (the returned product is float64).
    Y : ndarray of shape (m, s_L)
        0/1 indicator matrix of the labels.
    alpha : float
        Regularisation strength (the course's lambda).
    sample_weight : array-like of shape (m,), default=None
        Non-negative weight of each example; ``m = sum(sample_weight)``.
    activation : {"sigmoid", "tanh", "relu"}, default="sigmoid"
        Hidden units' activation ``g``.
    output_activation : {"sigmoid", "softmax"}, default="sigmoid"
        One logistic unit per output (the course), or a softmax over them.

    Returns
    -------
    Hv : ndarray of shape (n_params,)
        The Hessian of :func:`cost_function`'s ``J`` at ``nn_params`` times
        ``v``, unrolled like ``nn_params``.

    See Also
    --------
    cost_function : ``J`` and its gradient, whose derivative this is.

    Examples
    --------
    >>> import numpy as np
    >>> from skbackprop.backprop import (
    ...     cost_function, hessian_vector_product, init_thetas, unroll)
    >>> X = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    >>> Y = np.array([[1.0], [0.0], [1.0]])
    >>> params = unroll(init_thetas((2, 3, 1), random_state=0))
    >>> v = np.ones_like(params)
    >>> Hv = hessian_vector_product(params, v, (2, 3, 1), X, Y, alpha=1.0)
    >>> eps = 1e-6
    >>> g_plus = cost_function(params + eps * v, (2, 3, 1), X, Y, 1.0)[1]
    >>> g_minus = cost_function(params - eps * v, (2, 3, 1), X, Y, 1.0)[1]
    >>> bool(np.allclose(Hv, (g_plus - g_minus) / (2 * eps), atol=1e-8))
    True
    """
    hvp = make_hessian_vector_product(
        nn_params,
        layer_sizes,
        X,
        Y,
        alpha,
        sample_weight,
        activation=activation,
        output_activation=output_activation,
    )
    return hvp(v)


def make_hessian_vector_product(
    nn_params,
    layer_sizes,
    X,
    Y,
    alpha,
    sample_weight=None,
    activation="sigmoid",
    output_activation="sigmoid",
):
    """Build ``hvp(v) -> H v`` at fixed parameters, sharing the ordinary passes.

    :func:`hessian_vector_product` in two steps. Everything that does not
    depend on the direction ``v`` is computed once, here: the forward pass
    ``a(l)``, ``g'(z(l))`` and ``g''(z(l))``, the output ``a(L)`` and the
    ordinary backprop deltas ``d(l)``. Each call ``hvp(v)`` then runs only
    the R-forward and R-backward passes. Newton-CG and the trust-region
    solvers ask for many products at the same parameters (one per inner
    conjugate-gradient step), so this roughly halves their cost.

    Parameters
    ----------
    nn_params : ndarray of shape (n_params,)
        Unrolled parameters at which the Hessian is taken.
    layer_sizes, X, Y, alpha, sample_weight, activation, output_activation
        As for :func:`hessian_vector_product`.

    Returns
    -------
    hvp : callable
        ``hvp(v)`` returns the Hessian of :func:`cost_function`'s ``J`` at
        ``nn_params`` times ``v`` (float64, unrolled like ``nn_params``).

    Examples
    --------
    >>> import numpy as np
    >>> from skbackprop.backprop import (
    ...     hessian_vector_product, init_thetas, make_hessian_vector_product, unroll)
    >>> X = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    >>> Y = np.array([[1.0], [0.0], [1.0]])
    >>> params = unroll(init_thetas((2, 3, 1), random_state=0))
    >>> hvp = make_hessian_vector_product(params, (2, 3, 1), X, Y, alpha=1.0)
    >>> v = np.ones_like(params)
    >>> Hv = hessian_vector_product(params, v, (2, 3, 1), X, Y, 1.0)
    >>> bool(np.allclose(hvp(v), Hv))
    True
    """
    dtype = _compute_dtype(X)
    thetas = [t.astype(dtype, copy=False) for t in roll(nn_params, layer_sizes)]
    n_params = int(np.asarray(nn_params).shape[0])
    m = X.shape[0]
    w, m_eff = _check_sample_weight_array(sample_weight, m)
    w_col = None if w is None else w[:, None].astype(dtype)
    Y = np.asarray(Y, dtype=dtype)

    # The ordinary forward pass: a(l), g'(z(l)), g''(z(l)) and a(L).
    activations, z = forward_propagate(thetas, X, activation)
    g1 = [None] + [activation_gradient_from_a(a, activation) for a in activations[1:]]
    g2 = [None] + [
        activation_second_derivative_from_a(a, activation) for a in activations[1:]
    ]
    h = output_activation_from_z(z, output_activation, out=z)
    # The ordinary backward pass: d(L) = w .* (a(L) - y); for the hidden
    # layers the pre-activation error d(l+1) Theta(l)[:, 1:] and d(l).
    n_layers = len(thetas) + 1
    deltas = [None] * n_layers
    backs = [None] * n_layers
    deltas[-1] = h - Y
    if w_col is not None:
        deltas[-1] *= w_col
    for i in range(n_layers - 2, 0, -1):
        backs[i] = deltas[i + 1] @ thetas[i][:, 1:]
        deltas[i] = backs[i] * g1[i]

    def hvp(v):
        vs = [t.astype(dtype, copy=False) for t in roll(np.asarray(v), layer_sizes)]
        # R-forward: R{z(l+1)} and R{a(l)} = g'(z(l)) .* R{z(l)}.
        r_as = [None]  # R{a(1)} = R{x} = 0
        r_zs = [None]
        r_z = forward_layer_direction(X, None, thetas[0], vs[0])
        for i in range(1, len(thetas)):
            r_zs.append(r_z)
            r_as.append(r_z * g1[i])
            r_z = forward_layer_direction(activations[i], r_as[i], thetas[i], vs[i])
        # R{d(L)} = w .* R{a(L)}.
        if output_activation == "softmax":
            r_delta = h * (r_z - np.einsum("ij,ij->i", h, r_z)[:, None])
        else:
            r_delta = h * (1.0 - h) * r_z
        if w_col is not None:
            r_delta *= w_col
        # R-backward.
        Hv = np.empty(n_params, dtype=np.float64)
        blocks = roll(Hv, layer_sizes)
        for i in range(len(thetas) - 1, -1, -1):
            a, r_a, B, delta = activations[i], r_as[i], blocks[i], deltas[i + 1]
            # R{Delta(l)} = R{d(l+1)}^T [1, a(l)] + d(l+1)^T [0, R{a(l)}].
            B[:, 0] = r_delta.sum(axis=0, dtype=np.float64)
            if _is_sparse(a):
                B[:, 1:] = (a.T @ r_delta).T
            else:
                B[:, 1:] = r_delta.T @ a
            if r_a is not None:
                B[:, 1:] += delta.T @ r_a
            B /= m_eff
            if alpha != 0:
                B[:, 1:] += (alpha / m_eff) * vs[i][:, 1:]
            if i > 0:
                # R{d(l)} = (R{d(l+1)} Theta[:,1:] + d(l+1) V[:,1:]) .* g'
                #           + (d(l+1) Theta[:,1:]) .* g'' .* R{z(l)}.
                r_delta = (r_delta @ thetas[i][:, 1:] + delta @ vs[i][:, 1:]) * g1[i]
                r_delta += backs[i] * g2[i] * r_zs[i]
        return Hv

    return hvp


# ---------------------------------------------------------------------------
# Gradient checking
# ---------------------------------------------------------------------------


def numerical_gradient(fun, theta, epsilon=1e-4):
    """Central-difference gradient ``(f(theta + e) - f(theta - e)) / (2 epsilon)``.

    The course's ``computeNumericalGradient``: one pair of evaluations per
    parameter, so use it on small networks only.

    Parameters
    ----------
    fun : callable
        ``fun(theta)`` returning the scalar cost, or a tuple whose first
        element is the cost (as :func:`cost_function` returns).
    theta : ndarray of shape (n,)
        Point at which to differentiate.
    epsilon : float, default=1e-4
        Step size.

    Returns
    -------
    num_grad : ndarray of shape (n,)

    Examples
    --------
    >>> import numpy as np
    >>> from skbackprop.backprop import numerical_gradient
    >>> numerical_gradient(lambda t: float(np.sum(t**2)), np.array([1.0, -2.0]))
    array([ 2., -4.])
    """

    def scalar(x):
        value = fun(x)
        return float(value[0] if isinstance(value, tuple) else value)

    theta = np.array(theta, dtype=np.float64)
    num_grad = np.empty_like(theta)
    perturb = np.zeros_like(theta)
    for p in range(theta.size):
        perturb[p] = epsilon
        loss_plus = scalar(theta + perturb)
        loss_minus = scalar(theta - perturb)
        num_grad[p] = (loss_plus - loss_minus) / (2.0 * epsilon)
        perturb[p] = 0.0
    return num_grad


def debug_initialize_weights(fan_out, fan_in):
    """The course's ``debugInitializeWeights``: ``sin(1:numel) / 10``, column-major.

    Deterministic weights of shape ``(fan_out, 1 + fan_in)`` for gradient
    checking.

    Parameters
    ----------
    fan_out : int
        Rows (units of the next layer).
    fan_in : int
        Units of the previous layer, bias not counted.

    Returns
    -------
    W : ndarray of shape (fan_out, 1 + fan_in)

    Examples
    --------
    >>> from skbackprop.backprop import debug_initialize_weights
    >>> debug_initialize_weights(2, 1).round(4)
    array([[ 0.0841,  0.0141],
           [ 0.0909, -0.0757]])
    """
    size = fan_out * (1 + fan_in)
    return (
        np.sin(np.arange(1, size + 1)).reshape((fan_out, 1 + fan_in), order="F") / 10.0
    )


def check_gradients(alpha=0.0):
    """The course's ``checkNNGradients``: analytic vs numerical gradient.

    Builds the course's small network (3 inputs, 5 hidden units, 3 labels,
    5 examples) with ``sin``-based weights and inputs and labels
    ``1 + mod(1:m, 3)``, and compares :func:`cost_function`'s gradient with
    :func:`numerical_gradient`.

    Parameters
    ----------
    alpha : float, default=0.0
        Regularisation strength (the course's lambda); the course checks 0
        and 3.

    Returns
    -------
    diff : float
        Relative difference ``norm(num - grad) / norm(num + grad)``; below
        1e-9 when backpropagation is right.

    Examples
    --------
    >>> from skbackprop.backprop import check_gradients
    >>> check_gradients(alpha=3.0) < 1e-9
    True
    """
    input_layer_size, hidden_layer_size, num_labels, m = 3, 5, 3, 5
    layer_sizes = (input_layer_size, hidden_layer_size, num_labels)
    theta1 = debug_initialize_weights(hidden_layer_size, input_layer_size)
    theta2 = debug_initialize_weights(num_labels, hidden_layer_size)
    X = debug_initialize_weights(m, input_layer_size - 1)
    y = 1 + np.mod(np.arange(1, m + 1), num_labels)  # labels 1..num_labels
    Y = (y[:, None] == np.arange(1, num_labels + 1)).astype(np.float64)
    nn_params = unroll([theta1, theta2])

    def cost(p):
        return cost_function(p, layer_sizes, X, Y, alpha)

    _, grad = cost(nn_params)
    num_grad = numerical_gradient(cost, nn_params)
    return float(np.linalg.norm(num_grad - grad) / np.linalg.norm(num_grad + grad))
