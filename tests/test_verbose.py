"""verbose: the per-iteration table, and silence at verbose=0.

Why a fit stopped (its last line) is in ``test_stopping.py``.
"""

import numpy as np
import pytest

from skbackprop import BackpropClassifier

from _helpers import SOLVERS


@pytest.mark.parametrize("solver", ["L-BFGS-B", "TNC"])
def test_verbose_table_has_the_validation_columns_with_early_stopping(
    iris, capsys, solver
):
    X, y = iris
    clf = BackpropClassifier(
        hidden_layer_sizes=(3,),
        solver=solver,
        verbose=1,
        early_stopping=True,
        n_iter_no_change=2,
        random_state=0,
    ).fit(X, y)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == [
        *("iter", "J", "|grad|", "val.", "loss", "val.", "score", "time", "(s)")
    ]
    rows = [line.split() for line in lines[2 : 2 + clf.n_iter_]]
    assert [int(r[0]) for r in rows] == list(range(1, clf.n_iter_ + 1))
    np.testing.assert_allclose([float(r[1]) for r in rows], clf.loss_curve_, rtol=1e-9)
    np.testing.assert_allclose(
        [float(r[3]) for r in rows], clf.validation_loss_curve_, atol=1e-6
    )
    np.testing.assert_allclose(
        [float(r[4]) for r in rows], clf.validation_scores_, atol=1e-6
    )
    assert all(float(r[2]) >= 0 and float(r[5]) >= 0 for r in rows)


def test_verbose_zero_prints_nothing(small, capsys):
    X, y = small
    for solver in SOLVERS:
        BackpropClassifier(
            hidden_layer_sizes=(3,),
            solver=solver,
            max_iter=50,
            max_fun=200,
            early_stopping=True,
        ).fit(X, y)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""
