"""How many threads nabla's compiled kernels use: ``set_num_threads``, ``get_num_threads``
and the ``num_threads`` context manager (the names PyTorch uses).

The setting is one number for the whole process.  Its default follows the
environment the way OpenMP itself does: ``OMP_NUM_THREADS`` if set, else the CPUs
this process may run on (``os.sched_getaffinity``, so ``taskset`` and container CPU
sets are respected), not every CPU of the machine.

Each kernel call then gets its share: the setting divided by the number of Python
threads inside a kernel at that moment (at least one each).  Two Python threads
calling ops at once on a 2-core machine therefore run one kernel thread each, side
by side, instead of two teams of two fighting over two cores.  OpenMP's own
per-thread limit also caps a call (``omp_get_max_threads``), which is what
``threadpoolctl.threadpool_limits`` sets, so threadpoolctl sees and limits nabla's
pool like any other OpenMP library's.

Results do not depend on any of this: every kernel gives the same bits on any
number of threads (see the backends page).
"""
from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

_R = TypeVar("_R")

__all__ = ["set_num_threads", "get_num_threads", "num_threads"]


def _default_num_threads() -> int:
    env = os.environ.get("OMP_NUM_THREADS", "").split(",")[0].strip()
    if env.isdigit() and int(env) > 0:
        return int(env)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:               # not on Linux
        return max(1, os.cpu_count() or 1)


_requested = _default_num_threads()
_active = 0                               # Python threads inside a kernel right now
_lock = threading.Lock()


def _check(n: object) -> int:
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"set_num_threads: n must be an int >= 1, got {n!r} "
                        f"of type {type(n).__name__}")
    if n < 1:
        raise ValueError(f"set_num_threads: n must be >= 1, got {n}")
    return n


def set_num_threads(n: int) -> None:
    """Use at most ``n`` threads per kernel call from now on, in every Python thread.

    Raises ``TypeError`` unless ``n`` is an int, ``ValueError`` if ``n < 1``.  It
    also raises OpenMP's per-thread limit of the calling thread to ``n`` (a limit
    that ``OMP_NUM_THREADS`` set lower would otherwise cap it there).
    """
    global _requested
    _requested = _check(n)
    try:
        from nabla._kernels import conv
    except ImportError:                   # no compiled backend: nothing else to tell
        return
    conv._omp_set_num_threads(n)


def get_num_threads() -> int:
    """The number of threads a kernel call may use (``set_num_threads``'s value)."""
    return _requested


@contextlib.contextmanager
def num_threads(n: int) -> Iterator[None]:
    """``with nabla.num_threads(1): ...``: ``set_num_threads(n)`` for the block, then
    back to the previous value (process-wide, like ``set_num_threads``)."""
    previous = get_num_threads()
    set_num_threads(n)
    try:
        yield
    finally:
        set_num_threads(previous)


def team(set_team: Callable[[int], None], kernel: Callable[..., _R]) -> Callable[..., _R]:
    """``kernel`` wrapped so that each call runs with its share of the threads:
    ``set_team(k)`` (the kernel module's thread-local setting) before it runs."""
    def call(*args: Any, **kwargs: Any) -> _R:
        global _active
        with _lock:
            _active += 1
            share = max(1, _requested // _active)
        try:
            set_team(share)
            return kernel(*args, **kwargs)
        finally:
            with _lock:
                _active -= 1
    return call
