"""The Dask backend: the full-batch cost over a ``dask.array`` spread across a cluster.

The cost and its gradient are sums over the examples, so each block of rows
contributes its own partial sums, as the course's accumulation
``Delta(l) += d(l+1) [1; a(l)]^T`` does one example at a time. For each
evaluation the parameter vector goes to the workers once, every block of
``X`` (persisted on the workers when the fit starts, never gathered) gives
its data cost and unnormalised ``Delta(l)`` from the numpy evaluator
(:meth:`~skbackprop.backprop._fast._FastCost.data_sums`), a tree of additions
reduces them, and the client divides by ``m`` and adds the penalty
(:func:`~skbackprop.backprop._fast.cost_from_sums`). Hessian-vector products
are a map-reduce too, over passes kept on the workers for each iterate. The
optimizer runs on the client, which only ever holds vectors of the size of
the parameters, the labels' distinct values, and, with early stopping, one
label and one output row per held-out example.

Also here: checking ``X``, ``y`` and ``sample_weight`` on the workers,
finding the classes without gathering ``y``, the per-block early-stopping
hold-out, and lazy predictions (:func:`map_row_blocks`).

Everything runs through ``dask.compute``/``dask.persist``, so it works on a
``distributed`` cluster (the active :class:`~distributed.Client`) and on
Dask's local schedulers alike. This module is imported only when a Dask
collection reaches the estimator (:func:`skbackprop._loss.dask_backend`).
"""

import concurrent.futures
import copy
import math
from dataclasses import dataclass

import numpy as np
from sklearn.utils import assert_all_finite
from sklearn.utils.validation import (
    _check_feature_names,
    _check_n_features,
    check_consistent_length,
)

from . import _validation
from .backprop import forward_propagate, make_cost_function
from .backprop._course import _cast_thetas, _compute_dtype, _theta_shapes
from .backprop._fast import cost_from_sums
from .backprop._roperator import hessian_product_from_sum, make_hessian_vector_sum

try:
    import dask
    import dask.array as da
except ImportError as exc:  # pragma: no cover - exercised with dask hidden
    raise ImportError(
        "Fitting on a Dask array needs dask[array] and distributed; install "
        "them with `pip install skbackprop[dask]`."
    ) from exc

#: Fan-in of the tree that adds up the blocks' partial sums.
_SPLIT_EVERY = 8


# ---------------------------------------------------------------------------
# Running on the cluster
# ---------------------------------------------------------------------------


class LostDataError(RuntimeError):
    """The cluster lost blocks of the data, or workers, and could not recover."""


def _compute(*collections):
    """``dask.compute``, with an unrecoverable loss turned into a clear error.

    Blocks computed from a source (``da.from_array``, ``da.random``, files)
    that were on a lost worker are computed again by Dask, to the same
    numbers; blocks that exist only as data (``client.scatter``) cannot be,
    and the fit stops here rather than continue on part of the rows. So it
    does when a task has killed workers again and again (``KilledWorker``).
    """
    try:
        return dask.compute(*collections)
    except concurrent.futures.CancelledError as exc:
        raise LostDataError(_LOST_DATA.format(exc) + _UNCHANGED) from exc
    except Exception as exc:
        if type(exc).__name__ != "KilledWorker":  # distributed's, if in use
            raise
        raise LostDataError(_KILLED_WORKERS.format(exc) + _UNCHANGED) from exc


_LOST_DATA = (
    "The Dask cluster lost blocks of the training data that it cannot compute "
    "again ({}). Data scattered to the workers has no source to recompute it "
    "from: build the dask arrays from their source (da.from_array, da.random, "
    "dask.array.from_zarr, ...) so that Dask can recover from a lost worker."
)
_KILLED_WORKERS = (
    "Workers of the Dask cluster died while computing the fit ({}), again and "
    "again; they may be running out of memory: use smaller blocks of rows, "
    "a batch_size, or workers with more memory."
)
_UNCHANGED = " The estimator was left as it was before fit."


def _shared(value):
    """``value`` as one task of the graph, sent to the workers once, not per block."""
    return dask.delayed(value, pure=True)


def _tree_sum(parts):
    """Add up delayed arrays, ``_SPLIT_EVERY`` at a time, level by level.

    The order of the additions is fixed by the graph, not by which worker
    finishes first, so an evaluation gives the same numbers every time.
    """
    while len(parts) > 1:
        parts = [
            dask.delayed(_add_up, pure=True)(parts[i : i + _SPLIT_EVERY])
            for i in range(0, len(parts), _SPLIT_EVERY)
        ]
    return parts[0]


def _add_up(arrays):
    total = arrays[0].copy()
    for array in arrays[1:]:
        total += array
    return total


def _blocks(array):
    """The delayed blocks of a dask array chunked by rows only, in order."""
    return list(array.to_delayed().ravel())


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
    X, y, sample_weight = dask.persist(X, y, sample_weight)
    name = type(estimator).__name__
    _compute(X.map_blocks(_block_is_finite, name, drop_axis=1, chunks=(1,)))
    return X, y, sample_weight


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
    if class_weight == "balanced" and binarizer.y_type_ != "multilabel-indicator":
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


def split_validation(X, Y, y, sample_weight, validation_fraction, stratify, rng):
    """:func:`~skbackprop._validation.split_validation`, each block on its own.

    Every block of two rows or more holds out ``ceil(validation_fraction *
    rows)`` of its rows (at least one, never all), stratified by the block's
    labels when each of its classes has two rows or more (and at least one
    row of each of its classes is held out), at random otherwise; a block of
    one row is all training. Each block draws from its own seed, taken from
    ``rng``, so the hold-out does not depend on the scheduler. Its labels and
    weights are gathered (one number per held-out row); its ``X`` stays on
    the workers.
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
    X_val, y_val, sw_val = (
        _split_rows(a, mask, n_val_blocks, True) for a in (X, y, sample_weight)
    )
    y_val, sw_val = _compute(y_val, sw_val)
    if sw_val is not None and not sw_val.sum() > 0:
        sw_val = None
    if sw_train is not None and not _compute(sw_train.sum())[0] > 0:
        raise ValueError(
            "early_stopping=True left only samples of zero weight for "
            "training; lower validation_fraction or change sample_weight."
        )
    X_train, Y_train, y_train, sw_train, X_val = dask.persist(*train, sw_train, X_val)
    return (X_train, Y_train, y_train, sw_train), (X_val, y_val, sw_val)


# ---------------------------------------------------------------------------
# The cost, its gradient and Hessian-vector products: map over the blocks,
# add up the partial sums
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Network:
    """What a block's evaluator needs to know of the network."""

    layer_sizes: tuple
    activation: str
    output_activation: str
    batch_size: object

    def cost(self, X, Y, sample_weight):
        return make_cost_function(
            self.layer_sizes,
            X,
            Y,
            0.0,  # the penalty is added once, on the client
            sample_weight,
            activation=self.activation,
            output_activation=self.output_activation,
            batch_size=self.batch_size,
        )


def _contributes(X, sample_weight):
    """Whether a block adds anything: rows, and weights that are not all 0.

    A row of weight 0 adds exactly 0 to every sum, so a block of them is
    skipped rather than given to an evaluator that needs a positive ``m``.
    """
    return X.shape[0] > 0 and (sample_weight is None or sample_weight.sum() > 0)


def _block_data_sums(X, Y, sample_weight, params, network):
    """``[sum_i w_i cost_i, Delta...]`` of one block (float64)."""
    sums = np.zeros(1 + params.shape[0])
    if _contributes(X, sample_weight):
        # As on the client in memory: an overflow that leaves J finite (a
        # saturated unit) is harmless; a NaN is caught on the client.
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            sums[0], sums[1:] = network.cost(X, Y, sample_weight).data_sums(params)
    return sums


def _block_hessian_sum(X, Y, sample_weight, params, network):
    """One block's ``v -> sum of R{Delta}``, its passes at ``params`` kept."""
    if not _contributes(X, sample_weight):
        return None
    return make_hessian_vector_sum(
        params,
        network.layer_sizes,
        X,
        Y,
        sample_weight,
        activation=network.activation,
        output_activation=network.output_activation,
        batch_size=network.batch_size,
    )


def _apply_hessian_sum(hessian_sum, v):
    return np.zeros(v.shape[0]) if hessian_sum is None else hessian_sum(v)


class DaskCost:
    """``fun(nn_params) -> (J, grad)`` over the row blocks of dask arrays.

    The counterpart of :func:`~skbackprop.backprop.make_cost_function` (same
    parameters, same numbers up to the order of the additions), built once
    per fit: ``X``, ``Y`` and the weights are persisted on the workers here,
    and ``m`` (the weights' sum) computed there. ``hessian_product(nn_params)``
    returns ``hvp(v)`` as :func:`~skbackprop.backprop.make_hessian_vector_product`
    does.
    """

    def __init__(
        self,
        layer_sizes,
        X,
        Y,
        alpha,
        sample_weight=None,
        activation="sigmoid",
        output_activation="sigmoid",
        batch_size=None,
    ):
        self.network = _Network(
            tuple(int(s) for s in layer_sizes),
            activation,
            output_activation,
            batch_size,
        )
        self.layer_sizes = self.network.layer_sizes
        self.alpha = float(alpha)
        self.n_params = sum(r * c for r, c in _theta_shapes(self.layer_sizes))
        _check_blocks(self.layer_sizes, X, Y, sample_weight)
        self.dtype = _compute_dtype(X)
        X, Y, sample_weight = dask.persist(X, Y, sample_weight)
        # The persisted arrays hold the futures that keep the blocks on the
        # workers; their delayed blocks name them only by key.
        self.data = (X, Y, sample_weight)
        weights = [None] * X.numblocks[0] if sample_weight is None else None
        self.blocks = list(
            zip(_blocks(X), _blocks(Y), weights or _blocks(sample_weight))
        )
        self.m = float(X.shape[0])
        if sample_weight is not None:
            self.m = float(_compute(sample_weight.sum())[0])

    def _check_params(self, nn_params):
        params = np.asarray(nn_params, dtype=np.float64)
        if params.shape != (self.n_params,):
            raise ValueError(
                f"nn_params has shape {params.shape}, but layer_sizes "
                f"{self.layer_sizes} need a 1-D vector of {self.n_params} parameters."
            )
        return params

    def _map_reduce(self, block_fn, per_block, vector, *small):
        """``block_fn(*block, vector, *small)`` on every block, added up."""
        vector = _shared(vector)
        parts = [
            dask.delayed(block_fn, pure=True)(*b, vector, *small) for b in per_block
        ]
        return _compute(_tree_sum(parts))[0]

    def __call__(self, nn_params):
        params = self._check_params(nn_params)
        sums = self._map_reduce(_block_data_sums, self.blocks, params, self.network)
        return cost_from_sums(
            sums[0], sums[1:], params, self.layer_sizes, self.alpha, self.m
        )

    def hessian_product(self, nn_params):
        """``hvp(v) -> H v`` at ``nn_params``; the passes stay on the workers."""
        params = _shared(self._check_params(nn_params))
        sums = dask.persist(
            *[
                dask.delayed(_block_hessian_sum, pure=True)(*b, params, self.network)
                for b in self.blocks
            ]
        )
        per_block = [(s,) for s in sums]

        def hvp(v):
            v = np.asarray(v, dtype=np.float64)
            total = self._map_reduce(_apply_hessian_sum, per_block, v)
            return hessian_product_from_sum(
                total, v, self.layer_sizes, self.alpha, self.m, self.dtype
            )

        return hvp


def _check_blocks(layer_sizes, X, Y, sample_weight):
    """The shapes and row blocks the evaluator needs, as the numpy one checks them."""
    if X.ndim != 2 or X.shape[1] != layer_sizes[0] or len(X.chunks[1]) != 1:
        raise ValueError(
            f"X has shape {X.shape} in blocks {X.chunksize}, but layer_sizes "
            f"{layer_sizes} need {layer_sizes[0]} columns in one block."
        )
    if Y.shape != (X.shape[0], layer_sizes[-1]) or Y.chunks[0] != X.chunks[0]:
        raise ValueError(
            f"Y has shape {Y.shape}, expected ({X.shape[0]}, {layer_sizes[-1]}) "
            "in the row blocks of X."
        )
    if sample_weight is not None and sample_weight.chunks != (X.chunks[0],):
        raise ValueError("sample_weight must have the row blocks of X.")


# ---------------------------------------------------------------------------
# The forward pass: gathered for the hold-out, lazy for predictions
# ---------------------------------------------------------------------------


def _block_forward(X, thetas, activation):
    return forward_propagate(_cast_thetas(thetas, X), X, activation)[1]


def forward(thetas, X, activation):
    """``z(L)`` of the network on a dask ``X``, gathered: one row per example.

    The output layer has a few units, so ``z(L)`` is a small fraction of
    ``X``, which stays on the workers. Used for the early-stopping hold-out.
    """
    thetas = _shared([np.asarray(t) for t in thetas])
    parts = [dask.delayed(_block_forward)(b, thetas, activation) for b in _blocks(X)]
    return np.concatenate(_compute(*parts))


def _predict_block(X, estimator, method, tail_shape, dtype):
    if X.shape[0] == 0:
        return np.empty((0, *tail_shape), dtype=dtype)
    return getattr(estimator, method)(X)


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
