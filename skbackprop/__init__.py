"""skbackprop: Andrew Ng's course network as scikit-learn estimators.

``BackpropClassifier`` (logistic outputs) and ``BackpropRegressor`` (identity
outputs, the squared-error cost) train sigmoid networks by backpropagation and
``scipy.optimize.minimize``; :mod:`skbackprop.backprop` holds the math as
small functions named after the course's steps. With scikit-learn's
``array_api_dispatch`` both fit and predict on PyTorch, CuPy and
array-api-strict arrays, on their device; :func:`move_to_numpy` copies such a
fitted model back to numpy.
"""

from ._classifier import BackpropClassifier
from ._dispatch import move_to_numpy
from ._path import BackpropClassifierCV, BackpropRegressorCV
from ._regressor import BackpropRegressor

__version__ = "0.1.0"

__all__ = [
    "BackpropClassifier",
    "BackpropClassifierCV",
    "BackpropRegressor",
    "BackpropRegressorCV",
    "move_to_numpy",
    "__version__",
]
