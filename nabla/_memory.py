"""The memory cache of the compiled kernels: ``nabla.empty_cache``,
``nabla.set_cache_limit`` and ``nabla.cache_info``.

A training step allocates the same activation and gradient sizes at every step.
Taken fresh from the C library each time, every page of a large array costs a
page fault when a kernel first writes it, and in a CIFAR ResNet-8 step that was
half the time (23-25 ms against 12 ms).  So the Cython backend's kernels take
their arrays from a cache (``nabla/_kernels/_cache.h``, installed as NumPy's
allocator around each kernel call, NumPy's NEP 49): blocks of 64 KiB or more
that a kernel allocated are kept when NumPy frees them (at most 128 blocks and
the limit, 1 GiB unless set) and handed out again for the same size.  Arrays
NumPy allocates elsewhere are untouched.  This follows PyTorch's caching
allocator for CUDA memory, whose ``torch.cuda.empty_cache`` is the model for
:func:`empty_cache`.  The reference backend allocates with NumPy as usual.
"""
from __future__ import annotations

from typing import Any

__all__ = ["empty_cache", "set_cache_limit", "cache_info"]


def _module() -> Any:
    """The compiled cache module, or None where the extension is not built."""
    try:
        from ._kernels import memory
    except ImportError:
        return None
    return memory


def empty_cache() -> int:
    """Free the memory the kernels' cache holds (blocks no array uses any more).

    Returns
    -------
    int
        The bytes given back to the C library (0 without the compiled kernels).

    Examples
    --------
    >>> import nabla as nb
    >>> released = nb.empty_cache()
    >>> nb.cache_info()["bytes"]
    0
    """
    module = _module()
    return 0 if module is None else int(module.empty_cache())


def set_cache_limit(nbytes: int) -> None:
    """Keep at most ``nbytes`` bytes of freed kernel arrays for reuse (0: none).

    The default is 1 GiB.  Lowering the limit below what the cache holds empties
    it.

    Raises
    ------
    TypeError
        If ``nbytes`` is not an int.
    ValueError
        If ``nbytes`` is negative.

    Examples
    --------
    >>> import nabla as nb
    >>> nb.set_cache_limit(256 * 2**20)
    >>> nb.cache_info()["limit"]
    268435456
    >>> nb.set_cache_limit(2**30)
    """
    if isinstance(nbytes, bool) or not isinstance(nbytes, int):
        raise TypeError(f"set_cache_limit: nbytes must be an int, got {type(nbytes).__name__}")
    if nbytes < 0:
        raise ValueError(f"set_cache_limit: nbytes must be >= 0, got {nbytes}")
    module = _module()
    if module is not None:
        module.set_limit(min(nbytes, 2**63 - 1))


def cache_info() -> dict[str, int]:
    """What the kernels' memory cache holds and has done.

    Returns
    -------
    dict
        ``bytes`` and ``blocks`` held now, ``hits`` (allocations served from
        the cache) and ``misses`` (allocations of at least ``min_block`` bytes
        it could not serve), the ``limit`` in bytes, ``min_block`` (smaller
        arrays are never cached) and ``slots`` (most blocks held).  All zeros
        without the compiled kernels.
    """
    module = _module()
    if module is None:
        return dict.fromkeys(("bytes", "blocks", "hits", "misses", "limit", "min_block", "slots"), 0)
    return {k: int(v) for k, v in module.info().items()}
