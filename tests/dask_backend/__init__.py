"""The Dask backend's tests: a package, so that its conftest.py is its own."""
