"""Fixtures shared by several test modules.

The data and plain helpers they share are in ``_helpers.py``; a backend's
own fixtures are in its folder's conftest.py.
"""

import pickle

import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.datasets import load_iris, make_classification
from sklearn.preprocessing import StandardScaler

from skbackprop import BackpropClassifier

from _helpers import FEATURES, Y_INDICATOR, X, y


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y


@pytest.fixture(scope="module")
def small():
    X, y = make_classification(
        n_samples=60, n_features=5, n_informative=3, n_classes=3, random_state=0
    )
    return X, y


@pytest.fixture(scope="module")
def fitted_pickles():
    """Pickled estimators fitted on ``X`` (array), on ``X`` (DataFrame) and on
    ``X`` with the multilabel ``Y_INDICATOR``."""
    est = BackpropClassifier(hidden_layer_sizes=(3,), random_state=0, tol=1e-4)
    return {
        "fitted": pickle.dumps(clone(est).fit(X, y)),
        "frame": pickle.dumps(clone(est).fit(pd.DataFrame(X, columns=FEATURES), y)),
        "multilabel": pickle.dumps(clone(est).fit(X, Y_INDICATOR)),
    }


@pytest.fixture
def interrupt_after(monkeypatch):
    """``interrupt_after(n)``: Ctrl-C from the optimizer's callback after n iterations.

    Patches ``minimize`` where the solver module looks it up, so the
    KeyboardInterrupt comes from inside ``scipy.optimize.minimize``, as a real
    Ctrl-C during training would.
    """
    import skbackprop._solver as solver_module

    real_minimize = solver_module.minimize

    def patch(n_iterations):
        def minimize(*args, callback, **kwargs):
            count = [0]

            def interrupting(intermediate_result):
                callback(intermediate_result)
                count[0] += 1
                if count[0] == n_iterations:
                    raise KeyboardInterrupt

            return real_minimize(*args, callback=interrupting, **kwargs)

        monkeypatch.setattr(solver_module, "minimize", minimize)

    return patch
