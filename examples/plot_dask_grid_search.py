"""
Scale-out search on a Dask cluster
==================================

scikit-learn parallelises :class:`~sklearn.model_selection.GridSearchCV`
through joblib, and joblib can hand the work to a `Dask
<https://distributed.dask.org>`_ cluster instead of local processes. The
estimator needs nothing special: BackpropClassifier pickles like any
scikit-learn estimator, and each candidate-and-fold fit runs as a task on a
worker.

Here the cluster is a :class:`~distributed.LocalCluster` inside this process,
listening on the loopback interface only, so the example runs anywhere. The
search is run twice, sequentially and on the cluster, and gives the same
answer.
"""

# %%
# The search
# ----------
import time

import joblib
import matplotlib.pyplot as plt
import numpy as np
from dask.distributed import Client, LocalCluster, get_task_stream
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skbackprop import BackpropClassifier

X, y = load_digits(return_X_y=True)
X, y = X[:600], y[:600]
model = make_pipeline(
    StandardScaler(),
    BackpropClassifier(hidden_layer_sizes=(25,), random_state=0),
)
grid = {"backpropclassifier__alpha": [0.01, 0.1, 1.0, 10.0]}
cv = StratifiedKFold(n_splits=3, shuffle=True, random_state=0)

start = time.perf_counter()
sequential = GridSearchCV(model, grid, cv=cv, n_jobs=1).fit(X, y)
print(f"sequential: {sequential.best_params_} in {time.perf_counter() - start:.1f} s")

# %%
# On a local Dask cluster
# -----------------------
# Two workers of one thread each, in this process (``processes=False``),
# talking TCP on 127.0.0.1, with no dashboard.
# ``joblib.parallel_config(backend="dask")`` sends every joblib job started
# inside the block, here the 12 fits of the search, to the cluster of the
# active :class:`~distributed.Client`.
with (
    LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=False,
        protocol="tcp",
        host="127.0.0.1",
        dashboard_address=None,
    ) as cluster,
    Client(cluster) as client,
):
    print(f"scheduler at {client.scheduler.address}")
    start = time.perf_counter()
    with get_task_stream(client) as task_stream:
        with joblib.parallel_config(backend="dask"):
            on_dask = GridSearchCV(model, grid, cv=cv, n_jobs=-1).fit(X, y)
    print(f"on Dask:    {on_dask.best_params_} in {time.perf_counter() - start:.1f} s")

assert on_dask.best_params_ == sequential.best_params_
print(
    "same mean CV scores:",
    np.allclose(
        on_dask.cv_results_["mean_test_score"],
        sequential.cv_results_["mean_test_score"],
    ),
)

# %%
# Where the work ran
# ------------------
# The task stream records, for every task, the worker that ran it and when.
# Each bar is one task: a fit of one candidate on one fold (joblib may batch
# several fits into one task). The two workers shared the search between
# them.
workers = sorted({task["worker"] for task in task_stream.data})
t0 = min(ss["start"] for task in task_stream.data for ss in task["startstops"])
fig, ax = plt.subplots(figsize=(8, 2.5))
for task in task_stream.data:
    row = workers.index(task["worker"])
    for ss in task["startstops"]:
        if ss["action"] == "compute":
            ax.barh(row, ss["stop"] - ss["start"], left=ss["start"] - t0, height=0.6)
ax.set_yticks(range(len(workers)), workers)
ax.set_xlabel("seconds since the first task started")
ax.set_title("GridSearchCV fits on the Dask workers")
fig.tight_layout()
plt.show()

# %%
# On a real cluster
# -----------------
# Start a scheduler and workers on the cluster's machines, each with
# skbackprop installed (the same versions of it, scikit-learn, numpy and scipy
# as the client)::
#
#     dask scheduler                         # on the head node
#     dask worker tcp://scheduler-host:8786  # on each worker machine
#
# (``scheduler-host`` standing for the head node's name or address), and
# connect to the scheduler's address instead of making a LocalCluster.
# The search code does not change:
#
# .. code-block:: python
#
#     from dask.distributed import Client
#
#     with Client("tcp://scheduler-host:8786") as client:
#         with joblib.parallel_config(backend="dask"):
#             search = GridSearchCV(model, grid, cv=cv, n_jobs=-1).fit(X, y)
#
# The data ``X, y`` travel from the client to the workers with each task; for
# large arrays, scatter them first with ``client.scatter`` or use
# ``joblib.parallel_config(backend="dask", scatter=[X, y])``. Within one
# machine, ``GridSearchCV(..., n_jobs=-1)`` on joblib's default process-based
# backend does the same job without Dask.
