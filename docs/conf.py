"""Sphinx configuration for nabla's documentation (``make docs``).

nabla is imported from the venv that ``make docs`` builds (an editable install),
so no ``sys.path`` changes are needed here.  The build runs with ``-W``: any
warning fails it.  ``make docs`` also runs the ``doctest`` builder, which
executes the examples in these pages.
"""
import os

import nabla

project = "nabla"
author = "the nabla developers"
copyright = "the nabla developers"  # noqa: A001
release = nabla.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",   # one page per public function and class (api.rst)
    "sphinx.ext.doctest",
    "sphinx.ext.mathjax",       # the formulas in Notes sections ...
    "sphinx-mathjax-offline",   # ... with MathJax served from the built site, not a CDN (works offline)
    "sphinx.ext.intersphinx",   # links to NumPy's docs (numpy.ndarray, ...)
    "sphinx.ext.napoleon",      # numpy-style Parameters/Returns/Raises sections as field lists
    "sphinx_gallery.gen_gallery",  # tutorials/*.py, executed at every build, with their plots
]

# The tutorials are plain scripts in tutorials/ (each also runs as `python
# tutorials/NAME.py`); sphinx-gallery executes every one at each build and
# renders it with its output and figures into docs/tutorials/ (generated).
sphinx_gallery_conf = {
    "examples_dirs": "../tutorials",
    "gallery_dirs": "tutorials",
    "filename_pattern": r".*\.py$",       # execute them all
    "ignore_pattern": r"(^|[\\/])_[^\\/]*\.py$",   # helpers (tutorials/_*.py) are not tutorials
    "within_subsection_order": "FileNameSortKey",
    "download_all_examples": False,
    "remove_config_comments": True,
    "matplotlib_animations": False,
    "image_scrapers": ("matplotlib",),
}
autosummary_generate = True

# Intersphinx reads NumPy's inventory from a file written at build time (below),
# so the build needs no network: it lists the NumPy names these pages refer to.
intersphinx_mapping = {"numpy": ("https://numpy.org/doc/stable/", "_generated/numpy-objects.inv")}
_NUMPY_NAMES = {  # name -> page, under https://numpy.org/doc/stable/
    "numpy.ndarray": "reference/generated/numpy.ndarray.html",
    "numpy.dtype": "reference/generated/numpy.dtype.html",
    "numpy.float32": "reference/arrays.scalars.html#numpy.float32",
    "numpy.float64": "reference/arrays.scalars.html#numpy.float64",
    "numpy.int64": "reference/arrays.scalars.html#numpy.int64",
    "numpy.asarray": "reference/generated/numpy.asarray.html",
    "numpy.pad": "reference/generated/numpy.pad.html",
    "numpy.einsum": "reference/generated/numpy.einsum.html",
    "numpy.random.Generator": "reference/random/generator.html#numpy.random.Generator",
    "numpy.savez": "reference/generated/numpy.savez.html",
    "numpy.load": "reference/generated/numpy.load.html",
}


def _write_numpy_inventory(path):
    """A Sphinx objects.inv (version 2) for the names above."""
    import zlib
    roles = {"numpy.ndarray": "class", "numpy.dtype": "class", "numpy.random.Generator": "class",
             "numpy.float32": "attribute", "numpy.float64": "attribute", "numpy.int64": "attribute"}
    lines = "".join(f"{name} py:{roles.get(name, 'function')} 1 {uri} -\n" for name, uri in _NUMPY_NAMES.items())
    head = "# Sphinx inventory version 2\n# Project: NumPy\n# Version: 2\n# The remainder of this file is compressed using zlib.\n"
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(head.encode() + zlib.compress(lines.encode()))


# Written now, before intersphinx reads it when the builder starts.
_write_numpy_inventory(os.path.join(os.path.dirname(os.path.abspath(__file__)), "_generated", "numpy-objects.inv"))

autodoc_member_order = "bysource"
autodoc_typehints = "signature"   # type hints in the signature; the Parameters sections give shapes
autodoc_type_aliases = {"ArrayLike": "ArrayLike", "IntPair": "IntPair", "OptionalArrayLike": "OptionalArrayLike",
                        "OptionalIntPair": "OptionalIntPair", "Padding": "Padding", "DTypeLike": "DTypeLike",
                        "OptionalDTypeLike": "OptionalDTypeLike",
                        "Axis": "Axis", "ShapeLike": "ShapeLike",  # shown by name (nabla/_typing.py defines them)
                        "LearningRate": "LearningRate"}  # (nabla/nn/optim.py)

# Examples in the pages run with these names defined.
doctest_global_setup = """
import numpy as np
import nabla as nb
"""

exclude_patterns = ["_build", "requirements.txt", "_generated", "examples", "sg_execution_times.rst", "tutorials/*.ipynb",
                    "tutorials/*.py", "tutorials/*.md5", "tutorials/*.json", "tutorials/*.zip"]
templates_path = ["_templates"]  # autosummary/function.rst: pictures on the op pages
html_static_path = ["_static"]
html_css_files = ["wrap.css"]  # code blocks wrap: nothing cut off at the right edge
html_title = f"nabla {release}"

try:
    import furo  # noqa: F401
    html_theme = "furo"
except ImportError:  # the docs still build with Sphinx's default theme
    html_theme = "alabaster"



# ---------------------------------------------------------------- executed examples
# The scripts in docs/examples/ run at every build; the pages include each script
# and what it printed (docs/_generated/NAME.out), so the output shown is real.
def _run_examples(app):
    import pathlib
    import subprocess
    import sys

    here = pathlib.Path(__file__).parent
    out_dir = here / "_generated"
    out_dir.mkdir(exist_ok=True)
    # The pictures of the op pages, drawn by the same module as tutorial 1's.
    sys.path.insert(0, str(here.parent / "tutorials"))
    try:
        import _pictures
        _pictures.save_all(str(out_dir))
    finally:
        sys.path.pop(0)
    for script in sorted((here / "examples").glob("*.py")):
        run = subprocess.run([sys.executable, script.name], cwd=script.parent, capture_output=True,
                             text=True, timeout=300)
        if run.returncode != 0:
            raise RuntimeError(f"docs example {script.name} failed:\n{run.stderr}")
        (out_dir / f"{script.stem}.out").write_text(run.stdout)


def _split_top_level(params: str) -> list:
    parts, depth, cur = [], 0, ""
    for ch in params:
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur.strip())
            cur = ""
        else:
            cur += ch
    if cur.strip():
        parts.append(cur.strip())
    return parts


def _hide_private_parameters(app, what, name, obj, options, signature, return_annotation):
    """Signatures show no private keyword (``_op``: the name an error message uses
    when one public op calls another), and a type alias inside another type by its
    name (Sphinx writes ``Sequence[TypeAliasForwardRef('ArrayLike')]``)."""
    import re
    alias = re.compile(r"TypeAliasForwardRef\('(\w+)'\)")
    if signature and alias.search(signature):
        signature = alias.sub(r"\1", signature)
        if "_" not in signature:
            return signature, return_annotation
    if not signature or "_" not in signature:
        return None
    parts = [p for p in _split_top_level(signature[1:-1]) if not p.lstrip("*").startswith("_")]
    while parts and parts[-1] == "*":
        parts.pop()
    return "(" + ", ".join(parts) + ")", return_annotation


def setup(app):
    app.connect("builder-inited", _run_examples)
    app.connect("autodoc-process-signature", _hide_private_parameters)
