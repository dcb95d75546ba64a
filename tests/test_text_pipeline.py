"""BackpropClassifier on sparse TF-IDF text features, in a Pipeline.

The corpus is real English text available offline: the docstrings of the
public functions of four standard-library namespaces (``math``, ``os.path``,
``random.Random`` and ``str``), each labelled with its namespace.
"""

import inspect
import math
import os.path
import random

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.sparse.linalg import LinearOperator, cg
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline

from skbackprop import BackpropClassifier
from skbackprop.backprop import cost_function, make_hessian_vector_product, unroll

SOURCES = {"math": math, "os.path": os.path, "random": random.Random, "str": str}


def docstring_corpus():
    texts, labels = [], []
    for label, namespace in SOURCES.items():
        for name in dir(namespace):
            doc = (
                None
                if name.startswith("_")
                else inspect.getdoc(getattr(namespace, name))
            )
            if doc and len(doc) > 20:
                texts.append(doc)
                labels.append(label)
    return np.array(texts, dtype=object), np.array(labels)


@pytest.fixture(scope="module")
def text_split():
    texts, labels = docstring_corpus()
    assert len(texts) > 120 and set(labels) == set(SOURCES)
    return train_test_split(
        texts, labels, test_size=0.3, stratify=labels, random_state=0
    )


@pytest.fixture(scope="module")
def fitted_pipeline(text_split):
    X_train, _, y_train, _ = text_split
    pipe = Pipeline(
        [
            ("tfidf", TfidfVectorizer()),
            (
                "net",
                # tol=0: trained to the minimum, which the sparse-versus-dense
                # test below compares.
                BackpropClassifier(
                    hidden_layer_sizes=(10,), alpha=0.1, tol=0, random_state=0
                ),
            ),
        ]
    )
    return pipe.fit(X_train, y_train)


def test_tfidf_pipeline_classifies_held_out_text(text_split, fitted_pipeline):
    _, X_test, _, y_test = text_split
    assert fitted_pipeline.score(X_test, y_test) > 0.85
    # Four classes from namespace names, not from a chance split.
    assert set(fitted_pipeline.classes_) == set(SOURCES)


def _newton_step(clf, X, Y, alpha):
    """The Newton step ``s`` solving ``H s = grad J`` at ``clf``'s weights.

    ``theta - s`` is the minimum that ``clf`` stopped near (to second order);
    ``H`` is applied by :func:`~skbackprop.backprop.make_hessian_vector_product`
    and the system solved by conjugate gradients.
    """
    params = unroll(clf.thetas_)
    _, grad = cost_function(params, clf.layer_sizes_, X, Y, alpha)
    hvp = make_hessian_vector_product(params, clf.layer_sizes_, X, Y, alpha)
    H = LinearOperator((params.size, params.size), matvec=hvp, dtype=np.float64)
    step, info = cg(H, grad, atol=0.0)
    assert info == 0
    return step


def test_sparse_pipeline_follows_the_dense_fit(text_split):
    X_train, _, y_train, _ = text_split
    A_train = TfidfVectorizer().fit_transform(X_train)
    assert sp.issparse(A_train) and A_train.format == "csr"
    assert A_train.nnz < 0.05 * np.prod(A_train.shape)  # really sparse
    # Sparse and dense paths differ only by summation order, which L-BFGS
    # amplifies about tenfold every ten iterations (measured: 1e-16 after 5,
    # 1e-13 after 20, then 1e-7 by 80, where the fits may part for different
    # minima). Twenty iterations compare the paths with room to spare.
    fits = []
    for A in (A_train, A_train.toarray()):
        net = BackpropClassifier(
            hidden_layer_sizes=(10,), alpha=0.1, tol=0, max_iter=20, random_state=0
        )
        with pytest.warns(ConvergenceWarning, match="max_iter=20"):
            fits.append(net.fit(A, y_train))
    sparse_fit, dense_fit = fits
    assert sparse_fit.n_iter_ == dense_fit.n_iter_ == 20
    np.testing.assert_allclose(
        unroll(sparse_fit.thetas_), unroll(dense_fit.thetas_), rtol=0, atol=1e-9
    )
    np.testing.assert_allclose(
        sparse_fit.loss_curve_, dense_fit.loss_curve_, rtol=1e-12
    )


def test_sparse_pipeline_fits_to_a_minimum_and_predicts_as_dense(
    text_split, fitted_pipeline
):
    X_train, X_test, y_train, _ = text_split
    tfidf, net = fitted_pipeline["tfidf"], fitted_pipeline["net"]
    A_train, A_test = tfidf.transform(X_train), tfidf.transform(X_test)
    Y = net._label_binarizer.transform(y_train).astype(float)
    # tol=0 on sparse input ends at a minimum: one exact Newton step from it
    # is tiny (it stops with a gradient of ~1e-11, curvatures down to ~1e-4).
    step = _newton_step(net, A_train.toarray(), Y, 0.1)
    assert np.max(np.abs(step)) < 1e-5
    np.testing.assert_allclose(
        net.predict_proba(A_test), net.predict_proba(A_test.toarray()), atol=1e-12
    )
    np.testing.assert_array_equal(
        fitted_pipeline.predict(X_test), net.predict(A_test.toarray())
    )


@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_sparse_cost_equals_dense_cost_on_text(text_split, fitted_pipeline, fmt):
    X_train, _, y_train, _ = text_split
    tfidf, net = fitted_pipeline["tfidf"], fitted_pipeline["net"]
    A = tfidf.transform(X_train).asformat(fmt)
    Y = net._label_binarizer.transform(y_train).astype(float)
    params = unroll(net.thetas_) + 0.01  # away from the minimum: gradient not ~0
    J_s, g_s = cost_function(params, net.layer_sizes_, A, Y, 0.1)
    J_d, g_d = cost_function(params, net.layer_sizes_, A.toarray(), Y, 0.1)
    assert J_s == pytest.approx(J_d, rel=1e-10)
    assert np.linalg.norm(g_s - g_d) <= 1e-10 * np.linalg.norm(g_d)
