"""Gradient checking, as the course's ``checkNNGradients`` does it.

Central differences of the cost against backpropagation's gradient, on the
course's small deterministic network, for each output layer and its cost
(the logistic cost of the course, the softmax's cross-entropy, the squared
error of regression).
"""

import numpy as np

from ._activations import check_output_activation
from ._course import cost_function, unroll


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


def check_gradients(alpha=0.0, output_activation="sigmoid"):
    """The course's ``checkNNGradients``: analytic vs numerical gradient.

    Builds the course's small network (3 inputs, 5 hidden units, 3 outputs,
    5 examples) with ``sin``-based weights and inputs and labels
    ``1 + mod(1:m, 3)``, and compares :func:`cost_function`'s gradient with
    :func:`numerical_gradient`.

    Parameters
    ----------
    alpha : float, default=0.0
        Regularisation strength (the course's lambda); the course checks 0
        and 3.
    output_activation : {"sigmoid", "softmax", "identity"}, default="sigmoid"
        The output layer, and with it the cost. ``"sigmoid"`` is the course's
        check; ``"identity"`` checks the squared-error cost of regression, on
        real-valued targets ``cos(1:m*3)`` (column-major) instead of the
        labels' indicator matrix.

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
    >>> check_gradients(alpha=3.0, output_activation="identity") < 1e-9
    True
    """
    input_layer_size, hidden_layer_size, num_labels, m = 3, 5, 3, 5
    layer_sizes = (input_layer_size, hidden_layer_size, num_labels)
    theta1 = debug_initialize_weights(hidden_layer_size, input_layer_size)
    theta2 = debug_initialize_weights(num_labels, hidden_layer_size)
    X = debug_initialize_weights(m, input_layer_size - 1)
    if check_output_activation(output_activation) == "identity":
        Y = np.cos(np.arange(1, m * num_labels + 1)).reshape((m, num_labels), order="F")
    else:
        y = 1 + np.mod(np.arange(1, m + 1), num_labels)  # labels 1..num_labels
        Y = (y[:, None] == np.arange(1, num_labels + 1)).astype(np.float64)
    nn_params = unroll([theta1, theta2])

    def cost(p):
        return cost_function(
            p, layer_sizes, X, Y, alpha, output_activation=output_activation
        )

    _, grad = cost(nn_params)
    num_grad = numerical_gradient(cost, nn_params)
    return float(np.linalg.norm(num_grad - grad) / np.linalg.norm(num_grad + grad))
