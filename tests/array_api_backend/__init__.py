"""The Array API backend's tests: a package, so that its conftest.py is its own."""
