"""BackpropRegressor: the course's network with identity outputs, for regression.

The thin shell over the shared fit of :mod:`skbackprop._base`: the output
layer is linear (``h = z(L)``) and the cost the course's regularised squared
error; it keeps real-valued targets as they are (one column per output),
scores the early-stopping hold-out by R², and predicts ``z(L)``.
"""

import numpy as np
from sklearn.base import RegressorMixin
from sklearn.metrics import r2_score

from ._base import BaseBackprop, _placed, _stating_tol, _unchanged_on_error
from ._compat import with_callbacks
from ._scale import check_validation_target_scale
from ._validation import encode_validation_continuous_targets


def _score_hold_out(y_val, y_pred, sample_weight):
    """R² of ``y_pred`` on the early-stopping hold-out (weighted).

    R² needs two samples; on a hold-out of one, minus the squared error ranks
    the weights the same way (for a fixed hold-out R² is a decreasing affine
    function of the squared error).
    """
    if y_pred.shape[0] < 2:
        return -float(np.sum((np.reshape(y_val, y_pred.shape) - y_pred) ** 2))
    return float(r2_score(y_val, y_pred, sample_weight=sample_weight))


@_stating_tol
class BackpropRegressor(RegressorMixin, BaseBackprop):
    """Neural-network regressor trained as in Andrew Ng's Machine Learning course.

    The network of :class:`BackpropClassifier` (hidden layers of sigmoid units
    by default, one weight matrix ``Theta(l)`` of shape ``(s_{l+1}, s_l + 1)``
    per layer, bias in column 0) with an output layer of identity units, one
    per target: the prediction is ``h(x) = z(L)``. Training minimises the
    course's regularised squared error (the cost of its linear regression,
    exercise 5)

    ``J = (1/2m) sum_i ||h(x_i) - y_i||^2
    + (alpha / 2m) sum_l sum_{j>=1} Theta(l)_{:,j}^2``

    with gradients from backpropagation (the output delta is again
    ``d(L) = h - y``), by handing the unrolled parameter vector to
    :func:`scipy.optimize.minimize`. With sample weights ``w``, each example's
    error is weighted by ``w_i`` and ``m = sum(w)``.

    For one output this is :class:`~sklearn.neural_network.MLPRegressor`'s
    loss, so ``alpha`` means the same in both. For ``K`` outputs MLPRegressor
    reports its data term averaged over the outputs; see the user guide for
    how the two ``alpha`` relate there.

    ``X`` may be dense or a scipy sparse CSR/CSC matrix (never densified);
    float32 ``X`` is computed in float32 (the optimizer's parameter vector
    stays float64) and gives float32 predictions. A ``dask.array`` ``X``
    chunked by rows trains across the workers of a Dask cluster, where it
    stays, and predictions on one are lazy dask arrays (see :ref:`dask`).
    With ``sklearn.set_config(array_api_dispatch=True)``, an ``X`` of another
    Array API namespace (PyTorch, CuPy, array-api-strict) trains on its
    device, and predictions come back in ``X``'s namespace and on its device
    (see :ref:`gpu`). The targets are not
    scaled: scale them (e.g. with
    :class:`~sklearn.compose.TransformedTargetRegressor`) when they are far
    from unit size, as ``alpha`` and ``tol`` are felt relative to them.

    Parameters
    ----------
    hidden_layer_sizes : tuple of int, default=(25,)
        Units in each hidden layer, bias not counted. ``()`` gives no hidden
        layer: ridge regression (the course's regularised linear regression,
        the intercept not penalised).
    alpha : float or "evidence", default=1.0
        Regularisation strength, the course's lambda. Larger values shrink
        the weights (more bias, less variance). Must be >= 0.
        ``"evidence"`` chooses it from the training data by MacKay's
        evidence framework (and the noise level), re-estimated from the exact Hessian
        until it settles (see the user guide's "Choosing λ"); not with
        ``early_stopping``.
    max_iter : int, default=1000
        Maximum number of optimizer iterations. A
        :class:`~sklearn.exceptions.ConvergenceWarning` is raised when it is
        reached.
    tol : "auto" or float, default="auto"
        The stopping rule. A number ``tol > 0``: stop when, over the last
        ``n_iter_no_change`` iterations, ``J`` fell by at most ``tol`` times
        all it has fallen below ``J_c``, the cost of the constant prediction
        (the targets' weighted mean: the class priors, or the mean value),
        ``J[k - n_iter_no_change] - J[k] <= tol * (J_c - J[k])``, and the
        next ``n_iter_no_change`` iterations, run as a trial, did so too (a
        lull on the way down is crossed; the optimizer also stops on its
        own, as with ``tol=0``). Measured from ``J_c``, the rule depends
        neither on the level nor on the offset of ``J``, and a saddle near the
        constant prediction is no plateau. ``tol=0``: a tight fit,
        the optimizer runs until the largest gradient component is below
        1e-10 or ``J`` no longer decreases at all, then a few Newton-Krylov
        steps refine the minimum; fits that differ only by rounding (rows in
        another order, integer sample weights instead of repeated rows) then
        agree to about 1e-8, which a stop partway down the slope cannot
        promise. {auto_tol} (a large
        fit's held-out score settles long before its ``J``), except on tiny
        problems ({tiny_fit}), which are fit tight,
        since that costs a fraction of a second there. The values were
        chosen by measurement: see the user guide and the performance page.
        ``stop_reason_`` says which rule ended a fit.
        With ``early_stopping``, ``tol`` ({auto_score_tol}) is instead
        the least gain in validation score (R²) that counts as an
        improvement.
    solver : {"L-BFGS-B", "CG", "BFGS", "TNC", "Newton-CG", "trust-ncg", \
"trust-krylov"}, default="L-BFGS-B"
        The :func:`scipy.optimize.minimize` method (names are matched without
        regard to case), as for :class:`BackpropClassifier`. ``"Newton-CG"``,
        ``"trust-ncg"`` and ``"trust-krylov"`` are given exact
        Hessian-vector products of the squared error
        (:func:`~skbackprop.backprop.hessian_vector_product`). ``"BFGS"``
        stores a dense ``n_params x n_params`` matrix: a ``UserWarning`` says
        so above 1000 parameters.
    epsilon_init : float or None, default=None
        Initial weights are uniform in ``[-epsilon_init, epsilon_init]``.
        ``None`` uses ``sqrt(6) / sqrt(s_l + s_{l+1})`` per layer.
    random_state : int, RandomState instance or None, default=None
        Seeds the initial weights and the early-stopping hold-out. Pass an
        int for reproducible fits.
    verbose : int, default=0
        If > 0, print a table with one line per iteration: the iteration,
        ``J``, the norm of its gradient, the validation R² (with
        ``early_stopping``) and the time since the start of ``fit``.
    warm_start : bool, default=False
        If True, ``fit`` starts from the ``thetas_`` of the previous fit
        (same number of outputs and layer sizes) instead of new random
        weights.
    batch_size : int or None, default=None
        Rows per chunk when computing the cost and gradient: the same
        full-batch result (to rounding) in less working memory. ``None``
        takes all rows at once.
    activation : {"sigmoid", "tanh", "relu"}, default="sigmoid"
        The hidden units' activation ``g``.
    early_stopping : bool, default=False
        Hold out a random ``validation_fraction`` of the training data, score
        the network on it by R² (weighted by ``sample_weight``) after every
        optimizer iteration, for every solver, and stop when the score has not
        improved by more than ``tol`` for ``n_iter_no_change`` consecutive
        iterations, keeping the weights with the best score. (On a hold-out
        of a single sample, where R² is undefined, the score is minus its
        squared error.)
    validation_fraction : float, default=0.1
        Fraction of the training data held out when ``early_stopping``;
        strictly between 0 and 1.
    n_iter_no_change : int, default=10
        With ``early_stopping``, the number of consecutive iterations without
        improvement after which training stops.
    max_fun : int, default=15000
        Maximum number of cost (and gradient) evaluations, as in
        :class:`~sklearn.neural_network.MLPRegressor`, for every solver. A
        :class:`~sklearn.exceptions.ConvergenceWarning` is raised when it is
        reached.

    Attributes
    ----------
    n_outputs_ : int
        Number of outputs (columns of ``y``; 1 for a 1-D ``y``).
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of the features, when ``X`` has string column names.
    layer_sizes_ : tuple of int
        ``(s_1, ..., s_L)``: inputs, hidden layers, outputs.
    thetas_ : list of ndarray
        The fitted ``Theta(l)`` matrices, ``Theta(l)`` of shape
        ``(s_{l+1}, s_l + 1)``, bias in column 0.
    n_iter_ : int
        Number of optimizer iterations run.
    stop_reason_ : str
        Why the fit stopped: ``"converged"`` (the optimizer stopped on its own
        at a minimum), ``"plateau"`` (the ``tol`` rule), ``"max_iter"``,
        ``"max_fun"``, ``"optimizer"`` (the optimizer stopped on its own away
        from a minimum, with a warning), ``"early_stopping"``,
        ``"interrupted"`` (Ctrl-C) or ``"callback"``. ``verbose`` prints it.
    n_fun_evals_ : int
        Number of cost-and-gradient evaluations during fit.
    n_hessp_evals_ : int
        Number of Hessian-vector products (0 for first-order solvers).
    loss_ : float
        The cost ``J`` at ``thetas_`` (on the training part of the data when
        ``early_stopping``).
    loss_curve_ : list of float
        ``J`` after each iteration (with ``alpha="evidence"``, of every fit,
        each at its own lambda).
    alpha_ : float
        With ``alpha="evidence"`` only: the lambda it settled on (the last
        fit's).
    effective_parameters_ : float
        With ``alpha="evidence"`` only: gamma, the number of well-determined
        penalised weights at the last fit's minimum.
    evidence_alphas_ : ndarray of shape (n_fits,)
        With ``alpha="evidence"`` only: the lambda of each fit, the first
        1.0 (or the previous ``alpha_`` with ``warm_start``).
    validation_scores_ : list of float or None
        With ``early_stopping``, the validation R² after each iteration;
        otherwise None.
    best_validation_score_ : float or None
        With ``early_stopping``, the best validation R², that of ``thetas_``;
        otherwise None.

    See Also
    --------
    BackpropClassifier : the same network for classification.
    sklearn.neural_network.MLPRegressor : scikit-learn's multi-layer
        perceptron regressor.

    Notes
    -----
    With scikit-learn 1.9 or later the estimator supports scikit-learn's
    callback API, as :class:`BackpropClassifier` does. When the optimizer
    stops before ``max_iter`` on its own, the minimum is refined by a few
    Newton-Krylov steps on the gradient (not after early stopping).

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skbackprop import BackpropRegressor
    >>> X, y = load_diabetes(return_X_y=True)
    >>> reg = make_pipeline(
    ...     StandardScaler(), BackpropRegressor(hidden_layer_sizes=(5,), alpha=10.0,
    ...                                         random_state=0))
    >>> reg.fit(X[:350], y[:350]).score(X[350:], y[350:]) > 0.4
    True
    """

    def __init__(
        self,
        hidden_layer_sizes=(25,),
        alpha=1.0,
        max_iter=1000,
        tol="auto",
        solver="L-BFGS-B",
        epsilon_init=None,
        random_state=None,
        verbose=0,
        warm_start=False,
        batch_size=None,
        activation="sigmoid",
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        max_fun=15000,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.alpha = alpha
        self.max_iter = max_iter
        self.tol = tol
        self.solver = solver
        self.epsilon_init = epsilon_init
        self.random_state = random_state
        self.verbose = verbose
        self.warm_start = warm_start
        self.batch_size = batch_size
        self.activation = activation
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun

    @_unchanged_on_error
    @with_callbacks
    def fit(
        self,
        X,
        y,
        sample_weight=None,
        *,
        X_val=None,
        y_val=None,
        sample_weight_val=None,
    ):
        """Train the network by minimising the regularised squared error.

        Parameters
        ----------
        X : {array-like, sparse matrix, dask array} of shape (n_samples, n_features)
            Training data; a sparse matrix is used as CSR or CSC without
            densifying it, float32 data is computed in float32, a dask array
            chunked by rows is used on the workers that hold it.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Real-valued targets, finite.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each sample. The cost's ``m`` becomes
            ``sum(sample_weight)``.
        X_val : {array-like, sparse matrix} of shape (n_val, n_features), \
default=None
            Validation data, scored (R²) after every iteration
            (``validation_scores_``, ``validation_loss_curve_``). With
            ``early_stopping=True`` training stops on its score, in place of
            a hold-out of ``validation_fraction`` of ``X``; otherwise it is
            only scored. Needs ``y_val``. In a
            :class:`~sklearn.pipeline.Pipeline`, transform it as ``X`` with
            ``Pipeline(..., transform_input=["X_val"])``.
        y_val : array-like of shape (n_val,) or (n_val, n_outputs), default=None
            Targets of ``X_val``, with as many outputs as ``y``, on ``y``'s
            scale: one far off it (as ``TransformedTargetRegressor``, which
            transforms ``y`` only, passes it) is refused.
        sample_weight_val : array-like of shape (n_val,), default=None
            Non-negative weights of the validation samples.

        Returns
        -------
        self : BackpropRegressor
            The fitted estimator.
        """
        return self._fit(X, y, sample_weight, X_val, y_val, sample_weight_val)

    # ------------------------------------------------------------------
    # The targets: what the shared fit asks of a regressor
    # ------------------------------------------------------------------

    @property
    def _output_activation(self):
        return "identity"

    def _encode_targets(self, placement, y, sample_weight, warm):
        """``(encoding, Y, sample_weight)``: the targets' shape, ``y`` as a float
        matrix with one column per output, and the weights unchanged (a dask
        ``y`` checked and kept on the workers, by its ``placement``)."""
        previous = self.n_outputs_ if warm else None
        Y = placement.encode_continuous_targets(y, previous)
        encoding = {"n_outputs_": Y.shape[1], "_y_ndim": np.ndim(y)}
        return encoding, Y, sample_weight

    def _stratify(self, y, encoding):
        """Continuous targets: a plain random hold-out."""
        return None

    def _encode_validation_targets(self, y_val, encoding):
        """``(y_val, Y_val)``: validation targets with the training outputs."""
        Y_val = encode_validation_continuous_targets(y_val, encoding["n_outputs_"])
        return y_val, Y_val

    def _check_validation_targets(self, Y, Y_val):
        """Refuse a ``y_val`` on a far other scale than ``y`` (one left
        untransformed by ``TransformedTargetRegressor``)."""
        check_validation_target_scale(Y, Y_val)

    def _validation_score(self, z, y_val, sample_weight_val, encoding):
        """R² on the validation data, from their outputs ``z(L)``."""
        return _score_hold_out(y_val, z, sample_weight_val)

    def _target_attributes(self, encoding):
        """The fitted attributes that describe the targets."""
        return dict(encoding)

    def _finish_thetas(self, thetas):
        """Identity outputs: the fitted ``Theta(l)`` are already canonical."""

    # ------------------------------------------------------------------
    # Prediction
    # ------------------------------------------------------------------

    @_placed
    def predict(self, X):
        """Predict the targets, ``h(x) = z(L)``.

        Parameters
        ----------
        X : {array-like, sparse matrix, dask array} of shape (n_samples, n_features)
            Input data. The result is a lazy dask array for a dask ``X``,
            and in ``X``'s namespace and on its device for an Array API
            ``X`` (under ``array_api_dispatch``).

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            1-D when the training ``y`` was 1-D; float32 for float32 ``X``.
        """
        z, placement = self._placed_z(X, "predict")
        if self._y_ndim != 1:
            return z
        return placement.first_column(z)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
