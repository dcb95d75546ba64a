"""BackpropClassifier: the course's network as a scikit-learn estimator.

A thin shell around :mod:`skbackprop.backprop`: validate the parameters and
the data, encode the labels, hand the unrolled parameters and
:func:`~skbackprop.backprop.cost_function` to :func:`scipy.optimize.minimize`,
and store the results.
"""

import contextlib
import functools
import numbers
import os
import sys
import time
import warnings

import numpy as np
from scipy.optimize import NoConvergence, OptimizeResult, minimize, newton_krylov
from scipy.special import expit, log_expit, logsumexp
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import check_random_state, check_scalar
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data
from threadpoolctl import ThreadpoolController

from .backprop import forward_layer, init_thetas, make_cost_function, roll, unroll

#: Below this many floating-point operations per cost evaluation, numpy's BLAS
#: (the evaluation's matrix products) runs on one thread during fit. Set it to
#: 0 to leave numpy's BLAS threads alone for every problem size.
_SINGLE_THREAD_FLOPS = 2e10


def _blas_thread_limit(n_samples, n_params):
    """Context manager applying the BLAS thread policy for one fit.

    The policy only ever lowers thread counts, so a user's own limits
    (``threadpoolctl.threadpool_limits(...)`` around ``fit``, or
    ``OPENBLAS_NUM_THREADS``/``OMP_NUM_THREADS``) always hold:

    * numpy's BLAS, which runs the evaluation's matrix products, is limited
      to one thread when an evaluation costs fewer than
      ``_SINGLE_THREAD_FLOPS`` (estimated as ``6 * n_samples * n_params``:
      forward and two backward products). On small matrices the
      synchronisation of a second thread costs more than it gains: on the
      2-core reference machine, 8 to 12 times slower on the digits, 1.4x
      slower on 8000 MNIST rows (docs/performance.rst).
    * Any other BLAS (scipy's wheels bundle a second OpenBLAS, which
      ``L-BFGS-B`` uses for its vector updates) is limited to one thread:
      that work is a few vector operations per iteration, and the idle
      worker threads of a second pool spin on the cores that numpy's
      products need (1.8x slower per evaluation on 8000 MNIST rows).

    Set ``_SINGLE_THREAD_FLOPS = 0`` in this module to keep numpy's BLAS
    threads as they are whatever the problem size.
    """
    controller = ThreadpoolController()
    blas = controller.select(user_api="blas")
    if 6.0 * n_samples * n_params < _SINGLE_THREAD_FLOPS:
        return blas.limit(limits=1)
    others = [lib.filepath for lib in blas.lib_controllers if not _is_numpy_blas(lib)]
    if not others or len(others) == len(blas.lib_controllers):
        # One BLAS shared by numpy and scipy (conda, a system library): it runs
        # the products, so it keeps its threads.
        return contextlib.nullcontext()
    return controller.select(filepath=others).limit(limits=1)


def _is_numpy_blas(lib):
    """Whether a threadpoolctl library controller is a BLAS bundled with numpy.

    numpy's wheels carry their own BLAS in ``numpy.libs`` (``numpy/.dylibs``
    on macOS); scipy's carry a second one.
    """
    numpy_root = os.path.dirname(os.path.abspath(np.__file__))
    return os.path.abspath(lib.filepath).startswith(numpy_root)


def _newton_polish(cost, x, tol, max_steps=5):
    """Refine a minimum ``x`` of ``cost`` by Newton-Krylov steps on its gradient.

    A line-search optimizer can place a minimum only as well as ``J``'s
    rounding lets it compare values: near the minimum ``J`` changes by about
    ``curvature * step**2``, so steps below ~1e-7 are invisible in float64.
    The gradient, in contrast, is resolved to ~1e-16 near zero, so solving
    ``grad J(x) = 0`` by :func:`scipy.optimize.newton_krylov` pins the minimum
    down to ~1e-12. The step is kept only if it lowers the gradient and does
    not raise ``J`` (it stays at a minimum, never moves to a saddle).

    Returns the refined ``x`` (or ``x`` itself) and the number of cost
    evaluations used.
    """
    n_evals = 0

    def gradient(p):
        nonlocal n_evals
        n_evals += 1
        return cost(p)[1]

    J0, g0 = cost(x)
    g0_max = np.max(np.abs(g0))
    if g0_max <= tol:
        return x, 1
    try:
        x_new = newton_krylov(gradient, x, f_tol=tol, maxiter=max_steps)
    except NoConvergence as exc:
        x_new = exc.args[0]
    except (ValueError, ArithmeticError, np.linalg.LinAlgError):
        return x, n_evals + 1
    J1, g1 = cost(x_new)
    n_evals += 2
    if (
        np.all(np.isfinite(x_new))
        and np.max(np.abs(g1)) < g0_max
        and J1 <= J0 + 1e-12 * abs(J0)
    ):
        return x_new, n_evals
    return x, n_evals


# ----------------------------------------------------------------------
# Reliability helpers: atomic fit, finite cost, interrupts, stalled solvers
# ----------------------------------------------------------------------


def _unchanged_on_error(fit):
    """Decorate ``fit`` so that an exception leaves the estimator as it was.

    Validation sets ``n_features_in_`` (and more) before all the data are
    checked; on any exception, including :class:`KeyboardInterrupt` outside
    the optimizer, the instance's ``__dict__`` is put back as it was before
    the call, so an unfitted estimator stays unfitted and a fitted one keeps
    its previous model.
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


_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep
_SKLEARN_CALLBACK_DIR = os.sep + os.path.join("sklearn", "callback") + os.sep


def _caller_stacklevel():
    """The ``stacklevel`` at which a warning points at the code that called fit.

    Counts the frames inside skbackprop (``fit``, its helpers and the
    ``_unchanged_on_error`` wrapper) and scikit-learn's callback decorator,
    whatever their number, so warnings name the user's line.
    """
    level, frame = 1, sys._getframe(1)
    while frame is not None:
        filename = os.path.abspath(frame.f_code.co_filename)
        if not (filename.startswith(_PACKAGE_DIR) or _SKLEARN_CALLBACK_DIR in filename):
            break
        level, frame = level + 1, frame.f_back
    return level


class _NonFiniteCostError(ArithmeticError):
    """The cost or its gradient came out NaN or infinite."""


def _finite_cost(cost):
    """Wrap ``cost(p) -> (J, grad)`` to raise :class:`_NonFiniteCostError`.

    Numpy's floating-point warnings are silenced inside ``cost``: an overflow
    that leaves ``J`` and the gradient finite (a hidden unit saturating at
    ``z = inf``) is harmless, and one that does not is reported once, clearly,
    by the error instead of a warning deep inside numpy.
    """

    def wrapped(p):
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            J, grad = cost(p)
        if not (np.isfinite(J) and np.all(np.isfinite(grad))):
            raise _NonFiniteCostError
        return J, grad

    return wrapped


#: A solver that stops before ``max_iter`` (on a failed line search, or for
#: L-BFGS-B when J stops decreasing) gets a warning when the largest gradient
#: component at the returned weights is above this (and above ``tol``): it is
#: not at a minimum. Keyed by the dtype the cost is computed in. With the
#: default ``tol=1e-10``, CG and BFGS end most fits on a failed line search at
#: a minimum where J's rounding hides any further decrease: measured over 144
#: float64 fits, gradients of 1e-8 or less there (genuine stalls: 3e-5 and
#: up); over 36 float32 fits, 4.4e-5 or less.
_STALLED_GTOL = {np.dtype(np.float64): 1e-5, np.dtype(np.float32): 1e-3}


def _warn_if_stalled(est, solver, result, n_iter, grad, dtype):
    """Warn when the optimizer stopped on its own away from a minimum.

    ``result`` is scipy's ``OptimizeResult``, or None when the optimizer
    broke down (proposed a non-finite step) and the last iterate was kept.
    """
    if n_iter >= est.max_iter:
        return  # the max_iter warning says it
    if getattr(est, "activation", "sigmoid") == "relu":
        return  # J has kinks: its minima need not have a zero gradient
    gmax = float(np.max(np.abs(grad)))
    if not gmax > max(est.tol, _STALLED_GTOL.get(np.dtype(dtype), 1e-3)):
        return
    # A failed line search is status 2 in L-BFGS-B, CG, BFGS and Newton-CG,
    # status 4 in TNC; L-BFGS-B's success with ``ftol=0`` means J did not
    # decrease at all.
    status = getattr(result, "status", None)
    message = str(getattr(result, "message", "")).strip()
    if result is None:
        reason = "its step became NaN or infinite"
    elif (status == 2 and solver in ("L-BFGS-B", "CG", "BFGS", "Newton-CG")) or (
        status == 4 and solver == "TNC"
    ):
        reason = "its line search could not lower J"
    elif status == 0 and solver == "L-BFGS-B":
        reason = "J stopped decreasing"
    else:
        reason = "the optimizer gave up"
    warnings.warn(
        f"{solver} stopped before converging, at iteration {n_iter}: {reason}"
        + (f" (scipy says {message!r})" if message else "")
        + f", but the largest gradient component is still {gmax:.3g}, so the "
        "weights may not be a minimum. Scale the data (e.g. with StandardScaler), "
        "use a moderate alpha, or try another solver.",
        ConvergenceWarning,
        stacklevel=_caller_stacklevel(),
    )


def _non_finite_message(n_iter, dtype):
    return (
        "The cost J, its gradient or the optimizer's step became NaN or "
        f"infinite after {n_iter} iterations: the data (or alpha, or "
        f"epsilon_init) are too large for {np.dtype(dtype)} arithmetic. Scale "
        "the data (e.g. with StandardScaler) or lower alpha."
    )


def _interrupted_message(n_iter, max_iter, loss):
    return (
        f"Training was interrupted (KeyboardInterrupt) after {n_iter} of at most "
        f"{max_iter} iterations; the model keeps the best weights reached so far "
        f"(J = {loss:.6g}). Call fit again to train further (warm_start=True "
        "continues from them)."
    )


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


def _check_finite_and_not_bool(est):
    """Refuse NaN/inf real parameters and bools given for int parameters.

    ``check_scalar`` lets NaN through a ``min_val`` bound (``nan < 0`` is
    False) and takes ``True`` for an int.
    """
    for name in ("alpha", "tol", "epsilon_init", "validation_fraction"):
        value = getattr(est, name, None)
        if isinstance(value, numbers.Real) and not np.isfinite(value):
            raise ValueError(f"{name} must be a finite number, got {value!r}.")
    for name in ("max_iter", "batch_size", "n_iter_no_change", "max_fun"):
        value = getattr(est, name, None)
        if isinstance(value, (bool, np.bool_)):
            raise TypeError(f"{name} must be an int, not a bool; got {value!r}.")


def _check_label_types(y):
    """Refuse 1-D labels that mix types (``None`` among strings, str and int)."""
    if getattr(y, "dtype", np.dtype(object)) != np.dtype(object):
        return
    try:
        y = np.asarray(y, dtype=object)
    except ValueError:  # ragged: check_classification_targets explains
        return
    if y.ndim != 1:
        return
    kinds = {
        "None" if v is None else "str" if isinstance(v, str) else "number"
        for v in y
        if not (isinstance(v, float) and np.isnan(v))
    }
    if len(kinds) > 1:
        raise ValueError(
            "y mixes labels of different types "
            f"({', '.join(sorted(kinds))}): the labels must be all strings or all "
            "numbers, and None is not a label."
        )


#: Gradient-based ``scipy.optimize.minimize`` methods accepted as ``solver``.
_SOLVERS = ("L-BFGS-B", "CG", "BFGS")


class BackpropClassifier(ClassifierMixin, BaseEstimator):
    """Neural-network classifier trained as in Andrew Ng's Machine Learning course.

    A fully connected network of sigmoid units. Each layer ``l`` has one
    weight matrix ``Theta(l)`` of shape ``(s_{l+1}, s_l + 1)`` whose column 0
    multiplies the bias unit. Training minimises the course's regularised
    logistic cost

    ``J = (1/m) sum_i sum_k [-y_ik log h_k(x_i) - (1 - y_ik) log(1 - h_k(x_i))]
    + (alpha / 2m) sum_l sum_{j>=1} Theta(l)_{:,j}^2``

    with gradients from backpropagation, by handing the unrolled parameter
    vector to :func:`scipy.optimize.minimize`.

    The output layer has one sigmoid unit per class (one-vs-all, as in the
    course) for multiclass targets, a single unit for binary targets, and one
    unit per label for a multilabel indicator matrix.

    Parameters
    ----------
    hidden_layer_sizes : tuple of int, default=(25,)
        Units in each hidden layer, bias not counted. ``(25,)`` is the
        course's network; ``()`` gives no hidden layer (logistic regression,
        one-vs-all).
    alpha : float, default=1.0
        Regularisation strength, the course's lambda. Larger values shrink
        the weights (more bias, less variance). Must be >= 0.
    max_iter : int, default=1000
        Maximum number of optimizer iterations. A
        :class:`~sklearn.exceptions.ConvergenceWarning` is raised when it is
        reached. 1000 lets the course's network converge on the digits
        (about 800 iterations at ``alpha=1``); the course itself stops at 50
        to 400.
    tol : float, default=1e-10
        Stop when the largest gradient component falls below ``tol``
        (L-BFGS-B's ``gtol``; ``tol`` of the other solvers). L-BFGS-B also
        stops when ``J`` no longer decreases at all. The small default trains
        to convergence, so that fits that differ only by rounding (rows in
        another order, integer sample weights instead of repeated rows) agree
        to about 1e-8; raise it (say to 1e-5) for faster, looser fits.
    solver : {"L-BFGS-B", "CG", "BFGS"}, default="L-BFGS-B"
        The :func:`scipy.optimize.minimize` method. ``"CG"`` is the closest to
        the course's ``fmincg``.
    epsilon_init : float or None, default=None
        Initial weights are uniform in ``[-epsilon_init, epsilon_init]``.
        ``None`` uses ``sqrt(6) / sqrt(s_l + s_{l+1})`` per layer.
    random_state : int, RandomState instance or None, default=None
        Seeds the initial weights. Pass an int for reproducible fits.
    verbose : int, default=0
        If > 0, print one line per iteration.
    warm_start : bool, default=False
        If True, ``fit`` starts from the ``thetas_`` of the previous fit
        (same classes and layer sizes) instead of new random weights.
    batch_size : int or None, default=None
        Rows per chunk when computing the cost and gradient. Each evaluation
        still uses every row (full-batch optimisation, the same result to
        rounding); only its working memory changes, from about
        ``n_samples * sum(hidden_layer_sizes)`` numbers to
        ``batch_size * sum(hidden_layer_sizes)``. ``None`` takes all rows at
        once, the fastest when they fit in memory.

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
    loss_ : float
        The cost ``J`` at ``thetas_``.
    loss_curve_ : list of float
        ``J`` after each iteration.

    See Also
    --------
    sklearn.neural_network.MLPClassifier : scikit-learn's multi-layer
        perceptron.

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
        tol=1e-10,
        solver="L-BFGS-B",
        epsilon_init=None,
        random_state=None,
        verbose=0,
        warm_start=False,
        batch_size=None,
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

    # ------------------------------------------------------------------
    # Validation
    # ------------------------------------------------------------------

    def _validate_params(self):
        """Check every constructor parameter; return the hidden sizes as a tuple."""
        hidden = self.hidden_layer_sizes
        if isinstance(hidden, numbers.Integral) and not isinstance(hidden, bool):
            hidden = (hidden,)
        try:
            hidden = tuple(hidden)
        except TypeError:
            raise TypeError(
                "hidden_layer_sizes must be a tuple of positive ints, got "
                f"{self.hidden_layer_sizes!r}."
            ) from None
        for size in hidden:
            if isinstance(size, bool) or not isinstance(size, numbers.Integral):
                raise TypeError(
                    "hidden_layer_sizes must contain ints, got "
                    f"{self.hidden_layer_sizes!r}."
                )
            if size <= 0:
                raise ValueError(
                    "hidden_layer_sizes must contain positive ints, got "
                    f"{self.hidden_layer_sizes!r}."
                )
        check_scalar(self.alpha, "alpha", numbers.Real, min_val=0.0)
        if not np.isfinite(self.alpha):
            raise ValueError(f"alpha must be finite, got {self.alpha!r}.")
        check_scalar(self.max_iter, "max_iter", numbers.Integral, min_val=1)
        check_scalar(self.tol, "tol", numbers.Real, min_val=0.0)
        if self.solver not in _SOLVERS:
            raise ValueError(
                f"solver must be one of {', '.join(map(repr, _SOLVERS))}; "
                f"got {self.solver!r}."
            )
        if self.epsilon_init is not None:
            check_scalar(
                self.epsilon_init,
                "epsilon_init",
                numbers.Real,
                min_val=0.0,
                include_boundaries="neither",
            )
        check_random_state(self.random_state)
        check_scalar(self.verbose, "verbose", numbers.Integral, min_val=0)
        if not isinstance(self.warm_start, (bool, np.bool_)):
            raise TypeError(f"warm_start must be a bool, got {self.warm_start!r}.")
        if self.batch_size is not None:
            check_scalar(self.batch_size, "batch_size", numbers.Integral, min_val=1)
        _check_finite_and_not_bool(self)
        return tuple(int(s) for s in hidden)

    def _validate_sample_weight(self, sample_weight, n_samples):
        if sample_weight is None:
            return None
        sample_weight = np.asarray(sample_weight)
        if sample_weight.ndim == 0:
            sample_weight = np.full(n_samples, sample_weight, dtype=np.float64)
        if sample_weight.dtype.kind not in "biuf":
            raise ValueError(
                f"sample_weight must be numeric, got dtype {sample_weight.dtype}."
            )
        sample_weight = sample_weight.astype(np.float64)
        if sample_weight.shape != (n_samples,):
            raise ValueError(
                f"sample_weight.shape == {sample_weight.shape}, expected "
                f"({n_samples},)!"
            )
        if not np.all(np.isfinite(sample_weight)):
            raise ValueError("sample_weight contains NaN or infinity.")
        if np.any(sample_weight < 0):
            raise ValueError("Negative values in data passed to sample_weight.")
        if not sample_weight.sum() > 0:
            raise ValueError(
                "The sum of sample_weight is zero; at least one sample must have "
                "a positive weight."
            )
        return sample_weight

    def _encode_targets(self, y, refit_classes):
        """Label-encode ``y`` into the 0/1 indicator matrix ``Y`` of the course."""
        if isinstance(y, np.ndarray) and y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        _check_label_types(y)
        check_classification_targets(y)
        if refit_classes:
            binarizer = LabelBinarizer()
            binarizer.fit(y)
            if len(binarizer.classes_) < 2:
                raise ValueError(
                    "BackpropClassifier needs samples of at least 2 classes in the "
                    f"data, but the data contains only one class: "
                    f"{binarizer.classes_[0]!r}."
                )
            self._label_binarizer = binarizer
            self.classes_ = binarizer.classes_
        else:
            new_classes = (
                np.unique(y) if type_of_target(y) != "multilabel-indicator" else None
            )
            if new_classes is not None and not np.array_equal(
                np.sort(new_classes), np.sort(np.asarray(self.classes_))
            ):
                raise ValueError(
                    "warm_start can only be used where `y` has the same classes as "
                    f"in the previous call to fit. Previously got {self.classes_}, "
                    f"`y` has {new_classes}."
                )
        return self._label_binarizer.transform(y).astype(np.float64)

    # ------------------------------------------------------------------
    # Fitting
    # ------------------------------------------------------------------

    @_unchanged_on_error
    def fit(self, X, y, sample_weight=None):
        """Train the network by minimising the regularised cost.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            Class labels of any type, or a multilabel 0/1 indicator matrix.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each sample. The cost's ``m`` becomes
            ``sum(sample_weight)``.

        Returns
        -------
        self : BackpropClassifier
            The fitted estimator.
        """
        hidden = self._validate_params()
        warm = self.warm_start and hasattr(self, "thetas_")
        X, y = validate_data(
            self,
            X,
            y,
            multi_output=True,
            dtype=(np.float64, np.float32),
            reset=not warm,
        )
        sample_weight = self._validate_sample_weight(sample_weight, X.shape[0])
        Y = self._encode_targets(y, refit_classes=not warm)

        layer_sizes = (X.shape[1], *hidden, Y.shape[1])
        if warm and tuple(self.layer_sizes_) == layer_sizes:
            nn_params = unroll(self.thetas_)
        elif warm:
            raise ValueError(
                "warm_start needs the same layer sizes as the previous fit: "
                f"previously {self.layer_sizes_}, now {layer_sizes}."
            )
        else:
            rng = check_random_state(self.random_state)
            nn_params = unroll(init_thetas(layer_sizes, self.epsilon_init, rng))

        result, loss_curve = self._minimize(nn_params, layer_sizes, X, Y, sample_weight)

        self.layer_sizes_ = layer_sizes
        self.thetas_ = [t.copy() for t in roll(result.x, layer_sizes)]
        self.n_iter_ = int(result.nit)
        self.loss_ = float(result.fun)
        self.loss_curve_ = loss_curve
        if self.n_iter_ >= self.max_iter:
            warnings.warn(
                f"{self.solver} reached max_iter={self.max_iter} iterations before "
                "converging. Increase max_iter or scale the data.",
                ConvergenceWarning,
                stacklevel=_caller_stacklevel(),
            )
        return self

    def _minimize(self, nn_params, layer_sizes, X, Y, sample_weight):
        """Run the optimizer; return its result and ``J`` after each iteration.

        A non-finite ``J`` or gradient stops the fit with a ``ValueError``; a
        :class:`KeyboardInterrupt` keeps the best iterate reached so far and
        warns; a fit that stops early away from a minimum warns.
        """
        cost = _finite_cost(
            make_cost_function(
                layer_sizes,
                X,
                Y,
                float(self.alpha),
                sample_weight,
                batch_size=self.batch_size,
            )
        )
        loss_curve = []
        best = {"x": nn_params, "fun": None}
        start = time.perf_counter()
        if self.verbose:
            print(f"{'iter':>6} {'J':>14} {'|grad|':>12} {'time (s)':>10}")

        def callback(intermediate_result):
            loss_curve.append(float(intermediate_result.fun))
            if best["fun"] is None or loss_curve[-1] <= best["fun"]:
                best["x"] = np.array(intermediate_result.x, dtype=np.float64)
                best["fun"] = loss_curve[-1]
            if self.verbose:
                _, grad = cost(intermediate_result.x)
                print(
                    f"{len(loss_curve):>6d} {loss_curve[-1]:>14.8f} "
                    f"{np.linalg.norm(grad):>12.4e} "
                    f"{time.perf_counter() - start:>10.3f}"
                )

        if self.solver == "L-BFGS-B":
            options = {
                "maxiter": self.max_iter,
                "gtol": self.tol,
                "ftol": 0.0,
                "maxfun": 15000,
            }
            tol = None
        else:
            options = {"maxiter": self.max_iter}
            tol = self.tol
        with _blas_thread_limit(X.shape[0], nn_params.shape[0]):
            try:
                result = minimize(
                    cost,
                    nn_params,
                    method=self.solver,
                    jac=True,
                    tol=tol,
                    options=options,
                    callback=callback,
                )
                if result.nit < self.max_iter:
                    with contextlib.suppress(_NonFiniteCostError):
                        x, _ = _newton_polish(cost, result.x, self.tol)
                        if x is not result.x:
                            result.x, result.fun = x, cost(x)[0]
            except _NonFiniteCostError:
                raise ValueError(
                    _non_finite_message(len(loss_curve), X.dtype)
                ) from None
            except KeyboardInterrupt:
                return self._interrupted_result(best, cost, loss_curve), loss_curve
            _warn_if_stalled(
                self, self.solver, result, result.nit, cost(result.x)[1], X.dtype
            )
        return result, loss_curve

    def _interrupted_result(self, best, cost, loss_curve):
        """The result to keep after Ctrl-C: the best iterate seen, with a warning."""
        if best["fun"] is None:
            best["fun"] = float(cost(best["x"])[0])
        warnings.warn(
            _interrupted_message(len(loss_curve), self.max_iter, best["fun"]),
            ConvergenceWarning,
            stacklevel=_caller_stacklevel(),
        )
        return OptimizeResult(
            x=best["x"],
            fun=best["fun"],
            nit=len(loss_curve),
            success=False,
            message="Interrupted by KeyboardInterrupt.",
        )

    # ------------------------------------------------------------------
    # Prediction
    # ------------------------------------------------------------------

    def _output_z(self, X):
        """Forward-propagate ``X``; return ``z(L)``, the output units' inputs."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        a = X
        with np.errstate(over="ignore", invalid="ignore"):  # checked below
            for i, theta in enumerate(self.thetas_):
                z = forward_layer(a, theta)
                if i < len(self.thetas_) - 1:
                    a = expit(z, out=z)
        _check_forward_not_nan(z)
        return z

    def _is_multilabel(self):
        return self._label_binarizer.y_type_ == "multilabel-indicator"

    def decision_function(self, X):
        """The output units' inputs ``z(L)`` (log-odds of each output unit).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            For binary targets, the log-odds of the positive class
            ``classes_[1]``; otherwise one column per class or label.
        """
        z = self._output_z(X)
        if z.shape[1] == 1 and not self._is_multilabel():
            return z.ravel()
        return z

    def predict_proba(self, X):
        """Class probabilities.

        For binary and multiclass targets the rows sum to 1: the one-vs-all
        sigmoid outputs ``h_k(x)`` are normalised by their sum. For a
        multilabel target each column is the independent probability of its
        label, ``h_k(x)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probabilities, columns in the order of ``classes_``.
        """
        return np.exp(self.predict_log_proba(X))

    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`, computed without ``log(0)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
        """
        z = self._output_z(X)
        if self._is_multilabel():
            return log_expit(z)
        if z.shape[1] == 1:
            return np.hstack([log_expit(-z), log_expit(z)])
        log_h = log_expit(z)
        return log_h - logsumexp(log_h, axis=1, keepdims=True)

    def predict(self, X):
        """Predict class labels (or a label indicator matrix for multilabel).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_labels)
            The class with the largest output ``h_k(x)``; for multilabel
            targets, each label whose ``h_k(x)`` exceeds 0.5.
        """
        z = self._output_z(X)
        if self._is_multilabel():
            return (z > 0).astype(self._label_binarizer.classes_.dtype)
        if z.shape[1] == 1:
            return self.classes_[(z.ravel() > 0).astype(int)]
        return self.classes_[np.argmax(z, axis=1)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags
