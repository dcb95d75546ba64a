"""Pytest configuration for the whole repository (tests and doctests).

scikit-learn's array API dispatch (its ``check_array_api_input``, and the
Array API examples in docstrings) needs SciPy's array API support, which must
be switched on before SciPy is first imported: here, before any test module
or doctest is collected.
"""

import os

os.environ.setdefault("SCIPY_ARRAY_API", "1")
