"""skbackprop: Andrew Ng's course network as scikit-learn estimators.

``BackpropClassifier`` (logistic outputs) and ``BackpropRegressor`` (identity
outputs, the squared-error cost) train sigmoid networks by backpropagation and
``scipy.optimize.minimize``; :mod:`skbackprop.backprop` holds the math as
small functions named after the course's steps.
"""

from ._classifier import BackpropClassifier
from ._regressor import BackpropRegressor

__version__ = "0.1.0"

__all__ = ["BackpropClassifier", "BackpropRegressor", "__version__"]
