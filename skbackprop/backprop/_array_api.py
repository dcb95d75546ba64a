"""The cost, its gradient and Hessian-vector products in any Array API namespace.

The same numbers as :func:`~skbackprop.backprop.cost_function` and
:func:`~skbackprop.backprop.hessian_vector_product`, written with the
operations of the `Array API standard <https://data-apis.org/array-api/>`_
(``matmul``, ``exp``, ``log1p``, ``sum``, ...) so that they run in the
namespace of ``X`` (PyTorch, CuPy, array-api-strict, ...) on ``X``'s device:
the GPU backend. The namespace comes from the arrays themselves
(``array_api_compat.array_namespace``); this module knows nothing of
scikit-learn.

Layout. On the device each ``Theta(l)`` is held transposed, as the
``(s_l + 1, s_{l+1})`` matrix ``Theta(l)^T``: row 0 is the bias, rows ``1:``
multiply ``a(l)``. A block of the unrolled vector (column-major
``Theta(l)``) *is* ``Theta(l)^T`` in row-major order, so rolling and
unrolling on the device are reshapes, with no transposes, and the forward
step is ``z(l+1) = a(l) @ Theta(l)^T[1:] + Theta(l)^T[0]`` with one example
per row, as in the reference.

Precision. ``X``'s floating dtype is the compute dtype (float32 stays
float32; other dtypes compute in float64). Sums over examples are
accumulated in float64 where the device has it, in float32 where it does not
(Apple's MPS), and so are the parameters on the device. The course's last
steps, dividing the sums by ``m`` and adding the penalty, are the numpy
path's own (``cost_from_sums``, ``hessian_product_from_sum``), in float64 on
the host.

Transfers. The optimizer's parameter vector lives on the host (numpy,
float64). Each evaluation moves it to the device and the gradient back,
nothing else: ``X``, ``Y`` and the weights stay on the device, rows a chunk
at a time with ``batch_size``.
"""

import numpy as np

from ._activations import check_output_activation, unit
from ._course import Network, _check_batch_size, _check_n_params
from ._fast import cost_from_sums
from ._roperator import hessian_product_from_sum

# ---------------------------------------------------------------------------
# Namespaces, devices and transfers
# ---------------------------------------------------------------------------


def _compat():
    import array_api_compat  # a runtime dependency, imported when first needed

    return array_api_compat


def is_array_api_array(X):
    """Whether ``X`` is an array of an Array API namespace other than numpy.

    True for PyTorch tensors, CuPy and array-api-strict arrays; False for
    numpy arrays, scipy sparse matrices and other array-likes (lists,
    DataFrames), which the numpy backend takes, and for dask arrays, which
    have a backend of their own (the numpy one, block by block on a cluster).
    """
    if isinstance(X, np.ndarray) or not hasattr(X, "shape"):
        return False
    if type(X).__module__.partition(".")[0] == "dask":
        return False
    compat = _compat()
    return compat.is_array_api_obj(X) and not compat.is_numpy_array(X)


def namespace_and_device(X):
    """``(xp, device)`` of an array: its Array API namespace and its device."""
    compat = _compat()
    return compat.array_namespace(X), compat.device(X)


def accumulation_dtype(xp, device):
    """float64 where the device has it, else float32 (e.g. PyTorch's MPS)."""
    floats = xp.__array_namespace_info__().dtypes(kind="real floating", device=device)
    return xp.float64 if "float64" in floats else xp.float32


def compute_dtype(X, xp, device):
    """float32 data is computed in float32; everything else in float64 (if any)."""
    if X.dtype == xp.float32:
        return xp.float32
    return accumulation_dtype(xp, device)


def numpy_dtype(dtype, xp):
    """The numpy floating dtype of the same precision as ``xp``'s ``dtype``."""
    return np.dtype(np.float32) if dtype == xp.float32 else np.dtype(np.float64)


def to_numpy(array):
    """A numpy array on the host holding ``array`` (from any namespace and device).

    numpy arrays and other non-Array-API objects are returned as they are.
    The result may share memory with ``array`` (on the CPU).
    """
    if not is_array_api_array(array):
        return array
    compat = _compat()
    if compat.is_torch_array(array):
        return array.detach().cpu().numpy()
    if compat.is_cupy_array(array):
        return array.get()
    try:  # the standard's exchange protocol, as scikit-learn's move_to tries first
        return np.from_dlpack(array)
    except (AttributeError, BufferError, RuntimeError, TypeError, ValueError):
        pass
    try:
        return np.asarray(array)
    except (RuntimeError, TypeError, ValueError):
        # array-api-strict on a simulated device: to its default (CPU) device.
        xp = compat.array_namespace(array)
        return np.asarray(
            array.to_device(xp.__array_namespace_info__().default_device())
        )


def to_namespace(array, xp, device, dtype=None):
    """``array`` (numpy or ``xp``) as an ``xp`` array on ``device``, in ``dtype``.

    ``dtype`` is a floating dtype of ``xp`` (or None: keep the array's).
    """
    if is_array_api_array(array):
        if _compat().device(array) != device:
            array = _compat().to_device(array, device)
        return array if dtype is None else xp.astype(array, dtype, copy=False)
    host = np.asarray(array)
    if dtype is not None:
        host = host.astype(numpy_dtype(dtype, xp), copy=False)
    # A copy, never a view of host memory that the optimizer may reuse.
    return xp.asarray(host, device=device, copy=True)


# ---------------------------------------------------------------------------
# The network's passes, one example per row
# ---------------------------------------------------------------------------


def _roll_transposed(params, shapes, xp):
    """The ``Theta(l)^T`` of a flat device vector: reshapes, no copies."""
    blocks, start = [], 0
    for rows, cols in shapes:
        stop = start + rows * cols
        blocks.append(xp.reshape(params[start:stop], (cols, rows)))
        start = stop
    return blocks


def _affine(a, theta_t):
    """``a @ Theta^T[1:] + Theta^T[0]``: the course's ``Theta [1; a]``, row-wise."""
    return a @ theta_t[1:, :] + theta_t[0, :]


def _forward(thetas_t, X, unit_, xp):
    """``[a(1), ..., a(L-1)]`` and ``z(L)``, as :func:`forward_propagate`."""
    activations = [X]
    z = _affine(X, thetas_t[0])
    for theta_t in thetas_t[1:]:
        activations.append(unit_.g_xp(z, xp))
        z = _affine(activations[-1], theta_t)
    return activations, z


def _output(z, Y, output, acc, xp):
    """Per-example data cost (in ``acc``) and ``h = a(L)``, both from ``z(L)``.

    Logistic units: ``max(z, 0) + log(1 + exp(-|z|)) - y z``; a softmax:
    ``logsumexp(z) - sum_k y z``, both finite for every finite ``z``; identity
    units (regression): ``(1/2) sum_k (z - y)^2`` and ``h = z``.
    """
    if output == "identity":
        residual = z - Y
        return 0.5 * xp.sum(residual * residual, axis=1, dtype=acc), z
    if output == "softmax":
        z_max = xp.max(z, axis=1, keepdims=True)
        e = xp.exp(z - z_max)
        total = xp.sum(e, axis=1, keepdims=True)
        losses = xp.log(total) + z_max - xp.sum(Y * z, axis=1, keepdims=True)
        return xp.astype(losses[:, 0], acc), e / total
    abs_z = xp.abs(z)
    e = xp.exp(-abs_z)
    losses = 0.5 * (z + abs_z) + xp.log1p(e) - Y * z
    h = xp.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
    return xp.sum(losses, axis=1, dtype=acc), h


def array_api_forward(thetas, X, activation="sigmoid"):
    """``z(L)`` of the network ``thetas`` on ``X``, in ``X``'s namespace and device.

    Parameters
    ----------
    thetas : list of arrays
        ``Theta(l)`` of shape ``(s_{l+1}, s_l + 1)``, numpy or in ``X``'s
        namespace; moved to ``X``'s device and compute dtype.
    X : array of shape (m, s_1)
        Inputs, of an Array API namespace.
    activation : {"sigmoid", "tanh", "relu"}, default="sigmoid"

    Returns
    -------
    z_out : array of shape (m, s_L)
        In ``X``'s namespace, on its device, in its compute dtype.
    """
    xp, device = namespace_and_device(X)
    dtype = compute_dtype(X, xp, device)
    X = xp.astype(X, dtype, copy=False)
    thetas_t = [to_namespace(theta, xp, device, dtype).T for theta in thetas]
    return _forward(thetas_t, X, unit(activation), xp)[1]


# ---------------------------------------------------------------------------
# The evaluator
# ---------------------------------------------------------------------------


def make_array_api_cost_function(
    layer_sizes,
    X,
    Y,
    alpha,
    sample_weight=None,
    activation="sigmoid",
    output_activation="sigmoid",
    batch_size=None,
):
    """Build ``fun(nn_params) -> (J, grad)`` for data in any Array API namespace.

    :func:`make_cost_function`'s contract, on ``X``'s device: ``nn_params``
    is the optimizer's numpy vector and ``grad`` comes back as a float64
    numpy vector; ``X``, ``Y`` and the weights stay on the device.

    Parameters
    ----------
    layer_sizes : sequence of int
        ``(s_1, ..., s_L)``.
    X : array of shape (m, s_1)
        Inputs: a PyTorch tensor, a CuPy or array-api-strict array (any
        Array API namespace). float32 data is computed in float32.
    Y : array of shape (m, s_L)
        0/1 indicator matrix of the labels (real-valued targets for identity
        outputs), numpy or in ``X``'s namespace; moved once to ``X``'s device.
    alpha : float
        Regularisation strength (the course's lambda).
    sample_weight : array of shape (m,), default=None
        Non-negative weight of each example, numpy or in ``X``'s namespace.
    activation : {"sigmoid", "tanh", "relu"}, default="sigmoid"
    output_activation : {"sigmoid", "softmax", "identity"}, default="sigmoid"
        Logistic units (the course), a softmax, or identity units with the
        squared-error cost (regression).
    batch_size : int or None, default=None
        Rows per chunk of every pass; ``None`` takes all rows at once.

    Returns
    -------
    fun : ArrayAPICost
        ``fun(nn_params)`` returns ``(J, grad)`` as :func:`cost_function`;
        ``fun.hessian_product(nn_params)`` returns ``hvp(v) -> H v``.

    Examples
    --------
    >>> import array_api_strict as xp
    >>> import numpy as np
    >>> from skbackprop.backprop import (
    ...     cost_function, init_thetas, make_array_api_cost_function, unroll)
    >>> rng = np.random.default_rng(0)
    >>> X, Y = rng.standard_normal((50, 4)), np.eye(3)[rng.integers(0, 3, 50)]
    >>> params = unroll(init_thetas((4, 5, 3), random_state=0))
    >>> fun = make_array_api_cost_function((4, 5, 3), xp.asarray(X), Y, alpha=1.0)
    >>> J, grad = fun(params)
    >>> J_ref, grad_ref = cost_function(params, (4, 5, 3), X, Y, alpha=1.0)
    >>> bool(np.isclose(J, J_ref, rtol=1e-12)), bool(np.allclose(grad, grad_ref))
    (True, True)
    """
    network = Network.of(layer_sizes, alpha, activation, output_activation, batch_size)
    return ArrayAPICost(network, X, Y, sample_weight)


def make_array_api_hessian_vector_product(
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
    """:func:`make_hessian_vector_product` on ``X``'s device.

    Returns ``hvp(v) -> H v``: ``v`` and ``H v`` are numpy vectors on the host
    (``H v`` float64); every pass runs on the device.
    """
    network = Network.of(layer_sizes, alpha, activation, output_activation, batch_size)
    return ArrayAPICost(network, X, Y, sample_weight).hessian_product(nn_params)


class ArrayAPICost:
    """The data on its device, and the passes over it (one evaluator).

    Attributes
    ----------
    xp, device
        ``X``'s namespace and device.
    dtype, acc_dtype
        The compute dtype (``X``'s) and the accumulation dtype (float64 where
        the device has it): the parameters on the device are in ``acc_dtype``.
    """

    def __init__(self, network, X, Y, sample_weight):
        self.unit = unit(network.activation)
        self.output = check_output_activation(network.output_activation)
        self.layer_sizes = network.layer_sizes
        self.shapes = network.shapes
        self.n_params = network.n_params
        self.alpha = network.alpha
        self._set_data(X, Y, sample_weight)
        self.chunk = _check_batch_size(network.batch_size, self.m)
        self.chunks = [
            (start, min(start + self.chunk, self.m))
            for start in range(0, self.m, self.chunk)
        ]

    def _set_data(self, X, Y, sample_weight):
        """Check the shapes; keep ``X``, ``Y``, ``w`` on the device (compute dtype)."""
        xp, device = self.xp, self.device = namespace_and_device(X)
        if X.ndim != 2 or X.shape[1] != self.layer_sizes[0]:
            raise ValueError(
                f"X has shape {tuple(X.shape)}, but layer_sizes {self.layer_sizes} "
                f"need {self.layer_sizes[0]} columns."
            )
        self.m = m = int(X.shape[0])
        if m == 0:
            raise ValueError("X has 0 rows; at least one example is needed.")
        self.dtype = dtype = compute_dtype(X, xp, device)
        self.acc_dtype = accumulation_dtype(xp, device)
        self.X = xp.astype(X, dtype, copy=False)
        K = self.layer_sizes[-1]
        if tuple(Y.shape) != (m, K):
            raise ValueError(f"Y has shape {tuple(Y.shape)}, expected ({m}, {K}).")
        self.Y = to_namespace(Y, xp, device, dtype)
        self.w = self.w_acc = None
        self.m_eff = float(m)
        if sample_weight is not None:
            if tuple(sample_weight.shape) != (m,):
                raise ValueError(
                    f"sample_weight has shape {tuple(sample_weight.shape)}, "
                    f"expected ({m},)."
                )
            self.w_acc = to_namespace(sample_weight, xp, device, self.acc_dtype)
            self.w = xp.astype(self.w_acc, dtype, copy=False)
            self.m_eff = float(xp.sum(self.w_acc))
            if not self.m_eff > 0:
                raise ValueError("The sum of sample_weight must be positive.")

    # -- transfers ---------------------------------------------------------

    def to_device(self, nn_params):
        """The host parameter vector on the device, in ``acc_dtype`` (one copy)."""
        params = np.asarray(nn_params)
        _check_n_params(params, self.layer_sizes, self.n_params)
        return to_namespace(params, self.xp, self.device, self.acc_dtype)

    def __call__(self, nn_params):
        """``(J, grad)`` at the host vector ``nn_params``: one copy each way.

        The data term's sums come from the device; the course's last steps
        (divide by ``m``, add the penalty) are the numpy path's own
        (:func:`~skbackprop.backprop._fast.cost_from_sums`), on the host.
        """
        params = np.asarray(nn_params, dtype=np.float64)
        data_cost, delta = self.data_sums(self.to_device(params))
        delta = np.array(to_numpy(delta), dtype=np.float64)  # a copy
        return cost_from_sums(
            float(data_cost), delta, params, self.layer_sizes, self.alpha, self.m_eff
        )

    # -- the cost and its gradient ------------------------------------------

    def data_sums(self, params):
        """The data term's sums at the device vector ``params``, on the device.

        ``(sum_i w_i cost_i, Delta)``, ``Delta`` unrolled as :func:`unroll`
        does, not yet divided by ``m`` and without the penalty.
        """
        xp = self.xp
        thetas = [
            xp.astype(t, self.dtype, copy=False)
            for t in _roll_transposed(params, self.shapes, xp)
        ]
        bias_sums = weight_sums = None
        data_cost = 0.0
        for start, stop in self.chunks:
            cost, biases, weights = self._chunk(thetas, start, stop)
            data_cost = data_cost + cost
            if bias_sums is None:
                bias_sums, weight_sums = biases, weights
            else:
                bias_sums = [s + b for s, b in zip(bias_sums, biases)]
                weight_sums = [s + w for s, w in zip(weight_sums, weights)]
        return data_cost, self._unrolled(bias_sums, weight_sums)

    def _chunk(self, thetas, start, stop):
        """Forward and backward over rows ``start:stop``.

        Returns their data cost, and per layer the sums over these rows of
        ``d(l+1)`` (the bias column) and of ``a(l)^T d(l+1)`` (the rest of
        ``Delta(l)^T``), in ``acc_dtype``.
        """
        xp, acc = self.xp, self.acc_dtype
        X, Y, w, w_acc = self._rows(start, stop)
        activations, z = _forward(thetas, X, self.unit, xp)
        losses, h = _output(z, Y, self.output, acc, xp)
        data_cost = xp.sum(losses if w_acc is None else w_acc * losses)
        delta = h - Y if w is None else (h - Y) * w[:, None]
        biases, weights = [], []
        for i in range(len(thetas) - 1, -1, -1):
            a = activations[i]
            biases.append(xp.sum(delta, axis=0, dtype=acc))
            weights.append(xp.astype(a.T @ delta, acc, copy=False))
            if i > 0:
                # d(l) = (d(l+1) Theta(l)[:, 1:]) .* g'(z(l)), g' from a(l).
                delta = (delta @ thetas[i][1:, :].T) * self.unit.gradient_from_a(a, xp)
        return data_cost, biases[::-1], weights[::-1]

    def _rows(self, start, stop):
        """``X``, ``Y`` and the weights of rows ``start:stop`` (views when all)."""
        if stop - start == self.m:
            return self.X, self.Y, self.w, self.w_acc
        w = None if self.w is None else self.w[start:stop]
        w_acc = None if self.w_acc is None else self.w_acc[start:stop]
        return self.X[start:stop, :], self.Y[start:stop, :], w, w_acc

    def _unrolled(self, bias_sums, weight_sums):
        """The sums ``Delta(l)`` unrolled on the device, as :func:`unroll` does.

        Row-major ``Delta(l)^T`` is the column-major ``Delta(l)`` of
        :func:`unroll`.
        """
        blocks = []
        for bias, weight in zip(bias_sums, weight_sums):
            blocks += [bias, self.xp.reshape(weight, (-1,))]
        return self.xp.concat(blocks)

    # -- Hessian-vector products -------------------------------------------

    def hessian_product(self, nn_params):
        """``hvp(v) -> H v`` at ``nn_params`` (all three numpy, on the host).

        With one chunk the passes that do not depend on ``v`` are computed
        once, here, and kept; with several, each product recomputes them a
        chunk at a time.
        """
        xp = self.xp
        thetas64 = _roll_transposed(self.to_device(nn_params), self.shapes, xp)
        thetas = [xp.astype(t, self.dtype, copy=False) for t in thetas64]
        shared = (
            self._passes(thetas, *self.chunks[0]) if len(self.chunks) == 1 else None
        )

        def hvp(v):
            vs = [
                xp.astype(t, self.dtype, copy=False)
                for t in _roll_transposed(self.to_device(v), self.shapes, xp)
            ]
            bias_sums = weight_sums = None
            for start, stop in self.chunks:
                passes = (
                    shared if shared is not None else self._passes(thetas, start, stop)
                )
                biases, weights = passes.r_gradient(thetas, vs)
                if bias_sums is None:
                    bias_sums, weight_sums = biases, weights
                else:
                    bias_sums = [s + b for s, b in zip(bias_sums, biases)]
                    weight_sums = [s + w for s, w in zip(weight_sums, weights)]
            hv_sum = self._unrolled(bias_sums, weight_sums)
            hv_sum = np.array(to_numpy(hv_sum), dtype=np.float64)  # a copy
            return hessian_product_from_sum(
                hv_sum, v, self.layer_sizes, self.alpha, self.m_eff
            )

        return hvp

    def _passes(self, thetas, start, stop):
        X, Y, w, _ = self._rows(start, stop)
        return _DevicePasses(
            thetas, X, Y, w, self.unit, self.output, self.acc_dtype, self.xp
        )


class _DevicePasses:
    """The passes at fixed parameters over some rows, for the R-operator.

    As :mod:`skbackprop.backprop._roperator`'s, in the transposed layout:
    ``a(l)``, ``g'(z(l))``, ``g''(z(l))``, ``h = a(L)``, the deltas ``d(l)``
    and ``d(l+1) Theta(l)[:, 1:]``.
    """

    def __init__(self, thetas, X, Y, w, unit_, output, acc, xp):
        self.xp, self.acc, self.output, self.w = xp, acc, output, w
        self.activations, z = _forward(thetas, X, unit_, xp)
        hidden = self.activations[1:]
        self.g1 = [None] + [unit_.gradient_from_a(a, xp) for a in hidden]
        self.g2 = [None] + [unit_.second_derivative_from_a(a, xp) for a in hidden]
        self.h = _output(z, Y, output, acc, xp)[1]
        n_layers = len(thetas) + 1
        self.deltas = [None] * n_layers
        self.backs = [None] * n_layers
        self.deltas[-1] = self.h - Y if w is None else (self.h - Y) * w[:, None]
        for i in range(n_layers - 2, 0, -1):
            self.backs[i] = self.deltas[i + 1] @ thetas[i][1:, :].T
            self.deltas[i] = self.backs[i] * self.g1[i]

    def _r_forward(self, thetas, vs):
        """``R{a(l)} = g'(z(l)) .* R{z(l)}`` and ``R{z(l)}``, then ``R{z(L)}``."""
        r_as, r_zs = [None], [None]
        r_z = _affine(self.activations[0], vs[0])
        for i in range(1, len(thetas)):
            r_zs.append(r_z)
            r_as.append(r_z * self.g1[i])
            r_z = _affine(self.activations[i], vs[i]) + r_as[i] @ thetas[i][1:, :]
        return r_as, r_zs, r_z

    def _r_output_delta(self, r_z):
        """``R{d(L)} = w .* R{a(L)}``."""
        xp, h = self.xp, self.h
        if self.output == "softmax":
            r_delta = h * (r_z - xp.sum(h * r_z, axis=1, keepdims=True))
        elif self.output == "identity":
            r_delta = r_z  # h = z(L)
        else:
            r_delta = h * (1.0 - h) * r_z
        return r_delta if self.w is None else r_delta * self.w[:, None]

    def r_gradient(self, thetas, vs):
        """These rows' ``R{Delta(l)}``: bias sums and ``(s_l, s_{l+1})`` blocks."""
        xp, acc = self.xp, self.acc
        r_as, r_zs, r_z = self._r_forward(thetas, vs)
        r_delta = self._r_output_delta(r_z)
        biases, weights = [], []
        for i in range(len(thetas) - 1, -1, -1):
            a, r_a, delta = self.activations[i], r_as[i], self.deltas[i + 1]
            # R{Delta(l)} = R{d(l+1)}^T [1, a(l)] + d(l+1)^T [0, R{a(l)}].
            biases.append(xp.sum(r_delta, axis=0, dtype=acc))
            block = a.T @ r_delta
            if r_a is not None:
                block = block + r_a.T @ delta
            weights.append(xp.astype(block, acc, copy=False))
            if i > 0:
                # R{d(l)} = (R{d(l+1)} Theta[:,1:] + d(l+1) V[:,1:]) .* g'
                #           + (d(l+1) Theta[:,1:]) .* g'' .* R{z(l)}.
                r_back = r_delta @ thetas[i][1:, :].T + delta @ vs[i][1:, :].T
                r_delta = r_back * self.g1[i] + self.backs[i] * self.g2[i] * r_zs[i]
        return biases[::-1], weights[::-1]
