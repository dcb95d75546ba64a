"""
The course exercise on the digits
=================================

Exercise 4 of the course trains a network with one hidden layer of 25 sigmoid
units on 5000 handwritten digits of 20x20 pixels, with lambda = 1, and then
draws the rows of ``Theta(1)`` as images. Here the same network learns
scikit-learn's bundled digits (1797 images of 8x8 pixels, no download).

Pixels are scaled to ``[0, 1]`` by dividing by 16, their maximum, so that each
weight still belongs to one pixel and the picture of the hidden units stays
readable (a :class:`~sklearn.preprocessing.StandardScaler` would also work, and
trains a little faster, but stretches the near-constant border pixels).
"""

# %%
# Train the course's network
# --------------------------
import matplotlib.pyplot as plt
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from skbackprop import BackpropClassifier
from skbackprop.inspection import HiddenUnitsDisplay, LossCurveDisplay

digits = load_digits()
X = digits.data / 16.0
y = digits.target
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.25, stratify=y, random_state=0
)

clf = BackpropClassifier(hidden_layer_sizes=(25,), alpha=1.0, random_state=0)
# The test rows passed as validation data are only scored after every
# iteration (for the loss curves below); without early stopping they do not
# change the fit.
clf.fit(X_train, y_train, X_val=X_test, y_val=y_test)

print(f"layer sizes       {clf.layer_sizes_}")
print(f"Theta shapes      {[theta.shape for theta in clf.thetas_]}")
print(f"iterations        {clf.n_iter_}")
print(f"final cost J      {clf.loss_:.4f}")
print(f"training accuracy {clf.score(X_train, y_train):.3f}")
print(f"test accuracy     {clf.score(X_test, y_test):.3f}")

# %%
# A few test digits and what the network says
# -------------------------------------------
fig, axes = plt.subplots(2, 8, figsize=(8, 2.4))
for ax, image, label, pred in zip(
    axes.ravel(), X_test, y_test, clf.predict(X_test[:16])
):
    ax.imshow(image.reshape(8, 8), cmap="gray_r")
    ax.set_title(f"{pred}" + ("" if pred == label else f" (is {label})"), fontsize=9)
    ax.set_axis_off()
fig.suptitle("Predicted digit for the first 16 test images")
fig.tight_layout()

# %%
# What the hidden units learned
# -----------------------------
# Each hidden unit ``j`` computes ``g(Theta(1)[j, :] [1; x])``. Its 64 input
# weights ``Theta(1)[j, 1:]``, laid out as an 8x8 image, show which pixels
# excite it (light) and which inhibit it (dark): strokes and parts of digits.
# This is the course's ``displayData(Theta1(:, 2:end))``.
display = HiddenUnitsDisplay.from_estimator(clf)
# sphinx_gallery_thumbnail_number = 2
_ = display.ax_.set_title("Theta(1): one 8x8 image per hidden unit")

# %%
# The loss curve
# --------------
# The cost ``J`` after each L-BFGS-B iteration: a steep start, then a tail of
# small improvements. Training stops when the last 10 iterations, and the 10
# after them, gained a negligible share of ``J``'s fall below the constant
# prediction's cost (the default ``tol="auto"``; ``stop_reason_`` says so;
# ``tol=0`` trains on to the minimum). Dashed: the cost without the penalty on the
# test rows (``validation_loss_curve_``); on the right, their accuracy.
display = LossCurveDisplay.from_estimator(clf)
display.ax_.set_yscale("log")
_ = display.ax_.set_title("Cost J during training, and on the test rows")
display.figure_.tight_layout()

# %%
# Early stopping
# --------------
# With ``early_stopping=True`` the network holds out 10% of its training data,
# scores itself on it after every iteration, and stops once the score has not
# improved for ``n_iter_no_change`` iterations, keeping the best weights. The
# same display then draws the validation accuracy on a second axis.
clf_es = BackpropClassifier(
    hidden_layer_sizes=(25,), early_stopping=True, n_iter_no_change=20, random_state=0
)
clf_es.fit(X_train, y_train)
print(f"stopped after {clf_es.n_iter_} iterations")
print(f"best validation accuracy {clf_es.best_validation_score_:.3f}")
print(f"test accuracy            {clf_es.score(X_test, y_test):.3f}")

display = LossCurveDisplay.from_estimator(clf_es)
display.ax_.set_yscale("log")
_ = display.ax_.set_title("Early stopping: cost J and validation accuracy")
display.figure_.tight_layout()
plt.show()
