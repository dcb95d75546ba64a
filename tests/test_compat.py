"""skbackprop._compat: what differs across the supported scikit-learn and scipy.

Each test runs on every supported version; where a test checks a fallback, it
checks it against a hand computation, and against scikit-learn itself where
the installed scikit-learn has the feature.
"""

import importlib.util
import inspect

import numpy as np
import pytest
import scipy.optimize
from sklearn.utils.class_weight import compute_class_weight as sklearn_ccw

from skbackprop import BackpropClassifier, _compat
from skbackprop._compat import (
    _weighted_balanced_class_weight,
    compute_class_weight,
)

Y = np.array(["b", "a", "c", "a", "c", "c", "a"])
CLASSES = np.array(["a", "b", "c"])
SW = np.array([2.0, 1.0, 0.5, 3.0, 0.25, 1.75, 0.5])
# Weighted counts: a = 1 + 3 + 0.5 = 4.5, b = 2, c = 0.5 + 0.25 + 1.75 = 2.5;
# total 9; three classes in y. Class c weighs 9 / (3 * count_c).
BALANCED_WEIGHTED = [9 / (3 * 4.5), 9 / (3 * 2.0), 9 / (3 * 2.5)]
BALANCED = [7 / (3 * 3), 7 / (3 * 1), 7 / (3 * 3)]


@pytest.mark.parametrize(
    "func", [compute_class_weight, _weighted_balanced_class_weight]
)
def test_weighted_balanced_class_weight_by_hand(func):
    args = ("balanced",) if func is compute_class_weight else ()
    weights = func(*args, CLASSES, Y, SW)
    np.testing.assert_allclose(weights, BALANCED_WEIGHTED, rtol=1e-15)
    # "balanced" evens out the classes: each class's total weight is the same.
    totals = [np.sum(SW[Y == c]) * w for c, w in zip(CLASSES, weights)]
    np.testing.assert_allclose(totals, [SW.sum() / 3] * 3, rtol=1e-15)


def test_balanced_without_sample_weight_is_the_count_formula():
    np.testing.assert_allclose(
        compute_class_weight("balanced", CLASSES, Y), BALANCED, rtol=1e-15
    )
    # Unit sample weights give the unweighted result exactly.
    np.testing.assert_array_equal(
        compute_class_weight("balanced", CLASSES, Y, np.ones(Y.size)),
        compute_class_weight("balanced", CLASSES, Y),
    )


def test_dict_and_none_ignore_sample_weight():
    cw = {"a": 2.0, "c": 0.5}
    np.testing.assert_array_equal(
        compute_class_weight(cw, CLASSES, Y, SW), [2.0, 1.0, 0.5]
    )
    np.testing.assert_array_equal(compute_class_weight(None, CLASSES, Y, SW), [1, 1, 1])


def test_a_class_with_zero_total_weight_gets_infinite_weight():
    sw = SW.copy()
    sw[Y == "b"] = 0.0
    with np.errstate(divide="ignore"):
        weights = compute_class_weight("balanced", CLASSES, Y, sw)
    assert np.isinf(weights[1]) and np.all(np.isfinite(weights[[0, 2]]))


def test_class_weight_errors_are_scikit_learns():
    with pytest.raises(ValueError, match="classes should include all valid labels"):
        compute_class_weight("balanced", CLASSES[:2], Y, SW)
    with pytest.raises(ValueError, match="not in class_weight"):
        compute_class_weight({"z": 1.0}, CLASSES, Y, SW)


def test_fallback_matches_scikit_learn_bit_for_bit_where_it_has_sample_weight():
    # The fallback (used where scikit-learn's compute_class_weight has no
    # sample_weight) and scikit-learn's own function, where it has one.
    rng = np.random.RandomState(0)
    y = rng.randint(0, 5, 500)
    sw = rng.uniform(0, 3, 500)
    classes = np.unique(y)
    ours = _weighted_balanced_class_weight(classes, y, sw)
    has_sw = "sample_weight" in inspect.signature(sklearn_ccw).parameters
    assert _compat.SKLEARN_CLASS_WEIGHT_HAS_SAMPLE_WEIGHT == has_sw
    if has_sw:
        theirs = sklearn_ccw("balanced", classes=classes, y=y, sample_weight=sw)
        np.testing.assert_array_equal(ours, theirs)
    else:  # the fallback is what compute_class_weight returns
        np.testing.assert_array_equal(
            compute_class_weight("balanced", classes, y, sw), ours
        )
    counts = np.array([sw[y == c].sum() for c in classes])
    np.testing.assert_allclose(ours, sw.sum() / (5 * counts), rtol=1e-13)


def test_no_convergence_is_what_newton_krylov_raises():
    with pytest.raises(_compat.NoConvergence) as info:
        scipy.optimize.newton_krylov(
            lambda x: x**2 + 1.0, np.array([1.0]), maxiter=2, f_tol=1e-12
        )
    assert np.all(np.isfinite(info.value.args[0]))  # the last iterate


def test_callback_api_detection_agrees_with_scikit_learn():
    has_module = importlib.util.find_spec("sklearn.callback") is not None
    assert _compat.HAS_SKLEARN_CALLBACKS == has_module
    assert hasattr(BackpropClassifier(), "set_callbacks") == has_module
