"""scikit-learn's array API estimator checks on the estimators, values included.

Where a solver amplifies the evaluators' different rounding (Newton and
trust-region paths), the values are compared at a minimum instead.
"""

import warnings

import numpy as np
import pytest
import sklearn
from sklearn.base import clone
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning

from skbackprop import BackpropClassifier, BackpropRegressor, move_to_numpy
from skbackprop.backprop import unroll

from ._array_api_helpers import needs_dispatch, xps

#: scikit-learn's value checks compare the numpy and the device fit's
#: scores to 1000 float64 epsilons (2.2e-13). The two evaluators add the same
#: terms in another order; a first-order path (L-BFGS-B) keeps that rounding
#: near its size, but a Newton or trust-region path amplifies it (a
#: converged trust-ncg regressor's weights differ by 1.2e-10 on one machine,
#: its R² by 2.3e-12): those estimators get the checks of namespaces, devices
#: and dtypes here, and their values are compared at a minimum in
#: test_a_newton_path_on_a_device_reaches_the_numpy_minimum.
AMPLIFYING = ("trust-ncg", "trust-krylov", "Newton-CG", "TNC")


ESTIMATORS = [
    BackpropClassifier(max_iter=30),
    BackpropClassifier(
        hidden_layer_sizes=(4,),
        activation="tanh",
        output_activation="softmax",
        solver="trust-ncg",
        class_weight="balanced",
        batch_size=7,
        max_iter=30,
    ),
    BackpropClassifier(
        hidden_layer_sizes=(5, 3), activation="relu", early_stopping=True
    ),
    BackpropRegressor(max_iter=30),
    BackpropRegressor(hidden_layer_sizes=(4,), solver="trust-ncg", batch_size=7),
]


@needs_dispatch
@pytest.mark.parametrize("estimator", ESTIMATORS, ids=repr)
@pytest.mark.parametrize(
    "device_name, dtype_name", [("CPU_DEVICE", "float64"), ("device1", "float32")]
)
def test_scikit_learn_array_api_checks(estimator, device_name, dtype_name):
    from sklearn.utils.estimator_checks import (  # scikit-learn >= 1.9
        check_array_api_input,
        check_array_api_input_and_values,
        check_array_api_same_namespace,
    )

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        name = type(estimator).__name__
        check_array_api_input(
            name, estimator, "array_api_strict", device_name, dtype_name
        )
        # float32 fits part at float32's rounding
        if dtype_name == "float64" and estimator.solver not in AMPLIFYING:
            check_array_api_input_and_values(
                name, estimator, "array_api_strict", device_name, dtype_name
            )
        check_array_api_same_namespace(name, estimator, "array_api_strict")


@needs_dispatch
@pytest.mark.parametrize("device_name", ["CPU_DEVICE", "device1"])
@pytest.mark.parametrize(
    "estimator",
    [est for est in ESTIMATORS if est.solver in AMPLIFYING],
    ids=repr,
)
def test_a_newton_path_on_a_device_reaches_the_numpy_minimum(estimator, device_name):
    # scikit-learn's check data; fit to the minimum (tol=0), where the paths
    # are meant to agree. There J is flat: it agrees to its own rounding.
    # The gradient is below _GTOL = 1e-10 at both ends and the penalty alone
    # gives the penalised weights a curvature of alpha / m = 1/30, so they
    # lie within ~1e-10 / (1/30) = 3e-9 of the minimum (the unpenalised bias
    # columns are as well determined on this well-conditioned data).
    X, y = make_classification(n_samples=30, n_features=10, random_state=42)
    estimator = clone(estimator).set_params(tol=0, max_iter=1000, random_state=0)
    on_numpy = clone(estimator).fit(X, y)
    with sklearn.config_context(array_api_dispatch=True):
        on_device = clone(estimator).fit(
            xps.asarray(X, device=xps.Device(device_name)), xps.asarray(y)
        )
    np.testing.assert_allclose(on_device.loss_, on_numpy.loss_, rtol=1e-13)
    np.testing.assert_allclose(
        unroll(move_to_numpy(on_device).thetas_),
        unroll(on_numpy.thetas_),
        rtol=0,
        atol=1e-8,
    )
