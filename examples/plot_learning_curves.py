"""
Learning curves
===============

The course diagnoses a model by its learning curves: training and validation
error against the number of training examples.

* **High bias** (under-fitting): both errors are high and close together, and
  more data does not help; use a bigger network or a smaller lambda.
* **High variance** (over-fitting): the training error is low, the validation
  error much higher, and the gap closes slowly as data is added; get more
  data or use a larger lambda.

Two networks on the digits show both cases: one with only three hidden
units, too few to represent ten digits, and one large network with almost no
regularisation.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import StratifiedKFold, learning_curve
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler

from skbackprop import BackpropClassifier

X, y = load_digits(return_X_y=True)
cv = StratifiedKFold(n_splits=3, shuffle=True, random_state=0)
train_sizes = np.linspace(0.1, 1.0, 5)

models = {
    "high bias: 3 hidden units, lambda = 1": BackpropClassifier(
        hidden_layer_sizes=(3,), alpha=1.0, tol=1e-4, random_state=0
    ),
    "high variance: 100 units, lambda = 0.001": BackpropClassifier(
        hidden_layer_sizes=(100,), alpha=0.001, tol=1e-4, max_iter=200, random_state=0
    ),
}

fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
for ax, (title, net) in zip(axes, models.items()):
    sizes, train_scores, valid_scores = learning_curve(
        make_pipeline(MinMaxScaler(), net),
        X,
        y,
        train_sizes=train_sizes,
        cv=cv,
        n_jobs=1,
    )
    train_err, valid_err = 1 - train_scores.mean(1), 1 - valid_scores.mean(1)
    ax.plot(sizes, train_err, "o-", label="training error")
    ax.plot(sizes, valid_err, "o-", label="validation error")
    ax.set_title(title)
    ax.set_xlabel("training examples m")
    print(
        f"{title:<40} m = {sizes[-1]}: training error {train_err[-1]:.3f}, "
        f"validation error {valid_err[-1]:.3f}"
    )
axes[0].set_ylabel("error (1 - accuracy)")
axes[0].legend()
fig.tight_layout()
plt.show()

# %%
# On the left, the training error rises and the validation error falls until
# both level off at about 20%: more data would not help, a bigger network
# would. On the right, the network fits every training example, and the
# validation error is still falling as examples are added: more data, or a
# larger lambda, would help.
