"""
Choosing lambda
===============

The regularisation strength lambda (``alpha``) trades bias for variance. Too
small, and a network with many weights fits the noise of its training set:
high training score, lower validation score (high variance, over-fitting).
Too large, and the penalty ``(lambda / 2m) sum Theta**2`` flattens the weights
until the network cannot fit even its training set: both scores fall (high
bias, under-fitting). Cross-validation finds the value in between.

To make both failures easy to see, the data here are small and noisy: 300
samples of a synthetic two-class problem
(:func:`~sklearn.datasets.make_classification`, 20 features of which 6 carry
the signal, 5% of the labels flipped), and the network is bigger than the
course's (50 hidden units). On the digits, which are nearly noise-free, the
same curve exists but its over-fitting side is only a percent or two deep.
"""

# %%
# Grid search in a pipeline
# -------------------------
# The scaler sits inside the :class:`~sklearn.pipeline.Pipeline` so that each
# cross-validation fold is scaled with its own training part only. Parameters
# of a step are addressed as ``<step>__<parameter>``.
import time

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.datasets import make_classification, make_moons
from sklearn.model_selection import (
    GridSearchCV,
    StratifiedKFold,
    cross_validate,
    validation_curve,
)
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skbackprop import BackpropClassifier, BackpropClassifierCV
from skbackprop.inspection import AlphaPathDisplay

X, y = make_classification(
    n_samples=300,
    n_features=20,
    n_informative=6,
    n_redundant=4,
    flip_y=0.05,
    class_sep=0.8,
    random_state=0,
)

model = make_pipeline(
    StandardScaler(),
    BackpropClassifier(hidden_layer_sizes=(50,), random_state=0),
)
cv = StratifiedKFold(n_splits=3, shuffle=True, random_state=0)
alphas = np.logspace(-3, 2, 6)

search = GridSearchCV(
    model,
    {"backpropclassifier__alpha": alphas},
    cv=cv,
    return_train_score=True,
    n_jobs=1,
)
search.fit(X, y)
print("best:", search.best_params_, f"CV accuracy {search.best_score_:.3f}")

results = pd.DataFrame(search.cv_results_)[
    [
        "param_backpropclassifier__alpha",
        "mean_train_score",
        "mean_test_score",
        "rank_test_score",
        "mean_fit_time",
    ]
].rename(columns={"param_backpropclassifier__alpha": "lambda"})
results  # noqa: B018 (the gallery shows the last expression as a table)

# %%
# A validation curve
# ------------------
# :func:`~sklearn.model_selection.validation_curve` computes the same two
# scores over a finer grid. On a log axis the picture of the course's
# lecture on bias and variance appears: the training score falls as lambda
# grows, the validation score rises to a peak and falls again.
param_range = np.logspace(-3, 2.5, 12)
train_scores, valid_scores = validation_curve(
    model,
    X,
    y,
    param_name="backpropclassifier__alpha",
    param_range=param_range,
    cv=cv,
    n_jobs=1,
)

fig, ax = plt.subplots(figsize=(7, 4.5))
for scores, label in ((train_scores, "training"), (valid_scores, "cross-validation")):
    mean, std = scores.mean(axis=1), scores.std(axis=1)
    ax.semilogx(param_range, mean, "o-", label=label)
    ax.fill_between(param_range, mean - std, mean + std, alpha=0.2)
best = param_range[np.argmax(valid_scores.mean(axis=1))]
ax.axvline(best, color="gray", ls="--", lw=0.8, label=f"best lambda = {best:.3g}")
ax.annotate("over-fitting\n(high variance)", xy=(0.03, 0.12), xycoords="axes fraction")
ax.annotate("under-fitting\n(high bias)", xy=(0.78, 0.3), xycoords="axes fraction")
ax.set_xlabel("lambda (alpha)")
ax.set_ylabel("accuracy")
ax.set_title("Validation curve: 50 hidden units, 300 noisy samples")
ax.legend(loc="upper right")
plt.show()

# %%
# The same search in one call, along a path
# -----------------------------------------
# :class:`~skbackprop.BackpropClassifierCV` walks the lambda grid in each
# fold from the smallest value up, every fit starting from the previous
# lambda's weights, and refits the best lambda on all rows, as
# ``GridSearchCV`` does. Here on two moons (1,000 noisy points, where the
# default ``alpha=1.0`` scores about 85% and a good lambda about 94%), both
# over the same folds and the same ten lambdas, timed side by side.
X_moons, y_moons = make_moons(1000, noise=0.25, random_state=0)
X_moons = StandardScaler().fit_transform(X_moons)
folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)

start = time.perf_counter()
path = BackpropClassifierCV(cv=folds, random_state=0).fit(X_moons, y_moons)
path_time = time.perf_counter() - start

start = time.perf_counter()
grid = GridSearchCV(
    BackpropClassifier(random_state=0), {"alpha": path.alphas_}, cv=folds
).fit(X_moons, y_moons)
grid_time = time.perf_counter() - start

pd.DataFrame(
    {
        "chosen lambda": [grid.best_params_["alpha"], path.alpha_],
        "best mean CV accuracy": [
            grid.best_score_,
            path.cv_results_["mean_test_score"].max(),
        ],
        "seconds": [grid_time, path_time],
    },
    index=["GridSearchCV", "BackpropClassifierCV"],
).round(4)

# %%
# The path's scores against lambda, one standard deviation over the folds
# shaded, the chosen lambda marked:
display = AlphaPathDisplay.from_estimator(path)
display.ax_.set_title("BackpropClassifierCV on two moons")
plt.show()

# %%
# Lambda from the training rows alone: the evidence
# -------------------------------------------------
# ``alpha="evidence"`` re-estimates lambda from the exact Hessian at each
# fit's minimum (MacKay's evidence framework) until it settles: no folds and
# no grid, a few fits in all. Scored here by the same five folds, each fold
# choosing its own lambda from its training rows. It usually lands near the
# cross-validated lambda; the user guide's "Choosing λ" lists the cases
# where it does not.
start = time.perf_counter()
evidence = cross_validate(
    BackpropClassifier(alpha="evidence", random_state=0),
    X_moons,
    y_moons,
    cv=folds,
    return_estimator=True,
)
evidence_time = time.perf_counter() - start
pd.DataFrame(
    {
        "lambda per fold": [
            ", ".join(f"{est.alpha_:.3g}" for est in evidence["estimator"])
        ],
        "mean accuracy on the held-out folds": [evidence["test_score"].mean()],
        "seconds, all five folds": [evidence_time],
    },
    index=['alpha="evidence"'],
).round(4)
