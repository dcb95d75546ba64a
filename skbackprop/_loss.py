"""The loss object the solver calls: the cost, its derivatives, the output.

:class:`NetworkLoss` is the counterpart of scikit-learn's ``LinearModelLoss``:
it holds the network's shape and settings (layer sizes, activations, alpha,
batch size, as one :class:`~skbackprop.backprop._course.Network`) and
evaluates, for given data, the cost and its gradient, exact Hessian-vector
products, a forward pass, the unpenalised data term of the cost from the
output units' inputs (the validation loss) and the constant prediction's
cost. It keeps the evaluator of the data it last saw, and with it the
evaluator's work buffers, so an optimizer's hundreds of calls allocate
nothing.

The numbers come from :mod:`skbackprop.backprop`, through the placement of
the data (:mod:`skbackprop._placement`): the fast CPU evaluator and the
R-operator for numpy and scipy sparse data, the device evaluator for another
Array API namespace, the numpy evaluators block by block on a Dask cluster.
The loss itself knows no backend. Every backend is tested against the
readable reference (:func:`~skbackprop.backprop.cost_function`).
"""

import numpy as np

from ._placement import placement_for
from .backprop import check_activation, check_output_activation
from .backprop._course import _LOSS_FROM_Z, Network


class NetworkLoss:
    """The regularised cost of one network shape, and what the solver needs of it.

    Parameters
    ----------
    layer_sizes : tuple of int
        ``(s_1, ..., s_L)``: inputs, hidden layers, outputs.
    activation : {"sigmoid", "tanh", "relu"}, default="sigmoid"
        Hidden units' activation.
    output_activation : {"sigmoid", "softmax", "identity"}, default="sigmoid"
        One logistic unit per output (the course), a softmax, or identity
        units with the squared-error cost (regression).
    alpha : float, default=1.0
        Regularisation strength (the course's lambda).
    batch_size : int or None, default=None
        Rows per chunk of every evaluation; ``None`` takes all rows at once.
    placement : placement object, default=None
        Where the data live (:func:`~skbackprop._placement.placement_for`);
        None finds it from each ``X``.

    Examples
    --------
    >>> import numpy as np
    >>> from skbackprop._loss import NetworkLoss
    >>> from skbackprop.backprop import cost_function, init_thetas, unroll
    >>> X, Y = np.eye(3), np.eye(3)
    >>> params = unroll(init_thetas((3, 2, 3), random_state=0))
    >>> J, grad = NetworkLoss((3, 2, 3)).loss_gradient(params, X, Y)
    >>> bool(np.isclose(J, cost_function(params, (3, 2, 3), X, Y, 1.0)[0]))
    True
    """

    def __init__(
        self,
        layer_sizes,
        activation="sigmoid",
        output_activation="sigmoid",
        alpha=1.0,
        batch_size=None,
        placement=None,
    ):
        self.placement = placement
        self.network = Network.of(
            layer_sizes,
            alpha,
            check_activation(activation),
            check_output_activation(output_activation),
            batch_size,
        )
        self.layer_sizes, self.alpha, self.activation = self.network[:3]
        self.output_activation, self.batch_size = self.network[3:]
        self._data = None
        self._evaluator = None

    def _placement_of(self, X):
        return placement_for(X) if self.placement is None else self.placement

    def evaluator(self, X, Y, sample_weight=None):
        """``nn_params -> (J, grad)`` on this data, built (with its buffers) once.

        The placement's evaluator: for a device ``X`` it moves ``Y`` and the
        weights to the device once, for a dask ``X`` it persists the blocks
        on the workers, here.
        """
        data = (X, Y, sample_weight)
        if self._data is None or any(a is not b for a, b in zip(self._data, data)):
            placement = self._placement_of(X)
            self._evaluator = placement.evaluator(self.network, X, Y, sample_weight)
            self._data = data
        return self._evaluator

    def loss_gradient(self, nn_params, X, Y, sample_weight=None):
        """The cost ``J`` and its gradient at ``nn_params``.

        Returns
        -------
        J : float
        grad : ndarray of shape (n_params,), float64
        """
        return self.evaluator(X, Y, sample_weight)(nn_params)

    def loss(self, nn_params, X, Y, sample_weight=None):
        """The cost ``J`` at ``nn_params``."""
        return self.loss_gradient(nn_params, X, Y, sample_weight)[0]

    def hessian_product(self, nn_params, X, Y, sample_weight=None):
        """``hessp(v) -> H v``, the exact Hessian of ``J`` at ``nn_params`` times ``v``.

        The passes that do not depend on ``v`` are computed once per
        ``nn_params`` (a chunk at a time with ``batch_size``, then per product);
        on Dask they stay on the workers, one block of rows each.
        """
        placement = self._placement_of(X)
        return placement.hessian_product(self, nn_params, X, Y, sample_weight)

    def forward(self, thetas, X):
        """``z(L)``, the output units' inputs, of the network ``thetas`` on ``X``.

        Computed in ``X``'s precision (float32 stays float32), in ``X``'s
        namespace and on its device. For a dask ``X`` (validation data) it is
        computed on the workers and gathered, a row of ``s_L`` numbers per
        example.
        """
        return self._placement_of(X).forward(thetas, X, self.activation)

    def compute_dtype(self, X):
        """The numpy dtype ``X`` is computed in (for messages and tolerances).

        float32 data computes in float32; other data in float64, or in float32
        on a device without float64.
        """
        return self._placement_of(X).compute_dtype(X)

    def data_loss(self, z, Y, sample_weight=None):
        """``J`` without the penalty, from the output units' inputs ``z(L)``.

        ``(1/m) sum_i w_i loss_i`` with the course's logistic loss (the
        categorical cross-entropy for a softmax output, half the squared
        error for identity outputs) and ``m = sum(w)``:
        :func:`~skbackprop.backprop.cost_function` at ``alpha=0``, from one
        forward pass (the validation loss of every iteration).

        Returns
        -------
        loss : float
        """
        Y = np.asarray(Y, dtype=z.dtype)
        losses = _LOSS_FROM_Z[self.output_activation](z, Y)
        return float(np.average(losses, weights=sample_weight))

    def constant_loss(self, Y, sample_weight=None):
        """``J`` of the best network that ignores ``X``: a constant prediction.

        Every weight but the output biases zero (no penalty), the output the
        weighted mean of the targets: the class priors (their binary
        entropies for sigmoid units, their entropy for a softmax) or, for
        identity units, half the targets' weighted variance. It is where a
        fit starts to learn anything from ``X``, the level that the stopping
        rule measures ``J``'s fall from (it does not depend on the targets'
        offset, nor on the initial weights).

        ``Y`` and ``sample_weight`` may be numpy or dask arrays (two
        reductions over the rows, gathered here).

        Returns
        -------
        loss : float
        """
        w = sample_weight
        total = None if w is None else float(np.asarray(w.sum()))

        def mean(values):
            if w is None:  # a dask Y's number of rows may be unknown
                return np.asarray(values.mean(axis=0), dtype=float)
            return np.asarray((values * w[:, None]).sum(axis=0), dtype=float) / total

        # Weights summing to 0 give NaN (the fit's own checks then refuse it).
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            p = mean(Y)
            if self.output_activation == "identity":
                # Two passes: the variance of targets with a large offset.
                return float(0.5 * np.sum(mean((Y - p) ** 2)))
            entropy = -np.where(p > 0, p * np.log(p), 0.0)
            if self.output_activation == "softmax":
                return float(np.sum(entropy))
            entropy -= np.where(p < 1, (1 - p) * np.log1p(-p), 0.0)
        return float(np.sum(entropy))
