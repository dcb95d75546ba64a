"""
Deploying a model: ONNX and skops
=================================

A fitted model has to leave the notebook: to be served from a process with no
Python scientific stack, or stored where no one may run an arbitrary pickle.
This example exports a :class:`~skbackprop.BackpropClassifier` pipeline to
ONNX with :func:`skbackprop.onnx.to_onnx`, runs the file in onnxruntime and
compares its answers with scikit-learn's, then stores the same model with
skops and loads it back. :doc:`/deploying` explains each step.

It needs the ``onnx`` and ``skops`` extras
(``pip install "skbackprop[onnx,skops]"``).
"""

# %%
# A model to deploy
# -----------------
# A scaler and a network with one hidden layer of 25 units, fitted on the
# first 1,500 handwritten digits; the other 297 are held out.
import tempfile
from pathlib import Path

import numpy as np
import onnxruntime
import skops.io as sio
from sklearn.datasets import load_digits
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skbackprop import BackpropClassifier
from skbackprop.onnx import to_onnx

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train = X[:1500], X[1500:], y[:1500]
model = make_pipeline(StandardScaler(), BackpropClassifier(alpha=1.0, random_state=0))
model.fit(X_train, y_train)
print(f"held-out accuracy: {model.score(X_test, y[1500:]):.3f}")

# %%
# Export to ONNX
# --------------
# ``to_onnx`` takes the input's type and width from a row of data: float32
# here, the type most ONNX runtimes serve. The result is an ``onnx.ModelProto``;
# its serialised bytes are the ``.onnx`` file.
X_test32 = X_test.astype(np.float32)
onx = to_onnx(model, X_test32[:1])
workdir = Path(tempfile.mkdtemp())
onnx_path = workdir / "digits.onnx"
onnx_path.write_bytes(onx.SerializeToString())
print("operators:", [node.op_type for node in onx.graph.node])

# %%
# The graph is the pipeline's computation: the scaler, one ``Gemm`` per layer
# (``a Theta[:, 1:]^T + Theta[:, 0]``), the sigmoid between them, and the
# output head that turns the one-vs-all outputs into labels and normalised
# probabilities.
#
# Run it in onnxruntime
# ---------------------
# The session needs only the file: no scikit-learn and no skbackprop.
session = onnxruntime.InferenceSession(
    str(onnx_path), providers=["CPUExecutionProvider"]
)
for io in session.get_inputs() + session.get_outputs():
    print(f"{io.name}: {io.type} of shape {io.shape}")
labels, probabilities = session.run(None, {"X": X_test32})

# %%
# Compare with scikit-learn
# -------------------------
# The labels are ``predict``'s; the probabilities agree with ``predict_proba``
# to float32 rounding.
same_labels = np.array_equal(labels, model.predict(X_test32))
difference = np.abs(probabilities - model.predict_proba(X_test32)).max()
print(f"labels equal predict: {same_labels}")
print(f"largest probability difference: {difference:.1e}")
assert same_labels and difference < 1e-5

# %%
# Store it with skops
# -------------------
# ``skops.io.dump`` writes the model without pickle. Before loading a file,
# list the types it holds that skops does not trust by default, check them,
# and pass the ones you trust: here only the network's class, since skops
# trusts scikit-learn's own estimators and numpy arrays.
skops_path = workdir / "digits.skops"
sio.dump(model, skops_path)
untrusted = sio.get_untrusted_types(file=skops_path)
print("untrusted types:", untrusted)
loaded = sio.load(skops_path, trusted=["skbackprop._classifier.BackpropClassifier"])
print(
    "same probabilities after loading:",
    np.array_equal(loaded.predict_proba(X_test), model.predict_proba(X_test)),
)
