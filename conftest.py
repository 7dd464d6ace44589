"""Doctests of the package (``make test`` runs them): ``np`` and ``nb`` are defined,
as in the docs' examples."""
import numpy as np
import pytest

import nabla


@pytest.fixture(autouse=True)
def _doctest_names(doctest_namespace):
    doctest_namespace["np"] = np
    doctest_namespace["nb"] = nabla
