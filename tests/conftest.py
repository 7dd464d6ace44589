"""Shared fixtures for the test suite.

* ``backend``: runs a test once per backend ("cython", "reference"), inside
  ``nabla.use_backend`` so the choice is local to the test (and the thread).
* ``rng``: a NumPy Generator seeded per test, for directions and cotangents.

The repository root is put on ``sys.path`` so ``from tests import naive`` and
``from tests.op_db import op_db`` work however pytest is started.
"""
import os
import sys
import zlib

import numpy as np
import pytest

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

import nabla  # noqa: E402

BACKENDS = ["cython", "reference"]


@pytest.fixture(params=BACKENDS)
def backend(request):
    """The name of the backend in effect for this test."""
    with nabla.use_backend(request.param):
        yield request.param


@pytest.fixture
def rng(request):
    """A generator seeded from the test's id: reproducible, different per test."""
    return np.random.default_rng(zlib.crc32(request.node.nodeid.encode()))
