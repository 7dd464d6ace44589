"""Packaging: one version, the licence, the PEP 561 marker and the metadata in pyproject.toml."""
from __future__ import annotations

import pathlib
import re

import pytest

import nabla

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    tomllib = None

ROOT = pathlib.Path(__file__).resolve().parent.parent
needs_tomllib = pytest.mark.skipif(tomllib is None, reason="tomllib (to read pyproject.toml) is Python 3.11+")


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_version_is_written_once():
    from nabla._version import __version__

    assert nabla.__version__ == __version__
    assert re.fullmatch(r"\d+\.\d+\.\d+([.-]?\w+)?", __version__)
    assert "__version__ = " not in (ROOT / "nabla" / "__init__.py").read_text()   # imported, not repeated


@needs_tomllib
def test_pyproject_reads_the_version_from_the_package():
    project = _pyproject()
    assert "version" not in project["project"] and "version" in project["project"]["dynamic"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "nabla._version.__version__"}


@needs_tomllib
def test_metadata():
    project = _pyproject()["project"]
    assert project["requires-python"] == ">=3.10"
    assert project["readme"] == "README.md" and (ROOT / "README.md").is_file()
    assert project["license"] == "MIT" and project["license-files"] == ["LICENSE"]   # PEP 639
    classifiers = set(project["classifiers"])
    assert not any(c.startswith("License ::") for c in classifiers)   # superseded by PEP 639
    assert {"Typing :: Typed", "Programming Language :: Cython",
            "Intended Audience :: Science/Research"} <= classifiers
    assert {f"Programming Language :: Python :: 3.{m}" for m in (10, 11, 12, 13)} <= classifiers
    assert set(project["urls"]) == {"Homepage", "Documentation", "Source", "Issues"}


def test_licence_is_mit_and_ships_in_the_sdist():
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License") and "Copyright (c) 2026 The nabla developers" in text
    assert "include LICENSE" in (ROOT / "MANIFEST.in").read_text().splitlines()


@needs_tomllib
def test_py_typed_marker_ships_with_the_stubs():
    assert (ROOT / "nabla" / "py.typed").is_file()
    package_data = _pyproject()["tool"]["setuptools"]["package-data"]["nabla"]
    assert "py.typed" in package_data and "_kernels/*.pyi" in package_data
