"""Creation functions: constant tensors and seeded random ones.

Floating tensors default to float32, as in Nabla, PyTorch and JAX.
"""
from __future__ import annotations

import numpy as np

from .._tensor import Tensor, asarray

__all__ = ["zeros", "ones", "full", "zeros_like", "ones_like", "arange", "seed",
           "randn", "rand", "normal", "uniform"]

_DEFAULT = np.float32


def _shape(shape):
    return (int(shape),) if np.isscalar(shape) else tuple(int(s) for s in shape)


def zeros(shape, dtype=_DEFAULT) -> Tensor:
    """A tensor of zeros."""
    return Tensor(np.zeros(_shape(shape), dtype))


def ones(shape, dtype=_DEFAULT) -> Tensor:
    """A tensor of ones."""
    return Tensor(np.ones(_shape(shape), dtype))


def full(shape, fill_value, dtype=_DEFAULT) -> Tensor:
    """A tensor filled with ``fill_value``."""
    return Tensor(np.full(_shape(shape), fill_value, dtype))


def zeros_like(x, dtype=None) -> Tensor:
    """Zeros with ``x``'s shape and dtype (or ``dtype``)."""
    x = asarray(x)
    return Tensor(np.zeros(x.shape, dtype or x.dtype))


def ones_like(x, dtype=None) -> Tensor:
    """Ones with ``x``'s shape and dtype (or ``dtype``)."""
    x = asarray(x)
    return Tensor(np.ones(x.shape, dtype or x.dtype))


def arange(start, stop=None, step=1, dtype=None) -> Tensor:
    """Evenly spaced values in ``[start, stop)``, as ``numpy.arange``.  With
    ``dtype=None`` the result is float32 (Nabla's default floating type)."""
    return Tensor(np.arange(start, stop, step, dtype=dtype or _DEFAULT))


# One generator for the whole library, reseeded by ``seed``; a per-call ``seed``
# gives an independent, reproducible draw without touching it.
_rng = np.random.default_rng(0)


def seed(value: int) -> None:
    """Reseed nabla's global random generator."""
    global _rng
    _rng = np.random.default_rng(value)


def _gen(seed_):
    return _rng if seed_ is None else np.random.default_rng(seed_)


def randn(shape, mean: float = 0.0, std: float = 1.0, dtype=_DEFAULT, seed=None) -> Tensor:
    """Normally distributed values (``seed``: an int for a reproducible draw)."""
    return Tensor(_gen(seed).normal(mean, std, _shape(shape)).astype(dtype))


def rand(shape, lower: float = 0.0, upper: float = 1.0, dtype=_DEFAULT, seed=None) -> Tensor:
    """Uniformly distributed values in ``[lower, upper)``."""
    return Tensor(_gen(seed).uniform(lower, upper, _shape(shape)).astype(dtype))


normal = randn
uniform = rand
