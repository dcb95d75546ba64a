"""The placement objects: which one an array gets, and the hold-out that cuts
the training rows as one bundle (skbackprop._placement)."""

import array_api_strict as xp_strict
import dask.array as da
import numpy as np
import pytest
import scipy.sparse
import sklearn

from skbackprop._compat import HAS_ARRAY_API
from skbackprop._placement import (
    HOST,
    DevicePlacement,
    FitData,
    input_placement,
    placement_for,
)


def _bundle(n_rows=40, n_classes=2):
    """A FitData whose every part says which row it came from."""
    rows = np.arange(n_rows, dtype=float)
    y = np.arange(n_rows) % n_classes
    return FitData(
        X=np.column_stack([rows, -rows]),
        Y=np.eye(n_classes)[y] * rows[:, None],
        y=y,
        sample_weight=rows + 1.0,
        user_sample_weight=2.0 * rows + 1.0,
    )


def test_each_kind_of_array_gets_its_placement():
    X = np.ones((3, 2))
    assert placement_for(X) is HOST
    assert placement_for(scipy.sparse.csr_matrix(X)) is HOST
    assert placement_for(X.tolist()) is HOST
    device = placement_for(xp_strict.asarray(X))
    assert isinstance(device, DevicePlacement) and device.xp is xp_strict


def test_an_array_api_input_is_the_hosts_without_dispatch():
    X = xp_strict.asarray(np.ones((3, 2)))
    assert input_placement(X) is HOST  # scikit-learn's validation converts it
    if HAS_ARRAY_API:
        with sklearn.config_context(array_api_dispatch=True):
            assert isinstance(input_placement(X), DevicePlacement)


def test_a_dask_array_gets_the_dask_placement():
    from skbackprop._dask_data import DaskPlacement

    Xd = da.ones((4, 2), chunks=(2, 2))
    assert isinstance(placement_for(Xd), DaskPlacement)
    assert isinstance(input_placement(Xd), DaskPlacement)


@pytest.mark.parametrize("stratify", [False, True])
def test_the_hold_out_cuts_every_part_of_the_rows_alike(stratify):
    data = _bundle()
    rng = np.random.RandomState(0)
    train, (X_val, Y_val, y_val, w_val) = HOST.split(
        data, 0.25, data.y if stratify else None, rng
    )
    rows = train.X[:, 0]
    np.testing.assert_array_equal(train.sample_weight, rows + 1.0)
    np.testing.assert_array_equal(train.user_sample_weight, 2.0 * rows + 1.0)
    np.testing.assert_array_equal(train.Y.sum(axis=1), rows)
    np.testing.assert_array_equal(train.y, rows.astype(int) % 2)
    np.testing.assert_array_equal(w_val, X_val[:, 0] + 1.0)
    np.testing.assert_array_equal(Y_val.sum(axis=1), X_val[:, 0])
    assert len(X_val) == len(y_val) == 10 and len(rows) == 30
    assert sorted(np.concatenate([rows, X_val[:, 0]])) == list(range(40))
    if stratify:
        assert np.bincount(y_val).tolist() == [5, 5]


def test_the_hold_out_on_a_device_takes_the_hosts_rows():
    data = _bundle()
    on_device = data._replace(X=xp_strict.asarray(data.X))
    device = placement_for(on_device.X)
    train, validation = device.split(on_device, 0.25, None, np.random.RandomState(3))
    train_host, validation_host = HOST.split(data, 0.25, None, np.random.RandomState(3))
    np.testing.assert_array_equal(np.asarray(train.X), train_host.X)
    np.testing.assert_array_equal(np.asarray(validation[0]), validation_host[0])
    np.testing.assert_array_equal(
        train.user_sample_weight, train_host.user_sample_weight
    )


def test_a_hold_out_of_zero_weight_rows_is_unweighted_and_training_ones_refused():
    data = _bundle(n_rows=4)._replace(sample_weight=np.array([1.0, 1.0, 0.0, 0.0]))
    found = set()
    for seed in range(20):
        try:
            train, (_, _, _, w_val) = HOST.split(
                data, 0.5, None, np.random.RandomState(seed)
            )
        except ValueError as exc:
            assert "only samples of zero weight for training" in str(exc)
            found.add("refused")
            continue
        if not train.sample_weight.sum() < 2.0:
            assert w_val is None  # both held-out rows weigh 0
            found.add("unweighted")
    assert found == {"refused", "unweighted"}


def test_validation_data_follow_the_training_data_unless_on_a_cluster():
    from skbackprop._dask_data import DaskPlacement

    X_dev = xp_strict.asarray(np.ones((3, 2)))
    Xd = da.ones((4, 2), chunks=(2, 2))
    device = placement_for(X_dev)
    assert HOST.validation_placement(np.ones((3, 2))) is HOST
    assert isinstance(HOST.validation_placement(Xd), DaskPlacement)
    assert device.validation_placement(np.ones((3, 2))) is device
    assert DaskPlacement().validation_placement(np.ones((3, 2))) is HOST
    if HAS_ARRAY_API:
        with sklearn.config_context(array_api_dispatch=True):
            # A device X_val for a numpy fit comes to the host, and is
            # scored there as a numpy X_val is.
            assert HOST.validation_placement(X_dev) is HOST
            assert DaskPlacement().validation_placement(X_dev) is HOST
