"""BackpropClassifierCV and BackpropRegressorCV: λ chosen along a warm-started path.

Per fold, one network is fit at every λ of the grid, from the smallest λ to
the largest, each fit starting from the previous λ's weights and stopping at
a looser ``tol`` (``_PATH_TOL``, ``_PATH_WINDOW``); the λ with the best mean
score is then refit on all rows at the estimator's own ``tol``, starting
from the network of the fold that scored best at it.

The walk goes up in λ, not down as scikit-learn's linear paths do: a sigmoid
network fit at a large λ is nearly linear and nearly symmetric, and warm
starts from it stay there as λ shrinks (the performance page has the
measurements).
"""

import copy
import numbers
import time
import warnings

import numpy as np
from joblib import Parallel, delayed
from sklearn.base import is_classifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import check_scoring
from sklearn.model_selection import check_cv
from sklearn.utils import Bunch, _safe_indexing, check_scalar, indexable
from sklearn.utils.metadata_routing import (
    MetadataRouter,
    MethodMapping,
    _raise_for_params,
    _routing_enabled,
    process_routing,
)
from sklearn.utils.validation import (
    _check_method_params,
    _num_features,
    _num_samples,
    check_array,
)

from ._base import _unchanged_on_error
from ._classifier import BackpropClassifier
from ._dispatch import follow
from ._regressor import BackpropRegressor
from ._solver import auto_tol
from ._validation import check_params, check_sample_weight, encode_labels
from .backprop._array_api import to_numpy
from .backprop._course import Network

#: ``alphas=n``: n values from 10**1.5 down to 10**-3, times the cost scale
#: (1 for the classifier, the targets' variance for the regressor): the range
#: that held every grid search's best λ on the performance page's data.
_ALPHA_RANGE = (1.5, -3.0)
#: The plateau rule's least ``tol`` for the fits along a fold's path when
#: ``tol`` is "auto" (whose own schedule, 1.5e-4 and looser on large fits,
#: applies above it), by estimator: the scores it gives are those of the
#: tight fits to ~0.3 points of accuracy; R², whose last fraction a looser
#: stop loses (-0.65 points on friedman1 at 1e-3), gets the schedule itself
#: (performance page).
_PATH_TOL = {"classifier": 1e-3, "regressor": 0.0}
#: With ``tol="auto"``, the plateau window (``n_iter_no_change``) of the fits
#: after a fold's first: at most this many iterations, so that a warm start
#: already at its minimum stops after ~11 iterations instead of ~21 (a quarter
#: fewer iterations in all, the same λ or one step off; performance page).
_PATH_WINDOW = 5
_SELECTIONS = ("best", "1se")


def alpha_grid(alphas, cost_scale):
    """The λ values to walk, largest first: ``alphas`` checked, or made from an int."""
    if isinstance(alphas, numbers.Integral) and not isinstance(alphas, bool):
        check_scalar(alphas, "alphas", numbers.Integral, min_val=1)
        return cost_scale * np.logspace(*_ALPHA_RANGE, alphas)
    if isinstance(alphas, (str, bool)) or np.ndim(alphas) != 1:
        raise ValueError(
            "alphas must be an int (that many values on a log grid) or a 1-D "
            f"array of lambda values; got {alphas!r}."
        )
    if np.size(alphas) == 0:
        raise ValueError("alphas must hold at least one lambda value; got none.")
    values = check_array(
        np.asarray(alphas), ensure_2d=False, dtype=np.float64, input_name="alphas"
    )
    if np.any(values < 0):
        raise ValueError(f"alphas must be non-negative; got {values.tolist()}.")
    return np.unique(values)[::-1]


def path_tol(tol, early_stopping, n_rows, layer_sizes, least):
    """The ``tol`` of the fits along a path: a number as it is, "auto" loosened.

    "auto" becomes its value for a fit of ``n_rows`` x the weights of
    ``layer_sizes``, but at least ``least``; with early stopping (whose
    ``tol`` is a score gain) it stays "auto".
    """
    if not isinstance(tol, str) or early_stopping:
        return tol
    return max(least, auto_tol(n_rows * Network(tuple(layer_sizes)).n_params))


def walk_fold(base, X, y, metadata, fold, alphas, scorer, window, verbose=0):
    """Fit ``base`` at each λ of one fold's path, smallest first, warm-started.

    ``metadata`` is ``(sample_weight, score_params)``: the weights of every
    fit, and what the scorer is given (per row: cut to the fold's test rows).
    ``fold`` is ``(k, (train, test))``; ``window``, the ``n_iter_no_change``
    of the warm-started fits (None: ``base``'s); with ``verbose``, a line per λ.
    Returns ``(scores, n_iter, fit_time, snapshots, interrupted)``, the first
    four indexed like ``alphas`` (NaN or None where a Ctrl-C ended the walk,
    or where the fold's test rows all weigh 0 and so say nothing of any λ: it
    is not walked); ``snapshots`` are the fitted networks, for the refit to
    start from.
    """
    k, (train, test) = fold
    est = copy.deepcopy(base).set_params(warm_start=True)
    X_train, y_train = _safe_indexing(X, train), _safe_indexing(y, train)
    X_test, y_test = _safe_indexing(X, test), _safe_indexing(y, test)
    sample_weight, score_params = metadata
    fit_params = {}
    if sample_weight is not None:
        fit_params["sample_weight"] = _safe_indexing(sample_weight, train)
    score_params = _check_method_params(X, params=score_params, indices=test)
    n = len(alphas)
    scores, n_iter, fit_time = np.full(n, np.nan), np.zeros(n, int), np.zeros(n)
    snapshots, interrupted = [None] * n, False
    test_weights = score_params.get("sample_weight")
    if test_weights is not None and not np.sum(test_weights) > 0:
        return scores, n_iter, fit_time, snapshots, interrupted
    for j in range(n - 1, -1, -1):
        start = time.perf_counter()
        est.set_params(alpha=alphas[j]).fit(X_train, y_train, **fit_params)
        fit_time[j] = time.perf_counter() - start
        n_iter[j] = est.n_iter_
        scores[j] = scorer(est, X_test, y_test, **score_params)
        snapshots[j] = copy.deepcopy(est)
        if verbose:
            print(
                f"fold {k}: alpha={alphas[j]:.4g} score={scores[j]:.4f} "
                f"n_iter={n_iter[j]} ({est.stop_reason_})"
            )
        interrupted = est.stop_reason_ == "interrupted"
        if interrupted:
            break
        if window is not None:
            est.set_params(n_iter_no_change=window)
    return scores, n_iter, fit_time, snapshots, interrupted


def _fold_mean_std(scores):
    """Each λ's mean and deviation over the folds that reached it (NaN: none)."""
    with warnings.catch_warnings():  # a λ no fold reached (Ctrl-C): NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(scores, axis=0), np.nanstd(scores, axis=0)


def choose_alpha(scores, selection):
    """The index of the chosen λ in the grid (largest λ first) from fold scores.

    ``"best"``: the best mean score (the largest λ among ties); ``"1se"``:
    the largest λ whose mean is within one standard error of the best.
    """
    counts = np.sum(~np.isnan(scores), axis=0)
    means = np.nan_to_num(_fold_mean_std(scores)[0], nan=-np.inf)
    best = int(np.argmax(means))
    if selection == "best" or counts[best] < 2:
        return best
    error = np.nanstd(scores[:, best], ddof=1) / np.sqrt(counts[best])
    return int(np.flatnonzero(means >= means[best] - error)[0])


def cv_results(alphas, scores, n_iter, fit_time):
    """``cv_results_``: GridSearchCV's keys for the test scores, per λ."""
    means, stds = _fold_mean_std(scores)
    ranks = np.argsort(np.argsort(-np.nan_to_num(means, nan=-np.inf), kind="stable"))
    results = {
        "param_alpha": alphas.copy(),
        "mean_test_score": means,
        "std_test_score": stds,
        "rank_test_score": ranks + 1,
        "mean_fit_time": fit_time.mean(axis=0),
        "mean_n_iter": n_iter.mean(axis=0),
    }
    for k, fold_scores in enumerate(scores):
        results[f"split{k}_test_score"] = fold_scores
    return results


class _AlphaPath:
    """The path's fit, shared by both estimators (first in their MRO)."""

    _base_class = None

    def _base_estimator(self):
        """The base estimator with this one's parameters (alpha set per λ)."""
        names = set(self._base_class._get_param_names()) - {"alpha", "warm_start"}
        return self._base_class(**{name: getattr(self, name) for name in names})

    def _check_path_params(self):
        if self.selection not in _SELECTIONS:
            raise ValueError(
                f"selection must be one of {_SELECTIONS}; got {self.selection!r}."
            )
        if not isinstance(self.refit, (bool, np.bool_)):
            raise TypeError(f"refit must be a bool, got {self.refit!r}.")

    @_unchanged_on_error
    def fit(self, X, y, sample_weight=None, **params):
        """Walk the λ path on every fold, choose ``alpha_``, refit it on all rows.

        Parameters
        ----------
        X : {array-like, sparse matrix, dask array} of shape (n_samples, n_features)
            Training data. Each fold's rows are cut where ``X`` is: a dask
            array's stay on the workers, an Array API array's (under
            ``array_api_dispatch``) on its device, and are fit there.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets, as for the base estimator (a dask ``y``'s distinct
            labels are gathered, one number per row, to cut the folds).
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the rows, in every fit and (without metadata routing,
            or where the scorer requests them) in the fold scores.
        **params : dict
            With ``sklearn.set_config(enable_metadata_routing=True)`` only:
            metadata for the splitter (``groups``) and the scorer, routed as
            they request them.

        Returns
        -------
        self : object
            Fitted estimator.
        """
        _raise_for_params(params, self, "fit")
        base = self._base_estimator()
        hidden, _ = check_params(base.set_params(alpha=1.0))
        self._check_path_params()
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y "
                "is None."
            )
        # A 1-D X, NaN or infinite targets are refused before the folds are cut
        # (the checked copies are not kept: a DataFrame keeps its names).
        check_array(X, accept_sparse=True, dtype=None, ensure_all_finite=False)
        check_array(y, ensure_2d=False, dtype=None, input_name="y")
        X, y, sample_weight = indexable(X, y, sample_weight)
        # The weights are checked and used on the host, as the base estimators'.
        sample_weight = check_sample_weight(to_numpy(sample_weight), _num_samples(X))
        alphas = alpha_grid(self.alphas, self._cost_scale(y, sample_weight))
        cv = check_cv(self.cv, y, classifier=is_classifier(self))
        scorer = check_scoring(base, scoring=self.scoring)
        layer_sizes = (_num_features(X), *hidden, self._n_outputs(y))
        least = _PATH_TOL["classifier" if is_classifier(self) else "regressor"]
        tol = path_tol(
            self.tol, self.early_stopping, _num_samples(X), layer_sizes, least
        )
        base.set_params(tol=tol, verbose=0)
        window = None
        if isinstance(self.tol, str) and not self.early_stopping:
            window = min(_PATH_WINDOW, self.n_iter_no_change)
        routed = self._routed_metadata(sample_weight, params)
        folds = list(cv.split(X, y, **routed.splitter.split))
        metadata = (sample_weight, routed.scorer.score)
        walks = self._walk_folds(base, X, y, metadata, folds, (alphas, scorer, window))
        scores = np.array([w[0] for w in walks])
        n_iter = np.array([w[1] for w in walks])
        fit_time = np.array([w[2] for w in walks])
        index = choose_alpha(scores, self.selection)
        self._store_path(X, alphas, index, scores, (n_iter, fit_time))
        best_network = self._best_fold_network(walks, index, scores)
        if any(w[4] for w in walks):
            self._keep_interrupted(best_network)
        elif self.refit:
            self._copy_fitted(self._refit(best_network, X, y, sample_weight))
        return self

    def _routed_metadata(self, sample_weight, params):
        """What the splitter and the fold scorer get, as ``process_routing`` says.

        Without metadata routing (scikit-learn's default): the weights go to
        the scorer, nothing to the splitter.
        """
        if _routing_enabled():
            return process_routing(self, "fit", sample_weight=sample_weight, **params)
        score = {} if sample_weight is None else {"sample_weight": sample_weight}
        return Bunch(splitter=Bunch(split={}), scorer=Bunch(score=score))

    def get_metadata_routing(self):
        """The metadata this estimator's fit routes: to the splitter and the scorer.

        Returns
        -------
        routing : MetadataRouter
            ``sample_weight`` is this estimator's own (every fit); the
            splitter's and the scorer's requests say what else ``fit`` takes.
        """
        base = self._base_estimator()
        if self.scoring is None:
            # The folds' own score method, with this estimator's score request
            # (a user can set it; the folds' estimators are made in fit).
            requests = self._get_metadata_request().score.requests
            base.set_score_request(**requests)
        scorer = check_scoring(base, scoring=self.scoring)
        return (
            MetadataRouter(owner=type(self).__name__)
            .add_self_request(self)
            .add(
                splitter=check_cv(self.cv),
                method_mapping=MethodMapping().add(caller="fit", callee="split"),
            )
            .add(
                scorer=scorer,
                method_mapping=MethodMapping().add(caller="fit", callee="score"),
            )
        )

    def _walk_folds(self, base, X, y, metadata, folds, path):
        """Every fold's :func:`walk_fold` (``path``: its last arguments)."""
        args = (X, y, metadata)
        rest = (*path, self.verbose)
        alphas = path[0]
        if self.n_jobs in (None, 1):
            walks = []
            for fold in enumerate(folds):
                walks.append(walk_fold(base, *args, fold, *rest))
                if walks[-1][4]:  # Ctrl-C: the folds left are not walked (NaN)
                    break
            n = len(alphas)
            not_walked = (np.full(n, np.nan), np.zeros(n, int), np.zeros(n), [None] * n)
            return walks + [(*not_walked, False)] * (len(folds) - len(walks))
        return Parallel(n_jobs=self.n_jobs)(
            delayed(walk_fold)(base, *args, fold, *rest) for fold in enumerate(folds)
        )

    def _store_path(self, X, alphas, index, scores, costs):
        """The path's attributes; ``alphas_`` and ``scores_`` where ``X`` is
        (its namespace and device), ``cv_results_`` numpy, as GridSearchCV's."""
        self.alphas_ = follow(alphas, X)
        self.alpha_ = float(alphas[index])
        self.scores_ = follow(scores, X)
        self.cv_results_ = cv_results(alphas, scores, *costs)
        for name in [n for n in vars(self) if n.endswith("_") and n[0] != "_"]:
            if name not in ("alphas_", "alpha_", "scores_", "cv_results_"):
                delattr(self, name)  # a previous fit's model

    def _best_fold_network(self, walks, index, scores):
        """The network of the fold that scored best at ``alphas_[index]``."""
        return walks[int(np.nanargmax(scores[:, index]))][3][index]

    def _refit(self, fold_network, X, y, sample_weight):
        """``alpha_`` fit on all rows, from the best fold's network at it.

        A cold fit at a large λ can end at the symmetric network that the
        path avoided by coming from below (parity, on the performance page's
        suite), so the refit continues the best fold's network, at ``tol``;
        from random weights only if that fold lacked a class.
        """
        refit = copy.deepcopy(fold_network)
        if not self._same_targets(refit, y):
            refit = self._base_estimator().set_params(alpha=refit.alpha)
        refit.set_params(
            tol=self.tol, verbose=self.verbose, n_iter_no_change=self.n_iter_no_change
        )
        fit_params = {} if sample_weight is None else {"sample_weight": sample_weight}
        return refit.fit(X, y, **fit_params)

    def _keep_interrupted(self, fold_network):
        """After a Ctrl-C: the fold network that scored best at ``alpha_``, unrefit."""
        self._copy_fitted(fold_network)
        warnings.warn(
            "The lambda path was interrupted (KeyboardInterrupt); alpha_ is the "
            "best of the lambdas fit so far and the model is its best fold's "
            "network, not refit on all rows.",
            ConvergenceWarning,
            stacklevel=3,
        )

    def _copy_fitted(self, est):
        """Take the fitted attributes of ``est``, a fitted base estimator."""
        for name, value in vars(est).items():
            if name not in est.get_params() and not name.startswith("__"):
                setattr(self, name, value)


_PARAMETERS_DOC = """
    Parameters
    ----------
    alphas : int or array-like of shape (n_alphas,), default=10
        The λ values to cross-validate: an int gives that many values on a log
        grid from ``10**1.5`` down to ``10**-3``{scale}; an array is used as
        it is (sorted, largest first, in ``alphas_``).
    cv : int, cross-validation generator or iterable, default=None
        The folds, as for :func:`~sklearn.model_selection.check_cv`: None is
        5-fold{stratified}.
    scoring : str or callable, default=None
        The fold score, as for :func:`~sklearn.metrics.check_scoring`; None is
        the estimator's ``score`` ({score}).
    refit : bool, default=True
        Refit ``alpha_`` on all rows at ``tol``, starting from the network of
        the fold that scored best at it. Without it only the path's
        attributes are fitted and nothing predicts.
    n_jobs : int, default=None
        Folds walked in parallel (joblib); None is one.
    selection : {{"best", "1se"}}, default="best"
        ``"best"``: the λ of the best mean fold score; ``"1se"``: the largest λ
        whose mean score is within one standard error of the best.

    Every other parameter is the base estimator's (see
    :class:`~skbackprop.{base}`), used by every fit; ``tol="auto"`` fits
    the path at a looser ``tol`` ({path_tol}; the warm-started fits with
    ``n_iter_no_change`` at most 5) and the refit at "auto";
    ``verbose`` also prints a line per fold and λ. There is
    no ``alpha`` (chosen) nor ``warm_start`` (the path is warm-started).

    Attributes
    ----------
    alpha_ : float
        The chosen λ.
    alphas_ : ndarray of shape (n_alphas,)
        The λ values walked, largest first.
    scores_ : ndarray of shape (n_folds, n_alphas)
        Each fold's score at each λ (NaN where a Ctrl-C ended the walk).
    cv_results_ : dict of ndarrays
        ``param_alpha``, ``mean_test_score``, ``std_test_score``,
        ``rank_test_score``, ``mean_fit_time``, ``mean_n_iter`` and
        ``split{{k}}_test_score``, per λ, as in
        :class:`~sklearn.model_selection.GridSearchCV`.

    With ``refit``, every fitted attribute of :class:`~skbackprop.{base}`
    (``thetas_``, ``loss_curve_``, ``n_iter_``, ...) is the refit's.
"""


class BackpropClassifierCV(_AlphaPath, BackpropClassifier):
    __doc__ = """The course's classifier with λ (``alpha``) chosen by cross-validation.

    Each fold walks the λ grid from the smallest value to the largest, every
    fit starting from the previous λ's weights, so that one call replaces
    ``GridSearchCV(BackpropClassifier(), {"alpha": ...})`` at about a third
    of its time.
""" + _PARAMETERS_DOC.format(
        scale="",
        stratified=" (stratified)",
        score="accuracy",
        base="BackpropClassifier",
        path_tol="the value of auto's schedule for the fit's size, at least 1e-3",
    )

    _base_class = BackpropClassifier

    def __init__(
        self,
        alphas=10,
        cv=None,
        scoring=None,
        refit=True,
        n_jobs=None,
        selection="best",
        hidden_layer_sizes=(25,),
        max_iter=1000,
        tol="auto",
        solver="L-BFGS-B",
        epsilon_init=None,
        random_state=None,
        verbose=0,
        batch_size=None,
        activation="sigmoid",
        output_activation="sigmoid",
        class_weight=None,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        max_fun=15000,
    ):
        self.alphas = alphas
        self.cv = cv
        self.scoring = scoring
        self.refit = refit
        self.n_jobs = n_jobs
        self.selection = selection
        self.hidden_layer_sizes = hidden_layer_sizes
        self.max_iter = max_iter
        self.tol = tol
        self.solver = solver
        self.epsilon_init = epsilon_init
        self.random_state = random_state
        self.verbose = verbose
        self.batch_size = batch_size
        self.activation = activation
        self.output_activation = output_activation
        self.class_weight = class_weight
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun

    def _cost_scale(self, y, sample_weight):
        return 1.0

    def _same_targets(self, fold_model, y):
        """Whether the fold's network was fit on every class of ``y``."""
        if np.ndim(y) == 2:
            return True
        classes = to_numpy(fold_model.classes_)
        return np.array_equal(classes, np.unique(np.asarray(to_numpy(y))))

    def _n_outputs(self, y):
        """The output units (for the path's ``tol``), as the fits encode ``y``."""
        y = np.asarray(to_numpy(y))  # a dask y's labels are gathered
        return encode_labels(y, self.output_activation)[1].shape[1]


class BackpropRegressorCV(_AlphaPath, BackpropRegressor):
    __doc__ = """The course's regressor with λ (``alpha``) chosen by cross-validation.

    Each fold walks the λ grid from the smallest value to the largest, every
    fit starting from the previous λ's weights, so that one call replaces
    ``GridSearchCV(BackpropRegressor(), {"alpha": ...})``.
""" + _PARAMETERS_DOC.format(
        scale=", times the (weighted) variance of the targets, the scale of "
        "the squared-error cost",
        stratified="",
        score="R²",
        base="BackpropRegressor",
        path_tol="the value of auto's schedule for the fit's size, without the "
        "tight fit of tiny problems",
    )

    _base_class = BackpropRegressor

    def __init__(
        self,
        alphas=10,
        cv=None,
        scoring=None,
        refit=True,
        n_jobs=None,
        selection="best",
        hidden_layer_sizes=(25,),
        max_iter=1000,
        tol="auto",
        solver="L-BFGS-B",
        epsilon_init=None,
        random_state=None,
        verbose=0,
        batch_size=None,
        activation="sigmoid",
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        max_fun=15000,
    ):
        self.alphas = alphas
        self.cv = cv
        self.scoring = scoring
        self.refit = refit
        self.n_jobs = n_jobs
        self.selection = selection
        self.hidden_layer_sizes = hidden_layer_sizes
        self.max_iter = max_iter
        self.tol = tol
        self.solver = solver
        self.epsilon_init = epsilon_init
        self.random_state = random_state
        self.verbose = verbose
        self.batch_size = batch_size
        self.activation = activation
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun

    def _n_outputs(self, y):
        return np.shape(y)[1] if np.ndim(y) == 2 else 1

    def _same_targets(self, fold_model, y):
        return True

    def _cost_scale(self, y, sample_weight):
        """The targets' weighted variance (mean over outputs), 1 if constant."""
        if not isinstance(self.alphas, numbers.Integral):
            return 1.0
        y = check_array(to_numpy(y), ensure_2d=False, dtype=np.float64, input_name="y")
        y = y.reshape(len(y), -1)
        mean = np.average(y, axis=0, weights=sample_weight)
        variance = np.average((y - mean) ** 2, axis=0, weights=sample_weight)
        variance = float(np.mean(variance))
        return variance if variance > 0 else 1.0
