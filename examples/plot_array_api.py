"""
Fitting on a GPU through the Array API
======================================

With scikit-learn's ``array_api_dispatch`` switched on,
:class:`~skbackprop.BackpropClassifier` takes a PyTorch tensor, a CuPy array
or any other `Array API <https://data-apis.org/array-api/>`_ array and keeps
everything where ``X`` is: every forward and backward pass runs on ``X``'s
device, the fitted weights ``thetas_`` are stored there, and ``predict``
answers there. Only the optimizer's parameter vector lives on the host: each
evaluation of the cost moves it to the device and the gradient back.

The documentation is built without a GPU, so this example runs on
`array-api-strict <https://data-apis.org/array-api-strict/>`_, a strict
implementation of the standard that simulates devices: its ``device1`` holds
arrays that numpy refuses to read, so the fit below proves that ``X`` never
left its device. On a machine with a GPU, replace the arrays by PyTorch
tensors (see the end of this page).
"""

# %%
# Switching dispatch on
# ---------------------
# SciPy's own Array API support must be switched on before SciPy is first
# imported, by the environment variable ``SCIPY_ARRAY_API=1`` (set in the
# shell, or first thing in the script as here); then
# ``sklearn.set_config(array_api_dispatch=True)``, or the context manager
# ``sklearn.config_context`` used below, turns dispatch on.
import os

os.environ.setdefault("SCIPY_ARRAY_API", "1")

import array_api_strict as xp  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import sklearn  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402

from skbackprop import BackpropClassifier, move_to_numpy  # noqa: E402
from skbackprop.backprop import (  # noqa: E402
    cost_function,
    init_thetas,
    make_array_api_cost_function,
    unroll,
)

X, y = load_digits(return_X_y=True)
X = X / 16.0  # pixels in [0, 1]
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)

device = xp.Device("device1")
X_train_dev = xp.asarray(X_train, device=device)
y_train_dev = xp.asarray(y_train, device=device)
X_test_dev = xp.asarray(X_test, device=device)

# %%
# Fitting on the device
# ---------------------
# The same estimator, the same parameters: only the input differs. The fitted
# weights and the predictions are arrays of ``X``'s namespace, on its device.
params = dict(hidden_layer_sizes=(25,), alpha=1.0, tol=1e-4, random_state=0)
with sklearn.config_context(array_api_dispatch=True):
    on_device = BackpropClassifier(**params).fit(X_train_dev, y_train_dev)
    y_pred = on_device.predict(X_test_dev)

print("thetas_[0]:", type(on_device.thetas_[0]).__name__, on_device.thetas_[0].device)
print("predictions:", type(y_pred).__name__, y_pred.device)
try:
    np.asarray(X_train_dev)
except RuntimeError as error:
    print("numpy cannot read X on device1:", error)

# %%
# The numbers of the numpy path
# -----------------------------
# At the same weights, the device computes the numpy path's cost and
# gradient to rounding (about 1e-15 relative in float64).
layer_sizes = (64, 25, 10)
weights = unroll(init_thetas(layer_sizes, random_state=0))
Y_train = np.eye(10)[y_train]
J, grad = make_array_api_cost_function(layer_sizes, X_train_dev, Y_train, 1.0)(weights)
J_ref, grad_ref = cost_function(weights, layer_sizes, X_train, Y_train, 1.0)
print(f"cost: relative difference {abs(J - J_ref) / J_ref:.1e}")
print(f"gradient: largest difference {np.max(np.abs(grad - grad_ref)):.1e}")

# %%
# Over hundreds of iterations on this non-convex cost, L-BFGS-B amplifies
# those rounding differences, as it does between two numpy fits that only
# add the same numbers in another order (``batch_size``): the three fits
# below take slightly different paths to equally good networks. Their
# curves of ``J`` lie on top of each other.
# :func:`~skbackprop.move_to_numpy` copies the device model's arrays to
# numpy on the host, for use without dispatch (or to pickle it for a machine
# without the device).
on_host = BackpropClassifier(**params).fit(X_train, y_train)
chunked = BackpropClassifier(batch_size=256, **params).fit(X_train, y_train)
moved = move_to_numpy(on_device)
for name, model in [("device1", moved), ("numpy", on_host), ("numpy, chunks", chunked)]:
    print(
        f"{name:>14}: {model.n_iter_} iterations, J = {model.loss_:.6f}, "
        f"test accuracy {model.score(X_test, y_test):.4f}"
    )

fig, ax = plt.subplots(figsize=(6, 3.5))
ax.semilogy(on_host.loss_curve_, lw=4, alpha=0.4, label="numpy (CPU)")
ax.semilogy(chunked.loss_curve_, ":", lw=2, label="numpy, batch_size=256")
ax.semilogy(on_device.loss_curve_, "--", label="array-api-strict, device1")
ax.set(xlabel="L-BFGS-B iteration", ylabel="cost J", title="Three fits, one cost")
ax.legend()
fig.tight_layout()

# %%
# On a GPU
# --------
# With PyTorch and a CUDA GPU the code is the same, with tensors on the GPU.
# Keep ``X`` in float32 there (the GPUs' fast precision; the optimizer's
# parameter vector stays float64 on the host)::
#
#     import os
#     os.environ.setdefault("SCIPY_ARRAY_API", "1")  # before scipy is imported
#
#     import sklearn
#     import torch
#     from skbackprop import BackpropClassifier, move_to_numpy
#
#     X_gpu = torch.asarray(X_train, dtype=torch.float32, device="cuda")
#     y_gpu = torch.asarray(y_train, device="cuda")
#     with sklearn.config_context(array_api_dispatch=True):
#         model = BackpropClassifier(hidden_layer_sizes=(256, 128)).fit(X_gpu, y_gpu)
#         proba = model.predict_proba(torch.asarray(X_test, dtype=torch.float32,
#                                                   device="cuda"))  # on the GPU
#     cpu_model = move_to_numpy(model)  # predicts on numpy, pickles anywhere
#
# CuPy arrays work the same way. A GPU pays off on large data: with the
# digits' 1,347 rows the fixed cost of each GPU operation outweighs the
# arithmetic, and the numpy path is faster.
