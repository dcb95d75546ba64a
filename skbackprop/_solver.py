"""One optimisation loop: the unrolled parameters through ``scipy.optimize.minimize``.

:func:`minimize_network` is the counterpart of scikit-learn's
``_logistic_regression_path``: it owns the solver dispatch and options, runs
the optimizer on a :class:`~skbackprop._loss.NetworkLoss`, and handles what
can go wrong on the way (Ctrl-C, a NaN or infinite cost, a stalled line
search, the iteration and evaluation limits). After each iteration a
:class:`Monitor` records ``J``, scores the validation data (the early-stopping
hold-out or the user's ``X_val``), prints the verbose table, forwards the
iteration to scikit-learn's callbacks and decides whether to stop: by default
when ``J`` has stopped improving (the plateau rule). When the optimizer stops
on its own, a few Newton-Krylov steps refine the minimum.
"""

import collections
import contextlib
import functools
import os
import sys
import time
import warnings
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize, newton_krylov
from sklearn.exceptions import ConvergenceWarning

from ._blas import measured_blas_thread_limit
from ._compat import NoConvergence

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
#: flops); warn above this many parameters (8 MB, ~4 Gflop per iteration).
_BFGS_WARN_PARAMS = 1000
#: A solver that stops before ``max_iter`` on its own (or makes no progress
#: over ``n_iter_no_change`` iterations) gets a warning when the largest
#: gradient component is above this, by compute dtype: below it, J's
#: rounding hides any further decrease (the measurements are on the
#: reliability page).
_STALLED_GTOL = {np.dtype(np.float64): 1e-5, np.dtype(np.float32): 1e-3}
#: The optimizer's own stopping rule, whatever ``tol``: the largest gradient
#: component below this (L-BFGS-B's ``gtol``, with ``ftol=0``: it also stops
#: when J no longer decreases at all; the ``tol`` of the other methods). With
#: ``tol=0`` (no plateau rule) it is the whole rule, the tight fit that rows
#: repeated or weighted, shuffled or not, agree on to ~1e-8 (then polished).
_GTOL = 1e-10
#: ``tol="auto"``: the plateau rule's least fall of J over ``n_iter_no_change``
#: iterations, as a share of its fall below the constant prediction's cost
#: (chosen on the performance page's study, the same for both estimators):
#: ``_AUTO_TOL`` up to ``_AUTO_TOL_SIZES[0]`` rows x weights, rising
#: log-linearly to ``_AUTO_TOL_LARGE`` at ``_AUTO_TOL_SIZES[1]`` and above. A
#: small fit costs little per iteration and its held-out score keeps moving
#: longer; on a large one (MNIST) the score settles long before J does.
_AUTO_TOL = 1.5e-4
_AUTO_TOL_LARGE = 2e-2
_AUTO_TOL_SIZES = (1e7, 1e8)
#: ``tol="auto"`` with ``early_stopping``: the least gain in validation score
#: (accuracy, R²) that counts as an improvement.
_AUTO_SCORE_TOL = 3e-3
#: ``tol="auto"`` fits a problem of at most this many rows x parameters tight
#: (``tol=0``): a tight fit of it costs at most about half a second, and
#: only a tight fit ends where fits differing by rounding also end (see
#: :func:`resolve_tol`).
_TINY_FIT = 5e4


def _sci(value):
    """``value`` as the docs write it: 1.5e-4, 2e-2, 1e7."""
    mantissa, exponent = f"{value:.1e}".split("e")
    return f"{mantissa.removesuffix('.0')}e{int(exponent)}"


def auto_tol_doc():
    """``tol="auto"``'s schedule in words, from these constants (the
    estimators' docstrings state it from here)."""
    small, large = _AUTO_TOL_SIZES
    return (
        f'``"auto"`` is ``tol={_sci(_AUTO_TOL)}`` up to {_sci(small)} training '
        f"rows times weights, rising log-linearly to {_sci(_AUTO_TOL_LARGE)} at "
        f"{_sci(large)} and above"
    )


def auto_score_tol_doc():
    """``tol="auto"`` with early stopping, in words (for the docstrings)."""
    return f'{_sci(_AUTO_SCORE_TOL)} for ``"auto"``, 0 on tiny problems'


def tiny_fit_doc():
    """The size of a tiny problem, in words (for the docstrings)."""
    return f"rows times weights at most {_sci(_TINY_FIT)}"


def canonical_solver(solver):
    """The spelling of ``_SOLVERS`` matching ``solver`` (case-insensitive), or None."""
    if isinstance(solver, str):
        for name in _SOLVERS:
            if name.lower() == solver.lower():
                return name
    return None


def auto_tol(size):
    """The plateau rule's ``tol="auto"`` for a fit of ``size`` rows x weights."""
    small, large = _AUTO_TOL_SIZES
    if size <= small:
        return _AUTO_TOL
    if size >= large:
        return _AUTO_TOL_LARGE
    share = np.log(size / small) / np.log(large / small)
    return float(_AUTO_TOL * (_AUTO_TOL_LARGE / _AUTO_TOL) ** share)


def resolve_tol(tol, n_samples, n_params, *, early_stopping=False):
    """The ``tol`` for a fit of ``n_samples`` rows, ``n_params`` weights.

    A number is used as it is. ``"auto"`` gives the plateau rule's
    :func:`auto_tol`, or early stopping's ``_AUTO_SCORE_TOL``, except on a
    tiny problem (``n_samples * n_params <= _TINY_FIT``, a few hundred
    microseconds per evaluation), which is fit tight (0): there the
    optimizer runs until J stops decreasing, then the Newton polish pins the
    minimum down. A stop partway down the slope depends on the optimizer's
    path, and rounding differences (rows repeated instead of weighted, in
    another order) change a non-convex path by more than 1e-7 within a few
    dozen iterations; only a converged fit ends in the same place.
    """
    if isinstance(tol, str):  # "auto", checked by check_params
        if n_samples * n_params <= _TINY_FIT:
            return 0.0
        if early_stopping:
            return _AUTO_SCORE_TOL
        return auto_tol(n_samples * n_params)
    return float(tol)


@dataclass(frozen=True)
class SolverSettings:
    """What the optimizer is asked to do: the method and its limits.

    ``tol`` is the plateau rule's relative fall of ``J`` (the monitor's, see
    :class:`Monitor`); the optimizer itself always runs to the gradient
    tolerance ``_GTOL``, which the plateau rule usually stops well before.
    ``settled_tol``: the ``tol`` at which a fit that reaches ``max_iter`` is
    settled enough to need no warning (``tol`` itself, but
    :func:`auto_tol` for a tiny problem fit tight by ``tol="auto"``; 0: any
    fit that reaches ``max_iter`` is warned about). ``scaled``: whether the
    data are known to be scaled already (then no warning advises scaling).
    """

    solver: str
    max_iter: int
    tol: float
    max_fun: int
    settled_tol: float = 0.0
    scaled: bool = False

    def limit_reached(self, n_iter, n_fun):
        """``"max_iter"`` or ``"max_fun"`` when that limit is reached, else None.

        The one place the limits are compared, wherever the fit stops.
        """
        if n_iter >= self.max_iter:
            return "max_iter"
        if n_fun >= self.max_fun:
            return "max_fun"
        return None

    def minimize_options(self):
        """``tol`` and ``options`` for :func:`scipy.optimize.minimize`."""
        if self.solver == "L-BFGS-B":
            options = {
                "maxiter": self.max_iter,
                "gtol": _GTOL,
                "ftol": 0.0,
                "maxfun": self.max_fun,
            }
            return None, options
        if self.solver == "TNC":  # no maxiter option: the monitor enforces it
            return _GTOL, {"maxfun": self.max_fun}
        return _GTOL, {"maxiter": self.max_iter}


@dataclass
class NetworkFit:
    """What a fit stores: the weights, the counts, the curves, why it stopped."""

    x: np.ndarray
    n_iter: int
    n_fun_evals: int
    n_hessp_evals: int
    loss: float
    loss_curve: list
    stopped: object  # None, or the reason the optimizer was stopped
    stop_reason: str  # the fitted ``stop_reason_`` (Monitor.report_stop says each)
    settled: bool  # at max_iter or max_fun, J had settled: no warning
    validation_scores: object
    best_validation_score: object
    validation_loss_curve: object


# ---------------------------------------------------------------------------
# Messages and warnings
# ---------------------------------------------------------------------------

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep
_SKLEARN_CALLBACK_DIR = os.sep + os.path.join("sklearn", "callback") + os.sep


def caller_stacklevel():
    """The ``stacklevel`` at which a warning points at the code that called fit.

    Counts the frames inside skbackprop and scikit-learn's callback
    decorator, whatever their number, so warnings name the user's line.
    """
    level, frame = 1, sys._getframe(1)
    while frame is not None:
        filename = os.path.abspath(frame.f_code.co_filename)
        if not (filename.startswith(_PACKAGE_DIR) or _SKLEARN_CALLBACK_DIR in filename):
            break
        level, frame = level + 1, frame.f_back
    return level


def _warn(message, category=ConvergenceWarning):
    warnings.warn(message, category, stacklevel=caller_stacklevel())


def warn_if_bfgs_is_large(solver, n_params):
    """Say what BFGS's dense inverse Hessian costs on a large network."""
    if solver == "BFGS" and n_params > _BFGS_WARN_PARAMS:
        _warn(
            f"solver='BFGS' stores a dense {n_params} x {n_params} inverse "
            f"Hessian ({8 * n_params**2 / 2**20:.0f} MiB) and updates it with "
            f"dense matrix products (~{4 * n_params**3 / 1e9:.0f} Gflop per "
            "iteration); 'L-BFGS-B' needs O(n_params) memory and time per "
            "iteration.",
            UserWarning,
        )


def _non_finite_message(n_iter, dtype, penalty=None):
    """The "scale the data" error; ``penalty``: alpha / (2 sum(sample_weight))."""
    message = (
        "The cost J, its gradient or the optimizer's step became NaN or "
        f"infinite after {n_iter} iterations: the data (or alpha, or "
        f"epsilon_init) are too large for {np.dtype(dtype)} arithmetic. Scale "
        "the data (e.g. with StandardScaler) or lower alpha."
    )
    if penalty is not None:
        message += (
            " With sample_weight, J's penalty is alpha / (2 sum(sample_weight)) "
            f"= {penalty:.3g} times the sum of the squared Theta entries: tiny "
            "sample weights act as a huge alpha (scale sample_weight up)."
        )
    return message


def _penalty_factor(loss, sample_weight):
    """``alpha / (2 sum(sample_weight))``, or None without sample weights."""
    if sample_weight is None:
        return None
    with np.errstate(over="ignore", divide="ignore"):
        return float(loss.alpha / (2.0 * np.sum(sample_weight)))


def _interrupted_message(n_iter, max_iter, loss):
    return (
        f"Training was interrupted (KeyboardInterrupt) after {n_iter} of at most "
        f"{max_iter} iterations; the model keeps the best weights reached so far "
        f"(J = {loss:.6g}). Call fit again to train further (warm_start=True "
        "continues from them)."
    )


def _stall_reason(solver, result, stopped=None):
    """Why the optimizer stopped, in words, from scipy's ``OptimizeResult``.

    A failed line search is status 2 in L-BFGS-B, CG, BFGS and Newton-CG,
    status 4 in TNC; L-BFGS-B's success with ``ftol=0`` means J did not
    decrease at all. ``result`` is None after a breakdown (a NaN step) and
    when the monitor saw J stop decreasing (``stopped == "stalled"``).
    """
    status = getattr(result, "status", None)
    if stopped == "stalled":
        return "J did not decrease in the last iterations"
    if result is None:
        return "its step became NaN or infinite"
    if (status == 2 and solver in ("L-BFGS-B", "CG", "BFGS", "Newton-CG")) or (
        status == 4 and solver == "TNC"
    ):
        return "its line search could not lower J"
    if status == 0 and solver == "L-BFGS-B":
        return "J stopped decreasing"
    return "the optimizer gave up"


def _warn_if_stalled(settings, result, n_iter, grad, dtype, kinked, stopped=None):
    """Warn when the optimizer stopped on its own away from a minimum.

    ``kinked``: J has kinks (relu units), so its minima need not have a zero
    gradient and no warning is given. Returns whether it warned.
    """
    if n_iter >= settings.max_iter or kinked:
        return False  # the max_iter warning says it
    gmax = float(np.max(np.abs(grad)))
    if not gmax > _STALLED_GTOL.get(np.dtype(dtype), 1e-3):
        return False
    message = str(getattr(result, "message", "")).strip()
    advice = (
        "Use a moderate alpha, or try another solver."
        if settings.scaled
        else "Scale the data (e.g. with StandardScaler), use a moderate alpha, "
        "or try another solver."
    )
    _warn(
        f"{settings.solver} stopped before converging, at iteration {n_iter}: "
        f"{_stall_reason(settings.solver, result, stopped)}"
        + (f" (scipy says {message!r})" if message else "")
        + f", but the largest gradient component is still {gmax:.3g}, so the "
        f"weights may not be a minimum. {advice}"
    )
    return True


def warn_if_limit_reached(settings, fit):
    """Warn when ``max_iter`` or ``max_fun`` ended an unsettled fit (once stored).

    No warning when ``J`` had settled by then (``fit.settled``): more
    iterations would not change the answer.
    """
    if fit.settled or fit.stopped not in ("max_iter", "max_fun"):
        return
    scale = "" if settings.scaled else ", or scale the data"
    if fit.stopped == "max_iter":
        _warn(
            f"{settings.solver} reached max_iter={settings.max_iter} iterations "
            f"before converging. Increase max_iter{scale}."
        )
    else:
        _warn(
            f"{settings.solver} reached max_fun={settings.max_fun} cost evaluations "
            f"before converging (after {fit.n_iter} iterations). Increase "
            f"max_fun{scale}."
        )


# ---------------------------------------------------------------------------
# Evaluations and the per-iteration monitor
# ---------------------------------------------------------------------------


class _StopTrainingError(Exception):
    """Raised from the optimizer's callback to end training; carries the reason."""

    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


class _NonFiniteCostError(ArithmeticError):
    """The cost or its gradient came out NaN or infinite."""


class _Evaluations:
    """Count the cost and Hessian-vector evaluations, remembering the latest ones.

    The optimizer's callback needs ``J`` and the gradient at the iterate
    ``x_k``; every solver has just evaluated it there (TNC passes only
    ``x_k``), so they are looked up instead of computed again. A NaN or
    infinite ``J`` or gradient raises :class:`_NonFiniteCostError`; numpy's
    floating-point warnings are silenced inside the cost, since an overflow
    that leaves both finite (a saturated unit) is harmless.
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
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            J, grad = self._fun(x)
        self.n_fun += 1
        if not (np.isfinite(J) and np.all(np.isfinite(grad))):
            raise _NonFiniteCostError
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


class Monitor:
    """What happens after each iteration, and the state it keeps.

    Records ``J`` (``loss_curve``) and the lowest-``J`` iterate (kept on
    Ctrl-C), with ``J`` of every iterate it keeps (``J``, ``lowest_J``,
    ``best_J``), so that nothing need be evaluated after an interrupt. With
    a ``validate`` function (``x -> (score, loss)`` on the validation data)
    records the validation score and loss; with
    ``early_stopping`` also keeps the best-scoring weights (of equal scores,
    the latest) and asks to stop after ``n_iter_no_change`` iterations
    without a gain in score above ``tol``. Without ``early_stopping`` it asks
    to stop on a plateau of ``J`` (:meth:`plateau`). It prints the verbose
    table, forwards the iteration to scikit-learn's callbacks, and asks to
    stop at ``max_iter`` or ``max_fun``.
    """

    def __init__(
        self,
        settings,
        *,
        verbose=0,
        validate=None,
        early_stopping=False,
        n_iter_no_change=10,
        callbacks=None,
    ):
        self.settings = settings
        self.verbose = verbose
        self.validate = validate
        self.early_stopping = early_stopping
        self.n_iter_no_change = n_iter_no_change
        self.callbacks = callbacks
        self.loss_curve = []
        self.n_iter = 0
        self.scores = None if validate is None else []
        self.validation_losses = None if validate is None else []
        self.best_score = -np.inf
        self.best_x = self.best_J = None
        self._no_change = 0

    def start(self, x0, J_constant=None):
        """Begin at ``x0``: print the verbose table's header.

        ``J_constant``: the cost of the constant prediction
        (:meth:`~skbackprop._loss.NetworkLoss.constant_loss`), which the
        plateau rule measures ``J``'s fall from.
        """
        self.x = self.lowest_x = x0
        self.J = self.lowest_J = None  # J at x0 is not known yet
        self.J_constant = J_constant
        self._trial_from = None
        self._start = time.perf_counter()
        if self.verbose:
            header = f"{'iter':>6} {'J':>16} {'|grad|':>12}"
            if self.validate is not None:
                header += f" {'val. loss':>12} {'val. score':>11}"
            header += f" {'time (s)':>10}"
            print(header)
            print("-" * len(header))

    def iteration(self, x, J, grad, n_fun):
        """Record the iterate ``x``; return why to stop, or None to go on.

        The iteration is recorded whole or not at all: the validation data
        are scored first (a Ctrl-C there leaves every record at the previous
        iteration), then ``n_iter``, the curves and the kept iterates are
        updated together.
        """
        line = f"{self.n_iter + 1:>6d} {J:>16.10f} {np.linalg.norm(grad):>12.4e}"
        if self.validate is not None:
            score, validation_loss = self.validate(x)
            line += f" {validation_loss:>12.6f} {score:>11.6f}"
        x, J = x.copy(), float(J)
        self.x, self.J = x, J
        self.n_iter += 1
        self.loss_curve.append(J)
        if self.validate is not None:
            self.scores.append(float(score))
            self.validation_losses.append(float(validation_loss))
        if self.lowest_J is None or J <= self.lowest_J:
            self.lowest_x, self.lowest_J = x, J
        if self.early_stopping:
            stop = self._early_stopping(self.scores[-1])
        else:
            stop = self.plateau()
        if self.verbose:
            print(line + f" {time.perf_counter() - self._start:>10.3f}")
        if self.callbacks is not None and self.callbacks.iteration_done(x, self.n_iter):
            stop = stop or "callback"
        return stop or self.settings.limit_reached(self.n_iter, n_fun)

    def plateau(self):
        """``"plateau"`` when ``J`` has stopped improving, else None.

        ``"stalled"`` when it did not fall at all over the window.

        The rule: over the last ``n = n_iter_no_change`` iterations ``J`` fell
        by at most ``tol`` times all it has fallen below the cost of the
        constant prediction ``J_c`` (:meth:`fell_little`). Measured from
        ``J_c``, not from ``J`` at the first iteration, the decision depends
        neither on the level ``J`` settles at (the penalty, the classes'
        overlap) nor on the targets' offset (a regressor's first iterations,
        fitting the mean, fall by ``mean(y)**2 / 2``), and a saddle near the
        constant prediction, where sigmoid networks often linger early on, is
        no plateau: ``J`` has hardly fallen below ``J_c`` yet. A stop is
        accepted only after a trial: when the rule holds, ``n`` more
        iterations run and the fit stops only if they too fell by little
        (a lull on the way down is followed by a faster fall). ``tol=0``
        switches the rule off.
        """
        tol, window = self.settings.tol, self.n_iter_no_change
        if tol <= 0 or len(self.loss_curve) <= window:
            return None
        if self.loss_curve[-1 - window] - self.loss_curve[-1] <= 0:
            # No step in the window lowered J: the optimizer is stuck (a
            # trust region rejecting every step) or at J's rounding floor.
            # Handled as if it had stopped on its own: refined, and warned
            # about when the gradient is still large.
            return "stalled"
        if self._trial_from is None:
            if self.fell_little(tol):
                self._trial_from = len(self.loss_curve)
            return None
        if len(self.loss_curve) < self._trial_from + window:
            return None
        self._trial_from = None
        return "plateau" if self.fell_little(tol) else None

    def fell_little(self, tol):
        """Whether ``J[k - n] - J[k] <= tol * (J_c - J[k])`` at the last iteration.

        ``J_c`` is the constant prediction's cost (``J`` at the first
        iteration when not known). False while ``J`` is above ``J_c``.
        """
        window = self.n_iter_no_change
        if len(self.loss_curve) <= window:
            return False
        J_now = self.loss_curve[-1]
        J_ref = self.loss_curve[0] if self.J_constant is None else self.J_constant
        fall = self.loss_curve[-1 - window] - J_now
        return fall <= tol * (J_ref - J_now) and J_ref > J_now

    def _early_stopping(self, score):
        if score >= self.best_score:
            # Of equal scores keep the latest, most trained, weights.
            self.best_x, self.best_J = self.x, self.J
        if score > self.best_score + self.settings.tol:
            self.best_score = score
            self._no_change = 0
            return None
        self._no_change += 1
        return "early_stopping" if self._no_change >= self.n_iter_no_change else None

    def report_stop(self, stop_reason):
        """Print, with ``verbose``, why the fit stopped (``stop_reason_``)."""
        if not self.verbose:
            return
        settings = self.settings
        descriptions = {
            "converged": "the optimizer converged (the gradient vanished, or J "
            "stopped decreasing at a minimum)",
            "plateau": f"J fell by at most tol={settings.tol:g} of its fall below "
            f"the constant prediction's cost in {self.n_iter_no_change} "
            f"iterations, and again in {self.n_iter_no_change} more",
            "max_iter": f"max_iter={settings.max_iter} iterations reached",
            "max_fun": f"max_fun={settings.max_fun} cost evaluations reached",
            "optimizer": "the optimizer stopped on its own away from a minimum",
            "interrupted": "interrupted (KeyboardInterrupt)",
            "callback": "a callback asked to stop",
        }
        if stop_reason == "early_stopping":
            scores = np.asarray(self.scores)
            best = int(np.flatnonzero(scores == scores.max())[-1]) + 1
            description = (
                f"the validation score did not improve for {self.n_iter_no_change} "
                f"iterations; keeping iteration {best} (score {self.best_score:.6f})"
            )
        else:
            description = descriptions[stop_reason]
        print(f"Stopped after {self.n_iter} iterations ({stop_reason}): {description}.")


# ---------------------------------------------------------------------------
# The loop
# ---------------------------------------------------------------------------


def minimize_network(loss, X, Y, sample_weight, x0, settings, monitor):
    """Minimise ``loss`` on ``(X, Y, sample_weight)`` from ``x0``.

    Parameters
    ----------
    loss : NetworkLoss
        The cost, its gradient and Hessian-vector products.
    X, Y, sample_weight
        The training data, the 0/1 targets and the weights (or None).
    x0 : ndarray of shape (n_params,)
        The initial unrolled parameters (float64).
    settings : SolverSettings
        The ``scipy.optimize.minimize`` method and its limits.
    monitor : Monitor
        Called after every iteration.

    Returns
    -------
    fit : NetworkFit

    Raises
    ------
    ValueError
        If the cost became NaN or infinite (the data need scaling).
    """
    threads = measured_blas_thread_limit(X, x0.shape[0])
    evals = _Evaluations(
        threads.timed(lambda x: loss.loss_gradient(x, X, Y, sample_weight)),
        lambda x: loss.hessian_product(x, X, Y, sample_weight),
    )
    dtype = loss.compute_dtype(X)  # a numpy dtype, whatever X's namespace
    non_finite = functools.partial(
        _non_finite_message, dtype=dtype, penalty=_penalty_factor(loss, sample_weight)
    )
    J_constant = loss.constant_loss(Y, sample_weight)
    with threads:
        run = _run_optimizer(evals, x0, settings, monitor, non_finite, J_constant)
        x, J, stopped, stop_reason = _after_optimizer(
            evals, run, settings, monitor, loss.activation, dtype
        )
        if J is None:  # interrupted before the first iteration: x is x0
            J = evals.at(x)[0]
    monitor.report_stop(stop_reason)
    if stopped == "interrupted":
        _warn(_interrupted_message(monitor.n_iter, settings.max_iter, J))
    # At a limit, is J settled (more iterations would not change the answer)?
    settled = settings.settled_tol > 0 and monitor.fell_little(settings.settled_tol)
    return NetworkFit(
        x=x,
        n_iter=monitor.n_iter,
        n_fun_evals=evals.n_fun,
        n_hessp_evals=evals.n_hessp,
        loss=float(J),
        loss_curve=monitor.loss_curve,
        stopped=stopped,
        stop_reason=stop_reason,
        settled=settled,
        validation_scores=monitor.scores,
        best_validation_score=None if monitor.best_x is None else monitor.best_score,
        validation_loss_curve=monitor.validation_losses,
    )


def _after_optimizer(evals, run, settings, monitor, activation, dtype):
    """What runs once the optimizer has stopped: ``(x, J, stopped, stop_reason)``.

    ``run`` is :func:`_run_optimizer`'s ``(x, J, result, stopped)``.
    Early stopping takes the best-scoring weights. Otherwise, when the
    optimizer stopped on its own (or ``J`` stalled), the Newton refinement
    and the stall check run; a Ctrl-C during either keeps the optimizer's
    iterate ``x`` (whose ``J`` is known: nothing is evaluated after an
    interrupt). ``stop_reason`` is the fitted ``stop_reason_``: the
    monitor's reason, or, after the optimizer stopped on its own,
    ``"converged"`` or ``"optimizer"`` (away from a minimum).
    """
    x, J, result, stopped = run
    if monitor.best_x is not None:
        return monitor.best_x, monitor.best_J, stopped, stopped
    if stopped not in (None, "breakdown", "stalled") or not np.all(np.isfinite(x)):
        return x, J, stopped, stopped or "optimizer"
    try:
        x_polished, J_polished = _newton_polish(evals.evaluate, x, J, _GTOL)
        grad = evals.at(x_polished)[1]
        kinked = activation == "relu"
        warned = _warn_if_stalled(
            settings, result, monitor.n_iter, grad, dtype, kinked, stopped
        )
    except KeyboardInterrupt:  # Ctrl-C while refining: keep the iterate
        return x, J, "interrupted", "interrupted"
    return x_polished, J_polished, stopped, "optimizer" if warned else "converged"


def _run_optimizer(evals, x0, settings, monitor, non_finite_message, J_constant):
    """Run :func:`scipy.optimize.minimize`: ``(x, J, result, stopped)``.

    ``x`` is the iterate to keep and ``J`` the cost there (None if unknown:
    an interrupt before the first iteration keeps ``x0``); ``result`` is
    scipy's ``OptimizeResult``, or None when the monitor (or a breakdown)
    stopped the optimizer; ``stopped`` says why it stopped (None: on its
    own). Ctrl-C keeps the lowest ``J`` reached. ``J_constant`` is the
    constant prediction's cost, for the plateau rule.
    """

    def callback(intermediate_result):
        x = getattr(intermediate_result, "x", intermediate_result)
        J, grad = evals.at(x)
        stop = monitor.iteration(x, J, grad, evals.n_fun)
        if stop is not None:
            raise _StopTrainingError(stop)

    tol, options = settings.minimize_options()
    solver = settings.solver
    monitor.start(x0, J_constant)
    # trlib (trust-krylov) warns about the NaN of a breakdown itself.
    quiet_trlib = (
        np.errstate(invalid="ignore", over="ignore")
        if solver == "trust-krylov"
        else contextlib.nullcontext()
    )
    try:
        with quiet_trlib:
            result = minimize(
                evals,
                x0,
                method=solver,
                jac=True,
                hessp=evals.hessp if solver in _HESSP_SOLVERS else None,
                tol=tol,
                options=options,
                callback=callback,
            )
    except _StopTrainingError as stop:
        x, J, result, stopped = monitor.x, monitor.J, None, stop.reason
    except _NonFiniteCostError:
        raise ValueError(non_finite_message(monitor.n_iter)) from None
    except KeyboardInterrupt:
        # Ctrl-C: keep the lowest J reached (the best validation score with
        # early stopping) and say so.
        x, J, result, stopped = monitor.lowest_x, monitor.lowest_J, None, "interrupted"
    else:
        x, J = result.x, float(result.fun)
        n_iter = int(getattr(result, "nit", monitor.n_iter))
        # A limit the optimizer enforced itself (TNC stops inside its line
        # search at max_fun, before the monitor sees an iteration).
        stopped = settings.limit_reached(n_iter, evals.n_fun)
    finally:
        if monitor.callbacks is not None:
            monitor.callbacks.close()
    if stopped == "breakdown" and monitor.n_iter == 0:  # a NaN step, nothing learnt
        raise ValueError(non_finite_message(0))
    return x, J, result, stopped


def _newton_polish(cost, x, J, tol, max_steps=5):
    """Refine a minimum ``x`` of ``cost`` by Newton-Krylov steps on its gradient.

    A line-search optimizer can place a minimum only as well as ``J``'s
    rounding lets it compare values: near the minimum ``J`` changes by about
    ``curvature * step**2``, so steps below ~1e-7 are invisible in float64.
    The gradient, in contrast, is resolved to ~1e-16 near zero, so solving
    ``grad J(x) = 0`` by :func:`scipy.optimize.newton_krylov` pins the minimum
    down to ~1e-12. The step is kept only if it lowers the gradient and does
    not raise ``J`` (it stays at a minimum, never moves to a saddle).

    ``J`` is the cost at ``x``. Returns the refined ``x`` and the cost there
    (or ``x`` and ``J`` themselves).
    """

    def gradient(p):
        return cost(p)[1]

    g0 = cost(x)[1]
    g0_max = np.max(np.abs(g0))
    if g0_max <= tol:
        return x, J
    try:
        x_new = newton_krylov(gradient, x, f_tol=tol, maxiter=max_steps)
    except NoConvergence as exc:
        x_new = exc.args[0]
    except (ValueError, ArithmeticError, np.linalg.LinAlgError):
        return x, J
    if not np.all(np.isfinite(x_new)):
        return x, J
    try:
        J1, g1 = cost(x_new)
    except ArithmeticError:  # a NaN or infinite cost there
        return x, J
    if np.max(np.abs(g1)) < g0_max and J1 <= J + 1e-12 * abs(J):
        return x_new, J1
    return x, J
