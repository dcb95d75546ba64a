"""What the estimators share: ``fit`` from the raw data to the stored weights.

``fit`` reads: validate, encode the targets, build the loss, call the solver,
store the result. The fitted attributes are set in one place, at the end; a
subclass says how its targets (and those of a validation set) are encoded,
how the early-stopping hold-out is stratified and scored, and what its output
layer is. The validation data are the user's ``X_val``/``y_val`` when given,
otherwise, with ``early_stopping``, a hold-out of the training rows.

Where the data live (numpy or sparse, an Array API device, a Dask cluster)
is decided once, by :func:`~skbackprop._placement.input_placement`, at the
start of ``fit`` and of each prediction; every step that differs between
backends is a method of that placement, so nothing here tests an array's
type. The training rows travel as one :class:`~skbackprop._placement.FitData`.
"""

import functools

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from ._callbacks import FitCallbacks
from ._compat import HAS_ARRAY_API, CallbackSupportMixin
from ._evidence import fit_with_evidence, single_precision_products
from ._loss import NetworkLoss
from ._placement import FitData, input_placement
from ._scale import warn_if_inputs_saturate, warn_if_validation_scale_differs
from ._solver import (
    Monitor,
    SolverSettings,
    auto_score_tol_doc,
    auto_tol,
    auto_tol_doc,
    minimize_network,
    resolve_tol,
    tiny_fit_doc,
    warn_if_bfgs_is_large,
    warn_if_limit_reached,
)
from ._validation import (
    check_params,
    check_sample_weight,
    scale_alpha,
    scale_sample_weight,
)
from .backprop import init_thetas, roll, unroll
from .backprop._array_api import to_numpy


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


def _stating_tol(cls):
    """Decorate an estimator: its ``tol`` docs state ``tol="auto"``'s numbers
    from :mod:`skbackprop._solver`'s constants, the one place they are set."""
    doc = cls.__doc__
    for marker, text in (
        ("{auto_tol}", auto_tol_doc()),
        ("{tiny_fit}", tiny_fit_doc()),
        ("{auto_score_tol}", auto_score_tol_doc()),
    ):
        doc = doc.replace(marker, text)
    cls.__doc__ = doc
    return cls


def _placed(predict):
    """Decorate a prediction method: ``X``'s placement runs it.

    On the host and a device at once; a dask ``X`` gives a lazy dask array,
    the method run on each block of rows where it lies
    (:func:`skbackprop._dask_data.map_row_blocks`), so predicting a large set
    never gathers it.
    """

    @functools.wraps(predict)
    def wrapper(self, X):
        return input_placement(X).predict(self, predict, X)

    return wrapper


def _check_forward_not_nan(z, placement):
    """Refuse a forward pass that overflowed into NaN (``inf - inf``).

    Overflow to ``+-inf`` alone is harmless (a saturated unit, probability 0
    or 1); NaN would be a silent wrong prediction.
    """
    if placement.has_nan(z):
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

    # The evidence's first lambda: alpha's default. The regressor keeps it
    # (it scored higher from 1.0 than from 0.1 on every regression set of
    # the suite measured); the classifier starts at 0.1.
    _EVIDENCE_START = 1.0

    def _check_validation_targets(self, Y, Y_val):
        """Compare the encoded validation targets with the training ones.

        Class labels need nothing beyond their encoding; the regressor's
        targets must be on ``y``'s scale.
        """

    def _fit(self, X, y, sample_weight, X_val=None, y_val=None, sample_weight_val=None):
        hidden, solver = check_params(self)
        warm = self.warm_start and hasattr(self, "thetas_")
        placement = input_placement(X)  # decided once: every step below asks it
        X, y_given, y, user_sample_weight = placement.validate(
            self, X, y, sample_weight, reset=not warm
        )
        # Weights scaled by powers of two, alpha alike: the same J, computable
        # for weights near the ends of the float range.
        sample_weight, user_exponent = scale_sample_weight(user_sample_weight)
        encoding, Y, sample_weight = self._encode_targets(
            placement, y, sample_weight, warm
        )
        sample_weight, class_exponent = scale_sample_weight(sample_weight)
        exponent = user_exponent + class_exponent
        evidence = isinstance(self.alpha, str)  # check_params passes only "evidence"
        alpha = scale_alpha(self._first_alpha(evidence, warm), exponent)
        data = FitData(X, Y, y, sample_weight, user_sample_weight)
        layer_sizes = (X.shape[1], *hidden, Y.shape[1])
        scale = self._told_scale(placement, X, layer_sizes, warm)
        validation = self._validation_data(
            placement, (X_val, y_val, sample_weight_val), data, encoding, scale
        )
        rng = check_random_state(self.random_state)
        x0 = self._initial_params(layer_sizes, warm, rng)
        warn_if_bfgs_is_large(solver, x0.shape[0])
        if self.early_stopping and validation is None:
            data, held_out = self._hold_out(placement, data, encoding, rng)
            validation = held_out, placement
        settings = self._solver_settings(solver, data.X.shape[0], x0.shape[0], scale)
        callbacks = FitCallbacks(
            self,
            data.X,
            data.y,
            data.user_sample_weight,
            self._target_attributes(encoding),
            layer_sizes,
            x0,
            # The number of iterations is known only when nothing but
            # max_iter (and the optimizer's own gradient rule) can stop it.
            max_iter=None if settings.tol > 0 or self.early_stopping else self.max_iter,
        )

        def solve(alpha, x0):
            loss = self._loss(layer_sizes, alpha, placement)
            monitor = Monitor(
                settings,
                verbose=self.verbose,
                validate=self._validator(loss, layer_sizes, validation, encoding),
                early_stopping=self.early_stopping,
                n_iter_no_change=self.n_iter_no_change,
                callbacks=callbacks.iterations,
            )
            return minimize_network(
                loss, data.X, data.Y, data.sample_weight, x0, settings, monitor
            )

        if evidence:
            found = self._fit_evidence(
                solve, placement, data, x0, layer_sizes, alpha, exponent, rng
            )
            fit = found[0]
        else:
            fit, found = solve(alpha, x0), None
        self._store(placement, layer_sizes, fit, encoding, X, y_given)
        self._store_evidence(placement, found, exponent, X)
        callbacks.end()
        warn_if_limit_reached(settings, fit)
        return self

    def _hold_out(self, placement, data, encoding, rng):
        """Early stopping's hold-out of ``data``: ``(train, validation)``.

        ``train`` is the :class:`~skbackprop._placement.FitData` of the
        training rows (the user's weights cut with the rest, for the
        callbacks), ``validation`` ``(X_val, Y_val, y_val, sample_weight_val)``.
        """
        return placement.split(
            data, self.validation_fraction, self._stratify(data.y, encoding), rng
        )

    def _loss(self, layer_sizes, alpha, placement=None):
        """The cost of this network at the solver's ``alpha``."""
        return NetworkLoss(
            layer_sizes,
            self.activation,
            self._output_activation,
            alpha,
            self.batch_size,
            placement,
        )

    def _first_alpha(self, evidence, warm):
        """The first fit's lambda: the numeric ``alpha``, or evidence's start.

        The evidence starts at ``_EVIDENCE_START`` (the classifier's and the
        regressor's own), or, warm-started, at the previous evidence fit's
        ``alpha_``.
        """
        if not evidence:
            return self.alpha
        start = self._EVIDENCE_START
        return getattr(self, "alpha_", start) if warm else start

    def _fit_evidence(
        self, solve, placement, data, x0, layer_sizes, alpha, exponent, rng
    ):
        """:func:`~skbackprop._evidence.fit_with_evidence` on this fit's data."""
        X, Y, _, sample_weight, _ = data
        m = float(X.shape[0] if sample_weight is None else np.sum(sample_weight))
        scale = float(np.ldexp(1.0, exponent))
        exact = self._loss(layer_sizes, 0.0, placement)
        single = single_precision_products(X.shape[0], x0.shape[0])

        def hvp_at(x):
            # Cast per estimate, so that the copy (half the products' cost)
            # is not held through the fits in between.
            X_products = placement.single_precision(X) if single else X
            return exact.hessian_product(x, X_products, Y, sample_weight)

        return fit_with_evidence(
            solve,
            hvp_at,
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

    def _store_evidence(self, placement, found, exponent, X):
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
        self.evidence_alphas_ = placement.store(np.asarray(trace.alphas), X)

    def _solver_settings(self, solver, n_samples, n_params, mean_squares):
        """The optimizer's method and limits, ``tol="auto"`` resolved for this fit.

        ``mean_squares``: the training columns' (None when not looked at), which say
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

    def _told_scale(self, placement, X, layer_sizes, warm):
        """``X``'s column mean squares, after a warning if they saturate the network.

        Not said on a warm start (its weights are no longer the small random
        ones), nor for a linear model (the regressor without hidden layer);
        None where the placement does not look at the data's scale (Dask).
        """
        mean_squares = placement.column_mean_squares(X)
        if mean_squares is None:
            return None
        linear = len(layer_sizes) == 2 and self._output_activation == "identity"
        if not (warm or linear):
            warn_if_inputs_saturate(
                mean_squares, layer_sizes, self.epsilon_init, type(self).__name__
            )
        return mean_squares

    def _validation_data(self, placement, given, data, encoding, scale=None):
        """The user's validation set, checked and encoded as the training data.

        ``given`` is ``(X_val, y_val, sample_weight_val)`` as passed.
        ``X_val`` is put where ``X`` is (its namespace, device and dtype;
        a dask ``X_val`` stays on the workers), the labels and weights on the
        host. With ``scale``, ``X``'s column mean squares, a warning says
        when ``X_val``'s columns are on another scale; the targets are
        compared with ``Y`` by the subclass's ``_check_validation_targets``.

        Returns ``(X_val, Y_val, y_val, sample_weight_val)`` and the
        validation data's placement, or None when none is given.
        """
        X_val, y_val, sample_weight_val = given
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
        val_placement = placement.validation_placement(X_val)
        try:
            X_val, y_val, sample_weight_val = val_placement.validate_validation(
                self, X_val, y_val, sample_weight_val, data.X
            )
        except (TypeError, ValueError) as exc:
            raise ValueError(f"X_val is not valid input: {exc}") from exc
        y_val, Y_val = self._encode_validation_targets(y_val, encoding)
        if Y_val.shape[0] != X_val.shape[0]:
            raise ValueError(
                "X_val and y_val have different numbers of samples: "
                f"{X_val.shape[0]} and {Y_val.shape[0]}."
            )
        if placement.targets_on_host:
            self._check_validation_targets(data.Y, Y_val)
        scale_val = None if scale is None else val_placement.column_mean_squares(X_val)
        if scale_val is not None:
            warn_if_validation_scale_differs(scale, scale_val)
        sample_weight_val = check_sample_weight(
            sample_weight_val, X_val.shape[0], name="sample_weight_val"
        )
        return (X_val, Y_val, y_val, sample_weight_val), val_placement

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

        ``validation`` is the validation set and its placement. One forward
        pass gives both the subclass's score and ``J`` without the penalty
        (:meth:`NetworkLoss.data_loss`).
        """
        if validation is None:
            return None
        (X_val, Y_val, y_val, sample_weight_val), val_placement = validation

        def validate(nn_params):
            thetas = roll(nn_params, layer_sizes)
            with np.errstate(over="ignore"):  # a saturated unit is harmless
                z = val_placement.forward(thetas, X_val, loss.activation)
            # Scored on the host, beside y_val: one copy of validation rows x
            # outputs per iteration when X_val is on a device.
            z = to_numpy(z)
            score = self._validation_score(z, y_val, sample_weight_val, encoding)
            return score, loss.data_loss(z, Y_val, sample_weight_val)

        return validate

    def _store(self, placement, layer_sizes, fit, encoding, X, y):
        """Set every fitted attribute, from the solver's result.

        ``thetas_`` go to ``X``'s namespace and device, the target attributes
        (``classes_``) to ``y``'s.
        """
        thetas = [t.copy() for t in roll(fit.x, layer_sizes)]
        self._finish_thetas(thetas)
        thetas = [placement.store(theta, X) for theta in thetas]
        for name, value in self._target_attributes(encoding).items():
            setattr(self, name, placement.store_labels(value, y))
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

    @property
    def _output_weights(self):
        """``Theta(L-1)``, the fitted array whose namespace ``X`` must share."""
        return self.thetas_[-1]

    def _output_z(self, X, method="predict"):
        """Forward-propagate ``X``; return ``z(L)``, the output units' inputs."""
        return self._placed_z(X, method)[0]

    def _placed_z(self, X, method="predict"):
        """Forward-propagate ``X``: ``(z, placement)``, the output units' inputs
        and where they are (which computes the output layer's arithmetic).

        ``method`` names the public method, for the error when ``X`` is not
        in the namespace (and on the device) of the fitted weights.
        """
        if not hasattr(self, "thetas_"):
            check_is_fitted(self)  # raises NotFittedError
        placement = input_placement(X)
        X = placement.validate_prediction(self, X, method)
        with np.errstate(over="ignore", invalid="ignore"):  # checked below
            z = placement.prediction_z(self.thetas_, X, self.activation)
        _check_forward_not_nan(z, placement)
        return z, placement

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
