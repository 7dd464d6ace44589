"""``nabla.show_config()``: what this install runs on (after ``numpy.show_config``)."""
from __future__ import annotations

import os
import platform
import sys
from typing import Any

import numpy as np

__all__ = ["show_config"]

_OPENMP_VERSIONS = {201107: "3.1", 201307: "4.0", 201511: "4.5", 201811: "5.0", 202011: "5.1"}


def _config() -> dict[str, Any]:
    from . import __version__, _algorithms, _backend, _memory, _threads
    config: dict[str, Any] = {
        "nabla": __version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "machine": platform.machine(),
        "backend": _backend.get_backend(),
        "threads": _threads.get_num_threads(),
        "conv algorithm": _algorithms.get_conv_algorithm(),
        "memory cache": _memory.cache_info(),
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"),
        "NABLA_ISA": os.environ.get("NABLA_ISA"),
    }
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:            # not on Linux
        cpus = os.cpu_count() or 1
    config["cpus usable"] = cpus
    try:
        kernels = _backend._load("cython")
    except ImportError as e:
        config["cython backend"] = f"unavailable: {e}"
        return config
    info = kernels.build_info()
    config["cython backend"] = "available"
    config["isa"] = info["isa"]
    config["isas built"] = info["built"]
    config["isas this cpu runs"] = info["supported"]
    config["compiler"] = info["compiler"]
    config["openmp"] = info["openmp"]
    return config


def show_config(mode: str = "stdout") -> dict[str, Any] | None:
    """Print (or, with ``mode="dicts"``, return) what this install of nabla runs on.

    The compiled kernels' instruction set (chosen at import among those built: AVX-512,
    AVX2 + FMA, or the platform's baseline; ``NABLA_ISA`` forces one), the compiler and
    OpenMP version they were built with, the thread setting
    (:func:`nabla.set_num_threads`), the convolution algorithm setting
    (:func:`nabla.set_conv_algorithm`), the kernels' memory cache
    (:func:`nabla.set_cache_limit`), the default backend, and the versions of Python
    and NumPy.  Paste it into a bug report.

    Raises ``ValueError`` for a mode other than ``"stdout"`` or ``"dicts"``.

    Examples
    --------
    >>> import nabla as nb
    >>> nb.show_config()                                  # doctest: +SKIP
    nabla 0.1.0 on Python 3.11.7, NumPy 2.3.5, x86_64
    backend:  cython (the default)
    kernels:  avx512 (built: avx512, avx2, generic; this CPU runs: avx512, avx2, generic)
    compiler: gcc 12.2.0, OpenMP 4.5 (201511)
    threads:  2 per call (OMP_NUM_THREADS unset; 2 CPUs usable)
    convs:    auto (nabla.set_conv_algorithm)
    memory:   0 MiB of kernel arrays cached, limit 1024 MiB (nabla.set_cache_limit)
    """
    if mode not in ("stdout", "dicts"):
        raise ValueError(f"show_config: mode must be 'stdout' or 'dicts', got {mode!r}")
    c = _config()
    if mode == "dicts":
        return c
    lines = [f"nabla {c['nabla']} on Python {c['python']}, NumPy {c['numpy']}, {c['machine']}",
             f"backend:  {c['backend']}" + (" (the default)" if c["backend"] == "cython" else "")]
    if "isa" in c:
        forced = f"; forced by NABLA_ISA={c['NABLA_ISA']}" if c["NABLA_ISA"] else ""
        lines.append(f"kernels:  {c['isa']} (built: {', '.join(c['isas built'])}; this CPU runs: "
                     f"{', '.join(c['isas this cpu runs'])}{forced})")
        version = _OPENMP_VERSIONS.get(c["openmp"], "?")
        lines.append(f"compiler: {c['compiler']}, OpenMP {version} ({c['openmp']})")
    else:
        lines.append(f"kernels:  {c['cython backend']}")
    omp = c["OMP_NUM_THREADS"]
    lines.append(f"threads:  {c['threads']} per call (OMP_NUM_THREADS "
                 f"{'=' + omp if omp else 'unset'}; {c['cpus usable']} CPUs usable)")
    lines.append(f"convs:    {c['conv algorithm']} (nabla.set_conv_algorithm)")
    cache = c["memory cache"]
    if "isa" in c:
        lines.append(f"memory:   {cache['bytes'] / 2**20:.0f} MiB of kernel arrays cached, limit "
                     f"{cache['limit'] / 2**20:.0f} MiB (nabla.set_cache_limit)")
    print("\n".join(lines), file=sys.stdout)
    return None
