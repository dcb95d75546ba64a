"""
Regression: choosing lambda on the diabetes data
=================================================

:class:`~skbackprop.BackpropRegressor` is the course's network with an output
layer of identity units, trained on the course's regularised squared error

.. math::

    J = \\frac{1}{2m} \\sum_i \\bigl\\| h(x_i) - y_i \\bigr\\|^2
        + \\frac{\\lambda}{2m} \\sum \\Theta^2 .

Here it predicts disease progression one year after baseline from ten
measurements (scikit-learn's bundled diabetes data, 442 patients). As for
the classifier, the one number to tune is lambda (``alpha``): a grid search,
inside a :class:`~sklearn.pipeline.Pipeline` with a
:class:`~sklearn.preprocessing.StandardScaler` so that each fold scales with
its own training rows, compared with scikit-learn's
:class:`~sklearn.neural_network.MLPRegressor` (``solver="lbfgs"``, logistic
hidden units, the same hidden layer and the same lambda grid: for one output
its loss is :math:`J`, so ``alpha`` means the same) and with
:class:`~sklearn.linear_model.Ridge` (whose ``alpha`` is :math:`\\lambda` of the
network with no hidden layer).
"""

# %%
import warnings

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.datasets import load_diabetes
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import Ridge
from sklearn.model_selection import GridSearchCV, KFold, cross_val_predict
from sklearn.neural_network import MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from skbackprop import BackpropRegressor

X, y = load_diabetes(return_X_y=True)
alphas = np.logspace(-1, 3, 9)
cv = KFold(n_splits=5, shuffle=True, random_state=0)
models = {
    "BackpropRegressor": BackpropRegressor(hidden_layer_sizes=(10,), random_state=0),
    "MLPRegressor (lbfgs)": MLPRegressor(
        hidden_layer_sizes=(10,),
        activation="logistic",
        solver="lbfgs",
        max_iter=1000,
        random_state=0,
    ),
    "Ridge": Ridge(),
}

# %%
# One grid search per model, scored by R² (every regressor's default score),
# each on one BLAS thread: on matrices this small extra threads cost more
# than they save.
searches = {}
for name, model in models.items():
    pipe = make_pipeline(StandardScaler(), model)
    step = pipe.steps[-1][0]
    search = GridSearchCV(pipe, {f"{step}__alpha": alphas}, cv=cv)
    with warnings.catch_warnings(), threadpool_limits(limits=1, user_api="blas"):
        # MLPRegressor may stop at max_iter on a fold; its score still counts.
        warnings.simplefilter("ignore", ConvergenceWarning)
        searches[name] = search.fit(X, y)

# %%
# The validation curves: the mean R² of the five folds at each lambda.
fig, ax = plt.subplots(figsize=(6.4, 4))
for name, search in searches.items():
    results = search.cv_results_
    ax.errorbar(
        alphas,
        results["mean_test_score"],
        yerr=results["std_test_score"] / np.sqrt(cv.get_n_splits()),
        marker="o",
        capsize=3,
        label=name,
    )
ax.set_xscale("log")
ax.set_xlabel("lambda (alpha)")
ax.set_ylabel("mean cross-validated R²")
ax.set_title("Diabetes: R² against lambda (error bars: standard error)")
ax.legend()
fig.tight_layout()

# %%
# Small lambdas let both networks over-fit 353 training rows: their R² falls
# below the linear model's. A large lambda shrinks every weight, and the
# networks and Ridge alike under-fit. In between, the networks reach about
# what Ridge does: on these ten measurements the relation is close to linear,
# which lambda lets the network find by itself.
table = pd.DataFrame(
    {
        name: {
            "best lambda": search.best_params_[next(iter(search.best_params_))],
            "mean R²": search.best_score_,
            "mean fit time (s)": search.cv_results_["mean_fit_time"][
                search.best_index_
            ],
        }
        for name, search in searches.items()
    }
).T
print(table.round(3).to_string())

# %%
# The network's fitted predictions at the chosen lambda, against the truth,
# on the folds it did not see.
best = searches["BackpropRegressor"].best_estimator_
with threadpool_limits(limits=1, user_api="blas"):
    predicted = cross_val_predict(best, X, y, cv=cv)
fig, ax = plt.subplots(figsize=(4.5, 4.5))
ax.scatter(y, predicted, s=10, alpha=0.6)
lims = [min(y.min(), predicted.min()), max(y.max(), predicted.max())]
ax.plot(lims, lims, color="black", linewidth=1)
ax.set_xlabel("true disease progression")
ax.set_ylabel("predicted (cross-validated)")
ax.set_title("BackpropRegressor at the chosen lambda")
fig.tight_layout()
plt.show()
