"""Creation functions: constant tensors and seeded random ones.

Floating tensors default to float32, as in Nabla, PyTorch and JAX.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import cast

import numpy as np

from .._tensor import Tensor, asarray
from .._typing import ArrayLike, DTypeLike, OptionalDTypeLike, ShapeLike

__all__ = ["zeros", "ones", "full", "zeros_like", "ones_like", "arange", "seed",
           "randn", "rand", "normal", "uniform"]

_DEFAULT = np.float32


def _shape(shape: ShapeLike) -> tuple[int, ...]:
    if np.isscalar(shape):
        return (int(cast(int, shape)),)
    return tuple(int(s) for s in cast("Iterable[int]", shape))


def zeros(shape: ShapeLike, dtype: DTypeLike = _DEFAULT) -> Tensor:
    """A tensor of zeros."""
    return Tensor(np.zeros(_shape(shape), dtype))


def ones(shape: ShapeLike, dtype: DTypeLike = _DEFAULT) -> Tensor:
    """A tensor of ones."""
    return Tensor(np.ones(_shape(shape), dtype))


def full(shape: ShapeLike, fill_value: float, dtype: DTypeLike = _DEFAULT) -> Tensor:
    """A tensor filled with ``fill_value``."""
    return Tensor(np.full(_shape(shape), fill_value, dtype))


def zeros_like(x: ArrayLike, dtype: OptionalDTypeLike = None) -> Tensor:
    """Zeros with ``x``'s shape and dtype (or ``dtype``)."""
    t = asarray(x)
    return Tensor(np.zeros(t.shape, dtype or t.dtype))


def ones_like(x: ArrayLike, dtype: OptionalDTypeLike = None) -> Tensor:
    """Ones with ``x``'s shape and dtype (or ``dtype``)."""
    t = asarray(x)
    return Tensor(np.ones(t.shape, dtype or t.dtype))


def arange(start: float, stop: float | None = None, step: float = 1, dtype: OptionalDTypeLike = None) -> Tensor:
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


def _gen(seed_: int | None) -> np.random.Generator:
    return _rng if seed_ is None else np.random.default_rng(seed_)


def randn(shape: ShapeLike, mean: float = 0.0, std: float = 1.0, dtype: DTypeLike = _DEFAULT,
          seed: int | None = None) -> Tensor:
    """Normally distributed values (``seed``: an int for a reproducible draw)."""
    return Tensor(_gen(seed).normal(mean, std, _shape(shape)).astype(dtype))


def rand(shape: ShapeLike, lower: float = 0.0, upper: float = 1.0, dtype: DTypeLike = _DEFAULT,
         seed: int | None = None) -> Tensor:
    """Uniformly distributed values in ``[lower, upper)``."""
    return Tensor(_gen(seed).uniform(lower, upper, _shape(shape)).astype(dtype))


normal = randn
uniform = rand
