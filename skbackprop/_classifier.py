"""BackpropClassifier: the course's network as a scikit-learn estimator.

A thin shell around :mod:`skbackprop.backprop`: validate the parameters and
the data, encode the labels, hand the unrolled parameters and
:func:`~skbackprop.backprop.cost_function` to :func:`scipy.optimize.minimize`,
and store the results.
"""

import collections
import contextlib
import functools
import numbers
import os
import sys
import time
import warnings

import numpy as np
from scipy.optimize import minimize, newton_krylov
from scipy.special import log_expit, logsumexp
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import check_random_state, check_scalar
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data
from threadpoolctl import ThreadpoolController

from ._compat import HAS_SKLEARN_CALLBACKS as _HAS_SKLEARN_CALLBACKS
from ._compat import (
    CallbackSupportMixin,
    NoConvergence,
    compute_class_weight,
    with_callbacks,
)
from .backprop import (
    ACTIVATIONS,
    OUTPUT_ACTIVATIONS,
    _compute_dtype,
    forward_propagate,
    init_thetas,
    make_cost_function,
    make_hessian_vector_product,
    roll,
    unroll,
)

#: Below this many floating-point operations per cost evaluation, numpy's BLAS
#: (the evaluation's matrix products) runs on one thread during fit. Set it to
#: 0 to leave numpy's BLAS threads alone for every problem size.
_SINGLE_THREAD_FLOPS = 1e9


def _blas_thread_limit(n_samples, n_params):
    """Context manager applying the BLAS thread policy for one fit.

    The policy only ever lowers thread counts, so a user's own limits
    (``threadpoolctl.threadpool_limits(...)`` around ``fit``, or
    ``OPENBLAS_NUM_THREADS``/``OMP_NUM_THREADS``) always hold:

    * numpy's BLAS, which runs the evaluation's matrix products, is limited
      to one thread when an evaluation costs fewer than
      ``_SINGLE_THREAD_FLOPS`` (estimated as ``6 * n_samples * n_params``:
      forward and two backward products). On small matrices the
      synchronisation of a second thread costs more than it gains; on large
      ones the second core pays. On the idle 2-core reference machine, inside
      L-BFGS-B: the digits (2e7 flops) 2.71 ms per evaluation on two threads
      against 0.87 on one; 8000 MNIST rows with 100 hidden units (3.8e9)
      40.5 ms on two against 71.7 on one (docs/performance.rst). On a
      machine whose cores are busy with other work, two threads are slower
      at every size measured: limit them yourself there.
    * Any other BLAS (scipy's wheels bundle a second OpenBLAS, which
      ``L-BFGS-B`` uses for its vector updates) is limited to one thread:
      that work is a few vector operations per iteration, and the idle
      worker threads of a second pool spin on the cores that numpy's
      products need (1.8x slower per evaluation on 8000 MNIST rows).

    Set ``_SINGLE_THREAD_FLOPS = 0`` in this module to keep numpy's BLAS
    threads as they are whatever the problem size.
    """
    controller = _threadpool_controller()
    blas = controller.select(user_api="blas")
    if 6.0 * n_samples * n_params < _SINGLE_THREAD_FLOPS:
        return blas.limit(limits=1)
    others = [lib.filepath for lib in blas.lib_controllers if not _is_numpy_blas(lib)]
    if not others or len(others) == len(blas.lib_controllers):
        # One BLAS shared by numpy and scipy (conda, a system library): it runs
        # the products, so it keeps its threads.
        return contextlib.nullcontext()
    return controller.select(filepath=others).limit(limits=1)


@functools.lru_cache(maxsize=1)
def _threadpool_controller():
    """The process's thread pools, scanned once (a scan takes ~10 ms).

    numpy's and scipy's BLAS are loaded when this module is imported, so a
    library loaded later (which the cached scan would miss) is none of them.
    """
    return ThreadpoolController()


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
    """Refuse NaN/inf real parameters, bools for ints, bad class weights.

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
    class_weight = getattr(est, "class_weight", None)
    if isinstance(class_weight, dict):
        for label, weight in class_weight.items():
            if (
                isinstance(weight, (bool, np.bool_))
                or not isinstance(weight, numbers.Real)
                or not np.isfinite(weight)
                or weight < 0
            ):
                raise ValueError(
                    "class_weight must map each class to a finite number >= 0; "
                    f"got {weight!r} for class {label!r}."
                )


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
_SOLVERS = (
    "L-BFGS-B",
    "CG",
    "BFGS",
    "TNC",
    "Newton-CG",
    "trust-ncg",
    "trust-krylov",
)
#: The solvers that use exact Hessian-vector products (``hessp``).
_HESSP_SOLVERS = ("Newton-CG", "trust-ncg", "trust-krylov")
#: BFGS keeps a dense ``n_params x n_params`` inverse-Hessian estimate, which
#: scipy updates with two dense matrix products per iteration (~4 n_params^3
#: flops: about 1 s per iteration at 2000 parameters on one core). Warn above
#: this many parameters (8 MB, ~4 Gflop per iteration).
_BFGS_WARN_PARAMS = 1000


def _canonical_solver(solver):
    """The spelling of ``_SOLVERS`` matching ``solver`` (case-insensitive), or None."""
    if isinstance(solver, str):
        for name in _SOLVERS:
            if name.lower() == solver.lower():
                return name
    return None


class _StopTrainingError(Exception):
    """Raised from the optimizer's callback to end training; carries the reason."""

    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


class _Evaluations:
    """Count the cost and Hessian-vector evaluations, remembering the latest ones.

    The optimizer's callback needs ``J`` and the gradient at the iterate
    ``x_k``; every solver has just evaluated it there (TNC passes only
    ``x_k``), so they are looked up instead of computed again.
    """

    def __init__(self, fun, hessp=None, cache_size=4):
        self._fun = fun
        self._hessp = hessp
        self._cache = collections.deque(maxlen=cache_size)
        self.n_fun = 0
        self.n_hessp = 0
        self._hessp_x = self._hessp_at_x = None

    def __call__(self, x):
        if not np.all(np.isfinite(x)):
            # trust-krylov's subproblem solver can break down to a NaN step
            # once the gradient is tiny: keep the last iterate instead.
            raise _StopTrainingError("breakdown")
        return self.evaluate(x)

    def evaluate(self, x):
        """``(J, grad)`` at ``x``, counted and remembered."""
        J, grad = self._fun(x)
        self.n_fun += 1
        self._cache.append((x.copy(), J, grad))
        return J, grad

    def hessp(self, x, v):
        # The solvers ask for many products at one x: build its passes once.
        if self._hessp_x is None or not np.array_equal(self._hessp_x, x):
            self._hessp_x, self._hessp_at_x = x.copy(), self._hessp(x)
        self.n_hessp += 1
        return self._hessp_at_x(v)

    def at(self, x):
        """``(J, grad)`` at ``x``, from the cache when already evaluated."""
        for x_seen, J, grad in reversed(self._cache):
            if np.array_equal(x_seen, x):
                return J, grad
        return self.evaluate(x)


class _IterationCallbacks:
    """Forward each optimizer iteration to scikit-learn's callbacks.

    Mirrors scikit-learn's ``_LbfgsCallbackBridge`` of ``LogisticRegression``:
    each iteration is a subtask of the fit task; when the optimizer reports an
    iteration, the running subtask ends and the next one begins. ``close``
    ends the last, never-run subtask as an empty task.
    """

    def __init__(self, callback_ctx, estimator, X, y, metadata, layer_sizes, x0):
        self._ctx = callback_ctx
        self._estimator = estimator
        self._X = X
        self._y = y
        self._metadata = metadata
        self._layer_sizes = layer_sizes
        self._iter_ctx = self._begin(x0, 0)

    def _attributes(self, x, n_iter):
        def reconstruct():
            thetas = [t.copy() for t in roll(x, self._layer_sizes)]
            return {
                "thetas_": thetas,
                "layer_sizes_": self._layer_sizes,
                "n_iter_": n_iter,
            }

        return reconstruct

    def _begin(self, x, n_iter):
        ctx = self._ctx.subcontext(task_name="iteration")
        ctx.call_on_fit_task_begin(
            estimator=self._estimator,
            X=self._X,
            y=self._y,
            metadata=self._metadata,
            reconstruction_attributes=self._attributes(x.copy(), n_iter),
        )
        return ctx

    def iteration_done(self, x, n_iter):
        """End iteration ``n_iter`` at ``x``; return True if a callback asks to stop."""
        x = x.copy()
        stop = self._iter_ctx.call_on_fit_task_end(
            estimator=self._estimator,
            X=self._X,
            y=self._y,
            metadata=self._metadata,
            reconstruction_attributes=self._attributes(x, n_iter),
        )
        self._iter_ctx = self._begin(x, n_iter)
        return stop

    def close(self):
        self._iter_ctx.call_on_fit_task_end(estimator=self._estimator)


class BackpropClassifier(CallbackSupportMixin, ClassifierMixin, BaseEstimator):
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
    float64); anything else is converted to float64.

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
        (L-BFGS-B's ``gtol``; the ``tol`` of :func:`scipy.optimize.minimize`
        for the other solvers, which for ``"Newton-CG"`` bounds the step).
        L-BFGS-B also stops when ``J`` no longer decreases at all. The small
        default trains to convergence, so that fits that differ only by
        rounding (rows in another order, integer sample weights instead of
        repeated rows) agree to about 1e-8; raise it (say to 1e-5) for
        faster, looser fits. With ``early_stopping``, also the least gain in
        validation score that counts as an improvement.
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
        Pearlmutter's R-operator) as ``hessp``; those products take all rows
        at once, whatever ``batch_size``. scipy's ``"trust-krylov"`` (the
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
        ``J``, the norm of its gradient, the validation score (with
        ``early_stopping``) and the time since the start of ``fit``.
        0 prints nothing.
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
        has a single sample),
        score the network on it (accuracy, weighted by ``sample_weight``)
        after every optimizer iteration, for every solver, and stop when the
        score has not improved by more than ``tol`` for ``n_iter_no_change``
        consecutive iterations. The weights with the best score are kept (of
        equal scores, the latest: accuracy on a small hold-out often stays
        flat for many quasi-Newton iterations).
    validation_fraction : float, default=0.1
        Fraction of the training data held out when ``early_stopping``;
        strictly between 0 and 1.
    n_iter_no_change : int, default=10
        With ``early_stopping``, the number of consecutive iterations without
        improvement after which training stops.
    max_fun : int, default=15000
        Maximum number of cost (and gradient) evaluations, as in
        :class:`~sklearn.neural_network.MLPClassifier`, for every solver.
        It is checked after each iteration (L-BFGS-B and TNC also check it
        themselves), so the last iteration's line search may go a few
        evaluations past it. Hessian-vector products are not counted (see
        ``n_hessp_evals_``). A :class:`~sklearn.exceptions.ConvergenceWarning`
        is raised when it is reached.

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
    n_fun_evals_ : int
        Number of cost-and-gradient evaluations during fit (the optimizer's,
        plus those of the final Newton refinement).
    n_hessp_evals_ : int
        Number of Hessian-vector products (0 for first-order solvers).
    loss_ : float
        The cost ``J`` at ``thetas_`` (on the training part of the data when
        ``early_stopping``).
    loss_curve_ : list of float
        ``J`` after each iteration.
    validation_scores_ : list of float or None
        With ``early_stopping``, the validation score after each iteration;
        otherwise None.
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

    When the optimizer stops before ``max_iter`` on its own, the minimum is
    refined by a few Newton-Krylov steps on the gradient (kept only if they
    lower the gradient without raising ``J``); not after early stopping.

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
        if _canonical_solver(self.solver) is None:
            raise ValueError(
                "solver must be one of the gradient-based scipy.optimize.minimize "
                f"methods {', '.join(map(repr, _SOLVERS))}; got {self.solver!r}."
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
        if self.activation not in ACTIVATIONS:
            raise ValueError(
                f"activation must be one of {', '.join(map(repr, ACTIVATIONS))}; "
                f"got {self.activation!r}."
            )
        if self.output_activation not in OUTPUT_ACTIVATIONS:
            raise ValueError(
                "output_activation must be one of "
                f"{', '.join(map(repr, OUTPUT_ACTIVATIONS))}; "
                f"got {self.output_activation!r}."
            )
        cw = self.class_weight
        if not (cw is None or isinstance(cw, dict) or cw == "balanced"):
            raise ValueError(
                f"class_weight must be None, 'balanced' or a dict; got {cw!r}."
            )
        if not isinstance(self.early_stopping, (bool, np.bool_)):
            raise TypeError(
                f"early_stopping must be a bool, got {self.early_stopping!r}."
            )
        check_scalar(
            self.validation_fraction,
            "validation_fraction",
            numbers.Real,
            min_val=0.0,
            max_val=1.0,
            include_boundaries="neither",
        )
        check_scalar(
            self.n_iter_no_change, "n_iter_no_change", numbers.Integral, min_val=1
        )
        check_scalar(self.max_fun, "max_fun", numbers.Integral, min_val=1)
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
        # One byte per entry: the cost casts a chunk of rows at a time, so the
        # indicator matrix is the only per-sample array the fit keeps.
        Y = self._label_binarizer.transform(y).astype(np.uint8)
        if self.output_activation == "softmax":
            if self._label_binarizer.y_type_ == "multilabel-indicator":
                raise ValueError(
                    "output_activation='softmax' needs one label per sample (binary "
                    "or multiclass y), but y is a multilabel indicator matrix; use "
                    "output_activation='sigmoid' for multilabel targets."
                )
            if Y.shape[1] == 1:  # binary: one softmax unit per class
                Y = np.hstack([1 - Y, Y])
        return Y

    def _class_sample_weight(self, y, sample_weight):
        """Fold ``class_weight`` into the per-sample weights (None if both unset)."""
        if self.class_weight is None:
            return sample_weight
        if self._label_binarizer.y_type_ == "multilabel-indicator":
            raise ValueError(
                "class_weight is not supported for multilabel y; pass "
                "sample_weight instead."
            )
        y = column_or_1d(y)
        classes = self._label_binarizer.classes_
        with np.errstate(divide="ignore", invalid="ignore"):
            weights = compute_class_weight(
                self.class_weight, classes=classes, y=y, sample_weight=sample_weight
            )
        # "balanced" gives a class whose samples all weigh 0 an infinite
        # weight; those samples count for nothing either way.
        weights = np.asarray(weights, dtype=np.float64)
        weights[~np.isfinite(weights)] = 0.0
        per_sample = weights[np.searchsorted(classes, y)]
        return per_sample if sample_weight is None else per_sample * sample_weight

    # ------------------------------------------------------------------
    # Fitting
    # ------------------------------------------------------------------

    @_unchanged_on_error
    @with_callbacks
    def fit(self, X, y, sample_weight=None):
        """Train the network by minimising the regularised cost.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data; a sparse matrix is used as CSR or CSC without
            densifying it, float32 data is computed in float32.
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            Class labels of any type, or a multilabel 0/1 indicator matrix.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each sample. The cost's ``m`` becomes
            ``sum(sample_weight)``. Multiplied by ``class_weight``.

        Returns
        -------
        self : BackpropClassifier
            The fitted estimator.
        """
        hidden = self._validate_params()
        solver = _canonical_solver(self.solver)
        warm = self.warm_start and hasattr(self, "thetas_")
        X, y = validate_data(
            self,
            X,
            y,
            multi_output=True,
            accept_sparse=("csr", "csc"),
            dtype=(np.float64, np.float32),
            reset=not warm,
        )
        sample_weight = self._validate_sample_weight(sample_weight, X.shape[0])
        user_sample_weight = sample_weight
        Y = self._encode_targets(y, refit_classes=not warm)
        sample_weight = self._class_sample_weight(y, sample_weight)

        layer_sizes = (X.shape[1], *hidden, Y.shape[1])
        rng = check_random_state(self.random_state)
        if warm and tuple(self.layer_sizes_) == layer_sizes:
            nn_params = unroll(self.thetas_)
        elif warm:
            raise ValueError(
                "warm_start needs the same layer sizes as the previous fit: "
                f"previously {self.layer_sizes_}, now {layer_sizes}."
            )
        else:
            nn_params = unroll(init_thetas(layer_sizes, self.epsilon_init, rng))

        n_params = nn_params.shape[0]
        if solver == "BFGS" and n_params > _BFGS_WARN_PARAMS:
            warnings.warn(
                f"solver='BFGS' stores a dense {n_params} x {n_params} inverse "
                f"Hessian ({8 * n_params**2 / 2**20:.0f} MiB) and updates it with "
                f"dense matrix products (~{4 * n_params**3 / 1e9:.0f} Gflop per "
                "iteration); 'L-BFGS-B' needs O(n_params) memory and time per "
                "iteration.",
                UserWarning,
                stacklevel=_caller_stacklevel(),
            )

        validation = None
        if self.early_stopping:
            X, Y, y, sample_weight, validation = self._split_validation(
                X, Y, y, sample_weight, rng
            )

        callbacks = None
        if _HAS_SKLEARN_CALLBACKS:
            callback_ctx = self._init_callback_context(max_subtasks=self.max_iter + 1)
            metadata = (
                None
                if user_sample_weight is None
                else {"sample_weight": user_sample_weight}
            )
            callback_ctx.call_on_fit_task_begin(
                estimator=self, X=X, y=y, metadata=metadata
            )
            if hasattr(self, "_skl_callbacks"):  # as LogisticRegression does
                callbacks = _IterationCallbacks(
                    callback_ctx, self, X, y, metadata, layer_sizes, nn_params
                )

        self.layer_sizes_ = layer_sizes
        fit = self._minimize(
            solver, nn_params, layer_sizes, X, Y, sample_weight, validation, callbacks
        )

        self.thetas_ = [t.copy() for t in roll(fit["x"], layer_sizes)]
        if self.output_activation == "softmax":
            # softmax(z + c) == softmax(z): the unpenalised output biases are
            # defined only up to a common constant. Centre them, so that the
            # same minimum always gives the same decision_function.
            self.thetas_[-1][:, 0] -= self.thetas_[-1][:, 0].mean()
        self.n_iter_ = fit["n_iter"]
        self.n_fun_evals_ = fit["n_fun_evals"]
        self.n_hessp_evals_ = fit["n_hessp_evals"]
        self.loss_ = fit["loss"]
        self.loss_curve_ = fit["loss_curve"]
        self.validation_scores_ = fit["validation_scores"]
        self.best_validation_score_ = fit["best_validation_score"]
        if _HAS_SKLEARN_CALLBACKS:
            callback_ctx.call_on_fit_task_end(
                estimator=self,
                X=X,
                y=y,
                metadata=metadata,
                reconstruction_attributes={},
            )
        if fit["stopped"] == "max_iter":
            warnings.warn(
                f"{solver} reached max_iter={self.max_iter} iterations before "
                "converging. Increase max_iter or scale the data.",
                ConvergenceWarning,
                stacklevel=_caller_stacklevel(),
            )
        elif fit["stopped"] == "max_fun":
            warnings.warn(
                f"{solver} reached max_fun={self.max_fun} cost evaluations before "
                "converging. Increase max_fun or max_iter, or scale the data.",
                ConvergenceWarning,
                stacklevel=_caller_stacklevel(),
            )
        return self

    def _split_validation(self, X, Y, y, sample_weight, rng):
        """Hold out ``validation_fraction`` of the rows for early stopping.

        Stratified by class (at least one row of each class held out) where
        every class has two or more rows; otherwise, on tiny data, a plain
        random hold-out.
        """
        n_samples = X.shape[0]
        if n_samples < 2:
            raise ValueError(
                "early_stopping=True needs at least 2 samples to hold out a "
                f"validation set; got {n_samples}."
            )
        multilabel = self._is_multilabel()
        indices = np.arange(n_samples)
        n_val = min(
            max(int(np.ceil(self.validation_fraction * n_samples)), 1),
            n_samples - 1,
        )
        split = None
        if not multilabel:
            n_classes = len(self.classes_)
            n_val_stratified = max(n_val, n_classes)
            if n_samples - n_val_stratified >= n_classes:
                try:
                    split = train_test_split(
                        indices,
                        test_size=n_val_stratified,
                        stratify=y,
                        random_state=rng,
                    )
                except ValueError:  # a class with a single row
                    split = None
        if split is None:
            split = train_test_split(indices, test_size=n_val, random_state=rng)
        train, val = split
        sw_val = None if sample_weight is None else sample_weight[val]
        if sw_val is not None and not sw_val.sum() > 0:
            sw_val = None
        if sample_weight is not None:
            sample_weight = sample_weight[train]
            if not sample_weight.sum() > 0:
                raise ValueError(
                    "early_stopping=True left only samples of zero weight for "
                    "training; lower validation_fraction or change sample_weight."
                )
        validation = (X[val], y[val], sw_val)
        return X[train], Y[train], y[train], sample_weight, validation

    # ------------------------------------------------------------------
    # The objective and the optimizer
    # ------------------------------------------------------------------

    def _objective(self, layer_sizes, X, Y, sample_weight):
        """The function the optimizer minimises, ``nn_params -> (J, grad)``.

        The one place where the cost is built for training. A NaN or
        infinite ``J`` or gradient raises :class:`_NonFiniteCostError`.
        """
        return _finite_cost(
            make_cost_function(
                layer_sizes,
                X,
                Y,
                float(self.alpha),
                sample_weight,
                activation=self.activation,
                output_activation=self.output_activation,
                batch_size=self.batch_size,
            )
        )

    def _hessp(self, layer_sizes, X, Y, sample_weight):
        """``nn_params -> (v -> H v)``: exact Hessian-vector products of the cost."""
        return functools.partial(
            make_hessian_vector_product,
            layer_sizes=layer_sizes,
            X=X,
            Y=Y,
            alpha=float(self.alpha),
            sample_weight=sample_weight,
            activation=self.activation,
            output_activation=self.output_activation,
        )

    def _solver_options(self, solver):
        """``tol`` and ``options`` for :func:`scipy.optimize.minimize`."""
        if solver == "L-BFGS-B":
            options = {
                "maxiter": self.max_iter,
                "gtol": self.tol,
                "ftol": 0.0,
                "maxfun": self.max_fun,
            }
            return None, options
        if solver == "TNC":  # no maxiter option: the callback enforces it
            return self.tol, {"maxfun": self.max_fun}
        return self.tol, {"maxiter": self.max_iter}

    def _minimize(
        self, solver, nn_params, layer_sizes, X, Y, sample_weight, validation, callbacks
    ):
        """Run the optimizer with a per-iteration callback; return what fit stores.

        The callback records ``J``, prints the verbose table, scores the
        early-stopping hold-out and keeps the best weights, forwards the
        iteration to scikit-learn's callbacks, and stops the optimizer (by
        raising :class:`_StopTrainingError`) on early stopping, ``max_iter``,
        ``max_fun`` or a callback's request. Every solver gets it, whether it
        passes an ``OptimizeResult`` or only ``x_k`` (TNC).
        """
        evals = _Evaluations(
            self._objective(layer_sizes, X, Y, sample_weight),
            self._hessp(layer_sizes, X, Y, sample_weight),
        )
        loss_curve = []
        state = {"x": nn_params, "n_iter": 0}
        lowest = {"x": nn_params, "fun": None}  # kept on Ctrl-C
        early = None
        if validation is not None:
            early = {"scores": [], "best": -np.inf, "best_x": None, "no_change": 0}
        start = time.perf_counter()
        if self.verbose:
            header = f"{'iter':>6} {'J':>16} {'|grad|':>12}"
            if early is not None:
                header += f" {'val. score':>11}"
            print(header + f" {'time (s)':>10}")
            print("-" * len(header + f" {'time (s)':>10}"))

        def callback(intermediate_result):
            x = getattr(intermediate_result, "x", intermediate_result)
            J, grad = evals.at(x)
            state["x"] = x.copy()
            state["n_iter"] += 1
            n_iter = state["n_iter"]
            loss_curve.append(float(J))
            if lowest["fun"] is None or J <= lowest["fun"]:
                lowest["x"], lowest["fun"] = state["x"], float(J)
            line = f"{n_iter:>6d} {J:>16.10f} {np.linalg.norm(grad):>12.4e}"
            stop = None
            if early is not None:
                score = self._validation_score(x, layer_sizes, validation)
                early["scores"].append(score)
                line += f" {score:>11.6f}"
                if score >= early["best"]:
                    # Of equal scores keep the latest, most trained, weights.
                    early["best_x"] = x.copy()
                if score > early["best"] + self.tol:
                    early["best"] = score
                    early["no_change"] = 0
                else:
                    early["no_change"] += 1
                    if early["no_change"] >= self.n_iter_no_change:
                        stop = "early_stopping"
            if self.verbose:
                print(line + f" {time.perf_counter() - start:>10.3f}")
            if callbacks is not None and callbacks.iteration_done(x, n_iter):
                stop = stop or "callback"
            if stop is None and n_iter >= self.max_iter:
                stop = "max_iter"
            if stop is None and evals.n_fun >= self.max_fun:
                stop = "max_fun"
            if stop is not None:
                raise _StopTrainingError(stop)

        tol, options = self._solver_options(solver)
        stopped = None
        # trlib (trust-krylov) warns about the NaN of such a breakdown itself.
        quiet_trlib = (
            np.errstate(invalid="ignore", over="ignore")
            if solver == "trust-krylov"
            else contextlib.nullcontext()
        )
        try:
            with _blas_thread_limit(X.shape[0], nn_params.shape[0]), quiet_trlib:
                result = minimize(
                    evals,
                    nn_params,
                    method=solver,
                    jac=True,
                    hessp=evals.hessp if solver in _HESSP_SOLVERS else None,
                    tol=tol,
                    options=options,
                    callback=callback,
                )
            x = result.x
            n_iter = int(getattr(result, "nit", state["n_iter"]))
            if n_iter >= self.max_iter:
                stopped = "max_iter"
            elif evals.n_fun > self.max_fun:  # TNC stopping inside its line search
                stopped = "max_fun"
        except _StopTrainingError as stop:
            x, n_iter, stopped = state["x"], state["n_iter"], stop.reason
            result = None
        except _NonFiniteCostError:
            raise ValueError(_non_finite_message(state["n_iter"], X.dtype)) from None
        except KeyboardInterrupt:
            # Ctrl-C: keep the lowest J reached (the best validation score
            # with early stopping) and say so.
            x, n_iter, stopped = lowest["x"], state["n_iter"], "interrupted"
        finally:
            if callbacks is not None:
                callbacks.close()
        if stopped == "breakdown" and n_iter == 0:  # a NaN step, nothing learnt
            raise ValueError(_non_finite_message(0, X.dtype))

        if early is not None and early["best_x"] is not None:
            x = early["best_x"]
        elif stopped in (None, "breakdown") and np.all(np.isfinite(x)):
            with (
                _blas_thread_limit(X.shape[0], nn_params.shape[0]),
                contextlib.suppress(_NonFiniteCostError),
            ):
                x, _ = _newton_polish(evals.evaluate, x, self.tol)
            _warn_if_stalled(self, solver, result, n_iter, evals.at(x)[1], X.dtype)
        if stopped == "interrupted":
            warnings.warn(
                _interrupted_message(n_iter, self.max_iter, evals.at(x)[0]),
                ConvergenceWarning,
                stacklevel=_caller_stacklevel(),
            )
        if self.verbose and stopped == "early_stopping":
            scores = np.asarray(early["scores"])
            best = int(np.flatnonzero(scores == scores.max())[-1]) + 1
            print(
                f"Validation score did not improve for {self.n_iter_no_change} "
                f"iterations; keeping iteration {best} (score {early['best']:.6f})."
            )
        return {
            "x": x,
            "n_iter": n_iter,
            "n_fun_evals": evals.n_fun,
            "n_hessp_evals": evals.n_hessp,
            "loss": float(evals.at(x)[0]),
            "loss_curve": loss_curve,
            "stopped": stopped,
            "validation_scores": None if early is None else early["scores"],
            "best_validation_score": (
                None if early is None or early["best_x"] is None else early["best"]
            ),
        }

    def _validation_score(self, nn_params, layer_sizes, validation):
        """Accuracy on the early-stopping hold-out of the weights ``nn_params``."""
        X_val, y_val, sw_val = validation
        z = self._forward_z(roll(nn_params, layer_sizes), X_val)
        y_pred = self._labels_from_z(z)
        return float(accuracy_score(y_val, y_pred, sample_weight=sw_val))

    # ------------------------------------------------------------------
    # Prediction
    # ------------------------------------------------------------------

    def _forward_z(self, thetas, X):
        """``z(L)`` of the network ``thetas`` on validated ``X`` (in X's precision)."""
        dtype = _compute_dtype(X)
        thetas = [t.astype(dtype, copy=False) for t in thetas]
        return forward_propagate(thetas, X, self.activation)[1]

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

    def _is_multilabel(self):
        return self._label_binarizer.y_type_ == "multilabel-indicator"

    def _labels_from_z(self, z):
        """Predicted labels from the output units' inputs ``z(L)``."""
        if self._is_multilabel():
            return (z > 0).astype(self._label_binarizer.classes_.dtype)
        if z.shape[1] == 1:
            return self.classes_[(z.ravel() > 0).astype(int)]
        return self.classes_[np.argmax(z, axis=1)]

    def decision_function(self, X):
        """The output units' inputs ``z(L)`` (log-odds of each sigmoid output unit).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            For binary targets, the log-odds of the positive class
            ``classes_[1]`` (with a softmax output, ``z_1 - z_0``); otherwise
            one column per class or label.
        """
        z = self._output_z(X)
        if self._is_multilabel():
            return z
        if z.shape[1] == 1:
            return z.ravel()
        if len(self.classes_) == 2:  # softmax over two units
            return z[:, 1] - z[:, 0]
        return z

    def predict_proba(self, X):
        """Class probabilities.

        For binary and multiclass targets the rows sum to 1: the one-vs-all
        sigmoid outputs ``h_k(x)`` are normalised by their sum (with a softmax
        output, the softmax itself). For a multilabel target each column is
        the independent probability of its label, ``h_k(x)``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
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
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
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
        if self.output_activation == "softmax":
            return z - logsumexp(z, axis=1, keepdims=True)
        log_h = log_expit(z)
        return log_h - logsumexp(log_h, axis=1, keepdims=True)

    def predict(self, X):
        """Predict class labels (or a label indicator matrix for multilabel).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_labels)
            The class with the largest output ``h_k(x)``; for multilabel
            targets, each label whose ``h_k(x)`` exceeds 0.5.
        """
        return self._labels_from_z(self._output_z(X))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # A softmax gives one label per sample; class_weight is per class.
        tags.classifier_tags.multi_label = (
            self.output_activation != "softmax" and self.class_weight is None
        )
        tags.input_tags.sparse = True
        return tags
