"""Where a fit's arrays live, decided once: one placement object per backend.

:func:`placement_for` is the one place that asks what kind of array ``X``
is (:func:`input_placement` for an estimator's input, before validation).
``fit`` asks once, at the start, and each prediction method once per call;
from then on the estimators, the loss and the solver call the placement's
methods and never test an array's type. Each placement owns what
differs between its backends:

* :data:`HOST` (:class:`HostPlacement`): numpy arrays and scipy sparse
  matrices, computed in this process by the fast CPU evaluator and the
  R-operator (and anything else scikit-learn's validation converts to them);
* :class:`DevicePlacement`: with ``array_api_dispatch``, an array of another
  Array API namespace (PyTorch, CuPy, array-api-strict), computed where it
  lies; the labels and weights are checked and encoded on the host, as the
  host's, and the fitted weights follow ``X`` there;
* :class:`~skbackprop._dask_data.DaskPlacement`: a ``dask.array`` chunked
  by rows, validated, encoded, split and evaluated block by block on the
  workers that hold it (its module is imported only then).

A new backend is one new class with the methods of :class:`HostPlacement`
and one line in :func:`placement_for`. The training rows travel as one
:class:`FitData`, which the early-stopping hold-out cuts as a whole.
"""

from typing import NamedTuple

import array_api_compat.numpy
import numpy as np
from scipy.special import expit, log_expit
from sklearn import get_config
from sklearn.utils.validation import validate_data

from ._dispatch import check_prediction_input, follow, follow_labels
from ._predict import (
    forward_z,
    is_ready_for_prediction,
    log_softmax_rows,
    normalize_sigmoid_rows,
    softmax_rows,
)
from ._scale import column_mean_squares, warn_if_targets_are_large
from ._validation import (
    check_sample_weight,
    checked_hold_out,
    class_sample_weight,
    encode_continuous_targets,
    encode_labels,
    hold_out_rows,
    is_multilabel,
)
from .backprop import (
    array_api_forward,
    forward_propagate,
    make_array_api_cost_function,
    make_cost_function,
    make_hessian_vector_product,
)
from .backprop._array_api import (
    accumulation_dtype,
    compute_dtype,
    is_array_api_array,
    namespace_and_device,
    numpy_dtype,
    to_numpy,
)
from .backprop._course import _cast_thetas, _compute_dtype


class FitData(NamedTuple):
    """The training rows of a fit, kept together so that a split cuts them alike.

    ``X`` as validated, ``Y`` the encoded targets the cost sees, ``y`` the
    targets as checked (labels or values), ``sample_weight`` the weights the
    cost uses (``class_weight`` folded in, scaled by a power of two) and
    ``user_sample_weight`` the weights as the user gave them (for the
    callbacks); either weight may be None.
    """

    X: object
    Y: object
    y: object
    sample_weight: object
    user_sample_weight: object

    def rows(self, indices, take_rows):
        """The rows ``indices`` of every part (``take_rows`` cuts ``X``)."""
        return FitData(
            take_rows(self.X, indices),
            *(None if a is None else a[indices] for a in self[1:]),
        )


def _network_arguments(network):
    """The keywords of the public ``make_*`` functions for ``network``'s units."""
    return {
        "activation": network.activation,
        "output_activation": network.output_activation,
        "batch_size": network.batch_size,
    }


def _build(make, network, X, Y, sample_weight):
    """The evaluator ``make`` builds for ``network``
    (:class:`~skbackprop.backprop._course.Network`) on this data.

    By the public ``make_*`` functions, looked up in this module when called
    (tests intercept the evaluations there).
    """
    sizes, alpha = network.layer_sizes, network.alpha
    return make(sizes, X, Y, alpha, sample_weight, **_network_arguments(network))


class HostPlacement:
    """numpy arrays and scipy sparse matrices: the data in this process's memory.

    Also the placement of every input that scikit-learn's validation turns
    into one (lists, DataFrames, and Array API arrays without
    ``array_api_dispatch``).
    """

    #: Whether ``Y`` is in memory here, for the checks that compare a
    #: validation set's targets with the training ones.
    targets_on_host = True

    #: Whether validation data of this kind stay where they are (on a
    #: cluster's workers), rather than follow the training data.
    stays_in_place = False

    # --- validation and encoding -------------------------------------------

    def float_dtypes(self, X):
        """``validate_data``'s dtypes for ``X``: float64, float32."""
        return (np.float64, np.float32)

    def validate(self, estimator, X, y, sample_weight, reset):
        """``(X, y_given, y, user_sample_weight)``, checked by scikit-learn's rules.

        ``y_given`` is ``y`` as passed (where the target attributes go),
        ``y`` and the weights come to the host.
        """
        X, y_checked = validate_data(
            estimator,
            X,
            y,
            multi_output=True,
            accept_sparse=("csr", "csc"),
            dtype=self.float_dtypes(X),
            reset=reset,
        )
        user_sample_weight = check_sample_weight(to_numpy(sample_weight), X.shape[0])
        return X, y_checked, to_numpy(y_checked), user_sample_weight

    def validate_validation(self, estimator, X_val, y_val, sample_weight_val, X):
        """``(X_val, y_val, sample_weight_val)``: ``X_val`` checked and put where
        ``X`` is (its namespace, device and dtype), the rest on the host."""
        X_val = validate_data(
            estimator,
            follow(X_val, X),
            accept_sparse=("csr", "csc"),
            dtype=X.dtype,
            reset=False,
        )
        return X_val, to_numpy(y_val), to_numpy(sample_weight_val)

    def validate_prediction(self, estimator, X, method):
        """``X`` as the prediction ``method`` takes it (at once when already so).

        Refused when not in the fitted weights' namespace and device.
        """
        if is_ready_for_prediction(estimator, X):
            return X
        check_prediction_input(estimator, X, method)
        return validate_data(
            estimator,
            X,
            accept_sparse=("csr", "csc"),
            dtype=self.float_dtypes(X),
            reset=False,
        )

    def encode_labels(self, y, output_activation, previous):
        """``(binarizer, Y)``: :func:`~skbackprop._validation.encode_labels`."""
        return encode_labels(y, output_activation, previous)

    def class_sample_weight(self, class_weight, binarizer, y, sample_weight):
        """The weights with ``class_weight`` folded in."""
        return class_sample_weight(class_weight, binarizer, y, sample_weight)

    def encode_continuous_targets(self, y, previous_n_outputs):
        """``Y``, one float column per output, after a warning if it is large."""
        Y = encode_continuous_targets(y, previous_n_outputs)
        warn_if_targets_are_large(Y)
        return Y

    def column_mean_squares(self, X):
        """``X``'s column mean squares, float64 on the host (None: not looked at)."""
        return column_mean_squares(X)

    # --- the hold-out --------------------------------------------------------

    def take_rows(self, X, indices):
        """The rows ``indices`` of ``X``."""
        return X[indices]

    def split(self, data, validation_fraction, stratify, rng):
        """``(train, validation)``: the hold-out of early stopping, of ``data``.

        ``train`` is a :class:`FitData`, ``validation`` the tuple
        ``(X_val, Y_val, y_val, sample_weight_val)``.
        """
        train, val = hold_out_rows(data.X.shape[0], validation_fraction, stratify, rng)
        return checked_hold_out(
            data.rows(train, self.take_rows), data.rows(val, self.take_rows)
        )

    # --- computing -----------------------------------------------------------

    def single_precision(self, X):
        """``X`` in float32 (itself if it is): for the evidence's Hessian
        products, whose rounding float32 keeps far below the estimate's own
        error, at half the cost."""
        return X if X.dtype == np.float32 else X.astype(np.float32)

    def evaluator(self, network, X, Y, sample_weight):
        """``nn_params -> (J, grad)`` of ``network``'s cost on this data."""
        return _build(make_cost_function, network, X, Y, sample_weight)

    def hessian_product(self, loss, nn_params, X, Y, sample_weight):
        """``hessp(v) -> H v`` of ``loss`` at ``nn_params``: the R-operator's
        passes, once (:meth:`NetworkLoss.evaluator` on the other placements)."""
        network = loss.network
        return make_hessian_vector_product(
            nn_params,
            network.layer_sizes,
            X,
            Y,
            network.alpha,
            sample_weight,
            **_network_arguments(network),
        )

    def forward(self, thetas, X, activation):
        """``z(L)`` by the course's layers, in ``X``'s precision (the loss's)."""
        return forward_propagate(_cast_thetas(thetas, X), X, activation)[1]

    def prediction_z(self, thetas, X, activation):
        """``z(L)`` for a prediction: the fast evaluator's units."""
        return forward_z(thetas, X, activation)

    def compute_dtype(self, X):
        """The numpy dtype ``X`` is computed in."""
        return np.dtype(_compute_dtype(X))

    # --- where results go ----------------------------------------------------

    def store(self, array, X):
        """A fitted array (``thetas_``) put where ``X`` is."""
        return follow(array, X)

    def store_labels(self, value, y):
        """A target attribute (``classes_``) put where ``y`` was."""
        return follow_labels(value, y)

    def predict(self, estimator, method, X):
        """``method(estimator, X)``: on the host, at once."""
        return method(estimator, X)

    def validation_placement(self, X_val):
        """The placement of the validation data (``X_val`` of any kind).

        A dask ``X_val`` stays on the workers; any other follows ``X``.
        """
        found = input_placement(X_val)
        return found if found.stays_in_place else self

    # --- the output layer's arithmetic, in ``z``'s namespace -----------------

    def has_nan(self, z):
        return bool(np.isnan(z).any())

    def first_column(self, z):
        """``z[:, 0]``, the 1-D output of a single unit."""
        return z.ravel()

    #: The Array API namespace of this placement's arrays.
    xp = array_api_compat.numpy

    def log_expit(self, z):
        """``log(g(z))`` without overflow."""
        return log_expit(z)

    def log_softmax(self, scores):
        """``scores - logsumexp(scores)`` per row of finite-maximum ``scores``."""
        return log_softmax_rows(scores)

    def direct_proba(self, z, multilabel, softmax):
        """The probabilities computed directly where as accurate, else None.

        Within float rounding of ``exp(log_proba)``: a service's rows pay for
        two fewer passes over the outputs.
        """
        if multilabel:
            return expit(z)
        if z.shape[1] == 1:
            return np.concatenate([expit(-z), expit(z)], axis=1)
        if softmax:
            return softmax_rows(z) if np.isfinite(z.max(axis=1)).all() else None
        return normalize_sigmoid_rows(z)

    def labels(self, z, binarizer):
        """Predicted labels from ``z(L)``."""
        if is_multilabel(binarizer):
            return (z > 0).astype(binarizer.classes_.dtype)
        if z.shape[1] == 1:
            return binarizer.classes_[(z.ravel() > 0).astype(int)]
        return binarizer.classes_[np.argmax(z, axis=1)]


class DevicePlacement(HostPlacement):
    """An array of another Array API namespace, under ``array_api_dispatch``.

    Validated as the host's (scikit-learn's validation keeps ``X`` in its
    namespace and on its device; the labels and weights come to the host),
    computed on ``X``'s device by the device evaluator, which moves ``Y``
    and the weights there once.
    """

    def __init__(self, xp, device):
        self.xp = xp
        self.device = device

    def float_dtypes(self, X):
        return (accumulation_dtype(self.xp, self.device), self.xp.float32)

    def take_rows(self, X, indices):
        return self.xp.take(X, self.xp.asarray(indices, device=self.device), axis=0)

    def single_precision(self, X):
        xp = self.xp
        return X if X.dtype == xp.float32 else xp.astype(X, xp.float32)

    def evaluator(self, network, X, Y, sample_weight):
        return _build(make_array_api_cost_function, network, X, Y, sample_weight)

    def hessian_product(self, loss, nn_params, X, Y, sample_weight):
        # The device evaluator holds Y and the weights on the device.
        return loss.evaluator(X, Y, sample_weight).hessian_product(nn_params)

    def forward(self, thetas, X, activation):
        return array_api_forward(thetas, X, activation)

    prediction_z = forward

    def compute_dtype(self, X):
        return numpy_dtype(compute_dtype(X, self.xp, self.device), self.xp)

    def has_nan(self, z):
        return bool(self.xp.any(self.xp.isnan(z)))

    def first_column(self, z):
        return z[:, 0]

    def log_expit(self, z):
        return -self.xp.logaddexp(self.xp.zeros_like(z), -z)

    def log_softmax(self, scores):
        xp = self.xp
        shifted = scores - xp.max(scores, axis=1, keepdims=True)
        return shifted - xp.log(xp.sum(xp.exp(shifted), axis=1, keepdims=True))

    def direct_proba(self, z, multilabel, softmax):
        return None  # exp of the log-probabilities, in z's namespace

    def labels(self, z, binarizer):
        """The labels of ``z(L)``, in its namespace and on its device.

        Numeric labels are taken on the device; string labels cannot live
        there, so they come back as numpy (as from scikit-learn's classifiers).
        """
        xp, classes = self.xp, binarizer.classes_
        if is_multilabel(binarizer):
            return xp.astype(z > 0, self.store(classes, z).dtype)
        if z.shape[1] == 1:
            indices = xp.astype(z[:, 0] > 0, xp.int64)
        else:
            indices = xp.argmax(z, axis=1)
        if classes.dtype.kind not in "biuf":
            return classes[to_numpy(indices)]
        return xp.take(self.store(classes, z), indices, axis=0)


#: The placement of numpy and scipy sparse data (it holds no state).
HOST = HostPlacement()


def _is_dask_collection(data):
    """Known by its type's module, so that dask is imported only once one arrives."""
    return type(data).__module__.partition(".")[0] == "dask"


def placement_for(X):
    """The placement of ``X``: the one test of an array's type in skbackprop.

    A dask collection first (it is an Array API array too), then an Array
    API array other than numpy; everything else is the host's.
    """
    if type(X) is np.ndarray:  # the common case, at a prediction's cost
        return HOST
    if _is_dask_collection(X):
        from ._dask_data import DaskPlacement

        return DaskPlacement()
    if is_array_api_array(X):
        return DevicePlacement(*namespace_and_device(X))
    return HOST


def input_placement(X):
    """The placement of an estimator's input ``X``, before its validation.

    :func:`placement_for`, except that without ``array_api_dispatch`` an
    Array API array is the host's: scikit-learn's validation converts it
    (or refuses it), as it does a list.
    """
    placement = placement_for(X)
    if (
        isinstance(placement, DevicePlacement)
        and not get_config()["array_api_dispatch"]
    ):
        return HOST
    return placement
