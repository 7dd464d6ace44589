"""nabla's type annotations, as a user's type checker sees them (PEP 561: ``nabla/py.typed``).

``examples/typed_example.py`` uses the public API with full annotations.  ``mypy --strict``
must accept it; mypy follows its imports into nabla, so nabla's own modules must be clean
too (pyproject.toml's ``[tool.mypy]`` names the internals that are not checked yet).  And
the example must run.
"""
from __future__ import annotations

import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "typed_example.py"


def test_typed_example_passes_mypy_strict(tmp_path, monkeypatch):
    pytest.importorskip("mypy", reason="mypy is not installed (requirements-dev.txt lists it: pip install mypy)")
    from mypy import api

    # From the repository root: mypy reads nabla from the working directory (it cannot see
    # through the import hook of an editable install).  A fresh cache: no state shared.
    monkeypatch.chdir(ROOT)
    stdout, stderr, status = api.run([
        "--strict", "--config-file", str(ROOT / "pyproject.toml"), "--cache-dir", str(tmp_path / "mypy"),
        str(EXAMPLE.relative_to(ROOT)),
    ])
    assert status == 0, f"mypy --strict {EXAMPLE.name}:\n{stdout}{stderr}"
    assert "Success: no issues found" in stdout


def test_typed_example_runs():
    run = subprocess.run([sys.executable, str(EXAMPLE)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert "training accuracy" in run.stdout and "conv2d_transpose: (2, 8, 8, 3)" in run.stdout


def test_ops_all_lists_every_op_in_order():
    # nabla/ops/__init__.py writes its __all__ out (type checkers read only a literal list):
    # it must stay the modules' lists, or `nb.<new op>` would exist for neither mypy nor Python.
    import nabla
    from nabla import ops
    from nabla.ops import basic, conv, creation, pool

    assert ops.__all__ == ["sum", "max"] + basic.__all__ + creation.__all__ + conv.__all__ + pool.__all__
    assert all(hasattr(nabla, name) and name in nabla.__all__ for name in ops.__all__)
