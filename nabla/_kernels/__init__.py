"""The Cython backend: nabla's compiled kernels.

Exposes exactly the kernels of the contract in ``nabla/_backend.py`` (which
documents their arguments, shapes and formulas), compiled for float32 and
float64 from ``conv.pyx`` and ``pool.pyx``.  Build with
``python setup.py build_ext --inplace`` or ``pip install -e .``.

Runtime dispatch: ``setup.py`` compiles the modules once per instruction set
(``_avx512``, ``_avx2``, ``_generic``; or one ``_native``), and this package imports
the best variant the running CPU supports (checked by the generic build, with the
compiler's ``__builtin_cpu_supports``, which also asks whether the OS saves the wide
registers).  ``NABLA_ISA=avx2`` (or any built variant) forces one, so the tests can
run every path on one machine.  The chosen modules are also registered as
``nabla._kernels.conv``, ``.pool``, ``.norm``, ``.elementwise`` and ``.memory`` (the
caching allocator every kernel call allocates from).
"""
import importlib as _importlib
import inspect as _inspect
import os as _os
import sys as _sys

import numpy as _np

from nabla import _threads

# libgomp's threads spin this many times waiting for the next parallel region before
# they sleep (its default, 300000, is milliseconds).  Beside a busy process a spinning
# thread takes the CPU that a descheduled team mate needs, and a small CNN's training
# step ran 2x slower; 3000 (tens of microseconds) keeps the team hot between the
# back-to-back kernels of a step on a quiet machine, at no measured cost there
# (benchmarks/threads.py, benchmarks/conv_kernels.py).  Read by libgomp when it loads,
# so set before the first kernel module is imported; the user's own setting wins.
if "GOMP_SPINCOUNT" not in _os.environ and "OMP_WAIT_POLICY" not in _os.environ:
    _os.environ["GOMP_SPINCOUNT"] = "3000"

NAME = "cython"
ISAS = ("native", "avx512", "avx2", "generic")     # best first


def _import_variant(isa):
    conv = _importlib.import_module(f"nabla._kernels._{isa}.conv")
    pool = _importlib.import_module(f"nabla._kernels._{isa}.pool")
    norm = _importlib.import_module(f"nabla._kernels._{isa}.norm")
    elementwise = _importlib.import_module(f"nabla._kernels._{isa}.elementwise")
    memory = _importlib.import_module(f"nabla._kernels._{isa}.memory")
    return conv, pool, norm, elementwise, memory


def _built():
    """The variants this install holds (``native`` alone, or the per-ISA set)."""
    here = _os.path.dirname(__file__)
    return [isa for isa in ISAS
            if any(f.startswith("conv.") and not f.endswith((".pyx", ".pyi", ".c"))
                   for f in _os.listdir(_os.path.join(here, "_" + isa)))]


def _choose():
    built = _built()
    if not built:
        raise ImportError("no compiled kernels in nabla/_kernels/_*/ (the extension was not built)")
    if "native" in built:
        supported = ["native"]
    else:
        checker = _importlib.import_module("nabla._kernels._generic.conv")
        supported = [isa for isa in built if checker._cpu_supports(isa)]
    forced = _os.environ.get("NABLA_ISA", "").strip().lower()
    if forced:
        if forced not in built:
            raise ImportError(f"NABLA_ISA={forced!r}: this build has the variants {built}")
        if forced not in supported:
            raise ImportError(f"NABLA_ISA={forced!r}: this CPU cannot run it "
                              f"(it supports {supported})")
        return forced, built, supported
    return supported[0], built, supported


ISA, BUILT, SUPPORTED = _choose()
_conv, _pool, _norm, _elementwise, _memory = _import_variant(ISA)
conv, pool, norm, elementwise, memory = _conv, _pool, _norm, _elementwise, _memory
_sys.modules[__name__ + ".conv"] = _conv
_sys.modules[__name__ + ".pool"] = _pool
_sys.modules[__name__ + ".norm"] = _norm
_sys.modules[__name__ + ".elementwise"] = _elementwise
_sys.modules[__name__ + ".memory"] = _memory

from nabla import _algorithms  # noqa: E402  (the conv algorithm setting, NABLA_CONV_ALGO)
_algorithms._apply(_conv)


def build_info() -> dict:
    """The chosen instruction set, the others built and runnable here, the compiler
    and the OpenMP version the kernels were built with."""
    isa, compiler, openmp = _conv._build_info()
    return {"isa": isa, "built": list(BUILT), "supported": list(SUPPORTED),
            "compiler": compiler, "openmp": openmp}




def _all_finite(a) -> bool:
    # isfinite then all: exact, never warns, and faster than one guarded sum
    # (1.4 against 3.2 us on a 5x5x6x16 filter, 4.3 against 7.3 on dy's border rows).
    return bool(_np.isfinite(a).all())


def _meets_padding_finite(name, given) -> bool:
    """True if no inf/NaN can meet a padded zero in this call.  The padding
    multiplies the second array only: the filter of conv2d and conv2d_transpose
    (small: scanned whole), and for the filter gradient the output gradient dy,
    of which only the border rows and columns (those whose windows reach the
    padding) are scanned."""
    b = given["w"] if "w" in given else given["dy"]
    if name != "conv2d_filter_grad":
        return _all_finite(b)
    H, W = given["x"].shape[1:3]
    (kh, kw), (sh, sw), (pt, pb, pl, pr), (dh, dw) = (given["kernel_hw"], given["stride"], given["padding"],
                                                      given["dilation"])
    Ho, Wo = b.shape[1:3]
    top = min(Ho, -(-pt // sh))                                    # rows i with i*sh - pt < 0
    bottom = max(top, min(Ho, -(-(H + pt - (kh - 1) * dh) // sh)))   # rows reaching past H - 1
    left = min(Wo, -(-pl // sw))
    right = max(left, min(Wo, -(-(W + pl - (kw - 1) * dw) // sw)))
    return all(_all_finite(part) for part in (b[:, :top], b[:, bottom:], b[:, top:bottom, :left],
                                              b[:, top:bottom, right:]))


def _exact_at_padding(name):
    """The compiled convolution kernels skip taps that fall on padding, which is
    exact for finite data.  Where padding meets an inf or NaN, IEEE arithmetic
    says ``0 * inf = NaN`` at the padded taps: those calls take the reference
    kernel, which multiplies by the padding's zeros, so both backends give the
    same NaN/Inf positions for every input (:func:`_meets_padding_finite`
    decides, at the cost of a scan of the filter or of dy's border)."""
    fast = getattr(_conv, name)
    names = list(_inspect.signature(fast).parameters)   # (x or dy, w or dy, size, stride, padding, ...)

    def kernel(*args, **kwargs):
        given = dict(zip(names, args), **kwargs)
        # conv2d_transpose runs as a conv2d of dy over its implicit border of
        # (K - 1)*d - p zeros, so it meets zeros even without padding.
        if (any(given["padding"]) or name == "conv2d_transpose") \
                and not _meets_padding_finite(name, given):
            from nabla import reference
            with _np.errstate(invalid="ignore", over="ignore"):   # the NaNs are the answer here
                return getattr(reference, name)(*args, **kwargs)
        return fast(*args, **kwargs)
    kernel.__name__ = kernel.__qualname__ = name
    kernel.__doc__ = fast.__doc__
    return kernel


def _teamed(module, kernel):
    """Each call runs with its share of the threads (``nabla/_threads.py``), and
    allocates from the caching allocator (``memory.pyx``): a training step makes
    the same sizes every step, and fresh memory costs a page fault per page."""
    teamed = _threads.team(module._set_team, kernel)
    use_cache, restore = _memory.use_cache, _memory.restore

    def call(*args, **kwargs):
        previous = use_cache()
        try:
            return teamed(*args, **kwargs)
        finally:
            restore(previous)
    call.__name__ = call.__qualname__ = kernel.__name__
    call.__doc__ = kernel.__doc__
    return call


conv2d = _teamed(_conv, _exact_at_padding("conv2d"))
conv2d_transpose = _teamed(_conv, _exact_at_padding("conv2d_transpose"))
conv2d_filter_grad = _teamed(_conv, _exact_at_padding("conv2d_filter_grad"))
max_pool2d = _teamed(_pool, _pool.max_pool2d)
max_pool2d_gather = _teamed(_pool, _pool.max_pool2d_gather)
max_pool2d_scatter = _teamed(_pool, _pool.max_pool2d_scatter)
avg_pool2d = _teamed(_pool, _pool.avg_pool2d)
avg_pool2d_transpose = _teamed(_pool, _pool.avg_pool2d_transpose)
adaptive_max_pool2d = _teamed(_pool, _pool.adaptive_max_pool2d)
batch_norm = _teamed(_norm, _norm.batch_norm)
batch_norm_backward_reduce = _teamed(_norm, _norm.batch_norm_backward_reduce)
batch_norm_backward = _teamed(_norm, _norm.batch_norm_backward)
batch_norm_eval = _teamed(_norm, _norm.batch_norm_eval)
relu = _teamed(_elementwise, _elementwise.relu)
relu_backward = _teamed(_elementwise, _elementwise.relu_backward)
channel_sum = _teamed(_elementwise, _elementwise.channel_sum)
add = _teamed(_elementwise, _elementwise.add)


def matmul(x, y):
    """out (M, N) = x (M, K) @ y (K, N), float32 or float64, as a 1x1 convolution.

    On nabla's own OpenMP threads rather than NumPy's BLAS: the BLAS keeps a second
    pool of threads that spin after each product, and beside nabla's team on a
    small machine the two pools take turns at the cores (LeNet-5's training step,
    whose linear layers are three small products, ran 2.2x slower:
    benchmarks/results/2026-11-30-kernels-issue.md).  The direct convolution kernel
    runs a 1x1 layer at about the BLAS's speed.

    The M rows of x are the pixels of one image, in rows of L pixels
    (``_row_length``): the kernel's tiles run along a row, 8 pixels at a time, and
    its work units are rows, so M images of one pixel each (as this was first
    written) filled an eighth of each tile: 64 x 400 @ 400 x 120 took 131 us, in
    rows of 8 pixels 38 us (NumPy's BLAS: 48)."""
    M, K = x.shape
    N = y.shape[1]
    L = _row_length(M)
    return conv2d(x.reshape(1, M // L, L, K), y.reshape(1, 1, K, N), (M // L, L), (1, 1),
                  (0, 0, 0, 0), (1, 1), 1).reshape(M, N)


def _row_length(M):
    """Pixels per row for matmul's M rows: 8 (one tile, the most rows for the threads)
    where M allows, else the largest divisor of M from 8 to 64, else M (one row)."""
    if M % 8 == 0:
        return 8
    return next((L for L in range(64, 7, -1) if M % L == 0), M)

__all__ = [
    "NAME",
    "conv2d", "conv2d_transpose", "conv2d_filter_grad",
    "max_pool2d", "max_pool2d_gather", "max_pool2d_scatter",
    "avg_pool2d", "avg_pool2d_transpose", "adaptive_max_pool2d",
    "batch_norm", "batch_norm_backward_reduce", "batch_norm_backward", "batch_norm_eval",
    "relu", "relu_backward", "channel_sum", "add", "matmul",
]
