"""What the estimators share: ``fit`` from the raw data to the stored weights.

``fit`` reads: validate, encode the targets, build the loss, call the solver,
store the result. The fitted attributes are set in one place, at the end; a
subclass says how its targets are encoded, how the early-stopping hold-out is
stratified and scored, and what its output layer is.

With ``array_api_dispatch`` everything follows ``X``: see
:mod:`skbackprop._dispatch`.
"""

import functools

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from ._callbacks import FitCallbacks
from ._compat import HAS_ARRAY_API, CallbackSupportMixin
from ._dispatch import check_prediction_input, float_dtypes, follow, follow_labels
from ._loss import NetworkLoss
from ._solver import (
    Monitor,
    SolverSettings,
    minimize_network,
    warn_if_bfgs_is_large,
    warn_if_limit_reached,
)
from ._validation import check_params, check_sample_weight, split_validation
from .backprop import init_thetas, roll, unroll
from .backprop._array_api import is_array_api_array, namespace_and_device, to_numpy


def _unchanged_on_error(fit):
    """Decorate ``fit`` so that an exception leaves the estimator as it was.

    ``validate_data`` sets ``n_features_in_`` (and ``feature_names_in_``)
    before the rest of the data is checked; on any exception, including
    :class:`KeyboardInterrupt` outside the optimizer, the instance's
    ``__dict__`` is put back as it was before the call.
    """

    @functools.wraps(fit)
    def wrapper(self, *args, **kwargs):
        saved = dict(self.__dict__)
        try:
            return fit(self, *args, **kwargs)
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(saved)
            raise

    return wrapper


def _check_forward_not_nan(z):
    """Refuse a forward pass that overflowed into NaN (``inf - inf``).

    Overflow to ``+-inf`` alone is harmless (a saturated unit, probability 0
    or 1); NaN would be a silent wrong prediction.
    """
    if is_array_api_array(z):
        xp = namespace_and_device(z)[0]
        has_nan = bool(xp.any(xp.isnan(z)))
    else:
        has_nan = np.isnan(z).any()
    if has_nan:
        raise ValueError(
            "Forward propagation overflowed to NaN: X has values too large for "
            "float64 arithmetic with these weights. Scale the data the way the "
            "training data were scaled (e.g. with StandardScaler)."
        )


class BaseBackprop(CallbackSupportMixin, BaseEstimator):
    """The course's network trained by ``scipy.optimize.minimize``: the shared fit.

    Subclasses define ``_output_activation`` and the target hooks
    ``_encode_targets``, ``_stratify``, ``_validation_score``,
    ``_target_attributes`` and ``_finish_thetas``.
    """

    def _fit(self, X, y, sample_weight):
        hidden, solver = check_params(self)
        warm = self.warm_start and hasattr(self, "thetas_")
        X, y = validate_data(
            self,
            X,
            y,
            multi_output=True,
            accept_sparse=("csr", "csc"),
            dtype=float_dtypes(X),
            reset=not warm,
        )
        # X stays where it is; the labels and weights are checked and encoded
        # on the host (the loss moves Y and the weights to X's device once).
        y_given, y, sample_weight = y, to_numpy(y), to_numpy(sample_weight)
        user_sample_weight = check_sample_weight(sample_weight, X.shape[0])
        encoding, Y, sample_weight = self._encode_targets(y, user_sample_weight, warm)
        layer_sizes = (X.shape[1], *hidden, Y.shape[1])
        rng = check_random_state(self.random_state)
        x0 = self._initial_params(layer_sizes, warm, rng)
        warn_if_bfgs_is_large(solver, x0.shape[0])
        validation = None
        if self.early_stopping:
            (X, Y, y, sample_weight), validation = split_validation(
                X,
                Y,
                y,
                sample_weight,
                self.validation_fraction,
                self._stratify(y, encoding),
                rng,
            )
        callbacks = FitCallbacks(
            self,
            X,
            y,
            user_sample_weight,
            self._target_attributes(encoding),
            layer_sizes,
            x0,
        )
        settings = SolverSettings(solver, self.max_iter, self.tol, self.max_fun)
        monitor = Monitor(
            settings,
            verbose=self.verbose,
            score=self._scorer(layer_sizes, validation, encoding),
            n_iter_no_change=self.n_iter_no_change,
            callbacks=callbacks.iterations,
        )
        loss = NetworkLoss(
            layer_sizes,
            self.activation,
            self._output_activation,
            self.alpha,
            self.batch_size,
        )
        fit = minimize_network(loss, X, Y, sample_weight, x0, settings, monitor)
        self._store(layer_sizes, fit, encoding, X, y_given)
        callbacks.end()
        warn_if_limit_reached(settings, fit.stopped)
        return self

    def _initial_params(self, layer_sizes, warm, rng):
        """The previous fit's weights (warm start) or new random ones, unrolled."""
        if not warm:
            return unroll(init_thetas(layer_sizes, self.epsilon_init, rng))
        if tuple(self.layer_sizes_) != layer_sizes:
            raise ValueError(
                "warm_start needs the same layer sizes as the previous fit: "
                f"previously {self.layer_sizes_}, now {layer_sizes}."
            )
        return unroll([to_numpy(theta) for theta in self.thetas_])

    def _scorer(self, layer_sizes, validation, encoding):
        """``nn_params -> score`` on the hold-out, or None without early stopping."""
        if validation is None:
            return None
        return functools.partial(
            self._validation_score,
            layer_sizes=layer_sizes,
            validation=validation,
            encoding=encoding,
        )

    def _store(self, layer_sizes, fit, encoding, X, y):
        """Set every fitted attribute, from the solver's result.

        ``thetas_`` go to ``X``'s namespace and device, the target attributes
        (``classes_``) to ``y``'s.
        """
        thetas = [t.copy() for t in roll(fit.x, layer_sizes)]
        self._finish_thetas(thetas)
        thetas = [follow(theta, X) for theta in thetas]
        for name, value in self._target_attributes(encoding).items():
            setattr(self, name, follow_labels(value, y))
        self.layer_sizes_ = layer_sizes
        self.thetas_ = thetas
        self.n_iter_ = fit.n_iter
        self.n_fun_evals_ = fit.n_fun_evals
        self.n_hessp_evals_ = fit.n_hessp_evals
        self.loss_ = fit.loss
        self.loss_curve_ = fit.loss_curve
        self.validation_scores_ = fit.validation_scores
        self.best_validation_score_ = fit.best_validation_score

    def _forward_z(self, thetas, X):
        """``z(L)`` of the network ``thetas`` on validated ``X`` (in X's precision)."""
        layer_sizes = (X.shape[1], *(t.shape[0] for t in thetas))
        loss = NetworkLoss(layer_sizes, self.activation, self._output_activation)
        return loss.forward(thetas, X)

    @property
    def _output_weights(self):
        """``Theta(L-1)``, the fitted array whose namespace ``X`` must share."""
        return self.thetas_[-1]

    def _output_z(self, X, method="predict"):
        """Forward-propagate ``X``; return ``z(L)``, the output units' inputs.

        ``method`` names the public method, for the error when ``X`` is not
        in the namespace (and on the device) of the fitted weights.
        """
        check_is_fitted(self)
        check_prediction_input(self, X, method)
        X = validate_data(
            self,
            X,
            accept_sparse=("csr", "csc"),
            dtype=float_dtypes(X),
            reset=False,
        )
        with np.errstate(over="ignore", invalid="ignore"):  # checked below
            z = self._forward_z(self.thetas_, X)
        _check_forward_not_nan(z)
        return z

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.array_api_support = HAS_ARRAY_API
        return tags
