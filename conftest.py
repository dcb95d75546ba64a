"""Pytest configuration for the whole repository (tests and doctests).

scikit-learn's array API dispatch (its ``check_array_api_input``, and the
Array API examples in docstrings) needs SciPy's array API support, which must
be switched on before SciPy is first imported: here, before any test module
or doctest is collected.
"""

import os

import pytest

os.environ.setdefault("SCIPY_ARRAY_API", "1")

#: Doctests that switch array_api_dispatch on.
_DISPATCH_DOCTESTS = {"skbackprop._dispatch.move_to_numpy"}


def pytest_collection_modifyitems(items):
    """Skip the doctests that need array API dispatch where it cannot be had.

    scikit-learn < 1.9 lacks the helpers the estimators follow X with, and
    scikit-learn refuses the setting with scipy < 1.14: CI's oldest
    environment has both.
    """
    from skbackprop._compat import HAS_ARRAY_API

    if HAS_ARRAY_API:
        return
    skip = pytest.mark.skip(
        reason="array_api_dispatch needs scikit-learn >= 1.9 and scipy >= 1.14"
    )
    for item in items:
        if item.name in _DISPATCH_DOCTESTS:
            item.add_marker(skip)
