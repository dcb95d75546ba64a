"""
One fit across a Dask cluster
=============================

The course's cost and its gradient are sums over the training examples. So a
training set too large for one machine can stay spread over the workers of a
`Dask <https://distributed.dask.org>`_ cluster: for each evaluation of the
cost, every worker computes the partial cost and the unnormalised
:math:`\\Delta^{(l)}` of the rows it holds, a tree of additions combines
them, and only vectors the size of the network's parameters travel. The
optimizer (L-BFGS-B here) runs in this process.

:class:`~skbackprop.BackpropClassifier` does this when ``X`` is a
``dask.array`` chunked by rows. Here the cluster is a
:class:`~distributed.LocalCluster` inside this process, listening on the
loopback interface only, so that the example runs anywhere; the end of the
page shows how to use a real cluster instead.
"""

# %%
# The data, as dask arrays
# ------------------------
# Four blocks of rows. Each block is one task's worth of work; on a real
# cluster a block would hold tens to hundreds of megabytes.
import time
import warnings

import dask.array as da
import matplotlib.pyplot as plt
import numpy as np
from dask.distributed import Client, LocalCluster, get_task_stream
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from skbackprop import BackpropClassifier

X, y = load_digits(return_X_y=True)
X = X / 16.0  # pixels in [0, 1]
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
X_blocks = da.from_array(X_train, chunks=(340, 64))
y_blocks = da.from_array(y_train, chunks=340)
print(X_blocks)

# At most 50 iterations, as the course trains its network (a fit that reaches
# them warns with a ConvergenceWarning, silenced here; the default stopping
# rule usually ends it sooner).
params = {"hidden_layer_sizes": (25,), "max_iter": 50, "random_state": 0}
warnings.filterwarnings("ignore", category=ConvergenceWarning)

# %%
# The fit on the cluster
# ----------------------
# Two workers of one thread each, in this process, talking TCP on 127.0.0.1.
# ``fit`` persists the blocks on the workers, checks them there (a NaN, the
# labels' types), learns the classes from the distinct labels alone, and runs
# the optimizer here. The task stream records every task the cluster ran.
with (
    LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=False,
        protocol="tcp",
        host="127.0.0.1",
        dashboard_address="127.0.0.1:0",
    ) as cluster,
    Client(cluster) as client,
):
    start = time.perf_counter()
    with get_task_stream(client) as task_stream:
        on_dask = BackpropClassifier(**params).fit(X_blocks, y_blocks)
    fit_seconds = time.perf_counter() - start
    print(
        f"on Dask: {on_dask.n_iter_} iterations, {on_dask.n_fun_evals_} "
        f"evaluations in {fit_seconds:.1f} s"
    )

    # Predicting on a dask array gives a lazy dask array: each block is
    # predicted on the worker that holds it, and nothing is gathered until
    # asked for.
    proba = on_dask.predict_proba(da.from_array(X_test, chunks=(150, 64)))
    print(proba)
    print(f"test accuracy: {np.mean(proba.compute().argmax(axis=1) == y_test):.3f}")

# %%
# The same fit as in memory
# -------------------------
# The blocks add up the same sums in another order, so the fit is the
# in-memory fit to rounding (and bit for bit with ``batch_size`` equal to the
# blocks' rows, which adds the same partial sums in the same order).
start = time.perf_counter()
in_memory = BackpropClassifier(**params).fit(X_train, y_train)
in_memory_seconds = time.perf_counter() - start
difference = max(
    np.abs(a - b).max() for a, b in zip(on_dask.thetas_, in_memory.thetas_)
)
print(f"iterations: {on_dask.n_iter_} on Dask, {in_memory.n_iter_} in memory")
print(f"largest difference in the weights: {difference:.1e}")
print(f"loss_: {on_dask.loss_:.12f} on Dask, {in_memory.loss_:.12f} in memory")

# %%
# Where the time goes
# -------------------
# The task stream has each block's compute time. On data this small, a
# block's arithmetic takes well under a millisecond, and an evaluation on the
# cluster is mostly its fixed cost: the graph to the scheduler, the tasks to
# the workers, the partial sums to the worker that adds them, the total back.
# That cost does not grow with the rows, so it fades as the blocks grow: a
# block of 30,000 MNIST rows with 100 hidden units is a fraction of a second
# of arithmetic (the user guide has the measurements).
block_times = [
    ss["stop"] - ss["start"]
    for task in task_stream.data
    if "_block_data_sums" in str(task["key"])
    for ss in task["startstops"]
    if ss["action"] == "compute"
]
per_evaluation = {
    "in memory,\nper evaluation": in_memory_seconds / in_memory.n_fun_evals_,
    "on Dask,\nper evaluation": fit_seconds / on_dask.n_fun_evals_,
    "on Dask,\none block's sums": float(np.median(block_times)),
}
fig, ax = plt.subplots(figsize=(7, 2.4))
ax.barh(list(per_evaluation), [1e3 * t for t in per_evaluation.values()])
ax.set_xlabel("milliseconds")
ax.invert_yaxis()
fig.tight_layout()
plt.show()

# %%
# On a real cluster
# -----------------
# Start a scheduler and workers on the cluster's machines, each with
# skbackprop installed (``pip install "skbackprop[dask]"``, the same versions
# of it, scikit-learn, numpy and scipy as the client)::
#
#     dask scheduler                         # on the head node
#     dask worker tcp://scheduler-host:8786  # on each worker machine
#
# (``scheduler-host`` standing for the head node's name or address), connect
# to the scheduler's address instead of making a LocalCluster, and let the
# workers read the data from where it is stored, so that it never passes
# through the client:
#
# .. code-block:: python
#
#     import dask.array as da
#     from dask.distributed import Client
#
#     with Client("tcp://scheduler-host:8786"):
#         X = da.from_zarr("s3://bucket/train/X.zarr")  # chunked by rows
#         y = da.from_zarr("s3://bucket/train/y.zarr")
#         clf = BackpropClassifier(hidden_layer_sizes=(100,)).fit(X, y)
#
# Blocks read from a source like this are also what lets a fit survive a lost
# worker: Dask reads them again on another worker and the fit goes on to the
# same result. Blocks that exist only in the workers' memory (sent with
# ``client.scatter``) cannot be recovered, and the fit then stops with an
# error, leaving the estimator as it was.
