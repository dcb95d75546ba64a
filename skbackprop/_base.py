"""What the estimators share: ``fit`` from the raw data to the stored weights.

``fit`` reads: validate, encode the targets, build the loss, call the solver,
store the result. The fitted attributes are set in one place, at the end; a
subclass says how its targets (and those of a validation set) are encoded,
how the early-stopping hold-out is stratified and scored, and what its output
layer is. The validation data are the user's ``X_val``/``y_val`` when given,
otherwise, with ``early_stopping``, a hold-out of the training rows.

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
from ._evidence import fit_with_evidence
from ._loss import NetworkLoss, is_dask_collection
from ._predict import forward_z, is_ready_for_prediction
from ._scale import (
    column_mean_squares,
    warn_if_inputs_saturate,
    warn_if_validation_scale_differs,
)
from ._solver import (
    Monitor,
    SolverSettings,
    auto_tol,
    minimize_network,
    resolve_tol,
    warn_if_bfgs_is_large,
    warn_if_limit_reached,
)
from ._validation import (
    check_params,
    check_sample_weight,
    scale_alpha,
    scale_sample_weight,
    split_validation,
)
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
    if type(z) is not np.ndarray and is_array_api_array(z):
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


#: Data whose every column has a root mean square at most this count as
#: scaled (standardised, min-max or similar): warnings then give no advice
#: to scale them.
_SCALED_RMS = 3.0


def _looks_scaled(mean_squares):
    """Whether every column is on a unit-like scale, from its mean square.

    ``mean_squares`` is :func:`~skbackprop._scale.column_mean_squares`' (None
    for a Dask ``X``, whose scale is not looked at: not scaled).
    """
    return mean_squares is not None and bool(np.all(mean_squares <= _SCALED_RMS**2))


class BaseBackprop(CallbackSupportMixin, BaseEstimator):
    """The course's network trained by ``scipy.optimize.minimize``: the shared fit.

    Subclasses define ``_output_activation`` and the target hooks
    ``_encode_targets``, ``_encode_validation_targets``, ``_stratify``,
    ``_validation_score``, ``_target_attributes`` and ``_finish_thetas``.
    """

    def _check_validation_targets(self, Y, Y_val):
        """Compare the encoded validation targets with the training ones.

        Class labels need nothing beyond their encoding; the regressor's
        targets must be on ``y``'s scale.
        """

    def _fit(self, X, y, sample_weight, X_val=None, y_val=None, sample_weight_val=None):
        hidden, solver = check_params(self)
        warm = self.warm_start and hasattr(self, "thetas_")
        dask = _dask_support(X)  # the data stay on the cluster's workers
        if dask is not None:
            X, y, user_sample_weight = dask.validate_data(
                self, X, y, sample_weight, reset=not warm
            )
            y_given = None  # the fitted arrays stay numpy, on the client
        else:
            X, y = validate_data(
                self,
                X,
                y,
                multi_output=True,
                accept_sparse=("csr", "csc"),
                dtype=float_dtypes(X),
                reset=not warm,
            )
            # X stays where it is; the labels and weights are checked and
            # encoded on the host (the loss moves Y and the weights to X's
            # device once).
            y_given, y, sample_weight = y, to_numpy(y), to_numpy(sample_weight)
            user_sample_weight = check_sample_weight(sample_weight, X.shape[0])
        # Weights scaled by powers of two, alpha alike: the same J, computable
        # for weights near the ends of the float range.
        sample_weight, user_exponent = scale_sample_weight(user_sample_weight)
        encoding, Y, sample_weight = self._encode_targets(y, sample_weight, warm)
        sample_weight, class_exponent = scale_sample_weight(sample_weight)
        exponent = user_exponent + class_exponent
        evidence = isinstance(self.alpha, str)  # check_params passes only "evidence"
        alpha = scale_alpha(self._first_alpha(evidence, warm), exponent)
        layer_sizes = (X.shape[1], *hidden, Y.shape[1])
        scale = None if dask is not None else self._told_scale(X, layer_sizes, warm)
        validation = self._validation_data(
            X_val, y_val, sample_weight_val, X, Y, encoding, scale
        )
        rng = check_random_state(self.random_state)
        x0 = self._initial_params(layer_sizes, warm, rng)
        warn_if_bfgs_is_large(solver, x0.shape[0])
        if self.early_stopping and validation is None:
            (X, Y, y, sample_weight), validation, user_sample_weight = self._hold_out(
                dask, (X, Y, y, sample_weight), user_sample_weight, encoding, rng
            )
        settings = self._solver_settings(solver, X.shape[0], x0.shape[0], scale)
        callbacks = FitCallbacks(
            self,
            X,
            y,
            user_sample_weight,
            self._target_attributes(encoding),
            layer_sizes,
            x0,
            # The number of iterations is known only when nothing but
            # max_iter (and the optimizer's own gradient rule) can stop it.
            max_iter=None if settings.tol > 0 or self.early_stopping else self.max_iter,
        )

        def solve(alpha, x0):
            loss = self._loss(layer_sizes, alpha)
            monitor = Monitor(
                settings,
                verbose=self.verbose,
                validate=self._validator(loss, layer_sizes, validation, encoding),
                early_stopping=self.early_stopping,
                n_iter_no_change=self.n_iter_no_change,
                callbacks=callbacks.iterations,
            )
            return minimize_network(loss, X, Y, sample_weight, x0, settings, monitor)

        if evidence:
            found = self._fit_evidence(
                solve, X, Y, sample_weight, x0, layer_sizes, alpha, exponent, rng
            )
            fit = found[0]
        else:
            fit, found = solve(alpha, x0), None
        self._store(layer_sizes, fit, encoding, X, y_given)
        self._store_evidence(found, exponent, X)
        callbacks.end()
        warn_if_limit_reached(settings, fit)
        return self

    def _hold_out(self, dask, train, user_sample_weight, encoding, rng):
        """Early stopping's hold-out of ``train = (X, Y, y, sample_weight)``.

        Returns the training rows, the validation set and the user's weights
        of the training rows (for the callbacks).
        """
        split = split_validation if dask is None else dask.split_validation
        y = train[2]
        return split(
            *train,
            self.validation_fraction,
            self._stratify(y, encoding),
            rng,
            user_sample_weight,
        )

    def _loss(self, layer_sizes, alpha):
        """The cost of this network at the solver's ``alpha``."""
        return NetworkLoss(
            layer_sizes,
            self.activation,
            self._output_activation,
            alpha,
            self.batch_size,
        )

    def _first_alpha(self, evidence, warm):
        """The first fit's lambda: the numeric ``alpha``, or evidence's start.

        The evidence starts at 1.0 (the default), or, warm-started, at the
        previous evidence fit's ``alpha_``.
        """
        if not evidence:
            return self.alpha
        return getattr(self, "alpha_", 1.0) if warm else 1.0

    def _fit_evidence(
        self, solve, X, Y, sample_weight, x0, layer_sizes, alpha, exponent, rng
    ):
        """:func:`~skbackprop._evidence.fit_with_evidence` on this fit's data."""
        m = float(X.shape[0] if sample_weight is None else np.sum(sample_weight))
        scale = float(np.ldexp(1.0, exponent))
        exact = self._loss(layer_sizes, 0.0)
        return fit_with_evidence(
            solve,
            lambda x: exact.hessian_product(x, X, Y, sample_weight),
            x0,
            layer_sizes,
            alpha,
            m=m,
            n_rows=X.shape[0],
            n_targets=m * scale * Y.shape[1],
            scale=scale,
            regression=self._output_activation == "identity",
            verbose=self.verbose,
            rng=np.random.default_rng(rng.randint(2**31)),
        )

    def _store_evidence(self, found, exponent, X):
        """``alpha_``, ``effective_parameters_``, ``evidence_alphas_``, or none.

        A numeric ``alpha`` leaves none of them (a previous evidence fit's are
        removed). ``evidence_alphas_`` goes where ``thetas_`` go, to ``X``'s
        namespace and device.
        """
        names = ("alpha_", "effective_parameters_", "evidence_alphas_")
        if found is None:
            for name in names:
                self.__dict__.pop(name, None)
            return
        _, alpha, gamma, trace = found
        self.alpha_ = float(np.ldexp(alpha, exponent))
        self.effective_parameters_ = gamma
        self.evidence_alphas_ = follow(np.asarray(trace.alphas), X)

    def _solver_settings(self, solver, n_samples, n_params, mean_squares):
        """The optimizer's method and limits, ``tol="auto"`` resolved for this fit.

        ``mean_squares``: the training columns' (None for Dask), which say
        whether warnings should advise scaling.
        """
        tol = resolve_tol(
            self.tol, n_samples, n_params, early_stopping=self.early_stopping
        )
        if isinstance(self.tol, str):  # a tiny problem fit tight is settled at
            settled_tol = tol or auto_tol(n_samples * n_params)
        else:
            settled_tol = tol
        if self.early_stopping:
            settled_tol = 0.0  # its tol is a score gain, not a fall of J
        return SolverSettings(
            solver,
            self.max_iter,
            tol,
            self.max_fun,
            settled_tol=settled_tol,
            scaled=_looks_scaled(mean_squares),
        )

    def _told_scale(self, X, layer_sizes, warm):
        """``X``'s column mean squares, after a warning if they saturate the network.

        Not said on a warm start (its weights are no longer the small random
        ones), nor for a linear model (the regressor without hidden layer).
        """
        mean_squares = column_mean_squares(X)
        linear = len(layer_sizes) == 2 and self._output_activation == "identity"
        if not (warm or linear):
            warn_if_inputs_saturate(
                mean_squares, layer_sizes, self.epsilon_init, type(self).__name__
            )
        return mean_squares

    def _validation_data(
        self, X_val, y_val, sample_weight_val, X, Y, encoding, scale=None
    ):
        """The user's validation set, checked and encoded as the training data.

        ``X_val`` is put where ``X`` is (its namespace, device and dtype), the
        labels and weights on the host, as the training data's. With
        ``scale``, ``X``'s column mean squares, a warning says when
        ``X_val``'s columns are on another scale; the targets are compared
        with ``Y`` by the subclass's ``_check_validation_targets``.

        Returns ``(X_val, Y_val, y_val, sample_weight_val)``, or None when
        none is given.
        """
        if X_val is None and y_val is None:
            if sample_weight_val is not None:
                raise ValueError(
                    "sample_weight_val is provided, but X_val and y_val were "
                    "not provided."
                )
            return None
        if y_val is None:
            raise ValueError("X_val is provided, but y_val was not provided.")
        if X_val is None:
            raise ValueError("y_val is provided, but X_val was not provided.")
        dask = _dask_support(X_val)  # X_val stays on the workers, y_val comes here
        try:
            if dask is not None:
                X_val, y_val, sample_weight_val = dask.validation_data(
                    self, X_val, y_val, sample_weight_val, X.dtype
                )
            else:
                X_val = validate_data(
                    self,
                    follow(X_val, X),
                    accept_sparse=("csr", "csc"),
                    dtype=X.dtype,
                    reset=False,
                )
        except (TypeError, ValueError) as exc:
            raise ValueError(f"X_val is not valid input: {exc}") from exc
        y_val, sample_weight_val = to_numpy(y_val), to_numpy(sample_weight_val)
        y_val, Y_val = self._encode_validation_targets(y_val, encoding)
        if Y_val.shape[0] != X_val.shape[0]:
            raise ValueError(
                "X_val and y_val have different numbers of samples: "
                f"{X_val.shape[0]} and {Y_val.shape[0]}."
            )
        if not is_dask_collection(Y):
            self._check_validation_targets(Y, Y_val)
        if scale is not None and dask is None:
            warn_if_validation_scale_differs(scale, X_val)
        sample_weight_val = check_sample_weight(
            sample_weight_val, X_val.shape[0], name="sample_weight_val"
        )
        return X_val, Y_val, y_val, sample_weight_val

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

    def _validator(self, loss, layer_sizes, validation, encoding):
        """``nn_params -> (score, loss)`` on the validation data, or None.

        One forward pass gives both the subclass's score and ``J`` without
        the penalty (:meth:`NetworkLoss.data_loss`).
        """
        if validation is None:
            return None
        X_val, Y_val, y_val, sample_weight_val = validation

        def validate(nn_params):
            with np.errstate(over="ignore"):  # a saturated unit is harmless
                z = loss.forward(roll(nn_params, layer_sizes), X_val)
            # Scored on the host, beside y_val: one copy of validation rows x
            # outputs per iteration when X_val is on a device.
            z = to_numpy(z)
            score = self._validation_score(z, y_val, sample_weight_val, encoding)
            return score, loss.data_loss(z, Y_val, sample_weight_val)

        return validate

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
        self.stop_reason_ = fit.stop_reason
        self.n_fun_evals_ = fit.n_fun_evals
        self.n_hessp_evals_ = fit.n_hessp_evals
        self.loss_ = fit.loss
        self.loss_curve_ = fit.loss_curve
        self.validation_scores_ = fit.validation_scores
        self.validation_loss_curve_ = fit.validation_loss_curve
        self.best_validation_score_ = fit.best_validation_score

    def _forward_z(self, thetas, X):
        """``z(L)`` of the network ``thetas`` on validated ``X`` (in X's precision)."""
        if not (is_array_api_array(X) or is_dask_collection(X)):
            return forward_z(thetas, X, self.activation)
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
        if not hasattr(self, "thetas_"):
            check_is_fitted(self)  # raises NotFittedError
        if is_ready_for_prediction(self, X):
            # X is what validate_data would return: the forward pass at once.
            with np.errstate(over="ignore", invalid="ignore"):  # checked below
                z = forward_z(self.thetas_, X, self.activation)
        else:
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

    def __sklearn_is_fitted__(self):
        """Fitted once a fit has stored its weights.

        ``n_features_in_`` alone does not say so: scikit-learn's validation
        sets it at the start of ``fit``, and a callback sees the estimator
        during its first fit.
        """
        return hasattr(self, "thetas_")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.array_api_support = HAS_ARRAY_API
        return tags
