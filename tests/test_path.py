"""BackpropClassifierCV and BackpropRegressorCV: the λ path, its choice, its refit."""

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_diabetes, load_iris, make_moons
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.metrics import accuracy_score
from sklearn.model_selection import KFold, StratifiedKFold, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import skbackprop._placement as placement_module
from skbackprop import (
    BackpropClassifier,
    BackpropClassifierCV,
    BackpropRegressor,
    BackpropRegressorCV,
)
from skbackprop._path import choose_alpha

ALPHAS = [1.0, 0.1, 0.01]
SMALL = dict(hidden_layer_sizes=(4,), random_state=0)


def moons(n=200):
    X, y = make_moons(n, noise=0.25, random_state=0)
    return StandardScaler().fit_transform(X), y


def diabetes():
    X, y = load_diabetes(return_X_y=True)
    return StandardScaler().fit_transform(X)[:200], y[:200]


@pytest.mark.parametrize("weighted", [False, True])
def test_each_fold_walks_up_in_lambda_from_the_previous_weights(weighted):
    """Every score is that of a warm-started walk, smallest λ first, replayed here."""
    X, y = moons()
    weights = np.arange(len(y)) % 3 + 1.0 if weighted else None
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    est = BackpropClassifierCV(alphas=ALPHAS, cv=cv, **SMALL)
    est.fit(X, y, sample_weight=weights)
    for k, (train, test) in enumerate(cv.split(X, y)):
        walker = BackpropClassifier(warm_start=True, tol=1e-3, **SMALL)
        fit_kw = {} if weights is None else {"sample_weight": weights[train]}
        for j in (2, 1, 0):  # alphas_ is largest first
            walker.set_params(alpha=ALPHAS[j]).fit(X[train], y[train], **fit_kw)
            walker.set_params(n_iter_no_change=5)  # the warm fits' window
            score = accuracy_score(
                y[test],
                walker.predict(X[test]),
                sample_weight=None if weights is None else weights[test],
            )
            assert est.scores_[k, j] == score
    np.testing.assert_array_equal(est.alphas_, ALPHAS)


def test_the_iterations_are_the_warm_walks_not_cold_fits():
    X, y = moons()
    cv = KFold(2, shuffle=True, random_state=0)
    est = BackpropClassifierCV(alphas=ALPHAS, cv=cv, **SMALL).fit(X, y)
    warm, cold = [], []
    for train, _ in cv.split(X, y):
        walker = BackpropClassifier(warm_start=True, tol=1e-3, **SMALL)
        for alpha in ALPHAS[::-1]:
            walker.set_params(alpha=alpha).fit(X[train], y[train])
            warm.append(walker.n_iter_)
            walker.set_params(n_iter_no_change=5)
            fresh = BackpropClassifier(alpha=alpha, tol=1e-3, **SMALL)
            cold.append(fresh.fit(X[train], y[train]).n_iter_)
    per_fold = np.array(warm).reshape(2, 3)[:, ::-1]  # largest λ first
    np.testing.assert_array_equal(est.cv_results_["mean_n_iter"], per_fold.mean(0))
    assert warm != cold


def test_refit_continues_the_best_folds_network_on_all_rows():
    X, y = moons()
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    est = BackpropClassifierCV(alphas=ALPHAS, cv=cv, **SMALL).fit(X, y)
    mean = est.cv_results_["mean_test_score"]
    chosen = int(np.argmax(mean))
    assert est.alpha_ == ALPHAS[chosen]
    fold = int(np.argmax(est.scores_[:, chosen]))
    train, _ = list(cv.split(X, y))[fold]
    walker = BackpropClassifier(warm_start=True, tol=1e-3, **SMALL)
    for alpha in ALPHAS[::-1][: len(ALPHAS) - chosen]:
        walker.set_params(alpha=alpha).fit(X[train], y[train])
        walker.set_params(n_iter_no_change=5)
    # The refit, on all rows, at the estimator's own tol and window.
    walker.set_params(tol="auto", n_iter_no_change=10).fit(X, y)
    for got, expected in zip(est.thetas_, walker.thetas_):
        np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(est.predict_proba(X), walker.predict_proba(X))
    assert est.loss_curve_ == walker.loss_curve_
    assert est.n_iter_ == walker.n_iter_


def test_refit_at_a_large_alpha_keeps_what_the_path_found():
    """4-bit parity: a cold fit at the chosen λ stays at chance, the path does not."""
    rng = np.random.default_rng(0)
    bits = rng.integers(0, 2, size=(1000, 4))
    X = (2 * bits - 1) + 0.1 * rng.normal(size=bits.shape)
    y = bits.sum(axis=1) % 2
    alphas = [3.0, 1.0, 0.1, 0.01]
    est = BackpropClassifierCV(alphas=alphas, cv=3, random_state=0).fit(X, y)
    assert est.scores_.min() == 1.0 and est.alpha_ == 3.0  # ties: the larger λ
    assert est.score(X, y) == 1.0
    cold = BackpropClassifier(alpha=3.0, random_state=0).fit(X, y)
    assert cold.score(X, y) < 0.7


def test_regressor_grid_is_scaled_by_the_targets_variance():
    X, y = diabetes()
    est = BackpropRegressorCV(alphas=4, cv=2, **SMALL).fit(X, y)
    np.testing.assert_allclose(est.alphas_, np.var(y) * np.logspace(1.5, -3, 4))
    assert est.scores_.shape == (2, 4)
    assert est.score(X, y) > 0.3


def test_regressor_walks_at_its_own_tol():
    """The regressor's path fits stop at auto's 1.5e-4, not tight (tiny) nor 1e-3."""
    X, y = diabetes()
    cv = KFold(2, shuffle=True, random_state=0)
    est = BackpropRegressorCV(alphas=[100.0, 10.0], cv=cv, **SMALL).fit(X, y)
    for k, (train, test) in enumerate(cv.split(X)):
        walker = BackpropRegressor(warm_start=True, tol=1.5e-4, **SMALL)
        for j in (1, 0):
            walker.set_params(alpha=est.alphas_[j]).fit(X[train], y[train])
            walker.set_params(n_iter_no_change=5)
            assert est.scores_[k, j] == walker.score(X[test], y[test])


def test_classifier_grid_from_an_int():
    X, y = moons(100)
    est = BackpropClassifierCV(alphas=3, cv=2, **SMALL).fit(X, y)
    np.testing.assert_allclose(est.alphas_, [10**1.5, 10**-0.75, 1e-3])


def test_best_and_one_standard_error_selection():
    # Three folds, four λ (largest first). Means 0.70, 0.80, 0.84, 0.83.
    scores = np.array(
        [
            [0.70, 0.78, 0.80, 0.83],
            [0.70, 0.80, 0.84, 0.83],
            [0.70, 0.82, 0.88, 0.83],
        ]
    )
    assert choose_alpha(scores, "best") == 2
    # λ 2's standard error: std(0.80, 0.84, 0.88, ddof=1) / sqrt(3) = 0.0231;
    # λ 1's mean 0.80 is below 0.84 - 0.0231, λ 0's too: λ 2 stays.
    assert choose_alpha(scores, "1se") == 2
    wide = scores.copy()
    wide[:, 2] = [0.76, 0.84, 0.92]  # standard error 0.0462: 0.80 is within
    assert choose_alpha(wide, "1se") == 1


def test_ties_choose_the_largest_alpha_and_nan_cells_are_left_out():
    scores = np.array([[0.9, 0.9, np.nan], [0.9, 0.9, np.nan]])
    assert choose_alpha(scores, "best") == 0
    scores = np.array([[np.nan, 0.5, 0.9], [np.nan, np.nan, 0.7]])
    assert choose_alpha(scores, "best") == 2


def test_one_standard_error_rule_picks_a_larger_alpha_on_data():
    X, y = moons()
    params = dict(alphas=[10.0, 3.0, 1.0, 0.3, 0.1], cv=3, **SMALL)
    best = BackpropClassifierCV(**params).fit(X, y)
    one_se = BackpropClassifierCV(selection="1se", **params).fit(X, y)
    assert one_se.alpha_ >= best.alpha_
    np.testing.assert_array_equal(one_se.scores_, best.scores_)
    chosen = list(one_se.alphas_).index(one_se.alpha_)
    mean, scores = one_se.cv_results_["mean_test_score"], one_se.scores_
    best_j = int(np.argmax(mean))
    error = np.std(scores[:, best_j], ddof=1) / np.sqrt(3)
    assert mean[chosen] >= mean[best_j] - error
    assert all(mean[j] < mean[best_j] - error for j in range(chosen))


def test_cv_results_and_attributes():
    X, y = moons()
    est = BackpropClassifierCV(alphas=ALPHAS, cv=3, **SMALL).fit(X, y)
    results = est.cv_results_
    np.testing.assert_allclose(results["mean_test_score"], est.scores_.mean(axis=0))
    np.testing.assert_allclose(results["std_test_score"], est.scores_.std(axis=0))
    for k in range(3):
        np.testing.assert_array_equal(results[f"split{k}_test_score"], est.scores_[k])
    best = int(np.argmax(results["mean_test_score"]))
    assert results["rank_test_score"][best] == 1
    assert sorted(results["rank_test_score"]) == [1, 2, 3]
    assert np.all(results["mean_fit_time"] > 0)
    assert np.all(results["mean_n_iter"] >= 1)


def test_same_random_state_same_path_and_model():
    X, y = moons()
    first = BackpropClassifierCV(alphas=ALPHAS, cv=3, **SMALL).fit(X, y)
    second = BackpropClassifierCV(alphas=ALPHAS, cv=3, **SMALL).fit(X, y)
    np.testing.assert_array_equal(first.scores_, second.scores_)
    for a, b in zip(first.thetas_, second.thetas_):
        np.testing.assert_array_equal(a, b)


def test_parallel_folds_give_the_sequential_scores():
    X, y = moons()
    params = dict(alphas=ALPHAS, cv=3, **SMALL)
    sequential = BackpropClassifierCV(**params).fit(X, y)
    parallel = BackpropClassifierCV(n_jobs=2, **params).fit(X, y)
    np.testing.assert_array_equal(parallel.scores_, sequential.scores_)
    assert parallel.alpha_ == sequential.alpha_


def test_class_weight_and_scoring_reach_every_fit():
    X, y = moons()
    keep = np.r_[np.flatnonzero(y == 0), np.flatnonzero(y == 1)[:30]]
    X, y = X[keep], y[keep]
    params = dict(alphas=ALPHAS, cv=3, class_weight="balanced", **SMALL)
    est = BackpropClassifierCV(scoring="balanced_accuracy", **params).fit(X, y)
    unweighted = BackpropClassifierCV(**{**params, "class_weight": None}).fit(X, y)
    assert not np.array_equal(unweighted.scores_, est.scores_)  # weights reach folds
    plain = BackpropClassifierCV(**params).fit(X, y)
    assert not np.array_equal(plain.scores_, est.scores_)  # accuracy vs balanced


def test_refit_false_fits_the_path_only():
    X, y = moons()
    est = BackpropClassifierCV(alphas=ALPHAS, cv=3, refit=False, **SMALL).fit(X, y)
    assert est.alpha_ in ALPHAS and not hasattr(est, "thetas_")
    with pytest.raises(NotFittedError):
        est.predict(X)


def test_a_new_fit_replaces_the_previous_model():
    X, y = moons()
    est = BackpropClassifierCV(alphas=ALPHAS, cv=3, **SMALL).fit(X, y)
    est.set_params(refit=False).fit(X, y)
    assert not hasattr(est, "thetas_")


def test_pipeline_and_nested_cross_validation():
    X, y = load_iris(return_X_y=True)
    model = make_pipeline(
        StandardScaler(), BackpropClassifierCV(alphas=[1.0, 0.01], cv=3, **SMALL)
    )
    result = cross_validate(model, X, y, cv=3, return_estimator=True)
    assert result["test_score"].mean() > 0.85
    for fitted in result["estimator"]:
        assert fitted[-1].alpha_ in (1.0, 0.01)


def test_bad_weights_are_refused_before_any_fit():
    X, y = diabetes()
    est = BackpropRegressorCV(alphas=3, cv=2, **SMALL)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        est.fit(X, y, sample_weight=np.ones(3))
    with pytest.raises(ValueError, match=r"sample_weight.shape == \(200, 2\)"):
        est.fit(X, y, sample_weight=np.ones((200, 2)))
    with pytest.raises(ValueError, match="Negative values in data passed to"):
        est.fit(X, y, sample_weight=-np.ones(len(y)))
    assert not hasattr(est, "alpha_")


@pytest.mark.parametrize(
    "params, error, match",
    [
        (dict(alphas=0), ValueError, "alphas == 0, must be >= 1"),
        (dict(alphas="many"), ValueError, "alphas must be an int"),
        (dict(alphas=[[1.0, 0.1]]), ValueError, "1-D array"),
        (dict(alphas=[]), ValueError, "alphas must hold at least one"),
        (dict(alphas=[1.0, -0.1]), ValueError, "alphas must be non-negative"),
        (dict(alphas=[1.0, np.nan]), ValueError, "alphas contains NaN"),
        (dict(selection="min"), ValueError, "selection must be one of"),
        (dict(refit="yes"), TypeError, "refit must be a bool"),
        (dict(cv="five"), ValueError, "Expected `?cv`? as an integer"),
        (dict(scoring="nope"), ValueError, "nope"),
        (dict(hidden_layer_sizes=(0,)), ValueError, "hidden_layer_sizes"),
        (dict(tol=-1.0), ValueError, "tol == -1.0"),
    ],
)
def test_bad_parameters_are_refused_and_leave_the_estimator_as_it_was(
    params, error, match
):
    X, y = moons(60)
    est = BackpropClassifierCV(alphas=[1.0], cv=2, **SMALL).fit(X, y)
    before = {k: v for k, v in vars(est).items()}
    est.set_params(**params)
    with pytest.raises(error, match=match):
        est.fit(X, y)
    assert est.alpha_ == before["alpha_"]
    assert est.thetas_ is before["thetas_"]


def test_parameters_are_the_base_estimators_plus_the_paths():
    path_names = {"alphas", "cv", "scoring", "refit", "n_jobs", "selection"}
    for path, base in [
        (BackpropClassifierCV, BackpropClassifier),
        (BackpropRegressorCV, BackpropRegressor),
    ]:
        expected = set(base().get_params()) - {"alpha", "warm_start"} | path_names
        assert set(path().get_params()) == expected
        defaults = base().get_params()
        for name, value in path().get_params().items():
            if name in defaults:
                assert value == defaults[name], name


def test_ctrl_c_keeps_the_best_network_so_far(monkeypatch):
    """Ctrl-C mid-path: a warning, NaN for what was not fit, a working model."""
    X, y = moons()
    calls = [0]
    real = placement_module.make_cost_function

    def interrupting(*args, **kwargs):
        cost = real(*args, **kwargs)

        def wrapped(params):
            calls[0] += 1
            if calls[0] == 40:
                raise KeyboardInterrupt
            return cost(params)

        return wrapped

    monkeypatch.setattr(placement_module, "make_cost_function", interrupting)
    est = BackpropClassifierCV(alphas=ALPHAS, cv=3, **SMALL)
    with pytest.warns(ConvergenceWarning, match="lambda path was interrupted"):
        est.fit(X, y)
    assert np.isnan(est.scores_).any() and not np.isnan(est.scores_).all()
    assert not np.isnan(est.scores_[:, ALPHAS.index(est.alpha_)]).all()
    assert est.predict(X).shape == y.shape
    assert calls[0] == 40  # nothing was fit after the interrupt


@pytest.mark.parametrize("Path", [BackpropClassifierCV, BackpropRegressorCV])
def test_integer_weights_equal_repeated_rows_on_the_same_folds(Path):
    """Weighted rows and repeated rows agree when each fold holds the same rows."""
    X, y = moons(90) if Path is BackpropClassifierCV else diabetes()
    X, y = X[:90], y[:90]
    weights = np.random.default_rng(0).integers(0, 4, len(y))
    origin = np.repeat(np.arange(len(y)), weights)
    folds = list(KFold(3, shuffle=True, random_state=0).split(X))
    repeated_folds = [
        (np.flatnonzero(np.isin(origin, train)), np.flatnonzero(np.isin(origin, test)))
        for train, test in folds
    ]
    params = dict(alphas=ALPHAS, tol=0, **SMALL)
    if Path is BackpropRegressorCV:  # convex, one minimum; the weighted variance
        params.update(alphas=3, hidden_layer_sizes=())  # sets the grid
    weighted = Path(cv=folds, **params).fit(X, y, sample_weight=weights)
    repeated = Path(cv=repeated_folds, **params).fit(X[origin], y[origin])
    np.testing.assert_allclose(weighted.scores_, repeated.scores_, rtol=1e-6)
    assert weighted.alpha_ == pytest.approx(repeated.alpha_, rel=1e-12)
    np.testing.assert_allclose(weighted.predict(X), repeated.predict(X), rtol=1e-6)


def test_onnx_export_predicts_as_the_fitted_path_estimator():
    import onnxruntime

    from skbackprop.onnx import to_onnx

    X, y = load_iris(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    est = BackpropClassifierCV(alphas=[1.0, 0.1], cv=3, **SMALL).fit(X, y)
    onx = to_onnx(est, X[:1].astype(np.float32), zipmap=False)
    session = onnxruntime.InferenceSession(
        onx.SerializeToString(), providers=["CPUExecutionProvider"]
    )
    label, proba = session.run(
        None, {session.get_inputs()[0].name: X.astype(np.float32)}
    )
    np.testing.assert_array_equal(label, est.predict(X.astype(np.float32)))
    np.testing.assert_allclose(
        proba, est.predict_proba(X.astype(np.float32)), atol=1e-5
    )


def test_skops_round_trip_keeps_the_path_and_the_model(tmp_path):
    import skops.io as sio

    X, y = diabetes()
    est = BackpropRegressorCV(alphas=3, cv=2, **SMALL).fit(X, y)
    path = tmp_path / "model.skops"
    sio.dump(est, path)
    loaded = sio.load(path, trusted=[BackpropRegressorCV])
    np.testing.assert_array_equal(loaded.predict(X), est.predict(X))
    np.testing.assert_array_equal(loaded.scores_, est.scores_)
    assert loaded.alpha_ == est.alpha_


def test_path_display_draws_the_mean_scores_and_marks_alpha_():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from skbackprop.inspection import AlphaPathDisplay

    X, y = moons()
    model = make_pipeline(
        StandardScaler(), BackpropClassifierCV(alphas=ALPHAS, cv=3, **SMALL)
    ).fit(X, y)
    display = AlphaPathDisplay.from_estimator(model)
    est = model[-1]
    np.testing.assert_array_equal(display.line_.get_xdata(), ALPHAS)
    np.testing.assert_array_equal(display.line_.get_ydata(), est.scores_.mean(axis=0))
    assert display.chosen_line_.get_xdata()[0] == est.alpha_
    assert display.ax_.get_xscale() == "log"
    plt.close(display.figure_)
    for not_a_path in (BackpropClassifier(), BackpropClassifierCV()):
        with pytest.raises(ValueError, match="needs a fitted BackpropClassifierCV"):
            AlphaPathDisplay.from_estimator(not_a_path)


def test_the_window_is_shortened_only_for_tol_auto():
    """A numeric tol keeps the user's n_iter_no_change on every fit."""
    X, y = moons()
    cv = KFold(2, shuffle=True, random_state=0)
    params = dict(alphas=ALPHAS, cv=cv, tol=1e-3, **SMALL)
    est = BackpropClassifierCV(**params).fit(X, y)
    iters = []
    for train, _ in cv.split(X, y):
        walker = BackpropClassifier(warm_start=True, tol=1e-3, **SMALL)
        for alpha in ALPHAS[::-1]:
            iters.append(walker.set_params(alpha=alpha).fit(X[train], y[train]).n_iter_)
    per_fold = np.array(iters).reshape(2, 3)[:, ::-1]
    np.testing.assert_array_equal(est.cv_results_["mean_n_iter"], per_fold.mean(0))
    auto = BackpropClassifierCV(**{**params, "tol": "auto"}).fit(X, y)
    assert auto.cv_results_["mean_n_iter"][:2].sum() < per_fold.mean(0)[:2].sum()


def test_the_paths_tol_is_at_least_1e_3_and_autos_own_on_large_fits():
    from skbackprop._path import path_tol

    assert path_tol("auto", False, 200, (2, 4, 1), 1e-3) == 1e-3  # auto: tight (0)
    assert path_tol("auto", False, 8000, (64, 25, 10), 1e-3) == 1e-3  # auto: 1.5e-4
    assert path_tol("auto", False, 200, (2, 4, 1), 0.0) == 1.5e-4  # not tight
    # 1e6 rows x 79,510 weights is past auto's largest size: its 2e-2.
    assert path_tol("auto", False, 10**6, (784, 100, 10), 1e-3) == 2e-2
    assert path_tol(0.0, False, 200, (2, 4, 1), 1e-3) == 0.0  # a number as it is
    assert path_tol("auto", True, 200, (2, 4, 1), 1e-3) == "auto"  # a score gain


def test_verbose_prints_a_line_per_fold_and_lambda(capsys):
    X, y = moons(100)
    BackpropClassifierCV(alphas=ALPHAS, cv=2, verbose=1, **SMALL).fit(X, y)
    lines = [
        line for line in capsys.readouterr().out.splitlines() if line.startswith("fold")
    ]
    assert len(lines) == 6
    assert lines[0].startswith("fold 0: alpha=0.01 score=")
    assert lines[-1].startswith("fold 1: alpha=1 score=")


def test_a_nan_fold_score_is_left_out_not_read_as_a_ctrl_c():
    """Only a Ctrl-C ends the walk: a scorer's NaN is one missing cell."""
    X, y = moons()
    calls = [0]

    def nan_once(est, X_test, y_test):
        calls[0] += 1
        return np.nan if calls[0] == 2 else est.score(X_test, y_test)

    est = BackpropClassifierCV(alphas=ALPHAS, cv=3, scoring=nan_once, **SMALL)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        est.fit(X, y)
    assert calls[0] == 9  # every fold walked every λ
    assert np.isnan(est.scores_[0, 1]) and np.isnan(est.scores_).sum() == 1
    assert hasattr(est, "thetas_")  # refit, not kept from a fold


def test_a_fold_whose_test_rows_weigh_nothing_is_not_scored():
    # accuracy_score refuses weights that are all 0; such a fold says
    # nothing of any lambda: NaN, and alpha_ from the other folds.
    X, y = make_moons(90, noise=0.2, random_state=0)
    folds = list(KFold(3).split(X))
    w = np.ones(len(y))
    w[folds[0][1]] = 0.0
    params = dict(hidden_layer_sizes=(3,), alphas=4, random_state=0)
    clf = BackpropClassifierCV(**params, cv=folds).fit(X, y, sample_weight=w)
    assert np.isnan(clf.scores_[0]).all() and np.isfinite(clf.scores_[1:]).all()
    rest = BackpropClassifierCV(**params, cv=folds[1:]).fit(X, y, sample_weight=w)
    np.testing.assert_array_equal(clf.scores_[1:], rest.scores_)
    assert clf.alpha_ == rest.alpha_
    np.testing.assert_array_equal(clf.predict(X), rest.predict(X))


@pytest.mark.parametrize(
    "output_activation, kind",
    [
        ("sigmoid", "binary"),
        ("softmax", "binary"),
        ("sigmoid", "multiclass"),
        ("softmax", "multiclass"),
        ("sigmoid", "multilabel"),  # a softmax gives one label per sample
    ],
)
def test_the_paths_tol_counts_the_output_units_the_fits_have(output_activation, kind):
    # The path's tol="auto" is sized by rows x weights: its count of output
    # units must be the fitted network's (two for a binary softmax).
    X, y = make_moons(40, noise=0.2, random_state=0)
    y = {
        "binary": y,
        "multiclass": np.arange(40) % 3,
        "multilabel": np.c_[y, 1 - y, np.arange(40) % 2],
    }[kind]
    params = dict(hidden_layer_sizes=(3,), output_activation=output_activation)
    fitted = BackpropClassifier(**params, max_iter=2).fit(X, y)
    path = BackpropClassifierCV(**params)
    assert path._n_outputs(y) == fitted.layer_sizes_[-1]
