"""What the estimators share: ``fit`` from the raw data to the stored weights.

``fit`` reads: validate, encode the targets, build the loss, call the solver,
store the result. The fitted attributes are set in one place, at the end; a
subclass says how its targets are encoded, how the early-stopping hold-out is
stratified and scored, and what its output layer is.
"""

import functools

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from ._callbacks import FitCallbacks
from ._compat import CallbackSupportMixin
from ._loss import NetworkLoss, is_dask_collection
from ._solver import (
    Monitor,
    SolverSettings,
    minimize_network,
    warn_if_bfgs_is_large,
    warn_if_limit_reached,
)
from ._validation import check_params, check_sample_weight, split_validation
from .backprop import init_thetas, roll, unroll


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


def _dask_support(data):
    """:mod:`skbackprop._dask_data` when ``data`` is a Dask collection, else None.

    The module is imported only then (and says what to install without dask).
    """
    if not is_dask_collection(data):
        return None
    from . import _dask_data

    return _dask_data


def _lazy_on_dask(predict):
    """Decorate a prediction method: a dask ``X`` gives a lazy dask array.

    The method runs on each block of rows where it lies
    (:func:`skbackprop._dask_data.map_row_blocks`), so predicting a large set
    never gathers it.
    """

    @functools.wraps(predict)
    def wrapper(self, X):
        dask = _dask_support(X)
        if dask is None:
            return predict(self, X)
        return dask.map_row_blocks(self, predict.__name__, X)

    return wrapper


def _check_forward_not_nan(z):
    """Refuse a forward pass that overflowed into NaN (``inf - inf``).

    Overflow to ``+-inf`` alone is harmless (a saturated unit, probability 0
    or 1); NaN would be a silent wrong prediction.
    """
    if np.isnan(z).any():
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
        dask = _dask_support(X)  # the data stay on the cluster's workers
        if dask is not None:
            X, y, user_sample_weight = dask.validate_data(
                self, X, y, sample_weight, reset=not warm
            )
        else:
            X, y = validate_data(
                self,
                X,
                y,
                multi_output=True,
                accept_sparse=("csr", "csc"),
                dtype=(np.float64, np.float32),
                reset=not warm,
            )
            user_sample_weight = check_sample_weight(sample_weight, X.shape[0])
        encoding, Y, sample_weight = self._encode_targets(y, user_sample_weight, warm)
        layer_sizes = (X.shape[1], *hidden, Y.shape[1])
        rng = check_random_state(self.random_state)
        x0 = self._initial_params(layer_sizes, warm, rng)
        warn_if_bfgs_is_large(solver, x0.shape[0])
        validation = None
        if self.early_stopping:
            split = split_validation if dask is None else dask.split_validation
            (X, Y, y, sample_weight), validation = split(
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
        self._store(layer_sizes, fit, encoding)
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
        return unroll(self.thetas_)

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

    def _store(self, layer_sizes, fit, encoding):
        """Set every fitted attribute, from the solver's result."""
        thetas = [t.copy() for t in roll(fit.x, layer_sizes)]
        self._finish_thetas(thetas)
        for name, value in self._target_attributes(encoding).items():
            setattr(self, name, value)
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

    def _output_z(self, X):
        """Forward-propagate ``X``; return ``z(L)``, the output units' inputs."""
        check_is_fitted(self)
        X = validate_data(
            self,
            X,
            accept_sparse=("csr", "csc"),
            dtype=(np.float64, np.float32),
            reset=False,
        )
        with np.errstate(over="ignore", invalid="ignore"):  # checked below
            z = self._forward_z(self.thetas_, X)
        _check_forward_not_nan(z)
        return z

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags
