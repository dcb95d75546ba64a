"""The estimators' side of a fit on Dask arrays: checks, labels, hold-out, predictions.

What ``fit`` and ``predict`` need beyond the loss (:mod:`skbackprop._dask`)
when ``X`` is a ``dask.array`` chunked by rows, done where the blocks are:
``X``, ``y`` and ``sample_weight`` checked block by block on the workers
(:func:`validate_data`), the classes found from each block's distinct labels
and ``Y`` encoded block by block (:func:`encode_labels`,
:func:`class_sample_weight`), the early-stopping hold-out drawn within each
block (:func:`split_validation`), and predictions as lazy dask arrays
(:func:`map_row_blocks`), and :class:`DaskPlacement`, which ``fit`` and
``predict`` call for a dask ``X``. Each delegates the rules themselves to the
in-memory functions of :mod:`skbackprop._validation` and the estimator, so
both paths check, encode and predict alike. The client gathers the labels'
distinct values and, with early stopping, one label and weight per held-out
row; never ``X``.
"""

import copy
import math

import numpy as np
from sklearn.utils import assert_all_finite
from sklearn.utils.validation import (
    _check_feature_names,
    _check_n_features,
    check_consistent_length,
)

from . import _validation

# dask itself through _dask, whose import says what to install without it.
from ._dask import (
    DaskCost,
    _aligned,
    _blocks,
    _compute,
    _tree_sum,
    aligned_blocks,
    da,
    dask,
    forward,
)
from ._placement import HOST, FitData, HostPlacement, _build, input_placement

# ---------------------------------------------------------------------------
# Checking the data without gathering it
# ---------------------------------------------------------------------------


def _check_dask_x(X, estimator):
    """``X`` as a 2-D dask array of float32/float64 numpy blocks, one column block."""
    if not isinstance(X, da.Array):
        raise TypeError(
            f"{type(X).__name__} is not supported: pass a dask.array (from a dask "
            "DataFrame, df.to_dask_array(lengths=True)) or a numpy array."
        )
    if X.ndim != 2:
        raise ValueError(
            f"Expected a 2D dask array X, got {X.ndim}D (shape={X.shape}) instead."
        )
    if not isinstance(X._meta, np.ndarray):
        raise TypeError(
            "The blocks of a dask array X must be numpy arrays, got "
            f"{type(X._meta).__name__}; sparse blocks are not supported on Dask."
        )
    if X.dtype.kind not in "biuf":
        raise ValueError(
            f"X has dtype {X.dtype}; a numeric dtype is needed (X.astype(float))."
        )
    if X.dtype not in (np.float32, np.float64):
        X = X.astype(np.float64)
    X = _known_chunks(X)
    if len(X.chunks[1]) > 1:
        X = X.rechunk({1: -1})
    name = type(estimator).__name__
    for size, what in ((X.shape[0], "sample"), (X.shape[1], "feature")):
        if size < 1:
            raise ValueError(
                f"Found array with {size} {what}(s) (shape={X.shape}) while a "
                f"minimum of 1 is required by {name}."
            )
    return X


def _known_chunks(array):
    """``array`` with known block sizes (computed on the workers when unknown)."""
    if any(math.isnan(size) for size in array.chunks[0]):
        array = array.persist()
        array.compute_chunk_sizes()
    return array


def _rows_like(a, X, name):
    """``a`` (dask or array-like) as a dask array with the row blocks of ``X``."""
    if not isinstance(a, da.Array):
        a = np.asarray(a)
        check_consistent_length(X, a)
        return da.from_array(a, chunks=(X.chunks[0], *a.shape[1:]))
    if a.ndim not in (1, 2):
        raise ValueError(f"{name} must be 1D or 2D, got shape {a.shape}.")
    a = _known_chunks(a)
    check_consistent_length(X, a)
    return a.rechunk((X.chunks[0], *((-1,) * (a.ndim - 1))))


def _block_is_finite(X, estimator_name):
    assert_all_finite(X, input_name="X", estimator_name=estimator_name)
    return np.ones(1, dtype=bool)


def validate_data(estimator, X, y, sample_weight, reset):
    """Check ``X``, ``y`` and ``sample_weight`` where they are; persist them there.

    The counterpart of ``validate_data`` and ``check_sample_weight``: the
    same checks and messages, run block by block on the workers (a NaN in
    ``X`` is reported by scikit-learn's own check, from the worker that found
    it). Sets ``n_features_in_`` (``reset``) or checks it.

    Returns
    -------
    X, y, sample_weight : dask arrays (sample_weight may be None)
        Persisted, with the same row blocks; ``X`` float32 or float64.
    """
    X = _check_dask_x(X, estimator)
    _check_feature_names(estimator, X, reset=reset)
    _check_n_features(estimator, X, reset=reset)
    if y is None:
        raise ValueError(
            f"{type(estimator).__name__} requires y to be passed, but the target y "
            "is None."
        )
    y = _rows_like(y, X, "y")
    sample_weight = _check_sample_weight(sample_weight, X)
    X, y, sample_weight = dask.persist(aligned_blocks(X), y, sample_weight)
    _check_finite(X, estimator)
    return X, y, sample_weight


def _check_finite(X, estimator):
    name = type(estimator).__name__
    _compute(X.map_blocks(_block_is_finite, name, drop_axis=1, chunks=(1,)))


def _gathered(a):
    """A dask array's values here (for one number per row), anything else as is."""
    return _compute(a)[0] if isinstance(a, da.Array) else a


def validation_data(estimator, X_val, y_val, sample_weight_val, dtype):
    """A dask ``X_val`` checked and persisted on the workers, as ``X`` is.

    ``X_val`` keeps to the workers in the training data's ``dtype``; its
    labels and weights (one number per row) are gathered, for the in-memory
    checks and scores that follow.
    """
    X_val = _check_dask_x(X_val, estimator).astype(dtype)
    _check_feature_names(estimator, X_val, reset=False)
    _check_n_features(estimator, X_val, reset=False)
    (X_val,) = dask.persist(aligned_blocks(X_val))
    _check_finite(X_val, estimator)
    return X_val, _gathered(y_val), _gathered(sample_weight_val)


def _check_sample_weight(sample_weight, X):
    """:func:`~skbackprop._validation.check_sample_weight` for a dask ``X``."""
    if sample_weight is None:
        return None
    if not isinstance(sample_weight, da.Array):
        checked = _validation.check_sample_weight(sample_weight, X.shape[0])
        return da.from_array(checked, chunks=(X.chunks[0],))
    if sample_weight.dtype.kind not in "biuf":
        raise ValueError(
            f"sample_weight must be numeric, got dtype {sample_weight.dtype}."
        )
    if sample_weight.shape != (X.shape[0],):
        raise ValueError(
            f"sample_weight.shape == {sample_weight.shape}, expected ({X.shape[0]},)!"
        )
    sample_weight = _rows_like(sample_weight.astype(np.float64), X, "sample_weight")
    finite, negative, total = _compute(
        da.isfinite(sample_weight).all(), (sample_weight < 0).any(), sample_weight.sum()
    )
    if not finite:
        raise ValueError("sample_weight contains NaN or infinity.")
    if negative:
        raise ValueError("Negative values in data passed to sample_weight.")
    if not total > 0:
        raise ValueError(
            "The sum of sample_weight is zero; at least one sample must have "
            "a positive weight."
        )
    return sample_weight


# ---------------------------------------------------------------------------
# Labels and weights: only the distinct labels and class counts travel
# ---------------------------------------------------------------------------


def _block_labels(y):
    """The distinct labels of one block (checked for mixed types first)."""
    _validation._check_label_types(y.ravel())
    return np.unique(y)


def _labels_of(y):
    """The distinct values of the dask array ``y``, found block by block."""
    uniques = _compute(*[dask.delayed(_block_labels)(b) for b in _blocks(y)])
    labels = np.concatenate(uniques)
    _validation._check_label_types(labels)  # blocks of different types
    return np.unique(labels)


def _representative(labels, y):
    """A small ``y`` with the same distinct values, dtype and columns as ``y``.

    scikit-learn's target type (binary, multiclass, multilabel indicator, ...)
    and a :class:`~sklearn.preprocessing.LabelBinarizer`'s fit depend on
    nothing else, so the in-memory checks and encoding run on it unchanged.
    """
    labels = labels.astype(y.dtype, copy=False)
    if y.ndim == 1:
        return labels
    return np.repeat(labels[:, None], y.shape[1], axis=1)


def _one_column(y):
    return y[:, 0] if y.ndim == 2 and y.shape[1] == 1 else y


def _block_indicator(y, binarizer, output_activation, n_outputs):
    if y.shape[0] == 0:
        return np.zeros((0, n_outputs), dtype=np.uint8)
    return _validation.indicator_matrix(binarizer, y, output_activation)


def encode_labels(y, output_activation, previous=None):
    """:func:`~skbackprop._validation.encode_labels` for a dask ``y``.

    The labels are checked and the encoding fitted on the distinct values of
    ``y`` (all that leaves the workers); ``Y`` is encoded block by block,
    lazily.
    """
    labels = _labels_of(y)
    binarizer, Y_small = _validation.encode_labels(
        _representative(labels, y), output_activation, previous
    )
    n_outputs = Y_small.shape[1]
    y = _one_column(y)
    Y = y.map_blocks(
        _block_indicator,
        binarizer,
        output_activation,
        n_outputs,
        dtype=np.uint8,
        chunks=(y.chunks[0], (n_outputs,)),
        **({"new_axis": 1} if y.ndim == 1 else {}),
    )
    return binarizer, Y


def _block_class_counts(y, sample_weight, classes):
    counts = np.bincount(
        np.searchsorted(classes, y), weights=sample_weight, minlength=len(classes)
    )
    return counts.astype(np.float64)


def _block_class_weight(y, sample_weight, classes, weights):
    per_sample = weights[np.searchsorted(classes, y)]
    return per_sample if sample_weight is None else per_sample * sample_weight


def class_sample_weight(class_weight, binarizer, y, sample_weight):
    """:func:`~skbackprop._validation.class_sample_weight` for a dask ``y``.

    ``"balanced"`` needs only the weighted count of each class, summed over
    the blocks on the workers.
    """
    if class_weight is None:
        return sample_weight
    y = _one_column(y)
    classes = binarizer.classes_
    counts = None
    if class_weight == "balanced" and not _validation.is_multilabel(binarizer):
        w_blocks = [None] * y.numblocks[0] if sample_weight is None else None
        w_blocks = w_blocks or _blocks(sample_weight)
        parts = [
            dask.delayed(_block_class_counts)(b, w, classes)
            for b, w in zip(_blocks(y), w_blocks)
        ]
        (counts,) = _compute(_tree_sum(parts))
    weights = _validation.class_weights(class_weight, binarizer, classes, counts)
    return da.map_blocks(
        _block_class_weight,
        y,
        sample_weight,
        classes,
        weights,
        dtype=np.float64,
    )


def _block_targets_are_finite(y):
    assert_all_finite(y, input_name="y")
    return np.ones(1, dtype=bool)


def encode_continuous_targets(y, previous_n_outputs=None):
    """:func:`~skbackprop._validation.encode_continuous_targets` for a dask ``y``.

    The in-memory checks of the dtype and of the number of outputs (warm
    start) run on one row of zeros shaped like ``y``, finiteness on the
    workers; ``Y`` is ``y`` as float64 with one column per output, lazily.
    """
    _validation.encode_continuous_targets(
        np.zeros((1, *y.shape[1:]), dtype=y.dtype), previous_n_outputs
    )
    drop_axis = list(range(1, y.ndim))
    _compute(y.map_blocks(_block_targets_are_finite, chunks=(1,), drop_axis=drop_axis))
    Y = y.astype(np.float64)
    return Y[:, None] if Y.ndim == 1 else Y


# ---------------------------------------------------------------------------
# The early-stopping hold-out, chosen block by block
# ---------------------------------------------------------------------------


def _block_hold_out(y, validation_fraction, stratify, seeds, block_id=None):
    """The rows of one block held out: stratified by its labels where it can be."""
    n_rows = y.shape[0]
    mask = np.zeros(n_rows, dtype=bool)
    if n_rows < 2:
        return mask
    n_val = min(max(math.ceil(validation_fraction * n_rows), 1), n_rows - 1)
    rng = np.random.RandomState(seeds[block_id[0]])
    _, val = _validation._hold_out_rows(n_rows, n_val, y if stratify else None, rng)
    mask[val] = True
    return mask


def _select_rows(a, mask, keep):
    return a[mask == keep]


def _split_rows(a, mask, counts, keep):
    """The rows of ``a`` where ``mask == keep``, block by block, lazily."""
    if a is None:
        return None
    index = "ij"[: a.ndim]  # the mask goes with the rows, whatever a's columns
    return da.blockwise(
        _select_rows,
        index,
        a,
        index,
        mask,
        "i",
        keep,
        None,
        dtype=a.dtype,
        adjust_chunks={"i": tuple(int(c) for c in counts)},
        meta=a._meta,
    )


def split_validation(
    X,
    Y,
    y,
    sample_weight,
    validation_fraction,
    stratify,
    rng,
    user_sample_weight=None,
):
    """Early stopping's hold-out (:func:`~skbackprop._validation.hold_out_rows`),
    each block on its own.

    Every block of two rows or more holds out ``ceil(validation_fraction *
    rows)`` of its rows (at least one, never all), stratified by the block's
    labels when each of its classes has two rows or more (and at least one
    row of each of its classes is held out), at random otherwise; a block of
    one row is all training. Each block draws from its own seed, taken from
    ``rng``, so the hold-out does not depend on the scheduler. Its targets
    and weights are gathered (a few numbers per held-out row); its ``X``
    stays on the workers.
    """
    n_blocks = X.numblocks[0]
    seeds = rng.randint(np.iinfo(np.int32).max, size=n_blocks)
    mask = y.map_blocks(
        _block_hold_out,
        validation_fraction,
        stratify is not None,
        seeds,
        dtype=bool,
        chunks=(y.chunks[0],),
        **({"drop_axis": 1} if y.ndim == 2 else {}),
    ).persist()
    n_val_blocks = np.asarray(
        _compute(*[dask.delayed(np.count_nonzero)(b) for b in _blocks(mask)])
    )
    if n_val_blocks.sum() == 0:
        raise ValueError(
            "early_stopping=True holds out rows within each block of a dask "
            "array, but every block has fewer than 2 rows; rechunk X by rows "
            "into larger blocks."
        )
    n_train_blocks = np.asarray(X.chunks[0]) - n_val_blocks
    train = [_split_rows(a, mask, n_train_blocks, False) for a in (X, Y, y)]
    sw_train = _split_rows(sample_weight, mask, n_train_blocks, False)
    X_val, Y_val, y_val, sw_val = (
        _split_rows(a, mask, n_val_blocks, True) for a in (X, Y, y, sample_weight)
    )
    Y_val, y_val, sw_val = _compute(Y_val, y_val, sw_val)
    if sw_val is not None and not sw_val.sum() > 0:
        sw_val = None
    if sw_train is not None and not _compute(sw_train.sum())[0] > 0:
        raise ValueError(
            "early_stopping=True left only samples of zero weight for "
            "training; lower validation_fraction or change sample_weight."
        )
    user_train = _split_rows(user_sample_weight, mask, n_train_blocks, False)
    X_train, Y_train, y_train, sw_train, X_val = dask.persist(*train, sw_train, X_val)
    validation = (X_val, Y_val, y_val, sw_val)
    return (X_train, Y_train, y_train, sw_train), validation, user_train


# ---------------------------------------------------------------------------
# Predictions: lazy, block by block
# ---------------------------------------------------------------------------


def _predict_block(X, estimator, method, tail_shape, dtype):
    if X.shape[0] == 0:
        return np.empty((0, *tail_shape), dtype=dtype)
    return getattr(estimator, method)(_aligned(X))


def map_row_blocks(estimator, method, X):
    """``estimator.<method>(X)`` for a dask ``X``, as a lazy dask array.

    Each block of rows is predicted by the in-memory method on the worker
    that holds it, with a snapshot of the fitted estimator (a later fit
    replaces, never changes, the fitted attributes). The method runs here
    first on one row of zeros, so that a mismatch in the features or an
    unfitted estimator is reported at once, and to learn the output's shape
    and dtype.
    """
    if not isinstance(X, da.Array) or X.ndim != 2:
        X = _check_dask_x(X, estimator)  # raises the error that says why
    if len(X.chunks[1]) > 1:
        X = X.rechunk({1: -1})
    probe = getattr(estimator, method)(np.zeros((1, X.shape[1]), dtype=X.dtype))
    tail_shape = probe.shape[1:]
    snapshot = dask.delayed(copy.copy(estimator), pure=False)
    return X.map_blocks(
        _predict_block,
        snapshot,
        method,
        tail_shape,
        probe.dtype,
        dtype=probe.dtype,
        chunks=(X.chunks[0], *((n,) for n in tail_shape)),
        meta=np.empty((0,) * probe.ndim, dtype=probe.dtype),
        **({"drop_axis": 1} if probe.ndim == 1 else {}),
    )


# ---------------------------------------------------------------------------
# The placement: what fit and predict call for a dask X
# ---------------------------------------------------------------------------


class DaskPlacement(HostPlacement):
    """A ``dask.array`` chunked by rows: the data stay on the cluster's workers.

    Validated, encoded and split block by block (this module's functions),
    evaluated by :class:`~skbackprop._dask.DaskCost` on the workers; the
    fitted arrays are numpy, on the client, and predictions are lazy dask
    arrays, each block predicted by the host's methods where it lies.
    """

    targets_on_host = False
    stays_in_place = True

    def validate(self, estimator, X, y, sample_weight, reset):
        X, y, sample_weight = validate_data(estimator, X, y, sample_weight, reset)
        return X, None, y, sample_weight  # the fitted arrays stay numpy

    def validate_validation(self, estimator, X_val, y_val, sample_weight_val, X):
        return validation_data(estimator, X_val, y_val, sample_weight_val, X.dtype)

    def encode_labels(self, y, output_activation, previous):
        return encode_labels(y, output_activation, previous)

    def class_sample_weight(self, class_weight, binarizer, y, sample_weight):
        return class_sample_weight(class_weight, binarizer, y, sample_weight)

    def encode_continuous_targets(self, y, previous_n_outputs):
        return encode_continuous_targets(y, previous_n_outputs)

    def column_mean_squares(self, X):
        return None  # the scale of data on the workers is not looked at

    def split(self, data, validation_fraction, stratify, rng):
        train, validation, user_train = split_validation(
            *data[:4], validation_fraction, stratify, rng, data.user_sample_weight
        )
        return FitData(*train, user_train), validation

    def validation_placement(self, X_val):
        found = input_placement(X_val)
        return found if found.stays_in_place else HOST  # in memory: the host's

    def evaluator(self, network, X, Y, sample_weight):
        return _build(DaskCost, network, X, Y, sample_weight)

    def hessian_product(self, loss, nn_params, X, Y, sample_weight):
        # The passes stay on the workers, one block of rows each.
        return loss.evaluator(X, Y, sample_weight).hessian_product(nn_params)

    def forward(self, thetas, X, activation):
        return forward(thetas, X, activation)

    prediction_z = forward

    def predict(self, estimator, method, X):
        return map_row_blocks(estimator, method.__name__, X)
