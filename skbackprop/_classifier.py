"""BackpropClassifier: the course's network as a scikit-learn classifier.

The thin shell over the shared fit of :mod:`skbackprop._base`: it encodes
class labels into the course's 0/1 indicator matrix, scores the
validation data by accuracy, and reads labels and probabilities off
the output layer.
"""

import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.metrics import accuracy_score

from ._base import BaseBackprop, _placed, _stating_tol, _unchanged_on_error
from ._compat import with_callbacks
from ._placement import HOST
from ._validation import (
    check_same_output_activation,
    encode_validation_labels,
    is_multilabel,
)


def _log_normalize(scores, placement):
    """``scores - logsumexp(scores)`` per row: log-probabilities that sum to 1.

    Inputs large enough to saturate the output layer give infinite scores
    (``z(L) = +-inf``), where the usual formula computes ``inf - inf``. They
    are read as limits: a row whose largest score is infinite (a softmax unit
    at ``+inf``; every unit at ``-inf``) gives its largest entries equal
    shares of the probability, as if they were tied at a large finite value,
    and the others 0. A finite entry far below the largest gets probability 0
    (``exp`` underflows), which is its limit too. In ``scores``' namespace,
    by its ``placement`` (for numpy, scipy's ``logsumexp`` arithmetic written
    for a matrix, :func:`~skbackprop._predict.log_softmax_rows`).
    """
    xp = placement.xp
    top = xp.max(scores, axis=1, keepdims=True)
    saturated = ~xp.isfinite(top)
    if bool(xp.any(saturated)):
        tied = xp.where(scores == top, xp.zeros_like(scores), -xp.inf)
        scores = xp.where(saturated, tied, scores)
    with np.errstate(over="ignore"):  # -1e308 - 1e308 = -inf: probability 0
        return placement.log_softmax(scores)  # every row's maximum is finite


@_stating_tol
class BackpropClassifier(ClassifierMixin, BaseBackprop):
    """Neural-network classifier trained as in Andrew Ng's Machine Learning course.

    A fully connected network, of sigmoid units by default. Each layer ``l``
    has one weight matrix ``Theta(l)`` of shape ``(s_{l+1}, s_l + 1)`` whose
    column 0 multiplies the bias unit. Training minimises the course's
    regularised logistic cost

    ``J = (1/m) sum_i sum_k [-y_ik log h_k(x_i) - (1 - y_ik) log(1 - h_k(x_i))]
    + (alpha / 2m) sum_l sum_{j>=1} Theta(l)_{:,j}^2``

    with gradients from backpropagation, by handing the unrolled parameter
    vector to :func:`scipy.optimize.minimize`.

    The output layer has one sigmoid unit per class (one-vs-all, as in the
    course) for multiclass targets, a single unit for binary targets, and one
    unit per label for a multilabel indicator matrix. With
    ``output_activation="softmax"`` it is a softmax over one unit per class
    (two units for binary targets) and ``J``'s data term is the categorical
    cross-entropy.

    ``X`` may be dense or a scipy sparse CSR/CSC matrix (as produced by
    :class:`~sklearn.feature_extraction.text.TfidfVectorizer`); a sparse ``X``
    is multiplied as it is by the first layer and never densified. float32
    ``X`` is computed in float32 (the optimizer's parameter vector stays
    float64); anything else is converted to float64. A ``dask.array`` ``X``
    chunked by rows trains across the workers of a Dask cluster, where it
    stays, and predictions on one are lazy dask arrays (see :ref:`dask`).
    With ``sklearn.set_config(array_api_dispatch=True)``, an ``X`` of another
    Array API namespace (PyTorch, CuPy, array-api-strict) trains on its
    device; ``thetas_`` are stored there, and predictions come back in
    ``X``'s namespace and on its device (string class labels as numpy; see
    :ref:`gpu`).

    Parameters
    ----------
    hidden_layer_sizes : int or sequence of int, default=(25,)
        Units in each hidden layer, bias not counted: an int for one layer,
        or a tuple, list, ``range`` or 1-D integer array (strings, sets and
        dicts are refused). ``(25,)`` is the course's network; ``()`` gives
        no hidden layer (logistic regression, one-vs-all).
    alpha : float or "evidence", default=1.0
        Regularisation strength, the course's lambda. Larger values shrink
        the weights (more bias, less variance). Must be >= 0.
        ``"evidence"`` chooses it from the training data by MacKay's
        evidence framework, re-estimated from the exact Hessian
        until it settles (see the user guide's "Choosing λ"); not with
        ``early_stopping``.
    max_iter : int, default=1000
        Maximum number of optimizer iterations. A
        :class:`~sklearn.exceptions.ConvergenceWarning` is raised when it is
        reached. The default stopping rule usually stops far sooner (20 to
        70 iterations on scikit-learn's bundled datasets and on 8,000 MNIST
        digits); 1000 lets a tight fit (``tol=0``) of the course's network
        converge on the digits (about 800 iterations at ``alpha=1``).
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
        With ``early_stopping``, ``tol``
        ({auto_score_tol}) is instead the least gain
        in validation score that counts as an improvement.
    solver : {"L-BFGS-B", "CG", "BFGS", "TNC", "Newton-CG", "trust-ncg", \
"trust-krylov"}, default="L-BFGS-B"
        The :func:`scipy.optimize.minimize` method (names are matched without
        regard to case). ``"CG"`` is the closest to the course's ``fmincg``.
        ``"BFGS"`` stores a dense ``n_params x n_params`` matrix and scipy
        updates it with dense matrix products (O(n_params^3) per iteration):
        a ``UserWarning`` says so above 1000 parameters.
        ``"Newton-CG"``, ``"trust-ncg"`` and ``"trust-krylov"`` are
        second-order methods given exact Hessian-vector products
        (:func:`~skbackprop.backprop.hessian_vector_product`, by
        Pearlmutter's R-operator) as ``hessp``; with ``batch_size`` those
        products too take the rows a chunk at a time. scipy's ``"trust-krylov"`` (the
        trlib library) is not bitwise reproducible: in one process, its first
        call can take different steps from later identical calls, so fits on
        a non-convex cost may differ.
    epsilon_init : float or None, default=None
        Initial weights are uniform in ``[-epsilon_init, epsilon_init]``.
        ``None`` uses ``sqrt(6) / sqrt(s_l + s_{l+1})`` per layer.
    random_state : int, RandomState instance or None, default=None
        Seeds the initial weights and the early-stopping hold-out. Pass an
        int for reproducible fits.
    verbose : int, default=0
        If > 0, print a table with one line per iteration: the iteration,
        ``J``, the norm of its gradient, the validation loss and score (with
        ``early_stopping`` or ``X_val``) and the time since the start of
        ``fit``.
        0 prints nothing.
    warm_start : bool, default=False
        If True, ``fit`` starts from the ``thetas_`` of the previous fit
        instead of new random weights. Everything that shapes the network
        must be as before: the type of target (single-label or multilabel),
        the classes (or number of labels), ``output_activation`` and the
        layer sizes; otherwise ``fit`` raises a ``ValueError`` (set
        ``warm_start=False`` to fit a new model).
    batch_size : int or None, default=None
        Rows per chunk when computing the cost and gradient. Each evaluation
        still uses every row (full-batch optimisation, the same result to
        rounding); only its working memory changes, from about
        ``n_samples * sum(hidden_layer_sizes)`` numbers to
        ``batch_size * sum(hidden_layer_sizes)``. ``None`` takes all rows at
        once, the fastest when they fit in memory.
    activation : {"sigmoid", "tanh", "relu"}, default="sigmoid"
        The hidden units' activation ``g``: the course's logistic sigmoid,
        the hyperbolic tangent, or the rectified linear unit ``max(z, 0)``.
    output_activation : {"sigmoid", "softmax"}, default="sigmoid"
        ``"sigmoid"``: one logistic unit per class and the course's cost;
        ``"softmax"``: a softmax over the classes and the categorical
        cross-entropy. ``"softmax"`` needs one label per sample (binary or
        multiclass ``y``); a multilabel ``y`` raises a ``ValueError``. The
        softmax's output biases, defined only up to a common constant, are
        centred to mean 0 after fit.
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes, multiplying each sample's ``sample_weight``
        (so ``m`` in ``J`` becomes the sum of the products). A dict maps class
        labels to weights (missing classes get 1). ``"balanced"`` uses
        ``n_samples / (n_classes * np.bincount(y))``, with counts weighted by
        ``sample_weight`` when it is given. Not supported for multilabel
        ``y``.
    early_stopping : bool, default=False
        Hold out a stratified ``validation_fraction`` of the training data
        (at least one sample per class; a plain random hold-out when a class
        has a single sample), or use the ``X_val``, ``y_val`` passed to
        :meth:`fit`; score the network on it (accuracy, weighted by
        ``sample_weight``) after every optimizer iteration, for every solver,
        and stop when the score has not improved by more than ``tol`` for
        ``n_iter_no_change`` consecutive iterations (in place of the rule on
        ``J``). The weights with the best score are kept (of equal scores,
        the latest: accuracy on a small hold-out often stays flat for many
        quasi-Newton iterations).
    validation_fraction : float, default=0.1
        Fraction of the training data held out when ``early_stopping`` and no
        ``X_val`` is given; strictly between 0 and 1.
    n_iter_no_change : int, default=10
        The window of the stopping rule (see ``tol``): the number of
        iterations over which ``J`` must have fallen, or, with
        ``early_stopping``, the number of consecutive iterations without
        improvement of the validation score after which training stops.
    max_fun : int, default=15000
        Maximum number of cost (and gradient) evaluations, as in
        :class:`~sklearn.neural_network.MLPClassifier`, for every solver.
        It is checked after each iteration (L-BFGS-B and TNC also check it
        themselves), so the last iteration's line search may go a few
        evaluations past it. Hessian-vector products are not counted (see
        ``n_hessp_evals_``). A :class:`~sklearn.exceptions.ConvergenceWarning`
        is raised when it is reached. At most ``2**31 - 1`` with
        ``solver="TNC"`` (scipy's TNC counts in a C ``int``).

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels (for multilabel ``y``, ``arange(n_labels)``).
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
        Number of cost-and-gradient evaluations during fit (the optimizer's,
        plus those of the final Newton refinement of a tight fit).
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
        0.1 (or the previous ``alpha_`` with ``warm_start``).
    validation_scores_ : list of float or None
        With ``early_stopping`` or ``X_val``, the validation score (accuracy)
        after each iteration; otherwise None.
    validation_loss_curve_ : list of float or None
        With ``early_stopping`` or ``X_val``, the course's ``J`` without the
        penalty (``alpha=0``; the cross-entropy for a softmax output) on the
        validation data after each iteration, weighted by their sample
        weights; otherwise None. Beside ``loss_curve_`` (on the training
        data, with the penalty) it shows when the network starts to overfit.
    best_validation_score_ : float or None
        With ``early_stopping``, the best validation score, that of
        ``thetas_``; otherwise None.

    See Also
    --------
    sklearn.neural_network.MLPClassifier : scikit-learn's multi-layer
        perceptron.

    Notes
    -----
    With scikit-learn 1.9 or later the estimator supports scikit-learn's
    callback API: ``clf.set_callbacks(ProgressBar())`` (from
    ``sklearn.callback``) reports every optimizer iteration as a subtask of
    ``fit``, for every solver, as ``LogisticRegression`` does for L-BFGS. A
    callback's ``on_fit_task_end`` returning True stops training after that
    iteration, keeping its weights.

    When the optimizer stops before ``max_iter`` on its own (always the case
    with ``tol=0``), the minimum is refined by a few Newton-Krylov steps on
    the gradient (kept only if they lower the gradient without raising
    ``J``); not after early stopping or the plateau rule. When ``J`` did not
    fall at all over ``n_iter_no_change`` iterations, training stops and is
    handled the same way, with a
    :class:`~sklearn.exceptions.ConvergenceWarning` if the gradient is
    still large.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skbackprop import BackpropClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = make_pipeline(StandardScaler(), BackpropClassifier(random_state=0))
    >>> clf.fit(X[:1500], y[:1500]).score(X[1500:], y[1500:]) > 0.9
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
        output_activation="sigmoid",
        class_weight=None,
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
        self.output_activation = output_activation
        self.class_weight = class_weight
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
        """Train the network by minimising the regularised cost.

        Parameters
        ----------
        X : {array-like, sparse matrix, dask array} of shape (n_samples, n_features)
            Training data; a sparse matrix is used as CSR or CSC without
            densifying it, float32 data is computed in float32, a dask array
            chunked by rows is used on the workers that hold it.
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            Class labels of any type, or a multilabel indicator matrix of 0s
            and 1s (other values, such as ``{-1, 1}``, are refused).
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each sample. The cost's ``m`` becomes
            ``sum(sample_weight)`` (so the penalty's factor is
            ``alpha / (2 sum(sample_weight))``). Multiplied by
            ``class_weight``.
        X_val : {array-like, sparse matrix} of shape (n_val, n_features), \
default=None
            Validation data, scored after every iteration
            (``validation_scores_``, ``validation_loss_curve_``). With
            ``early_stopping=True`` training stops on its score, in place of
            a hold-out of ``validation_fraction`` of ``X`` (all of ``X`` is
            then trained on); otherwise it is only scored. Needs ``y_val``.
            In a :class:`~sklearn.pipeline.Pipeline`, transform it as ``X``
            with ``Pipeline(..., transform_input=["X_val"])`` (metadata
            routing, ``set_fit_request(X_val=True, y_val=True)``).
        y_val : array-like of shape (n_val,) or (n_val, n_labels), default=None
            Labels of ``X_val``, among the classes of ``y``.
        sample_weight_val : array-like of shape (n_val,), default=None
            Non-negative weights of the validation samples (``class_weight``
            is not applied to them).

        Returns
        -------
        self : BackpropClassifier
            The fitted estimator.
        """
        return self._fit(X, y, sample_weight, X_val, y_val, sample_weight_val)

    # ------------------------------------------------------------------
    # The targets: what the shared fit asks of a classifier
    # ------------------------------------------------------------------

    # The evidence's first lambda: at 1.0 the networks of two moons are
    # nearly linear, and the re-estimate settles there, at a fixed point of
    # far lower evidence than the bending network's that 0.1 reaches
    # (docs/performance.rst, "Choosing λ by the evidence").
    _EVIDENCE_START = 0.1

    @property
    def _output_activation(self):
        return self.output_activation

    def _encode_targets(self, placement, y, sample_weight, warm):
        """``(encoding, Y, sample_weight)``: the label encoding, the 0/1 matrix
        ``Y``, and the per-sample weights with ``class_weight`` folded in
        (a dask ``y`` encoded block by block, by its ``placement``)."""
        previous = None
        if warm:
            check_same_output_activation(
                self._fitted_output_activation, self.output_activation
            )
            previous = self._label_binarizer
        binarizer, Y = placement.encode_labels(y, self.output_activation, previous)
        weights = placement.class_sample_weight(
            self.class_weight, binarizer, y, sample_weight
        )
        return binarizer, Y, weights

    def _encode_validation_targets(self, y_val, binarizer):
        """``(y_val, Y_val)``: validation labels encoded as the training ones."""
        return encode_validation_labels(y_val, binarizer, self.output_activation)

    def _stratify(self, y, binarizer):
        """The labels to stratify the early-stopping hold-out by (None: multilabel)."""
        return None if is_multilabel(binarizer) else y

    def _validation_score(self, z, y_val, sample_weight_val, binarizer):
        """Accuracy on the validation data, from their output inputs ``z(L)``."""
        y_pred = HOST.labels(z, binarizer)  # z came to the host
        return float(accuracy_score(y_val, y_pred, sample_weight=sample_weight_val))

    def _target_attributes(self, binarizer):
        """The fitted attributes that describe the targets and the output layer.

        Prediction reads the output layer from ``_fitted_output_activation``,
        not from the ``output_activation`` parameter, which ``set_params``
        may have changed since.
        """
        return {
            "_label_binarizer": binarizer,
            "classes_": binarizer.classes_,
            "_fitted_output_activation": self.output_activation,
        }

    def _finish_thetas(self, thetas):
        """Put the fitted ``Theta(l)`` in canonical form, in place."""
        if self.output_activation == "softmax":
            # softmax(z + c) == softmax(z): the unpenalised output biases are
            # defined only up to a common constant. Centre them, so that the
            # same minimum always gives the same decision_function.
            thetas[-1][:, 0] -= thetas[-1][:, 0].mean()

    # ------------------------------------------------------------------
    # Prediction
    # ------------------------------------------------------------------

    def _is_multilabel(self):
        return is_multilabel(self._label_binarizer)

    @_placed
    def decision_function(self, X):
        """The output units' inputs ``z(L)`` (log-odds of each sigmoid output unit).

        Parameters
        ----------
        X : {array-like, sparse matrix, dask array} of shape (n_samples, n_features)
            Input data. The result is a lazy dask array for a dask ``X``,
            and in ``X``'s namespace and on its device for an Array API
            ``X`` (under ``array_api_dispatch``).

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            For binary targets, the log-odds of the positive class
            ``classes_[1]`` (with a softmax output, ``z_1 - z_0``); otherwise
            one column per class or label.
        """
        z, placement = self._placed_z(X, "decision_function")
        if self._is_multilabel():
            return z
        if z.shape[1] == 1:
            return placement.first_column(z)
        if self.classes_.shape[0] == 2:  # softmax over two units
            xp = placement.xp
            with np.errstate(over="ignore", invalid="ignore"):
                scores = z[:, 1] - z[:, 0]
            # Both units at the same infinity: a tie.
            return xp.where(xp.isnan(scores), xp.zeros_like(scores), scores)
        return z

    @_placed
    def predict_proba(self, X):
        """Class probabilities.

        For binary and multiclass targets the rows sum to 1: the one-vs-all
        sigmoid outputs ``h_k(x)`` are normalised by their sum (with a softmax
        output, the softmax itself). For a multilabel target each column is
        the independent probability of its label, ``h_k(x)``.

        Parameters
        ----------
        X : {array-like, sparse matrix, dask array} of shape (n_samples, n_features)
            Input data. The result is a lazy dask array for a dask ``X``,
            and in ``X``'s namespace and on its device for an Array API
            ``X`` (under ``array_api_dispatch``).

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probabilities, columns in the order of ``classes_``.
        """
        return self._proba(*self._placed_z(X, "predict_proba"))

    @_placed
    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`, computed without ``log(0)``.

        Inputs that drive output units to ``z = +-inf`` get the limits of the
        probabilities: a probability of 0 is ``-inf`` here, and units tied at
        the same infinity (softmax units at ``+inf``; one-vs-all units all at
        ``-inf``) share equally. Inputs so large that ``z`` itself is undefined
        (``inf - inf`` inside the network) raise the "scale the data"
        ``ValueError``.

        Parameters
        ----------
        X : {array-like, sparse matrix, dask array} of shape (n_samples, n_features)
            Input data. The result is a lazy dask array for a dask ``X``,
            and in ``X``'s namespace and on its device for an Array API
            ``X`` (under ``array_api_dispatch``).

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
        """
        return self._log_proba(*self._placed_z(X, "predict_log_proba"))

    def _proba(self, z, placement=HOST):
        """:meth:`predict_proba` from ``z(L)``.

        ``exp`` of :meth:`_log_proba`, except where the placement computes
        it directly as accurately (within float rounding of
        ``exp(predict_log_proba)``, no longer equal to the bit: numpy ``z``).
        """
        proba = placement.direct_proba(
            z, self._is_multilabel(), self._fitted_output_activation == "softmax"
        )
        if proba is not None:
            return proba
        return placement.xp.exp(self._log_proba(z, placement))

    def _log_proba(self, z, placement=HOST):
        """:meth:`predict_log_proba` from ``z(L)``, in ``z``'s namespace."""
        log_expit = placement.log_expit
        if self._is_multilabel():
            return log_expit(z)
        if z.shape[1] == 1:
            return placement.xp.concat([log_expit(-z), log_expit(z)], axis=1)
        if self._fitted_output_activation == "softmax":
            return _log_normalize(z, placement)
        return _log_normalize(log_expit(z), placement)

    @_placed
    def predict(self, X):
        """Predict class labels (or a label indicator matrix for multilabel).

        Parameters
        ----------
        X : {array-like, sparse matrix, dask array} of shape (n_samples, n_features)
            Input data. The result is a lazy dask array for a dask ``X``,
            and in ``X``'s namespace and on its device for an Array API
            ``X`` (under ``array_api_dispatch``).

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_labels)
            The class with the largest output ``h_k(x)``; for multilabel
            targets, each label whose ``h_k(x)`` exceeds 0.5.
        """
        z, placement = self._placed_z(X, "predict")
        return placement.labels(z, self._label_binarizer)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # A softmax gives one label per sample; class_weight is per class.
        tags.classifier_tags.multi_label = (
            self.output_activation != "softmax" and self.class_weight is None
        )
        return tags
