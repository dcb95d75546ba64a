"""The fast CPU evaluator of the cost and gradient (the numpy backend).

The same numbers as :func:`~skbackprop.backprop.cost_function`, organised for
an optimizer that evaluates them hundreds of times on the same data: work
buffers allocated once, elementwise steps in place, rows a chunk at a time.
"""

import numpy as np

from ._activations import _sigmoid_inplace, check_output_activation, unit
from ._course import (
    Network,
    _check_batch_size,
    _check_n_params,
    _check_sample_weight_array,
    _compute_dtype,
    _is_sparse,
    add_regularization_gradient,
    regularization_cost,
    roll,
)


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
      ``g'``, ``a(L) - y``) run in place in them. They hold one column per
      example, as the course writes ``z(l+1) = Theta(l) [1; a(l)]``, so every
      elementwise step runs over long contiguous rows;
    * one forward pass gives both the cost (from ``z(L)``: for logistic
      units as ``max(z, 0) + log(1 + exp(-|z|)) - y z``, finite for any
      ``z``; for identity units as ``(z - y)^2 / 2``) and what backprop needs;
      ``X`` is never copied (it is used through its transpose, a view), and
      the bias enters as ``Theta(l)[:, 0]`` added to ``z``, never as a row of
      ones;
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
        and neither is copied if C- or Fortran-contiguous; other dtypes, and
        strided views, are converted (to float64) once, here. Sparse ``X``
        in a format other than CSR is converted to CSR once when
        ``batch_size`` splits it.
    Y : array-like of shape (m, s_L)
        0/1 indicator matrix of the labels, or real-valued targets for
        ``output_activation="identity"`` (any numeric or bool dtype; a chunk
        at a time is cast to the compute dtype).
    alpha : float
        Regularisation strength (the course's lambda).
    sample_weight : array-like of shape (m,), default=None
        Non-negative weight of each example; ``m`` becomes their sum.
    activation : {"sigmoid", "tanh", "relu"}, default="sigmoid"
        Hidden units' activation ``g``.
    output_activation : {"sigmoid", "softmax", "identity"}, default="sigmoid"
        One logistic unit per output (the course), a softmax over them, or
        identity units with the squared-error cost (regression).
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
    network = Network.of(layer_sizes, alpha, activation, output_activation, batch_size)
    return _FastCost(network, X, Y, sample_weight)


def cost_from_sums(data_cost, delta, nn_params, layer_sizes, alpha, m):
    """``J`` and its gradient from the data term's sums (:meth:`_FastCost.data_sums`).

    The course's last steps: ``J = data_cost / m + (lambda / 2m) sum Theta^2``
    and ``D(l) = Delta(l) / m + (lambda / m) Theta(l)``, bias column not
    penalised. ``delta`` (float64, unrolled) becomes the gradient, in place.
    """
    delta /= m
    J = data_cost / m
    if alpha != 0:
        thetas = roll(nn_params, layer_sizes)
        J += regularization_cost(thetas, alpha, m)
        add_regularization_gradient(roll(delta, layer_sizes), thetas, alpha, m)
    return float(J), delta


def _view(flat, rows, cols):
    """A C-contiguous ``(rows, cols)`` view of the front of ``flat``."""
    return flat[: rows * cols].reshape(rows, cols)


class _FastCost:
    """One fast evaluator: the data, the work buffers, and the passes over them.

    The buffers hold the course's layout, one column per example, so
    ``z(l+1) = Theta(l) [1; a(l)]`` is a matrix product whose bias term adds one
    number per row and every elementwise step runs over long contiguous rows.
    ``act[l]`` holds ``z(l+1)`` and then, in place, ``a(l+1)``; the output
    layer's becomes ``a(L) - y``, the output delta.
    """

    def __init__(self, network, X, Y, sample_weight):
        self.unit = unit(network.activation)
        self.output_activation = check_output_activation(network.output_activation)
        self.layer_sizes = network.layer_sizes
        self.shapes = network.shapes
        self.n_params = network.n_params
        self._set_data(X, Y, sample_weight, network.batch_size)
        self.alpha = network.alpha
        self._allocate()

    def _set_data(self, X, Y, sample_weight, batch_size):
        """Check ``X``, ``Y`` and the weights; keep them in the compute dtype."""
        layer_sizes = self.layer_sizes
        self.sparse = _is_sparse(X)
        if not self.sparse:
            X = np.asarray(X)
        if X.ndim != 2 or X.shape[1] != layer_sizes[0]:
            raise ValueError(
                f"X has shape {X.shape}, but layer_sizes {layer_sizes} need "
                f"{layer_sizes[0]} columns."
            )
        self.dtype = dtype = _compute_dtype(X)
        if X.dtype != dtype:
            X = X.astype(dtype)
        elif not self.sparse and not (X.flags.c_contiguous or X.flags.f_contiguous):
            X = np.ascontiguousarray(X)  # once here, not in every matrix product
        self.m = m = X.shape[0]
        if m == 0:
            raise ValueError("X has 0 rows; at least one example is needed.")
        self.Y = Y = np.asarray(Y)
        self.K = K = layer_sizes[-1]
        if Y.shape != (m, K):
            raise ValueError(f"Y has shape {Y.shape}, expected ({m}, {K}).")
        self.w, self.m_eff = _check_sample_weight_array(sample_weight, m)
        self.w_c = None if self.w is None else self.w.astype(dtype)
        self.chunk = _check_batch_size(batch_size, m)
        if self.sparse and self.chunk < m and X.format != "csr":
            X = X.tocsr()
        self.X = X

    def _allocate(self):
        """The work buffers, once for every call."""
        sizes, chunk, dtype, K = self.layer_sizes, self.chunk, self.dtype, self.K

        def flat_buffer(rows):
            return np.empty(rows * chunk, dtype)

        self.act = [None] + [flat_buffer(s) for s in sizes[1:]]
        self.deltas = [None] + [flat_buffer(s) for s in sizes[1:-1]]
        self.y_flat = flat_buffer(K)
        # The output layer's loss terms need two K-row scratch buffers; the
        # last hidden layer's d(l) buffer is free until backprop starts.
        if len(self.shapes) > 1 and sizes[-2] >= 2 * K:
            self.loss_flat = self.deltas[-1][: K * chunk]
            self.tmp_flat = self.deltas[-1][K * chunk : 2 * K * chunk]
        else:
            self.loss_flat, self.tmp_flat = flat_buffer(K), flat_buffer(K)
        # float32 data: float32 copies of the Theta(l), and a float32 Delta(l)
        # per chunk, added into the float64 gradient.
        self.theta_bufs = (
            None
            if dtype == np.float64
            else [np.empty(shape, dtype, order="F") for shape in self.shapes]
        )
        self.direct = dtype == np.float64 and chunk == self.m and not self.sparse
        self.grad_bufs = (
            None
            if self.direct
            else [np.empty((c - 1, r), dtype) for r, c in self.shapes]
        )
        # One chunk: the targets are loaded once, here.
        self.targets_all = self._load_targets(0, self.m) if chunk == self.m else None

    def _load_targets(self, start, stop):
        """``Y`` rows ``start:stop``, one column per example, in the compute dtype."""
        Yc = _view(self.y_flat, self.K, stop - start)
        np.copyto(Yc, self.Y[start:stop].T, casting="unsafe")
        return Yc

    def __call__(self, nn_params):
        params = self._check_params(nn_params)
        data_cost, grad = self.data_sums(params)
        return cost_from_sums(
            data_cost, grad, params, self.layer_sizes, self.alpha, self.m_eff
        )

    def _check_params(self, nn_params):
        params = np.asarray(nn_params, dtype=np.float64)
        _check_n_params(params, self.layer_sizes, self.n_params)
        return params

    def data_sums(self, nn_params):
        """The data term's sums over these rows, before the course divides by ``m``.

        Returns ``(sum_i w_i cost_i, Delta)``, ``Delta`` the unrolled
        ``Delta(l) = sum_i w_i d(l+1) [1; a(l)]^T`` (float64), without the
        penalty. Sums over disjoint blocks of rows add up to the sums over
        all of them, which is how a backend that holds the rows in blocks (on
        the workers of a Dask cluster) evaluates the cost:
        :func:`cost_from_sums` of the totals is ``J`` and its gradient.
        """
        params = self._check_params(nn_params)
        thetas = roll(params, self.layer_sizes)
        if self.theta_bufs is not None:
            for buf, theta in zip(self.theta_bufs, thetas):
                np.copyto(buf, theta, casting="same_kind")
            thetas = self.theta_bufs
        grad = np.empty(self.n_params, dtype=np.float64)
        grads = roll(grad, self.layer_sizes)
        data_cost = 0.0
        for start in range(0, self.m, self.chunk):
            stop = min(start + self.chunk, self.m)
            data_cost += self._chunk_cost(thetas, grads, start, stop)
        return data_cost, grad

    def _chunk_cost(self, thetas, grads, start, stop):
        """Forward and backward over rows ``start:stop``; returns their data cost."""
        rows = stop - start
        Xc = self.X if rows == self.m else self.X[start:stop]
        Yc = self.targets_all
        if Yc is None:
            Yc = self._load_targets(start, stop)
        wc = None if self.w is None else slice(start, stop)
        z = self._forward(thetas, Xc, rows)
        data_cost = self._data_cost_and_output_delta(z, Yc, wc)
        self._backward(thetas, grads, z, Xc, rows, first=start == 0)
        return data_cost

    def _forward(self, thetas, Xc, rows):
        """``z(l+1) = Theta(l) [1; a(l)]``, ``a = g(z)``; returns ``z(L)``."""
        a = None
        for i, theta in enumerate(thetas):
            z = _view(self.act[i + 1], theta.shape[0], rows)
            if i == 0 and self.sparse:
                z[...] = (Xc @ theta[:, 1:].T).T
            elif i == 0:
                np.matmul(theta[:, 1:], Xc.T, out=z)
            else:
                np.matmul(theta[:, 1:], a, out=z)
            z += theta[:, :1]
            if i < len(thetas) - 1:
                self.unit.g_inplace(z)
            a = z
        return a

    def _backward(self, thetas, grads, delta, Xc, rows, first):
        """``Delta(l) += d(l+1) [1; a(l)]^T``; ``d(l) = Theta^T d(l+1) .* g'``."""
        for i in range(len(thetas) - 1, -1, -1):
            a = Xc if i == 0 else _view(self.act[i], self.layer_sizes[i], rows)
            self._add_layer_gradient(grads[i], delta, a, i, first)
            if i > 0:
                d_prev = _view(self.deltas[i], self.layer_sizes[i], rows)
                np.matmul(thetas[i][:, 1:].T, delta, out=d_prev)
                delta = self.unit.times_gradient_inplace(d_prev, a)

    def _add_layer_gradient(self, G, delta, a, i, first):
        """``Delta(l) += d(l+1) [1; a(l)]^T`` into the float64 ``G``."""
        bias = delta.sum(axis=1, dtype=np.float64)
        if first:
            G[:, 0] = bias
        else:
            G[:, 0] += bias
        GT = G[:, 1:].T  # C-contiguous (s_l, s_{l+1}) view of the gradient
        # a is the chunk of X, (rows, s_1), or a(l) one column per example.
        a_rows = a if i == 0 else a.T
        if self.direct:
            np.matmul(a_rows.T, delta.T, out=GT)
            return
        if self.sparse and i == 0:
            part = np.asarray(a_rows.T @ delta.T)
        else:
            part = np.matmul(a_rows.T, delta.T, out=self.grad_bufs[i])
        if first:
            GT[...] = part
        else:
            GT += part

    def _data_cost_and_output_delta(self, z, Yc, wc):
        """The data term of ``J`` from ``z(L)``; ``z`` becomes ``d(L) = a(L) - y``."""
        if self.output_activation == "softmax":
            losses = self._softmax_losses(z, Yc)
        elif self.output_activation == "identity":
            losses = self._squared_losses(z, Yc)
        else:
            losses = self._logistic_losses(z, Yc)
        data_cost = float(losses.sum() if wc is None else self.w[wc] @ losses)
        z -= Yc
        if wc is not None:
            z *= self.w_c[wc]
        return data_cost

    def _softmax_losses(self, z, Yc):
        """``logsumexp(z) - sum_k y z`` per example; ``z`` becomes ``a(L)``."""
        yz = np.multiply(Yc, z, out=_view(self.tmp_flat, self.K, z.shape[1]))
        yz = yz.sum(axis=0)
        z_max = z.max(axis=0)
        z -= z_max
        np.exp(z, out=z)
        total = z.sum(axis=0)
        losses = np.log(total)
        losses += z_max
        losses -= yz
        z /= total
        return losses.astype(np.float64, copy=False)

    def _logistic_losses(self, z, Yc):
        """``max(z, 0) + log(1 + e^-|z|) - y z``; ``z`` becomes ``a(L)``."""
        rows = z.shape[1]
        L = np.abs(z, out=_view(self.loss_flat, self.K, rows))
        np.negative(L, out=L)
        np.exp(L, out=L)
        np.log1p(L, out=L)
        tmp = np.maximum(z, 0.0, out=_view(self.tmp_flat, self.K, rows))
        L += tmp
        L -= np.multiply(Yc, z, out=tmp)
        losses = L.sum(axis=0, dtype=np.float64)
        _sigmoid_inplace(z)
        return losses

    def _squared_losses(self, z, Yc):
        """``(1/2) sum_k (z - y)^2`` per example; ``z`` is already ``a(L)``."""
        residual = np.subtract(z, Yc, out=_view(self.tmp_flat, self.K, z.shape[1]))
        residual *= residual
        losses = residual.sum(axis=0, dtype=np.float64)
        losses *= 0.5
        return losses
