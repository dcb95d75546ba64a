"""Exact Hessian-vector products of the cost, by Pearlmutter's R-operator.

``R{f} = d/dr f(theta + r v)`` at ``r = 0``, applied to every step of
:func:`~skbackprop.backprop.cost_function`: one forward pass of directional
derivatives and one backward pass give ``H v`` without forming ``H``. Used as
``hessp`` by the second-order solvers (Newton-CG, trust-ncg, trust-krylov).
"""

import numpy as np

from ._activations import (
    activation_gradient_from_a,
    activation_second_derivative_from_a,
    output_activation_from_z,
)
from ._course import (
    _check_batch_size,
    _check_sample_weight_array,
    _compute_dtype,
    _is_sparse,
    _thetas_for,
    add_regularization_gradient,
    forward_layer,
    forward_propagate,
    roll,
)


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
    batch_size=None,
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
      ``a(L) .* (R{z(L)} - sum_k a_k(L) R{z_k(L)})`` for a softmax and
      ``R{a(L)} = R{z(L)}`` for identity units (regression);
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
        0/1 indicator matrix of the labels (real-valued targets for
        ``output_activation="identity"``).
    alpha : float
        Regularisation strength (the course's lambda).
    sample_weight : array-like of shape (m,), default=None
        Non-negative weight of each example; ``m = sum(sample_weight)``.
    activation : {"sigmoid", "tanh", "relu"}, default="sigmoid"
        Hidden units' activation ``g``.
    output_activation : {"sigmoid", "softmax", "identity"}, default="sigmoid"
        One logistic unit per output (the course), a softmax over them, or
        identity units with the squared-error cost (regression).
    batch_size : int or None, default=None
        Rows per chunk, as for :func:`~skbackprop.backprop.make_cost_function`;
        ``None`` takes all rows at once.

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
        batch_size=batch_size,
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
    batch_size=None,
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
    batch_size : int or None, default=None
        Rows per chunk. With ``None`` (or ``batch_size >= m``) the ordinary
        passes are computed once, here, and kept for every product; with
        fewer rows per chunk each product recomputes them a chunk at a time,
        so memory beyond ``X`` is set by the chunk, not by ``m``.

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
    _, m_eff = _check_sample_weight_array(sample_weight, X.shape[0])
    hessian_sum = make_hessian_vector_sum(
        nn_params,
        layer_sizes,
        X,
        Y,
        sample_weight,
        activation=activation,
        output_activation=output_activation,
        batch_size=batch_size,
    )
    dtype = _compute_dtype(X)

    def hvp(v):
        return hessian_product_from_sum(
            hessian_sum(v), v, layer_sizes, alpha, m_eff, dtype
        )

    return hvp


def make_hessian_vector_sum(
    nn_params,
    layer_sizes,
    X,
    Y,
    sample_weight=None,
    activation="sigmoid",
    output_activation="sigmoid",
    batch_size=None,
):
    """Build ``hv_sum(v)``: the data term of ``H v`` summed over these rows.

    ``R{Delta(l)}`` summed over the rows of ``X``, before the course divides
    by ``m`` and adds the penalty's ``(lambda / m) V(l)``: sums over disjoint
    blocks of rows add up to the sum over all of them, and
    :func:`hessian_product_from_sum` of the total is ``H v``. The passes that
    do not depend on ``v`` are computed here when all rows form one chunk.
    Parameters as for :func:`make_hessian_vector_product`; ``hv_sum(v)``
    returns a new float64 vector, unrolled like ``nn_params``.
    """
    dtype = _compute_dtype(X)
    thetas = _thetas_for(nn_params, layer_sizes, X)
    n_params = int(np.asarray(nn_params).shape[0])
    m = X.shape[0]
    w, _ = _check_sample_weight_array(sample_weight, m)
    chunk = _check_batch_size(batch_size, m)
    if _is_sparse(X) and chunk < m and X.format != "csr":
        X = X.tocsr()
    chunks = [slice(start, min(start + chunk, m)) for start in range(0, m, chunk)]

    def passes_of(rows):
        w_col = None if w is None else w[rows, None].astype(dtype)
        Yc = np.asarray(Y[rows], dtype=dtype)
        return _OrdinaryPasses(
            thetas, X[rows], Yc, w_col, activation, output_activation
        )

    # All rows in one chunk: the ordinary passes are shared by every product.
    shared = passes_of(chunks[0]) if len(chunks) == 1 else None

    def hv_sum(v):
        vs = _directions(v, layer_sizes, dtype)
        Hv = np.zeros(n_params, dtype=np.float64)
        blocks = roll(Hv, layer_sizes)
        for rows in chunks:
            passes = shared if shared is not None else passes_of(rows)
            passes.add_r_gradient(thetas, vs, blocks)
        return Hv

    return hv_sum


def _directions(v, layer_sizes, dtype):
    """``V(l)``, the direction rolled into matrices, in the compute dtype."""
    return [t.astype(dtype, copy=False) for t in roll(np.asarray(v), layer_sizes)]


def hessian_product_from_sum(hv_sum, v, layer_sizes, alpha, m, dtype=np.float64):
    """``H v`` from the data term's sum: ``hv_sum / m + (lambda / m) V``.

    The penalty's term leaves out the bias column and uses ``V`` in the
    compute ``dtype``, as the passes do. ``hv_sum`` becomes ``H v``, in place.
    """
    hv_sum /= m
    vs = _directions(v, layer_sizes, dtype)
    add_regularization_gradient(roll(hv_sum, layer_sizes), vs, alpha, m)
    return hv_sum


class _OrdinaryPasses:
    """The forward and backward passes at fixed parameters, over some rows.

    What the R-operator needs and ``v`` does not change: the activations
    ``a(l)``, ``g'(z(l))`` and ``g''(z(l))``, the output ``a(L)``, the deltas
    ``d(l)`` and the pre-activation errors ``d(l+1) Theta(l)[:, 1:]``.
    """

    def __init__(self, thetas, X, Y, w_col, activation, output_activation):
        self.output_activation = output_activation
        self.w_col = w_col
        activations, z = forward_propagate(thetas, X, activation)
        self.activations = activations
        self.g1 = [None] + [
            activation_gradient_from_a(a, activation) for a in activations[1:]
        ]
        self.g2 = [None] + [
            activation_second_derivative_from_a(a, activation) for a in activations[1:]
        ]
        self.h = output_activation_from_z(z, output_activation, out=z)
        # d(L) = w .* (a(L) - y); for the hidden layers d(l+1) Theta(l)[:, 1:]
        # and d(l).
        n_layers = len(thetas) + 1
        self.deltas = [None] * n_layers
        self.backs = [None] * n_layers
        self.deltas[-1] = self.h - Y
        if w_col is not None:
            self.deltas[-1] *= w_col
        for i in range(n_layers - 2, 0, -1):
            self.backs[i] = self.deltas[i + 1] @ thetas[i][:, 1:]
            self.deltas[i] = self.backs[i] * self.g1[i]

    def _r_forward(self, thetas, vs):
        """``R{a(l)} = g'(z(l)) .* R{z(l)}`` and ``R{z(l)}``, then ``R{z(L)}``."""
        r_as, r_zs = [None], [None]  # R{a(1)} = R{x} = 0
        r_z = forward_layer_direction(self.activations[0], None, thetas[0], vs[0])
        for i in range(1, len(thetas)):
            r_zs.append(r_z)
            r_as.append(r_z * self.g1[i])
            r_z = forward_layer_direction(
                self.activations[i], r_as[i], thetas[i], vs[i]
            )
        return r_as, r_zs, r_z

    def _r_output_delta(self, r_z):
        """``R{d(L)} = w .* R{a(L)}``."""
        h = self.h
        if self.output_activation == "softmax":
            r_delta = h * (r_z - np.einsum("ij,ij->i", h, r_z)[:, None])
        elif self.output_activation == "identity":
            r_delta = r_z  # a(L) = z(L): R{a(L)} = R{z(L)}, a new array
        else:
            r_delta = h * (1.0 - h) * r_z
        if self.w_col is not None:
            r_delta *= self.w_col
        return r_delta

    def add_r_gradient(self, thetas, vs, blocks):
        """Add these rows' ``R{Delta(l)}`` into ``blocks`` (not yet divided by m)."""
        r_as, r_zs, r_z = self._r_forward(thetas, vs)
        r_delta = self._r_output_delta(r_z)
        for i in range(len(thetas) - 1, -1, -1):
            a, r_a, B = self.activations[i], r_as[i], blocks[i]
            delta = self.deltas[i + 1]
            # R{Delta(l)} = R{d(l+1)}^T [1, a(l)] + d(l+1)^T [0, R{a(l)}].
            B[:, 0] += r_delta.sum(axis=0, dtype=np.float64)
            if _is_sparse(a):
                B[:, 1:] += (a.T @ r_delta).T
            else:
                B[:, 1:] += r_delta.T @ a
            if r_a is not None:
                B[:, 1:] += delta.T @ r_a
            if i > 0:
                # R{d(l)} = (R{d(l+1)} Theta[:,1:] + d(l+1) V[:,1:]) .* g'
                #           + (d(l+1) Theta[:,1:]) .* g'' .* R{z(l)}.
                r_delta = (r_delta @ thetas[i][:, 1:] + delta @ vs[i][:, 1:]) * self.g1[
                    i
                ]
                r_delta += self.backs[i] * self.g2[i] * r_zs[i]
