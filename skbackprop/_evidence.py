"""``alpha="evidence"``: the weight decay re-estimated from the training rows.

MacKay's evidence framework (MacKay 1992, "Bayesian interpolation" and "The
evidence framework applied to classification networks"; for regression the
noise level too, as in Foresee and Hagan 1997). With ``E_D`` the weighted sum
of the per-example losses (the course's ``m J`` at ``lambda = 0``) and ``w``
the penalised weights (every column of ``Theta(l)`` but the bias column), a
fit minimises ``M(w) = E_D(w) + (lambda/2) ||w||^2``, which is ``m J``. At its
minimum, with ``mu_i`` the eigenvalues of ``E_D``'s Hessian restricted to
``w``, ``gamma = sum_i mu_i / (mu_i + lambda)`` counts the well-determined
parameters and the evidence is largest where

* classification: ``lambda = gamma / ||w||^2``;
* regression (``beta`` the noise precision, ``alpha_w`` the prior's, and
  ``lambda = alpha_w / beta`` the course's ratio): ``alpha_w = gamma /
  ||w||^2``, ``beta = (N - gamma) / (2 E_D)`` with ``N`` the weighted number
  of targets (``sum(sample_weight) * K``).

:func:`fit_with_evidence` alternates a fit with this update, each fit starting
from the previous one's weights, until the re-estimate is within ``_RTOL``
(relative) of the fit's lambda or after ``_MAX_ESTIMATES`` re-estimations;
from the second fit on, lambda moves by a secant step (:func:`next_alpha`).

The Hessian is the exact one (from Hessian-vector products, the R-operator);
its eigenvalues are dense (:func:`numpy.linalg.eigvalsh`) up to
``_DENSE_MAX`` penalised weights; above, ``gamma = tr H (H + lambda I)^-1``
is estimated by stochastic Lanczos quadrature (Rademacher probes, as few as
the estimate's standard error allows: :func:`effective_parameters_of`).
Negative eigenvalues (a saddle, or rounding at the minimum) are counted as
zero: ``gamma`` then stays in ``[0, n_penalised]``.

The Hessian-vector products are the loss object's, so every backend works:
numpy and scipy sparse, Array API arrays on their device, Dask; the
eigenvalues are computed on the host. On large fits
(:func:`single_precision_products`) they read ``X`` in float32.

Everything here is in the units the solver sees, the sample weights scaled by
``2**-e`` (:func:`~skbackprop._validation.scale_sample_weight`): ``E_D``, the
Hessian and ``lambda`` are ``2**-e`` times the user's, ``gamma`` is the same.
"""

from dataclasses import dataclass, field, replace

import numpy as np
from scipy.linalg import eigh_tridiagonal

from ._blas import _blas_thread_limit
from .backprop import unroll
from .backprop._course import _theta_shapes

# The re-estimate's relative distance from the fit's lambda at which it
# stops: a ninth of a grid's spacing (a factor of 3.6 in logspace(-3, 2,
# 10)). 1e-1 let the raw diabetes target's re-estimates, drifting up by 10
# to 40 % a fit, walk two of five folds to the constant network; 2e-1 cost a
# point of R² on the standardised target (performance page).
_RTOL = 1.5e-1
_MAX_ESTIMATES = 10  # re-estimations at most (fits: one more than this)
# Penalised weights up to which the Hessian is built dense (n products);
# above, _LANCZOS_STEPS products per probe, probes added up to _PROBES until
# the Hutchinson bound's relative standard error is at most _GAMMA_RSE
# (measured: docs/performance.rst).
_DENSE_MAX = 40
_PROBES = 4
_LANCZOS_STEPS = 10
_GAMMA_RSE = 5e-2
# Rows x weights above which the Hessian products read X in float32. There
# the fits stop loosely (tol="auto" loosens above 1e7) and the products are
# a large share of the time (two thirds of a default fit on MNIST-8k);
# float32 halves them and moves gamma by about 1e-7, far below the
# quadrature's own error. Below, float64 keeps lambda exact to rounding
# (scikit-learn's sample-weight checks, the backends' agreement).
_SINGLE_PRECISION_SIZE = 1e7
# lambda is kept within these factors of 1 (user's units): gamma = 0 or
# ||w|| = 0 would otherwise send it to 0 or infinity.
_ALPHA_RANGE = (1e-10, 1e10)
# The secant's step, as a multiple of the plain update's (in log lambda).
_STEP_RANGE = (0.5, 2.0)


@dataclass
class EvidenceTrace:
    """What the re-estimation found: lambda per fit, gamma per estimate."""

    alphas: list = field(default_factory=list)  # user's units, one per fit
    gammas: list = field(default_factory=list)  # one per estimate
    converged: bool = False


def single_precision_products(n_rows, n_params):
    """Whether the Hessian products of this fit read ``X`` in float32."""
    return n_rows * n_params > _SINGLE_PRECISION_SIZE


def penalised_mask(layer_sizes):
    """Boolean mask of the unrolled parameters that carry the penalty.

    Every column of ``Theta(l)`` but the bias column, as
    :func:`~skbackprop.backprop.regularization_cost` penalises them.
    """
    blocks = [np.ones(shape, dtype=bool) for shape in _theta_shapes(layer_sizes)]
    for block in blocks:
        block[:, 0] = False
    return unroll(blocks).astype(bool)


def data_hessian_operator(hvp, mask, m):
    """``E_D``'s Hessian restricted to ``mask``, as a function of a vector.

    ``hvp`` is the Hessian of ``J`` at ``alpha = 0``, ``J = E_D / m``.
    """
    full = np.zeros(mask.shape[0])

    def matvec(v):
        full[:] = 0.0
        full[mask] = np.ravel(v)
        return m * hvp(full)[mask]

    return matvec


def effective_parameters_of(matvec, n, lam, seed):
    """``gamma`` of the symmetric operator ``matvec`` (``n`` by ``n``) at ``lam``.

    Up to ``_DENSE_MAX`` the dense eigenvalues; above, stochastic Lanczos
    quadrature (:func:`lanczos_quadrature`) over Rademacher probes drawn from
    a fixed seed, so that one fit's estimate is a deterministic function of
    the weights and ``lam``. With ``f = mu / (mu + lam)`` in ``[0, 1]`` the
    variance of one probe's ``z^T f(H) z`` is at most ``2 tr f(H)^2 <= 2
    gamma``: probes are added, up to ``_PROBES``, until ``sqrt(2 / (gamma
    p))``, that bound's relative standard error after ``p`` probes, is at
    most ``_GAMMA_RSE`` (a large network's ``gamma`` needs one probe).
    """
    if n <= _DENSE_MAX:
        H = np.column_stack([matvec(e) for e in np.eye(n)])
        return effective_parameters(np.linalg.eigvalsh((H + H.T) / 2.0), lam)
    probes = np.random.default_rng(seed).choice([-1.0, 1.0], size=(_PROBES, n))
    estimates = []
    for z in probes:
        estimates.append(lanczos_quadrature(matvec, z, lam))
        gamma = float(np.mean(estimates))
        if 2.0 <= _GAMMA_RSE**2 * gamma * len(estimates):
            break
    return gamma


def lanczos_quadrature(matvec, z, lam, steps=None):
    """``z^T f(H) z`` with ``f(mu) = mu / (mu + lam)``, from Lanczos on ``z``.

    ``steps`` Lanczos steps (``_LANCZOS_STEPS``) with full
    reorthogonalisation give the tridiagonal ``T = U diag(theta) U^T``; the
    Gauss quadrature is ``||z||^2 sum_j U[0, j]^2 f(theta_j)`` (Golub and
    Meurant; Ubaru, Chen and Saad 2017), whose mean over Rademacher ``z`` is
    ``tr f(H) = gamma``.
    """
    steps = min(_LANCZOS_STEPS if steps is None else steps, z.shape[0])
    Q = np.zeros((steps, z.shape[0]))
    diag, off = [], []
    q, beta = z / np.linalg.norm(z), 0.0
    for k in range(steps):
        Q[k] = q
        r = matvec(q) - (beta * Q[k - 1] if k else 0.0)
        diag.append(float(q @ r))
        r -= diag[-1] * q
        r -= Q[: k + 1].T @ (Q[: k + 1] @ r)  # full reorthogonalisation
        beta = float(np.linalg.norm(r))
        if beta <= 1e-10 * abs(diag[0]) or k == steps - 1:
            break
        off.append(beta)
        q = r / beta
    theta, U = eigh_tridiagonal(np.array(diag), np.array(off))
    return float(z @ z) * effective_weights(U[0] ** 2, theta, lam)


def effective_weights(weights, theta, lam):
    """``sum_j weights_j f(theta_j)``, negative ``theta`` counted as zero."""
    theta = np.clip(theta, 0.0, None)
    return float(np.sum(weights * theta / (theta + lam)))


def effective_parameters(eigenvalues, lam):
    """``gamma = sum mu / (mu + lambda)``, negative ``mu`` counted as zero."""
    mu = np.asarray(eigenvalues, dtype=np.float64)
    return effective_weights(np.ones_like(mu), mu, lam)


def updated_alpha(gamma, sq_norm, lam, J, m, n_targets, scale, regression):
    """The next lambda (solver's units) from ``gamma`` at the current minimum.

    ``J`` is the cost at the weights, ``m`` the scaled weights' sum,
    ``n_targets`` the user's weighted number of targets (regression's ``N``),
    ``scale`` the factor ``2**e`` back to the user's units.
    """
    sq_norm = max(sq_norm, np.finfo(float).tiny)  # all weights 0: lambda's cap
    if regression:
        data_loss = max(m * J - 0.5 * lam * sq_norm, np.finfo(float).tiny)  # E_D
        # lambda = alpha_w / beta = (gamma / ||w||^2) * 2 E_D / (N - gamma),
        # N - gamma kept >= 1 (gamma may reach N on tiny data).
        new = gamma / sq_norm * 2.0 * data_loss / max(n_targets - gamma, 1.0)
    else:
        new = gamma / sq_norm / scale  # lambda = gamma / ||w||^2 in user units
    low, high = _ALPHA_RANGE
    return float(np.clip(new, low / scale, high / scale))


def next_alpha(history, scale):
    """The next fit's lambda from ``history``, the ``(lambda, re-estimate)`` per fit.

    Both in the solver's units, ``scale`` (``2**e``) times the user's.

    The plain iteration, lambda <- re-estimate, converges linearly in ``log
    lambda`` when far from the fixed point (a factor of 100 takes five or six
    fits). With the map's slope ``s`` measured between the last two fits,
    the step ``log(new / lambda) / (1 - s)`` is the secant's root of ``log
    new(lambda) - log lambda``; its factor ``1 / (1 - s)`` is kept within
    ``_STEP_RANGE`` (a slope at or above 1, noise between inexact fits,
    takes the plain step).
    """
    lam, new = history[-1]
    step = np.log(new / lam)
    if len(history) > 1:
        previous, previous_new = history[-2]
        moved = np.log(lam / previous)
        slope = np.log(new / previous_new) / moved if moved else 1.0
        if slope < 1.0:
            step *= np.clip(1.0 / (1.0 - slope), *_STEP_RANGE)
    low, high = _ALPHA_RANGE
    return float(np.clip(lam * np.exp(step), low / scale, high / scale))


def fit_with_evidence(
    solve,
    hvp_at,
    x0,
    layer_sizes,
    alpha0,
    *,
    m,
    n_rows,
    n_targets,
    scale,
    regression,
    verbose=0,
    rng=None,
):
    """Alternate fits and re-estimates of lambda until lambda settles.

    Parameters
    ----------
    solve : callable
        ``solve(alpha, x0) -> NetworkFit``: one fit at the solver's ``alpha``.
    hvp_at : callable
        ``hvp_at(x) -> hvp``: the Hessian of ``J`` at ``alpha = 0`` at ``x``.
    x0 : ndarray
        The first fit's starting weights.
    layer_sizes : tuple of int
    alpha0 : float
        The first fit's lambda, in the solver's units.
    m, n_targets, scale, regression
        As for :func:`updated_alpha`.
    n_rows : int
        The training rows (for the BLAS thread rule).
    verbose : int
        Print lambda and gamma after each estimate.
    rng : numpy.random.Generator
        Seeds the Lanczos quadrature's probes (large networks only).

    Returns
    -------
    fit : NetworkFit
        The last fit, with the iterations, evaluations and ``loss_curve`` of
        all of them.
    alpha : float
        The lambda of the last fit, in the solver's units.
    gamma : float
        ``gamma`` at the last fit's weights.
    trace : EvidenceTrace
    """
    mask = penalised_mask(layer_sizes)
    seed = 0 if rng is None else int(rng.integers(2**31))
    trace, fits, lam, history = EvidenceTrace(), [], alpha0, []
    for estimate in range(_MAX_ESTIMATES + 1):
        fit = solve(lam, x0 if not fits else fits[-1].x)
        fits.append(fit)
        trace.alphas.append(lam * scale)
        # The solver's BLAS thread rule: small products on many threads
        # were measured 70x slower on a loaded 2-core machine.
        with _blas_thread_limit(n_rows, fit.x.shape[0]):
            matvec = data_hessian_operator(hvp_at(fit.x), mask, m)
            gamma = effective_parameters_of(matvec, int(mask.sum()), lam, seed)
        del matvec  # its cached passes (and a float32 X) are not kept for the next fit
        trace.gammas.append(gamma)
        w = fit.x[mask]
        new = updated_alpha(
            gamma, float(w @ w), lam, fit.loss, m, n_targets, scale, regression
        )
        if verbose:
            print(
                f"evidence estimate {estimate + 1}: alpha={lam * scale:.6g} "
                f"gamma={gamma:.4g} of {mask.sum()} -> alpha={new * scale:.6g}"
            )
        if abs(new - lam) <= _RTOL * lam:
            trace.converged = True
            break
        if fit.stopped == "interrupted" or estimate == _MAX_ESTIMATES:
            break
        history.append((lam, new))
        lam = next_alpha(history, scale)
    return _combined(fits), lam, gamma, trace


def _combined(fits):
    """The last fit, counting the iterations and curves of all of them."""
    last = fits[-1]
    return replace(
        last,
        n_iter=sum(f.n_iter for f in fits),
        n_fun_evals=sum(f.n_fun_evals for f in fits),
        n_hessp_evals=sum(f.n_hessp_evals for f in fits),
        loss_curve=[J for f in fits for J in f.loss_curve],
    )
