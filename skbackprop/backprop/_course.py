"""The course's network, step by step: the readable reference.

Every function here works on plain numpy arrays (scipy sparse ``X`` too) and
follows the notation of Andrew Ng's Machine Learning course (exercise 4),
1-based in the text and 0-based in the code:

* ``layer_sizes = (s_1, ..., s_L)``: units per layer, bias not counted.
* ``Theta(l)`` has shape ``(s_{l+1}, s_l + 1)``; column 0 multiplies the bias.
* ``a(1) = x``; ``z(l+1) = Theta(l) [1; a(l)]``; ``a(l+1) = g(z(l+1))``.
* ``J`` is the regularised logistic cost (or, for regression with identity
  output units, the regularised squared error
  ``(1/2m) sum_i ||h(x_i) - y_i||^2 + (lambda/2m) sum Theta^2``) and ``D(l)``
  its gradient with respect to ``Theta(l)``, computed by backpropagation.
* The parameters travel as one unrolled vector,
  ``nn_params = [Theta1(:); Theta2(:); ...]``, each matrix column-major as in
  the course's Octave code.

The vectorised :func:`cost_function` and the per-example
:func:`backprop_loop` are the two references that every fast path and backend
is tested against; training uses the fast evaluator of
:mod:`skbackprop.backprop._fast`, which computes the same numbers.
"""

import numbers
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp
from scipy.special import logsumexp

from ._activations import (
    activate,
    activation_gradient,
    activation_gradient_from_a,
    check_output_activation,
    output_activation_from_z,
    sigmoid,
)

# ---------------------------------------------------------------------------
# Unrolling and rolling the parameters
# ---------------------------------------------------------------------------


def _theta_shapes(layer_sizes):
    """Shapes ``(s_{l+1}, s_l + 1)`` of ``Theta(1), ..., Theta(L-1)``."""
    return [(s_next, s + 1) for s, s_next in zip(layer_sizes[:-1], layer_sizes[1:])]


class Network(NamedTuple):
    """One network's description, as every evaluator of its cost takes it.

    ``layer_sizes`` ``(s_1, ..., s_L)``, ``alpha`` the course's lambda, the
    hidden units' ``activation``, the ``output_activation`` (its cost with
    it) and ``batch_size``, the rows per chunk of an evaluation (None: all
    at once). The public ``make_*`` functions take these as arguments and
    build one.
    """

    layer_sizes: tuple
    alpha: float = 1.0
    activation: str = "sigmoid"
    output_activation: str = "sigmoid"
    batch_size: object = None

    @classmethod
    def of(cls, layer_sizes, alpha, activation, output_activation, batch_size):
        """A ``Network`` with ``layer_sizes`` as ints and ``alpha`` a float."""
        sizes = tuple(int(s) for s in layer_sizes)
        return cls(sizes, float(alpha), activation, output_activation, batch_size)

    @property
    def shapes(self):
        """The shapes of ``Theta(1), ..., Theta(L-1)``."""
        return _theta_shapes(self.layer_sizes)

    @property
    def n_params(self):
        """The length of the unrolled parameter vector."""
        return sum(r * c for r, c in self.shapes)


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


def _check_n_params(nn_params, layer_sizes, n_params):
    """Refuse a parameter vector that is not 1-D of ``n_params`` entries.

    The one shape check of every evaluator's ``nn_params`` (the message names
    ``layer_sizes``, which set ``n_params``).
    """
    if np.shape(nn_params) != (n_params,):
        raise ValueError(
            f"nn_params has shape {np.shape(nn_params)}, but layer_sizes "
            f"{tuple(layer_sizes)} need a 1-D vector of {n_params} parameters."
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
    _check_n_params(nn_params, layer_sizes, sum(r * c for r, c in shapes))
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
# The vectorised cost and gradient (the readable reference)
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


def squared_loss_from_z(z, Y):
    """Per-example squared error ``(1/2) sum_k (h_k(x) - y_k)^2`` with ``h = z(L)``.

    The cost of the course's linear regression (exercise 5) on the output
    layer of identity units: ``J``'s data term is
    ``(1/2m) sum_i ||h(x_i) - y_i||^2`` and its output delta is again
    ``d(L) = h - y``.

    Parameters
    ----------
    z : ndarray of shape (m, K)
        Output-layer inputs ``z(L)``, which are the predictions ``h``.
    Y : ndarray of shape (m, K)
        Targets.

    Returns
    -------
    loss : ndarray of shape (m,)
        Loss of each example, summed over the ``K`` outputs.

    Examples
    --------
    >>> import numpy as np
    >>> from skbackprop.backprop import squared_loss_from_z
    >>> squared_loss_from_z(np.array([[1.0, 2.0]]), np.array([[0.0, 4.0]]))
    array([2.5])
    """
    residual = z - Y
    return 0.5 * np.einsum("ij,ij->i", residual, residual)


#: The data term's per-example loss from ``z(L)``, by output layer.
_LOSS_FROM_Z = {
    "sigmoid": logistic_loss_from_z,
    "softmax": softmax_loss_from_z,
    "identity": squared_loss_from_z,
}


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
    # ravel("K") is a view of the column-major Theta(l) that roll returns:
    # no copy of the weights per evaluation.
    weights = [np.asarray(t)[:, 1:].ravel(order="K") for t in thetas]
    return alpha / (2.0 * m) * sum(float(w @ w) for w in weights)


def add_regularization_gradient(blocks, thetas, alpha, m):
    """Add the penalty's gradient, ``D(l)[:, 1:] += (lambda / m) Theta(l)[:, 1:]``.

    In place, for every layer; the bias column ``j = 0`` is left out. Also
    serves the R-operator, with the direction ``V(l)`` for ``Theta(l)``.

    Parameters
    ----------
    blocks : list of ndarray
        ``D(l)`` matrices, written in place.
    thetas : list of ndarray
        ``Theta(l)`` matrices, shaped like ``blocks``.
    alpha : float
        The regularisation strength lambda.
    m : float
        Number of examples (or the sum of the sample weights).

    Examples
    --------
    >>> import numpy as np
    >>> from skbackprop.backprop import add_regularization_gradient
    >>> D = [np.zeros((1, 3))]
    >>> add_regularization_gradient(D, [np.array([[5.0, 1.0, 2.0]])], 2.0, 4)
    >>> D[0]
    array([[0. , 0.5, 1. ]])
    """
    if alpha == 0:
        return
    # alpha / m may underflow to 0 for a tiny alpha: then the penalty is 0.
    scale = alpha / m
    for D, theta in zip(blocks, thetas):
        D[:, 1:] += scale * theta[:, 1:]


def _check_sample_weight_array(sample_weight, m):
    """The weights as float64 (or None) and ``m``, their sum (or the row count)."""
    if sample_weight is None:
        return None, float(m)
    w = np.asarray(sample_weight, dtype=np.float64)
    if w.shape != (m,):
        raise ValueError(f"sample_weight has shape {w.shape}, expected ({m},).")
    total = float(w.sum())
    if not total > 0:
        raise ValueError("The sum of sample_weight must be positive.")
    return w, total


def _check_batch_size(batch_size, m):
    """Rows per chunk: ``m`` for ``None``, else ``min(batch_size, m)``."""
    if batch_size is None:
        return max(m, 1)
    if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral):
        raise TypeError(f"batch_size must be None or an int; got {batch_size!r}.")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1; got {batch_size}.")
    return max(min(int(batch_size), m), 1)


def _compute_dtype(X):
    """float32 data is computed in float32; everything else in float64."""
    return np.float32 if X.dtype == np.float32 else np.float64


def _cast_thetas(thetas, X):
    """The ``Theta(l)`` in ``X``'s compute dtype (not copied when already in it)."""
    dtype = _compute_dtype(X)
    return [np.asarray(t).astype(dtype, copy=False) for t in thetas]


def _thetas_for(nn_params, layer_sizes, X):
    """The ``Theta(l)`` of ``nn_params`` in ``X``'s compute dtype."""
    return _cast_thetas(roll(nn_params, layer_sizes), X)


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
    """Regularised cost ``J`` (logistic or squared error) and its gradient, by backprop.

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
    output delta is still ``a(L) - y``. With ``output_activation="identity"``
    (regression) ``h = a(L) = z(L)`` and the cost is the course's regularised
    squared error ``J = (1/2m) sum_i w_i ||h(x_i) - y_i||^2
    + (lambda/2m) sum_l sum_{j>=1} Theta(l)_{:,j}^2``; the output delta is
    ``d(L) = h - y`` once more.

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
        0/1 indicator matrix of the labels (real-valued targets for
        ``output_activation="identity"``).
    alpha : float
        Regularisation strength (the course's lambda).
    sample_weight : array-like of shape (m,), default=None
        Non-negative weight of each example.
    activation : {"sigmoid", "tanh", "relu"}, default="sigmoid"
        Hidden units' activation ``g``.
    output_activation : {"sigmoid", "softmax", "identity"}, default="sigmoid"
        One logistic unit per output (the course), a softmax over them, or
        identity units with the squared-error cost (regression).

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
    thetas = _thetas_for(nn_params, layer_sizes, X)
    m = X.shape[0]
    w, m_eff = _check_sample_weight_array(sample_weight, m)
    Y = np.asarray(Y, dtype=dtype)

    activations, z = forward_propagate(thetas, X, activation)

    # Cost, from z(L).
    losses = _LOSS_FROM_Z[check_output_activation(output_activation)](z, Y)
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
        0/1 indicator matrix of the labels (real-valued targets for
        ``output_activation="identity"``).
    alpha : float
        Regularisation strength (the course's lambda).
    activation : {"sigmoid", "tanh", "relu"}, default="sigmoid"
        Hidden units' activation ``g``.
    output_activation : {"sigmoid", "softmax", "identity"}, default="sigmoid"
        One logistic unit per output (the course), a softmax over them, or
        identity units, ``h = z(L)``, with the squared error
        ``(1/2) ||h - y(t)||^2`` as each example's cost (regression).

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
    output_activation = check_output_activation(output_activation)
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
        elif output_activation == "identity":
            h = z[-1]  # linear output units: the prediction is z(L)
            J += 0.5 * np.sum((h - y) ** 2)
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
