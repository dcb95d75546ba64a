"""Sphinx configuration of the skbackprop documentation.

Build from the repository root with the README's command::

    python -m sphinx -W --keep-going -b html docs docs/_build/html

Every script in ``examples/`` is executed by sphinx-gallery during the build.
"""

import os
import re
import warnings

# SciPy's Array API support (for scikit-learn's array_api_dispatch, used by
# the Array API example) must be on before SciPy is first imported.
os.environ.setdefault("SCIPY_ARRAY_API", "1")

import skbackprop  # noqa: E402

# Examples and docstrings draw with matplotlib's non-interactive backend.
os.environ.setdefault("MPLBACKEND", "Agg")

project = "skbackprop"
author = "skbackprop developers"
copyright = "skbackprop developers, BSD-3-Clause"
version = release = skbackprop.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

# The docs extra installs sphinx-mathjax-offline, which copies MathJax into
# the built pages, so the formulas render without network access (for example
# from a local build opened as a file). Without it, Sphinx's default MathJax
# from a CDN is used.
try:
    import importlib

    importlib.import_module("sphinx-mathjax-offline")
except ImportError:
    pass
else:
    extensions.append("sphinx-mathjax-offline")

templates_path = ["_templates"]
exclude_patterns = ["_build", "auto_examples/*.ipynb", "auto_examples/*.py"]
root_doc = "index"
default_role = "literal"

# -- autodoc / autosummary / numpydoc ---------------------------------------
autosummary_generate = True
autodoc_default_options = {"members": True, "inherited-members": False}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True

# -- HTML ---------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"skbackprop {release}"
html_static_path = ["_static"]
html_css_files = ["custom.css"]
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc", "sourcelink"],
}
html_sidebars = {
    "changelog": [],
    "getting_started": [],
    "user_guide": [],
    "math": [],
    "deploying": [],
}
html_show_sourcelink = True

# -- sphinx-gallery -----------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    # Execute every script in examples/, not only those named plot_*.
    "filename_pattern": r".*\.py$",
    "ignore_pattern": r"__init__\.py",
    "abort_on_example_error": True,
    "doc_module": ("skbackprop",),
    "reference_url": {"skbackprop": None},
    "backreferences_dir": "gen_modules/backreferences",
    "within_subsection_order": "FileNameSortKey",
    "download_all_examples": False,
    "remove_config_comments": True,
    "min_reported_time": 1,
    "matplotlib_animations": False,
    "image_scrapers": ("matplotlib",),
    "plot_gallery": "True",
}

# Matplotlib warns that Agg cannot show figures when an example calls
# plt.show(); that is expected while building.
warnings.filterwarnings(
    "ignore",
    category=UserWarning,
    message="FigureCanvasAgg is non-interactive, and thus cannot be shown",
)


# -- docstring fix-ups ----------------------------------------------------------
# A name ending in "_" is a link target in reStructuredText. numpydoc protects
# the attribute names of an "Attributes" section, but not a fitted attribute
# named inside a type such as "ndarray of shape (n_features_in_,)". Quote those
# as literals before numpydoc parses the docstring.
_FITTED_NAME_IN_TYPE = re.compile(r"(?<![`\w])([a-z][a-z0-9_]*[a-z0-9]_)(?=[,)\]])")


def _quote_fitted_names_in_types(app, what, name, obj, options, lines):
    for i, line in enumerate(lines):
        if " : " in line and "shape" in line:
            head, _, spec = line.partition(" : ")
            lines[i] = head + " : " + _FITTED_NAME_IN_TYPE.sub(r"``\1``", spec)


def setup(app):
    # Before numpydoc (priority 500) turns the sections into reST.
    app.connect("autodoc-process-docstring", _quote_fitted_names_in_types, priority=400)
