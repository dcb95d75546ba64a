"""Persistence with pickle and joblib: a loaded model predicts identically.

Every pickle protocol, a DataFrame-fitted model, a fresh process, and a warm
start from an unpickled model. skops is in ``test_skops.py``, ONNX in
``test_onnx.py``.
"""

import pickle
import subprocess
import sys
import textwrap

import joblib
import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from skbackprop import BackpropClassifier

from _helpers import _assert_same_predictions, _fitted_iris_model, iris_scaled


@pytest.mark.parametrize("frame", [False, True])
def test_pickle_round_trip_predicts_identically(frame):
    est, X_iris = _fitted_iris_model(frame)
    for protocol in range(2, pickle.HIGHEST_PROTOCOL + 1):
        loaded = pickle.loads(pickle.dumps(est, protocol=protocol))
        _assert_same_predictions(est, loaded, X_iris)
        for a, b in zip(est.thetas_, loaded.thetas_):
            np.testing.assert_array_equal(a, b)
        assert loaded.classes_.tolist() == est.classes_.tolist()
        if frame:
            np.testing.assert_array_equal(
                loaded.feature_names_in_, est.feature_names_in_
            )


def test_joblib_round_trip_predicts_identically(tmp_path):
    est, X_iris = _fitted_iris_model()
    for compress in (0, 3):
        path = tmp_path / f"model-{compress}.joblib"
        joblib.dump(est, path, compress=compress)
        _assert_same_predictions(est, joblib.load(path), X_iris)


def test_pickle_loads_and_predicts_in_a_fresh_process(tmp_path):
    est, X_iris = _fitted_iris_model(frame=True)
    model_path = tmp_path / "model.pkl"
    model_path.write_bytes(pickle.dumps(est))
    X_iris.to_pickle(tmp_path / "X.pkl")
    code = textwrap.dedent(
        f"""
        import pickle, sys, warnings
        import numpy as np, pandas as pd
        warnings.simplefilter("error")
        assert "skbackprop" not in sys.modules
        with open({str(model_path)!r}, "rb") as f:
            model = pickle.load(f)
        X = pd.read_pickle({str(tmp_path / "X.pkl")!r})
        np.save({str(tmp_path / "proba.npy")!r}, model.predict_proba(X))
        np.save({str(tmp_path / "pred.npy")!r}, model.predict(X))
        """
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
    np.testing.assert_array_equal(
        np.load(tmp_path / "proba.npy"), est.predict_proba(X_iris)
    )
    np.testing.assert_array_equal(np.load(tmp_path / "pred.npy"), est.predict(X_iris))


def test_unpickled_model_keeps_training_with_warm_start():
    X_iris, y_iris = iris_scaled()
    est = BackpropClassifier(hidden_layer_sizes=(4,), random_state=0, max_iter=5)
    with pytest.warns(ConvergenceWarning):
        est.fit(X_iris, y_iris)
    loaded = pickle.loads(pickle.dumps(est)).set_params(warm_start=True, max_iter=1000)
    loaded.fit(X_iris, y_iris)
    assert loaded.loss_ < est.loss_
