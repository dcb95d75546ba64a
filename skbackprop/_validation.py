"""Parameter checks, target encoding and the hold-out: pure functions returning values.

Nothing here sets an attribute on an estimator: each function takes what it
checks and returns the checked value (or raises an error that names the
problem, in scikit-learn's words), so a fit can set its fitted attributes in
one place at the end.
"""

import collections.abc
import contextlib
import numbers

import numpy as np
import scipy.sparse
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import check_random_state, check_scalar
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import check_array, column_or_1d

from ._compat import compute_class_weight
from ._solver import _SOLVERS, canonical_solver
from .backprop import check_activation, check_output_activation

#: The classifier's output layers; identity units are the regressor's, which
#: has no ``output_activation`` parameter.
CLASSIFIER_OUTPUT_ACTIVATIONS = ("sigmoid", "softmax")

# ---------------------------------------------------------------------------
# Parameters
# ---------------------------------------------------------------------------

#: The largest ``max_fun`` scipy's TNC takes (its C code's ``int``); the other
#: solvers take any ``max_iter`` and ``max_fun`` (checked up to 2**1000).
_TNC_MAX_FUN = np.iinfo(np.int32).max


def check_hidden_layer_sizes(hidden_layer_sizes):
    """``hidden_layer_sizes`` as a tuple of positive ints, or a clear error.

    An int is one hidden layer; otherwise an ordered sequence of ints: a
    tuple, a list, a ``range`` or a 1-D numpy array. Strings and bytes
    (which iterate as characters or byte values), sets and dicts (whose order
    is not the user's) and iterators (used up by a first fit) are refused.
    """
    hidden = hidden_layer_sizes
    if isinstance(hidden, numbers.Integral) and not isinstance(hidden, bool):
        hidden = (hidden,)
    is_sequence = isinstance(hidden, collections.abc.Sequence) and not isinstance(
        hidden, (str, bytes, bytearray)
    )
    is_array = isinstance(hidden, np.ndarray) and hidden.ndim == 1
    if not (is_sequence or is_array):
        raise TypeError(
            "hidden_layer_sizes must be an int or a sequence (tuple, list, range "
            f"or 1-D array) of positive ints, got {hidden_layer_sizes!r}."
        )
    for size in hidden:
        if isinstance(size, (bool, np.bool_)) or not isinstance(size, numbers.Integral):
            raise TypeError(
                f"hidden_layer_sizes must contain ints, got {hidden_layer_sizes!r}."
            )
        if size <= 0:
            raise ValueError(
                "hidden_layer_sizes must contain positive ints, got "
                f"{hidden_layer_sizes!r}."
            )
    return tuple(int(s) for s in hidden)


class InvalidAlphaError(ValueError, TypeError):
    """A string ``alpha`` other than ``"evidence"``.

    Both a ValueError (a bad value of a parameter that takes one string) and
    a TypeError (not a number), as scikit-learn's own parameter errors are.
    """


def check_alpha(alpha, early_stopping):
    """A finite number >= 0, or ``"evidence"`` (not with ``early_stopping``).

    The evidence's re-estimate of lambda holds at a minimum of the training
    cost, which early stopping does not reach.
    """
    if isinstance(alpha, str):
        if alpha != "evidence":
            raise InvalidAlphaError(
                f"alpha must be a float >= 0 or 'evidence', got {alpha!r}."
            )
        if early_stopping is True or early_stopping is np.True_:
            raise ValueError(
                "alpha='evidence' needs a minimum of the training cost; "
                "early_stopping=True stops before one. Use a numeric alpha "
                "with early stopping, or early_stopping=False."
            )
        return
    check_scalar(alpha, "alpha", numbers.Real, min_val=0.0)
    if not np.isfinite(alpha):
        raise ValueError(f"alpha must be finite, got {alpha!r}.")


def check_params(est):
    """Check every constructor parameter of ``est``; return the hidden sizes and solver.

    Reads the parameters only: nothing is set on ``est``.
    """
    hidden = check_hidden_layer_sizes(est.hidden_layer_sizes)
    check_alpha(est.alpha, est.early_stopping)
    check_scalar(est.max_iter, "max_iter", numbers.Integral, min_val=1)
    if not (isinstance(est.tol, str) and est.tol == "auto"):
        check_scalar(est.tol, "tol", numbers.Real, min_val=0.0)
    solver = canonical_solver(est.solver)
    if solver is None:
        raise ValueError(
            "solver must be one of the gradient-based scipy.optimize.minimize "
            f"methods {', '.join(map(repr, _SOLVERS))}; got {est.solver!r}."
        )
    if est.epsilon_init is not None:
        check_scalar(
            est.epsilon_init,
            "epsilon_init",
            numbers.Real,
            min_val=0.0,
            include_boundaries="neither",
        )
    check_random_state(est.random_state)
    check_scalar(est.verbose, "verbose", numbers.Integral, min_val=0)
    if not isinstance(est.warm_start, (bool, np.bool_)):
        raise TypeError(f"warm_start must be a bool, got {est.warm_start!r}.")
    if est.batch_size is not None:
        check_scalar(est.batch_size, "batch_size", numbers.Integral, min_val=1)
    check_activation(est.activation)
    if hasattr(est, "output_activation"):  # the classifier's: its output layers
        check_output_activation(est.output_activation, CLASSIFIER_OUTPUT_ACTIVATIONS)
    cw = getattr(est, "class_weight", None)
    if not (cw is None or isinstance(cw, dict) or cw == "balanced"):
        raise ValueError(
            f"class_weight must be None, 'balanced' or a dict; got {cw!r}."
        )
    if not isinstance(est.early_stopping, (bool, np.bool_)):
        raise TypeError(f"early_stopping must be a bool, got {est.early_stopping!r}.")
    check_scalar(
        est.validation_fraction,
        "validation_fraction",
        numbers.Real,
        min_val=0.0,
        max_val=1.0,
        include_boundaries="neither",
    )
    check_scalar(est.n_iter_no_change, "n_iter_no_change", numbers.Integral, min_val=1)
    check_scalar(est.max_fun, "max_fun", numbers.Integral, min_val=1)
    _check_finite_and_not_bool(est)
    if solver == "TNC" and est.max_fun > _TNC_MAX_FUN:
        raise ValueError(
            f"max_fun == {est.max_fun}, must be <= {_TNC_MAX_FUN} with "
            "solver='TNC' (scipy's TNC counts evaluations in a C int)."
        )
    return hidden, solver


def _check_finite_and_not_bool(est):
    """Refuse NaN/inf real parameters, bools for ints, bad class weights.

    ``check_scalar`` lets NaN through a ``min_val`` bound (``nan < 0`` is
    False) and takes ``True`` for an int.
    """
    for name in ("alpha", "tol", "epsilon_init", "validation_fraction"):
        value = getattr(est, name, None)
        if isinstance(value, numbers.Real) and not np.isfinite(value):
            raise ValueError(f"{name} must be a finite number, got {value!r}.")
    for name in ("max_iter", "batch_size", "n_iter_no_change", "max_fun"):
        value = getattr(est, name, None)
        if isinstance(value, (bool, np.bool_)):
            raise TypeError(f"{name} must be an int, not a bool; got {value!r}.")
    class_weight = getattr(est, "class_weight", None)
    if isinstance(class_weight, dict):
        for label, weight in class_weight.items():
            if (
                isinstance(weight, (bool, np.bool_))
                or not isinstance(weight, numbers.Real)
                or not np.isfinite(weight)
                or weight < 0
            ):
                raise ValueError(
                    "class_weight must map each class to a finite number >= 0; "
                    f"got {weight!r} for class {label!r}."
                )


def _check_label_types(y, name="y"):
    """Refuse 1-D labels that mix types (``None`` among strings, str and int)."""
    if getattr(y, "dtype", np.dtype(object)) != np.dtype(object):
        return
    try:
        y = np.asarray(y, dtype=object)
    except ValueError:  # ragged: check_classification_targets explains
        return
    if y.ndim != 1:
        return
    kinds = {
        "None" if v is None else "str" if isinstance(v, str) else "number"
        for v in y
        if not (isinstance(v, float) and np.isnan(v))
    }
    if len(kinds) > 1:
        raise ValueError(
            f"{name} mixes labels of different types "
            f"({', '.join(sorted(kinds))}): the labels must be all strings or all "
            "numbers, and None is not a label."
        )


def check_sample_weight(sample_weight, n_samples, name="sample_weight"):
    """``sample_weight`` as float64, finite, >= 0 with a positive sum, or None.

    ``name`` is the parameter named in the errors (``sample_weight_val``).
    """
    if sample_weight is None:
        return None
    sample_weight = np.asarray(sample_weight)
    if sample_weight.ndim == 0:
        sample_weight = np.full(n_samples, sample_weight, dtype=np.float64)
    if sample_weight.dtype.kind not in "biuf":
        raise ValueError(f"{name} must be numeric, got dtype {sample_weight.dtype}.")
    sample_weight = sample_weight.astype(np.float64)
    if sample_weight.shape != (n_samples,):
        raise ValueError(
            f"{name}.shape == {sample_weight.shape}, expected ({n_samples},)!"
        )
    if not np.all(np.isfinite(sample_weight)):
        raise ValueError(f"{name} contains NaN or infinity.")
    if np.any(sample_weight < 0):
        raise ValueError(f"Negative values in data passed to {name}.")
    if not np.any(sample_weight > 0):  # (their sum may overflow)
        raise ValueError(
            f"The sum of {name} is zero; at least one sample must have "
            "a positive weight."
        )
    return sample_weight


def scale_sample_weight(sample_weight):
    """``(sample_weight * 2**-e, e)``: the weights, the largest scaled into [0.5, 1).

    ``J`` depends on the weights only through their ratios and through
    ``alpha / sum(sample_weight)``, so weights scaled by ``2**-e`` with
    ``alpha`` scaled alike (:func:`scale_alpha`) give the same ``J``. A power
    of two scales exactly: the fit is bitwise the one with the weights as
    given, except that weights near the ends of the float range (whose sum
    would overflow, or which float32 data would hold as ``inf`` or 0) become
    ordinary numbers.
    """
    if sample_weight is None:
        return None, 0
    _, exponent = np.frexp(np.max(sample_weight))
    return np.ldexp(sample_weight, -exponent), int(exponent)


def scale_alpha(alpha, exponent):
    """``alpha * 2**-exponent``, for weights scaled by :func:`scale_sample_weight`."""
    with np.errstate(over="ignore"):
        scaled = float(np.ldexp(alpha, -exponent))
    if not np.isfinite(scaled):
        raise ValueError(
            f"alpha / sum(sample_weight) overflows float64 (alpha={alpha!r}): "
            "sample_weight is too small for alpha. J's penalty is alpha / "
            "(2 sum(sample_weight)) times the sum of the squared Theta entries; "
            "scale sample_weight up or lower alpha."
        )
    return scaled


# ---------------------------------------------------------------------------
# Targets
# ---------------------------------------------------------------------------


def is_multilabel(binarizer):
    """Whether a fitted label encoding is of a multilabel indicator matrix."""
    return binarizer.y_type_ == "multilabel-indicator"


def encode_labels(y, output_activation, previous=None):
    """Label-encode ``y`` into the course's 0/1 indicator matrix ``Y``.

    Parameters
    ----------
    y : array-like of shape (n_samples,) or (n_samples, n_labels)
        Class labels, or a multilabel indicator matrix of 0s and 1s.
    output_activation : {"sigmoid", "softmax"}
        A softmax needs one label per sample and one unit per class (two for
        binary ``y``).
    previous : LabelBinarizer or None
        The encoding of the previous fit (warm start): ``y`` must be the same
        type of target with the same classes (or number of labels), and is
        encoded the same way.

    Returns
    -------
    binarizer : LabelBinarizer
        The fitted encoding (``previous`` when given).
    Y : ndarray of shape (n_samples, n_outputs), uint8
        One byte per entry: the cost casts a chunk of rows at a time, so the
        indicator matrix is the only per-sample array a fit keeps.
    """
    y, y_type = check_labels(y)
    binarizer = previous
    if binarizer is None:
        binarizer = LabelBinarizer().fit(y)
        if len(binarizer.classes_) < 2:
            raise ValueError(
                "BackpropClassifier needs samples of at least 2 classes in the "
                f"data, but the data contains only one class: "
                f"{binarizer.classes_[0]!r}."
            )
    else:
        _check_same_target(y, y_type, binarizer)
    if output_activation == "softmax" and is_multilabel(binarizer):
        raise ValueError(
            "output_activation='softmax' needs one label per sample (binary "
            "or multiclass y), but y is a multilabel indicator matrix; use "
            "output_activation='sigmoid' for multilabel targets."
        )
    return binarizer, indicator_matrix(binarizer, y, output_activation)


def indicator_matrix(binarizer, y, output_activation):
    """The course's 0/1 matrix ``Y`` of the labels ``y`` (already checked), uint8.

    Row by row: a Dask backend encodes each block of rows with the binarizer
    :func:`encode_labels` fitted on the labels of all of them.
    """
    Y = binarizer.transform(y).astype(np.uint8)
    if output_activation == "softmax" and Y.shape[1] == 1:
        Y = np.hstack([1 - Y, Y])  # binary: one softmax unit per class
    return Y


def check_labels(y, name="y"):
    """``(y, type_of_target(y))``: class labels checked for a classifier's fit.

    The one path of ``y`` and ``y_val``, whose errors name ``name``: a
    column becomes 1-D (with scikit-learn's warning), labels of mixed types,
    targets that are not classes and indicator matrices of values other
    than 0 and 1 are refused. (NaN and infinity were refused before, by
    :func:`check_target_array`.)
    """
    if isinstance(y, np.ndarray) and y.ndim == 2 and y.shape[1] == 1:
        y = column_or_1d(y, warn=True)
    _check_label_types(y, name)
    with _errors_naming(name):
        check_classification_targets(y)
    y_type = type_of_target(y)
    if y_type == "multilabel-indicator":
        _check_indicator_values(y, name)
    return y, y_type


@contextlib.contextmanager
def _errors_naming(name):
    """scikit-learn's errors about ``y``, said of ``name`` (``y_val``).

    For ``y`` they pass unchanged, in scikit-learn's words; others get the
    argument's name in front unless they name it already.
    """
    try:
        yield
    except ValueError as exc:
        if name == "y" or name in str(exc):
            raise
        raise ValueError(f"{name}: {exc}") from exc


def check_target_array(y, name):
    """``y`` as scikit-learn's ``validate_data(X, y, multi_output=True)`` checks it.

    For the targets that do not go through ``validate_data`` (``y_val``):
    numeric or object, 1-D or 2-D, sparse as CSR, no NaN or infinity, in
    scikit-learn's words with ``name`` ("Input y_val contains NaN.").
    """
    return check_array(
        y,
        accept_sparse="csr",
        ensure_all_finite=True,
        ensure_2d=False,
        dtype=None,
        input_name=name,
    )


def _check_indicator_values(y, name="y"):
    """Refuse a multilabel indicator matrix holding values other than 0 and 1.

    scikit-learn calls any 2-D ``y`` of at most two integer values an
    indicator matrix, ``{0, 2}`` and ``{-1, 1}`` included; the cost reads
    each entry as the probability that the label is present, so anything but
    0 and 1 would train on garbage (and a negative cost).
    """
    # One route for dense and sparse matrices: the stored values, and 0 if
    # any entry is not stored.
    stored = scipy.sparse.csr_array(y)
    values = np.unique(stored.data)
    if stored.nnz < np.prod(stored.shape):
        values = np.union1d(values, [0])
    if not np.isin(values, (0, 1)).all():
        raise ValueError(
            f"{name} is a multilabel indicator matrix (2-D, at most two integer "
            "values), which must hold only 0 (label absent) and 1 (label "
            f"present); got the values {values.tolist()}. Map them to 0 and 1 "
            f"first, e.g. {name} = ({name} == {name}.max()).astype(int)."
        )


def _describe_target(y_type, n_outputs):
    if y_type == "multilabel-indicator":
        return f"a multilabel indicator matrix of {n_outputs} labels"
    return f"{y_type} labels"


def _check_same_target(y, y_type, binarizer):
    """Warm start: ``y`` must be the same kind of target as the previous fit's."""
    multilabel = y_type == "multilabel-indicator"
    was_multilabel = is_multilabel(binarizer)
    n_labels = np.shape(y)[1] if multilabel else None
    if multilabel != was_multilabel or (
        multilabel and n_labels != len(binarizer.classes_)
    ):
        raise ValueError(
            "warm_start needs the same type of target as the previous fit: "
            "previously "
            f"{_describe_target(binarizer.y_type_, len(binarizer.classes_))}, "
            f"now {_describe_target(y_type, n_labels)}. Set warm_start=False "
            "to fit a new model."
        )
    if not multilabel:
        _check_same_classes(np.unique(y), binarizer.classes_)


def encode_continuous_targets(y, previous_n_outputs=None, name="y"):
    """Regression targets as the float64 matrix ``Y`` of shape (n_samples, n_outputs).

    Parameters
    ----------
    y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        Real-valued targets: numeric (object arrays of numbers are converted)
        and finite, as scikit-learn's regressors require.
    previous_n_outputs : int or None
        The number of outputs of the previous fit (warm start): ``y`` must
        have as many.
    name : str, default="y"
        The argument named in the errors.

    Returns
    -------
    Y : ndarray of shape (n_samples, n_outputs), float64
        ``y`` with one column per output (a 1-D ``y`` is one column).
    """
    with _errors_naming(name):
        y = check_array(
            y, ensure_2d=False, dtype="numeric", ensure_all_finite=True, input_name=name
        )
    Y = np.asarray(y, dtype=np.float64).reshape(y.shape[0], -1)
    if previous_n_outputs is not None and Y.shape[1] != previous_n_outputs:
        raise ValueError(
            "warm_start can only be used where `y` has the same number of "
            f"outputs as in the previous call to fit. Previously got "
            f"{previous_n_outputs}, `y` has {Y.shape[1]}."
        )
    return Y


def encode_validation_continuous_targets(y_val, n_outputs):
    """``Y_val``: regression targets of the validation data, checked as ``y``.

    Errors name ``y_val``; it must have the ``n_outputs`` outputs of ``y``.
    """
    Y_val = encode_continuous_targets(y_val, name="y_val")
    if Y_val.shape[1] != n_outputs:
        raise ValueError(
            f"y_val has {Y_val.shape[1]} output(s), but y has {n_outputs}: the "
            "targets of X_val must have the columns of y."
        )
    return Y_val


def encode_validation_labels(y_val, binarizer, output_activation):
    """Encode ``y_val`` as the training labels were: the 0/1 matrix ``Y_val``.

    ``y_val`` may hold a subset of the training classes, but no label the
    training data did not have (the network has no output unit for it).
    Returns ``(y_val, Y_val)``: the labels (a column made 1-D) and their
    0/1 matrix, uint8, with the columns of the training targets.
    """
    y_val, y_type = check_labels(check_target_array(y_val, "y_val"), "y_val")
    classes = binarizer.classes_
    multilabel_val = y_type == "multilabel-indicator"
    if is_multilabel(binarizer):
        if not multilabel_val or np.shape(y_val)[1] != len(classes):
            raise ValueError(
                "y is a multilabel indicator matrix with "
                f"{len(classes)} columns, so y_val must be one too; got "
                f"y_val of type {y_type!r} and shape "
                f"{np.shape(y_val)}."
            )
    elif multilabel_val:
        raise ValueError(
            "y_val is a multilabel indicator matrix, but y is not; pass "
            "y_val labels of the same kind as y."
        )
    else:
        seen = set(classes.tolist())
        unseen = [v for v in np.unique(y_val).tolist() if v not in seen]
        if unseen:
            raise ValueError(
                f"y_val has labels not seen in training: {unseen}; the network "
                f"was trained on the classes {classes.tolist()}."
            )
    return y_val, indicator_matrix(binarizer, y_val, output_activation)


def _check_same_classes(new_classes, classes):
    if not np.array_equal(np.sort(new_classes), np.sort(np.asarray(classes))):
        raise ValueError(
            "warm_start can only be used where `y` has the same classes as "
            f"in the previous call to fit. Previously got {classes}, "
            f"`y` has {new_classes}."
        )


def check_same_output_activation(previous, output_activation):
    """Warm start: the output layer must be the previous fit's."""
    if previous != output_activation:
        raise ValueError(
            "warm_start needs the same output_activation as the previous fit: "
            f"previously {previous!r}, now {output_activation!r}. Set "
            "warm_start=False to fit a new model."
        )


def class_sample_weight(class_weight, binarizer, y, sample_weight):
    """Fold ``class_weight`` into the per-sample weights (None if both unset)."""
    if class_weight is None:
        return sample_weight
    weights = class_weights(class_weight, binarizer, y, sample_weight)
    per_sample = weights[np.searchsorted(binarizer.classes_, column_or_1d(y))]
    return per_sample if sample_weight is None else per_sample * sample_weight


def class_weights(class_weight, binarizer, y, sample_weight):
    """The weight of each class in ``binarizer.classes_``, as float64.

    ``"balanced"`` depends on ``y`` only through the (weighted) count of each
    class, so ``y`` may be the classes themselves with their counts as
    ``sample_weight``.
    """
    if is_multilabel(binarizer):
        raise ValueError(
            "class_weight is not supported for multilabel y; pass "
            "sample_weight instead."
        )
    with np.errstate(divide="ignore", invalid="ignore"):
        weights = compute_class_weight(
            class_weight,
            classes=binarizer.classes_,
            y=column_or_1d(y),
            sample_weight=sample_weight,
        )
    # "balanced" gives a class whose samples all weigh 0 an infinite
    # weight; those samples count for nothing either way.
    weights = np.asarray(weights, dtype=np.float64)
    weights[~np.isfinite(weights)] = 0.0
    return weights


# ---------------------------------------------------------------------------
# The early-stopping hold-out
# ---------------------------------------------------------------------------


def hold_out_rows(n_samples, validation_fraction, stratify, rng):
    """``(train, val)``: the row indices of early stopping's hold-out.

    ``validation_fraction`` of the rows (at least one, never all) are held
    out. With ``stratify`` (the class labels; None for multilabel targets),
    the hold-out is stratified by class, at least one row of each class,
    where every class has two or more rows; otherwise, on tiny data, a plain
    random hold-out.
    """
    if n_samples < 2:
        raise ValueError(
            "early_stopping=True needs at least 2 samples to hold out a "
            f"validation set; got n_samples={n_samples}."
        )
    n_val = min(max(int(np.ceil(validation_fraction * n_samples)), 1), n_samples - 1)
    return _hold_out_rows(n_samples, n_val, stratify, rng)


def checked_hold_out(train, val):
    """``(train, (X_val, Y_val, y_val, sample_weight_val))`` of a split's parts.

    ``train`` and ``val`` are the :class:`~skbackprop._placement.FitData` of
    the training and the held-out rows. The held-out weights become None
    when they are all zero; training rows that all weigh zero are refused.
    """
    sw_val = val.sample_weight
    if sw_val is not None and not sw_val.sum() > 0:
        sw_val = None
    if train.sample_weight is not None and not train.sample_weight.sum() > 0:
        raise ValueError(
            "early_stopping=True left only samples of zero weight for "
            "training; lower validation_fraction or change sample_weight."
        )
    return train, (val.X, val.Y, val.y, sw_val)


def _hold_out_rows(n_samples, n_val, stratify, rng):
    """Indices of the training and the held-out rows."""
    indices = np.arange(n_samples)
    if stratify is not None:
        n_classes = len(np.unique(stratify))
        n_val_stratified = max(n_val, n_classes)
        if n_samples - n_val_stratified >= n_classes:
            try:
                return train_test_split(
                    indices,
                    test_size=n_val_stratified,
                    stratify=stratify,
                    random_state=rng,
                )
            except ValueError:  # a class with a single row
                pass
    return train_test_split(indices, test_size=n_val, random_state=rng)
