"""Pytest configuration for the whole repository (tests and doctests).

``--random-order SEED`` runs the tests in an order shuffled by ``SEED``:
the modules in a random order, and the tests of each module in a random
order among themselves (a module's fixtures are still set up once). CI runs
the suite once this way, so a test that depends on the order of the tests
fails there first; the seed is printed in the header to rerun that order.

scikit-learn's array API dispatch (its ``check_array_api_input``, and the
Array API examples in docstrings) needs SciPy's array API support, which must
be switched on before SciPy is first imported: here, before any test module
or doctest is collected.
"""

import os
import random

import pytest

os.environ.setdefault("SCIPY_ARRAY_API", "1")

#: Doctests that switch array_api_dispatch on.
_DISPATCH_DOCTESTS = {"skbackprop._dispatch.move_to_numpy"}


def pytest_addoption(parser):
    parser.addoption(
        "--random-order",
        type=int,
        default=None,
        metavar="SEED",
        help="run the modules, and the tests of each module, in an order "
        "shuffled by SEED",
    )


def pytest_report_header(config):
    seed = config.getoption("--random-order")
    if seed is not None:
        return f"random order: --random-order {seed}"
    return None


def _shuffled(items, seed):
    """``items`` by module in a random order, each module's tests shuffled too."""
    rng = random.Random(seed)
    by_module = {}
    for item in items:
        by_module.setdefault(item.nodeid.split("::")[0], []).append(item)
    modules = list(by_module.values())
    rng.shuffle(modules)
    for module_items in modules:
        rng.shuffle(module_items)
    return [item for module_items in modules for item in module_items]


def pytest_collection_modifyitems(config, items):
    seed = config.getoption("--random-order")
    if seed is not None:
        items[:] = _shuffled(items, seed)
    _skip_dispatch_doctests(items)


def _skip_dispatch_doctests(items):
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
