"""Sphinx configuration for nabla's documentation (``make docs``).

nabla is imported from the venv that ``make docs`` builds (an editable install),
so no ``sys.path`` changes are needed here.  The build runs with ``-W``: any
warning fails it.  ``make docs`` also runs the ``doctest`` builder, which
executes the examples in these pages.
"""
import nabla

project = "nabla"
author = "the nabla developers"
copyright = "the nabla developers"  # noqa: A001
release = nabla.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.doctest",
    "sphinx.ext.napoleon",  # numpy-style Parameters/Returns/Raises sections as field lists
]

autodoc_member_order = "bysource"
autodoc_typehints = "description"

# Examples in the pages run with these names defined.
doctest_global_setup = """
import numpy as np
import nabla as nb
"""

exclude_patterns = ["_build", "requirements.txt"]
templates_path = []
html_static_path = []
html_title = f"nabla {release}"

try:
    import furo  # noqa: F401
    html_theme = "furo"
except ImportError:  # the docs still build with Sphinx's default theme
    html_theme = "alabaster"

