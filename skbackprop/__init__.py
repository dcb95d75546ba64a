"""skbackprop: Andrew Ng's course network as a scikit-learn classifier.

``BackpropClassifier`` trains sigmoid networks by backpropagation and
``scipy.optimize.minimize``; :mod:`skbackprop.backprop` holds the math as
small functions named after the course's steps.
"""

from ._classifier import BackpropClassifier

__version__ = "0.1.0"

__all__ = ["BackpropClassifier", "__version__"]
