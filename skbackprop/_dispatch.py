"""scikit-learn's Array API dispatch for the estimators: where their arrays live.

With ``sklearn.set_config(array_api_dispatch=True)`` everything follows ``X``
(scikit-learn's convention): a PyTorch tensor, a CuPy or an array-api-strict
array stays in its namespace and on its device, the loss computes there, the
fitted ``thetas_`` are stored there and predictions come back there. The
labels and sample weights are small: they are checked and encoded on the host
(the loss moves ``Y`` and the weights to ``X``'s device once), and
``classes_`` lives where ``y`` did, as in ``LogisticRegression``. Without
``array_api_dispatch`` scikit-learn's validation converts every input to
numpy, as before.

Nothing here computes: these functions move fitted arrays to their namespace,
check a prediction's input against the fitted weights, and copy a fitted
model back to numpy; the placement of the data
(:class:`~skbackprop._placement.DevicePlacement`) calls them.
"""

import numpy as np
from sklearn import get_config

from ._compat import (
    _estimator_with_converted_arrays,
    check_same_namespace,
    get_namespace_and_device,
    move_to,
)
from .backprop._array_api import is_array_api_array, to_numpy


def follow(array, reference):
    """``array`` moved to ``reference``'s namespace and device.

    The one namespace rule of the data a fit is given besides ``X``
    (``X_val``) and of what it stores (``thetas_``): they follow ``X``.
    When ``reference`` is numpy (or None), an Array API ``array`` comes to
    the host under ``array_api_dispatch`` (without it, scikit-learn's
    validation converts or refuses it, as it does ``X``) and anything else is
    left as it is; float64 becomes float32 on a device without float64.
    """
    if not is_array_api_array(reference):
        if is_array_api_array(array) and get_config()["array_api_dispatch"]:
            return to_numpy(array)
        return array
    xp, _, device = get_namespace_and_device(reference)
    return move_to(array, xp=xp, device=device)


def follow_labels(value, y):
    """A target attribute (``classes_``) moved where ``y`` was, if it is numeric."""
    if isinstance(value, np.ndarray) and value.dtype.kind in "biuf":
        return follow(value, y)
    return value


def check_prediction_input(estimator, X, method):
    """Refuse ``X`` of another namespace or device than the fitted weights.

    scikit-learn's check (its message names ``estimator.method()``), and,
    without ``array_api_dispatch``, a clear error for a model whose weights
    are on a device: numpy inputs cannot meet them there.
    """
    check_same_namespace(X, estimator, attribute="_output_weights", method=method)
    weights = estimator._output_weights
    if is_array_api_array(weights) and not get_config()["array_api_dispatch"]:
        library = type(weights).__module__.split(".")[0]
        raise ValueError(
            f"This {type(estimator).__name__} was fitted with array_api_dispatch="
            f"True on {library} arrays, and its weights are there. Call {method} "
            "inside sklearn.config_context(array_api_dispatch=True) with X of the "
            "same kind, or move the model to numpy first: "
            "skbackprop.move_to_numpy(model)."
        )


def _holds_device_arrays(value):
    """Whether ``value`` (an estimator, or what its attributes hold) has an
    Array API array other than numpy anywhere inside."""
    if is_array_api_array(value):
        return True
    if isinstance(value, dict):
        return any(_holds_device_arrays(v) for v in value.values())
    if isinstance(value, (list, tuple, set, frozenset)):
        return any(_holds_device_arrays(v) for v in value)
    if hasattr(value, "get_params") and not isinstance(value, type):
        return any(_holds_device_arrays(v) for v in vars(value).values())
    return False


def fitted_on_host(estimator):
    """``estimator`` itself if its fitted arrays are numpy, else :func:`move_to_numpy`.

    The one host conversion of every consumer of fitted weights that computes
    on the host (the ONNX export, the Displays): a model fitted on a device
    is read through a numpy copy, and a numpy model is not copied (skl2onnx
    options may be keyed by ``id(model)``).
    """
    if _holds_device_arrays(estimator):
        return move_to_numpy(estimator)
    return estimator


def move_to_numpy(estimator):
    """A copy of a fitted estimator whose arrays are numpy arrays on the host.

    A model fitted with ``sklearn.set_config(array_api_dispatch=True)`` on
    PyTorch, CuPy or array-api-strict arrays keeps its fitted arrays
    (``thetas_``, ``classes_``) in that namespace, on that device (a GPU,
    say), and predicts on inputs of the same kind. The copy predicts on numpy
    inputs, without ``array_api_dispatch``, and pickles without the array
    library or the device. Works on pipelines too.

    Parameters
    ----------
    estimator : estimator
        A fitted estimator (or a pipeline of them).

    Returns
    -------
    estimator_numpy : estimator
        A new fitted estimator with the same parameters; ``estimator`` is not
        changed.

    Examples
    --------
    >>> import array_api_strict as xp
    >>> import numpy as np
    >>> import sklearn
    >>> from skbackprop import BackpropClassifier, move_to_numpy
    >>> X, y = np.array([[-2.0], [-1.0], [1.0], [2.0]]), np.array([0, 0, 1, 1])
    >>> with sklearn.config_context(array_api_dispatch=True):
    ...     clf = BackpropClassifier(alpha=0.01, random_state=0)
    ...     clf = clf.fit(xp.asarray(X), xp.asarray(y))
    >>> type(clf.thetas_[0]).__module__
    'array_api_strict._array_object'
    >>> move_to_numpy(clf).predict(X).tolist()
    [0, 0, 1, 1]
    """
    return _estimator_with_converted_arrays(estimator, to_numpy)
