"""The Dask backend of the loss: the full-batch cost over a ``dask.array``'s row blocks.

The cost and its gradient are sums over the examples, so each block of rows
contributes its own partial sums, as the course's accumulation
``Delta(l) += d(l+1) [1; a(l)]^T`` does one example at a time. For each
evaluation (:class:`DaskCost`) the parameter vector goes to the workers once,
every block of ``X`` (persisted on the workers, never gathered) gives its
data cost and unnormalised ``Delta(l)`` from the numpy evaluator
(:meth:`~skbackprop.backprop._fast._FastCost.data_sums`), a tree of additions
reduces them, and the client divides by ``m`` and adds the penalty
(:func:`~skbackprop.backprop._fast.cost_from_sums`). Hessian-vector products
are a map-reduce too, over passes kept on the workers for each iterate; the
forward pass (:func:`forward`) gathers only the output layer. The optimizer
runs on the client, which holds vectors of the size of the parameters.

Everything runs through ``dask.compute``/``dask.persist``, so it works on a
``distributed`` cluster (the active :class:`~distributed.Client`) and on
Dask's local schedulers alike. :class:`~skbackprop._loss.NetworkLoss`
imports this module only when a Dask collection arrives; the estimators'
side (checks, labels, the hold-out, predictions) is in
:mod:`skbackprop._dask_data`.
"""

import concurrent.futures

import numpy as np

from .backprop import forward_propagate, make_cost_function
from .backprop._course import Network, _cast_thetas, _check_n_params, _compute_dtype
from .backprop._fast import cost_from_sums
from .backprop._roperator import hessian_product_from_sum, make_hessian_vector_sum

try:
    import dask
    import dask.array as da  # noqa: F401 - for _dask_data, and dask[array] needed
except ImportError as exc:  # exercised in tests with dask hidden
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


def _aligned(block):
    """``block``, or an aligned copy of it where it is not aligned.

    numpy hands only aligned arrays to BLAS (it copies the others at every
    matrix product, about 2.5 times slower), and blocks sent from the client
    (``da.from_array``, ``client.scatter``) reach a worker process unaligned,
    in the buffer they arrived in.
    """
    return block if block.flags.aligned else np.array(block)


def aligned_blocks(array):
    """``array`` with every block aligned (copied once, on its worker, if not)."""
    return array.map_blocks(_aligned, dtype=array.dtype)


def _blocks(array):
    """The delayed blocks of a dask array chunked by rows only, in order."""
    return list(array.to_delayed().ravel())


# ---------------------------------------------------------------------------
# The cost, its gradient and Hessian-vector products: map over the blocks,
# add up the partial sums
# ---------------------------------------------------------------------------


def _block_cost(network, X, Y, sample_weight):
    """The fast evaluator of one block, without the penalty (added once, on
    the client)."""
    return make_cost_function(
        network.layer_sizes,
        X,
        Y,
        0.0,
        sample_weight,
        activation=network.activation,
        output_activation=network.output_activation,
        batch_size=network.batch_size,
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
            sums[0], sums[1:] = _block_cost(network, X, Y, sample_weight).data_sums(
                params
            )
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
        self.network = Network.of(
            layer_sizes, alpha, activation, output_activation, batch_size
        )
        self.layer_sizes = self.network.layer_sizes
        self.alpha = self.network.alpha
        self.n_params = self.network.n_params
        _check_blocks(self.layer_sizes, X, Y, sample_weight)
        self.dtype = _compute_dtype(X)
        X, Y, sample_weight = dask.persist(aligned_blocks(X), Y, sample_weight)
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
        _check_n_params(params, self.layer_sizes, self.n_params)
        return params

    def _map_reduce(self, block_fn, per_block, vector, *small):
        """``block_fn(*block, vector, *small)`` on every block, added up."""
        vector = _shared(vector)
        parts = [
            dask.delayed(block_fn, pure=True)(*b, vector, *small) for b in per_block
        ]
        # A new array: what arrives from a worker may be read-only or not
        # aligned (an out-of-band pickle buffer), which older scipy's Fortran
        # L-BFGS-B refuses as a gradient.
        return np.array(_compute(_tree_sum(parts))[0], dtype=np.float64)

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
    X = _aligned(X)
    return forward_propagate(_cast_thetas(thetas, X), X, activation)[1]


def forward(thetas, X, activation):
    """``z(L)`` of the network on a dask ``X``, gathered: one row per example.

    The output layer has a few units, so ``z(L)`` is a small fraction of
    ``X``, which stays on the workers. Used for the early-stopping hold-out.
    """
    thetas = _shared([np.asarray(t) for t in thetas])
    parts = [dask.delayed(_block_forward)(b, thetas, activation) for b in _blocks(X)]
    return np.concatenate(_compute(*parts))
