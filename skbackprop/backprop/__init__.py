"""The mathematics of the course's neural network, one step per function.

Every function here follows the notation of Andrew Ng's Machine Learning
course (exercise 4); see :mod:`skbackprop.backprop._course` for the notation.
They work on numpy arrays (and scipy sparse inputs), except ``_array_api``'s,
which work in the Array API namespace of the data they are given. The package
imports only numpy, scipy and array-api-compat. Its modules, one job each,
every public name re-exported here:

* ``_activations``: the units ``g`` and their derivatives, one table row per
  activation, and the output layer (sigmoid units, a softmax, or identity
  units for regression);
* ``_course``: the readable reference, unrolling, initialisation, forward
  propagation, the cost (logistic, softmax cross-entropy, squared error),
  :func:`cost_function` (vectorised) and :func:`backprop_loop` (per example,
  as the handout writes it);
* ``_fast``: :func:`make_cost_function`, the fast CPU evaluator that training
  uses, tested against the reference;
* ``_roperator``: exact Hessian-vector products (Pearlmutter's R-operator);
* ``_array_api``: the same cost, gradient and Hessian-vector products in any
  Array API namespace (PyTorch, CuPy, array-api-strict) on its device: the
  GPU backend, tested against the reference;
* ``_gradient_check``: the course's numerical gradient check.
"""

from ._activations import (
    ACTIVATIONS,
    OUTPUT_ACTIVATIONS,
    activate,
    activation_gradient,
    activation_gradient_from_a,
    activation_second_derivative_from_a,
    check_activation,
    check_output_activation,
    output_activation_from_z,
    sigmoid,
    sigmoid_gradient,
)
from ._array_api import (
    array_api_forward,
    make_array_api_cost_function,
    make_array_api_hessian_vector_product,
)
from ._course import (
    add_regularization_gradient,
    backprop_loop,
    cost_function,
    forward_layer,
    forward_propagate,
    init_thetas,
    logistic_loss_from_z,
    regularization_cost,
    roll,
    softmax_loss_from_z,
    squared_loss_from_z,
    unroll,
)
from ._fast import make_cost_function
from ._gradient_check import (
    check_gradients,
    debug_initialize_weights,
    numerical_gradient,
)
from ._roperator import (
    forward_layer_direction,
    hessian_vector_product,
    make_hessian_vector_product,
)

__all__ = [
    "ACTIVATIONS",
    "OUTPUT_ACTIVATIONS",
    "sigmoid",
    "sigmoid_gradient",
    "activate",
    "activation_gradient",
    "activation_gradient_from_a",
    "check_activation",
    "check_output_activation",
    "unroll",
    "roll",
    "init_thetas",
    "forward_layer",
    "forward_propagate",
    "logistic_loss_from_z",
    "softmax_loss_from_z",
    "squared_loss_from_z",
    "output_activation_from_z",
    "regularization_cost",
    "add_regularization_gradient",
    "cost_function",
    "activation_second_derivative_from_a",
    "forward_layer_direction",
    "hessian_vector_product",
    "make_hessian_vector_product",
    "make_cost_function",
    "make_array_api_cost_function",
    "make_array_api_hessian_vector_product",
    "array_api_forward",
    "backprop_loop",
    "numerical_gradient",
    "debug_initialize_weights",
    "check_gradients",
]
