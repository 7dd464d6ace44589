"""Convolution kernels: conv2d and its adjoints in x and in w (NHWC x HWIO).

Each ``def`` is a thin layer: its ``floating`` memoryview arguments pick the dtype,
``_choose_algorithm`` picks one of the algorithms below from the shapes alone, and
that algorithm allocates the result with NumPy and then, without the GIL, hands
independent work units (an output row, a block of tiles, a tap and channel block)
to ``cdef ... noexcept nogil`` functions under a ``prange``.  Units write disjoint
parts of the result, so there are no races, locks or atomics, and no result
depends on the number of threads.  Taps that fall into the padding are skipped
(``first_tap``/``end_tap``), never read from a padded copy.  The formulas are in
``nabla/_backend.py``; below ``Cg = C_in // groups``, ``Og = C_out // groups``.

One file per algorithm (included below), each for float32 and float64:

* ``_direct.pxi`` (ALGO_DIRECT, ALGO_PIXELS): register-blocked micro-kernels
  (``_microkernels.h``) over NHWC rows, ungrouped or group by group; conv2d and
  conv2d_transpose.
* ``_filter_grad.pxi``: the filter gradient's tiles (ALGO_DIRECT for that op).
* ``_winograd.pxi`` (ALGO_WINOGRAD): Winograd F(4x4, 3x3) for 3x3 stride-1 layers
  (any dilation).
* ``_depthwise.pxi`` (ALGO_DEPTHWISE): channel-vector kernels (``_depthwise.h``).
* ALGO_ZEROS: a call with an empty axis (no pixels, channels or taps) has no
  products at all: its result is zeros.

Every ``prange`` runs on one thread when the call has fewer than
``PARALLEL_MIN_MACS`` multiply-adds: tiny problems do not pay for waking OpenMP
threads.
"""
cimport openmp
from cython.parallel cimport prange

import numpy as np

from nabla._kernels._geometry cimport Window, end_tap, first_tap, make_window
from nabla._kernels._types cimport floating

cdef extern from *:
    """
    #include <string.h>
    #ifndef NB_ISA
    #define NB_ISA "unknown"
    #endif
    #if defined(__clang__)
    #define NB_COMPILER "clang " __clang_version__
    #elif defined(__GNUC__)
    #define NB_COMPILER "gcc " __VERSION__
    #else
    #define NB_COMPILER "unknown"
    #endif
    #ifdef _OPENMP
    #define NB_OPENMP _OPENMP
    #else
    #define NB_OPENMP 0
    #endif
    /* Can this CPU (and its OS, which must save the wide registers) run a variant? */
    static int nb_cpu_supports(const char *isa) {
    #if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
        __builtin_cpu_init();
    #if !defined(__clang__) && __GNUC__ >= 12      /* the levels the variants are built for */
        if (!strcmp(isa, "avx512")) return __builtin_cpu_supports("x86-64-v4") > 0;
        if (!strcmp(isa, "avx2")) return __builtin_cpu_supports("x86-64-v3") > 0;
    #else
        if (!strcmp(isa, "avx512"))
            return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")
                && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl")
                && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")
                && __builtin_cpu_supports("bmi2");
        if (!strcmp(isa, "avx2"))
            return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")
                && __builtin_cpu_supports("bmi") && __builtin_cpu_supports("bmi2");
    #endif
    #endif
        return !strcmp(isa, "generic") || !strcmp(isa, "native");
    }
    """
    const char *NB_ISA
    const char *NB_COMPILER
    int NB_OPENMP
    int nb_cpu_supports(const char *isa)


def _cpu_supports(str isa):
    """Whether this CPU can run the kernels built for ``isa`` (call it on the generic build)."""
    return bool(nb_cpu_supports(isa.encode()))


def _build_info():
    """(instruction set, compiler, OpenMP version yyyymm) this module was built with."""
    return NB_ISA.decode(), NB_COMPILER.decode(), NB_OPENMP


include "_team.pxi"


def _omp_set_num_threads(int n):
    """OpenMP's per-thread limit of the calling thread (nabla.set_num_threads raises it)."""
    openmp.omp_set_num_threads(n)


def _omp_get_max_threads():
    """OpenMP's per-thread limit of the calling thread."""
    return openmp.omp_get_max_threads()


def _team_size():
    """The num_threads this module's next parallel loop would use on this thread."""
    return nb_team_size()

# ------------------------------------------------------------ tuning constants
# Every threshold the algorithms use, in one place; each was measured on the 2-core
# development hosts (benchmarks/conv_kernels.py, benchmarks/results/).

cdef enum:
    FG_PIXELS = 128      # output pixels per work unit of the fast filter gradient,
    FG_PIXELS_MAX = 1024    # doubled up to this while a unit has fewer than
                            # FG_UNIT_MACS multiply-adds (layers with few channels)
    FG_PART_PIXELS = 4096   # a partial sum of dw per this many output pixels ...
    FG_MAX_PARTS = 64       # ... but at most this many partial sums (copies of dw),
    FG_SMALL_PARTS = 8      # and at least this many (if there are that many pixel units)
    FG_SMALL_BYTES = 262144 # when they fit in this many bytes together (small filters)
    FG_SLICE_BYTES = 524288 # most bytes of dw one work unit adds into
    FG_PANEL_STRIDE = 512   # copy a unit's rows into channel panels when a tile's
                            # pixels are this many bytes apart in x, or more
    FILTER_CACHE_BYTES = 1 << 20   # packed filter bytes a conv work unit sweeps with
    PACK_GROUPS = 4                # groups one packed-lane tile covers (1, 2 or 4)
    WIDE_MAX_RUN = 64              # longest per-tap reduction run of a wide tile (_wide_ok)
    WINOGRAD_MIN_C = 16            # fewest channels (each way) of a Winograd call ...
    WINOGRAD_MAX_C = 256           # ... and most reduction channels (see _winograd_ok)
    WINOGRAD_SCRATCH = 262144      # bytes of transformed tiles (V and M) per Winograd unit
    WINOGRAD_UNIT_FILTER_BYTES = 524288  # most bytes of transformed filters of a Winograd
                                         # call run in per-thread units of tiles
    WINOGRAD_CHUNK_BYTES = 4194304 # bytes of V and M of a chunk of shared Winograd tiles,
                                   # or of the transformed filters if they take more
    WINOGRAD_FG_MIN_C = 128        # fewest channels (each way) of a Winograd filter gradient
    WINOGRAD_FG_CHUNK_BYTES = 16777216  # bytes of transformed x and dy tiles per chunk
    WINOGRAD_FG_OUT_BLOCK = 2048   # filter values per unit of its output transform
    WINOGRAD_FG_SUM = 64           # tiles per partial sum of its products
    PREFETCH_MAX_BYTES = 262144    # most bytes of each kind a work unit prefetches,
    PREFETCH_BURST_BYTES = 16384   # and of input rows per step of a direct unit

# Below this many multiply-adds a kernel runs on the calling thread only.  Measured
# on the 2-core dev host (benchmarks/conv_kernels.py --threshold): waking the second
# thread costs about 5 us, so two threads only pay from roughly 3e5 multiply-adds
# (about 15 us of work) on; 2**19 leaves a margin for a loaded machine.
cdef Py_ssize_t PARALLEL_MIN_MACS = 1 << 19

# The filter gradient's pixel units grow (up to FG_PIXELS_MAX) while they have fewer
# multiply-adds than this; a variable, so that benchmarks can compare settings.
cdef Py_ssize_t FG_UNIT_MACS = 1 << 20


def _fg_unit_macs(value=None):
    """The filter gradient's unit size in multiply-adds; set it if value is given."""
    global FG_UNIT_MACS
    if value is not None:
        FG_UNIT_MACS = value
    return FG_UNIT_MACS

# What work units prefetch for the next unit (nb_prefetch_part): PREFETCH_INPUT, its
# input rows; PREFETCH_OUTPUT, its output rows.  A switch for the A/B benchmark
# (benchmarks/prefetch.py); both on by default.
cdef enum:
    PREFETCH_INPUT = 1
    PREFETCH_OUTPUT = 2
cdef int PREFETCH = PREFETCH_INPUT | PREFETCH_OUTPUT

# Whether _wide_ok may pick the 4 x 4-vector tiles; a switch for A/B benchmarks and
# for the test that both tiles give the same bits.
cdef bint WIDE_TILES = True


# Whether the filter gradient may take its 4-channel x 4-vector tiles; a switch for
# A/B benchmarks and for the test that both tiles give the same bits.
cdef bint WIDE_FG = True


def _wide_fg_tiles(value=None):
    """The wide-tile switch of the filter gradient; set it if value is given."""
    global WIDE_FG
    if value is not None:
        WIDE_FG = bool(value)
    return WIDE_FG


def _wide_tiles(value=None):
    """The wide-tile switch of the direct kernels; set it if value is given."""
    global WIDE_TILES
    if value is not None:
        WIDE_TILES = bool(value)
    return WIDE_TILES


def _prefetch(value=None):
    """The prefetch switch (bit 1: inputs, bit 2: outputs; True is both); set it if
    value is given (benchmarks)."""
    global PREFETCH
    if value is not None:
        PREFETCH = 3 if value is True else int(value)
    return PREFETCH

# ------------------------------------------------------------ the algorithms

include "_direct.pxi"
include "_filter_grad.pxi"
include "_winograd.pxi"
include "_depthwise.pxi"

# ------------------------------------------------------------ choosing the algorithm

# The settings of nabla.set_conv_algorithm (nabla/_algorithms.py): ALGO_AUTO lets
# _choose_algorithm take the fastest algorithm for each call, ALGO_DIRECT_ONLY keeps
# the direct form (no Winograd), whose results do not depend on that choice.
cdef enum:
    ALGO_AUTO = 0
    ALGO_DIRECT_ONLY = 1

cdef int CONV_ALGO = ALGO_AUTO
_ALGO_NAMES = ("auto", "direct")


def _conv_algorithm(name=None):
    """The algorithm setting ("auto" or "direct"); set it if name is given
    (nabla/_algorithms.py: nabla.set_conv_algorithm)."""
    global CONV_ALGO
    if name is not None:
        CONV_ALGO = _ALGO_NAMES.index(name)
    return _ALGO_NAMES[CONV_ALGO]


def _parallel_min_macs(value=None):
    """The single-thread threshold (multiply-adds); set it if value is given (benchmarks)."""
    global PARALLEL_MIN_MACS
    if value is not None:
        PARALLEL_MIN_MACS = value
    return PARALLEL_MIN_MACS


cdef enum Op:
    OP_CONV2D = 0
    OP_TRANSPOSE = 1
    OP_FILTER_GRAD = 2

cdef enum Algorithm:
    ALGO_ZEROS = 0       # an empty axis: no products, the result is zeros
    ALGO_DIRECT = 1      # register-blocked micro-kernels, group by group (_direct.pxi,
                         # _filter_grad.pxi)
    ALGO_PIXELS = 2      # one input channel: vectors along output pixels (_direct.pxi)
    ALGO_WINOGRAD = 3    # Winograd F(4x4, 3x3) (_winograd.pxi)
    ALGO_DEPTHWISE = 4   # channel vectors, one channel per group (_depthwise.pxi)


def _algorithm(str op, Py_ssize_t C_in, Py_ssize_t C_out, kernel_hw, stride, dilation,
               Py_ssize_t groups, bint nonempty=True, bint single=True):
    """The name of the algorithm a call would run (tests and benchmarks)."""
    cdef Window win = make_window(kernel_hw, stride, (0, 0, 0, 0), dilation)
    cdef Algorithm a = _choose_algorithm(
        {"conv2d": OP_CONV2D, "conv2d_transpose": OP_TRANSPOSE,
         "conv2d_filter_grad": OP_FILTER_GRAD}[op], C_in, C_out, groups, win, nonempty, single)
    return ("zeros", "direct", "pixels", "winograd", "depthwise")[a]


def _direct_tile(Py_ssize_t C, Py_ssize_t O, kernel_hw, dilation, Py_ssize_t groups=1,
                 bint single=True):
    """The row micro-kernel the direct form runs for a conv2d reducing C channels
    (per group) into O outputs per group (tests and benchmarks)."""
    cdef DirectGeo d
    _direct_geo(&d, 1, 1, 1, C, 1, 1, O, groups,
                make_window(kernel_hw, (1, 1), (0, 0, 0, 0), dilation), False, single)
    return ("block", "half", "dot", "pack", "wide")[d.kind]


def _filter_grad_tile(Py_ssize_t C, Py_ssize_t O, Py_ssize_t stride_w=1, Py_ssize_t groups=1,
                      bint single=True):
    """The tile the direct filter gradient runs for C input and O output channels per
    group (tests and benchmarks)."""
    cdef Py_ssize_t vb
    return ("full", "half", "pack", "wide")[_fg_tile(C, O, groups, stride_w, single, &vb)]


cdef Algorithm _choose_algorithm(Op op, Py_ssize_t C_in, Py_ssize_t C_out, Py_ssize_t groups,
                                 Window win, bint nonempty, bint single) noexcept:
    """Which algorithm computes a call, from its shapes alone (never its data, except
    that Winograd hands a call with an inf or NaN back to the direct form).

    C_in, C_out, groups: the layer's (conv2d's) channels; nonempty: every axis that
    is summed over or produced has a length > 0; single: float32.
    """
    if not nonempty:
        return ALGO_ZEROS
    if groups > 1 and C_in == groups and C_out == groups:
        return ALGO_DEPTHWISE
    if op == OP_FILTER_GRAD:
        if CONV_ALGO == ALGO_AUTO and _winograd_fg_ok(C_in, C_out, groups, win):
            return ALGO_WINOGRAD
        return ALGO_DIRECT
    if op == OP_CONV2D and single and NB_HAVE_C1 and groups == 1 and C_in == 1 \
            and win.sw == 1 and C_out <= 8:
        return ALGO_PIXELS
    # conv2d reduces C_in channels into C_out; its transpose the reverse.
    if CONV_ALGO == ALGO_AUTO and (_winograd_ok(C_in, C_out, groups, win) if op == OP_CONV2D
                                   else _winograd_ok(C_out, C_in, groups, win)):
        return ALGO_WINOGRAD
    return ALGO_DIRECT


cdef inline Py_ssize_t _macs(Py_ssize_t pixels, const floating[:, :, :, ::1] w) noexcept:
    """Multiply-adds of a conv2d (or of either adjoint) with this many output pixels."""
    return pixels * w.shape[0] * w.shape[1] * w.shape[2] * w.shape[3]


# ---------------------------------------------------------------- the three ops

def conv2d(const floating[:, :, :, ::1] x, const floating[:, :, :, ::1] w,
           out_hw, stride, padding, dilation, Py_ssize_t groups):
    """y (N, Ho, Wo, C_out) = x (N, H, W, C_in) convolved with w (Kh, Kw, Cg, C_out)."""
    dtype = np.float32 if floating is float else np.float64
    cdef Window win = make_window((w.shape[0], w.shape[1]), stride, padding, dilation)
    cdef Py_ssize_t N = x.shape[0], Ho = out_hw[0], Wo = out_hw[1]
    cdef bint threads = _macs(N * Ho * Wo, w) >= PARALLEL_MIN_MACS
    cdef Algorithm algo = _choose_algorithm(
        OP_CONV2D, x.shape[3], w.shape[3], groups, win,
        min(N, Ho, Wo, x.shape[1], x.shape[2], x.shape[3], w.shape[0], w.shape[1],
            w.shape[3]) > 0, floating is float)
    if algo == ALGO_ZEROS:
        return np.zeros((N, Ho, Wo, w.shape[3]), dtype=dtype)
    if algo == ALGO_DEPTHWISE:
        return _depthwise_conv2d(x, w, Ho, Wo, win, threads)
    if algo == ALGO_PIXELS:
        if floating is float:
            return _pixels_forward(x, w, Ho, Wo, win, threads)
    if algo == ALGO_WINOGRAD:
        y = _winograd_conv(x, w, Ho, Wo, win.pt, win.pl, win.dh, win.dw, False, threads)
        if y is not None:
            return y
    return _direct_forward(x, w, Ho, Wo, win, groups, threads)


def conv2d_transpose(const floating[:, :, :, ::1] dy, const floating[:, :, :, ::1] w,
                     out_hw, stride, padding, dilation, Py_ssize_t groups):
    """dx (N, H, W, C_in), (H, W) = out_hw: the adjoint of conv2d in x, applied to dy."""
    dtype = np.float32 if floating is float else np.float64
    cdef Window win = make_window((w.shape[0], w.shape[1]), stride, padding, dilation)
    cdef Py_ssize_t N = dy.shape[0], H = out_hw[0], W = out_hw[1]
    cdef bint threads = _macs(N * dy.shape[1] * dy.shape[2], w) >= PARALLEL_MIN_MACS
    cdef Algorithm algo = _choose_algorithm(
        OP_TRANSPOSE, w.shape[2] * groups, w.shape[3], groups, win,
        min(N, H, W, dy.shape[1], dy.shape[2], dy.shape[3], w.shape[0], w.shape[1],
            w.shape[2]) > 0, floating is float)
    if algo == ALGO_ZEROS:
        return np.zeros((N, H, W, w.shape[2] * groups), dtype=dtype)
    if algo == ALGO_DEPTHWISE:
        return _depthwise_conv2d_transpose(dy, w, H, W, win, threads)
    if algo == ALGO_WINOGRAD:
        # The correlation of dy with the filter turned by 180 degrees, its channels
        # swapped, over a border of 2*d - p (the taps k = 2 - a).
        dx = _winograd_conv(dy, w, H, W, 2 * win.dh - win.pt, 2 * win.dw - win.pl, win.dh,
                            win.dw, True, threads)
        if dx is not None:
            return dx
    return _direct_transpose(dy, w, H, W, win, groups, threads)


def conv2d_filter_grad(const floating[:, :, :, ::1] x, const floating[:, :, :, ::1] dy,
                       kernel_hw, stride, padding, dilation, Py_ssize_t groups):
    """dw (Kh, Kw, Cg, C_out): the adjoint of conv2d in w, applied to dy."""
    dtype = np.float32 if floating is float else np.float64
    cdef Window win = make_window(kernel_hw, stride, padding, dilation)
    cdef Py_ssize_t N = x.shape[0], Ho = dy.shape[1], Wo = dy.shape[2]
    cdef Py_ssize_t C = x.shape[3], O = dy.shape[3]
    cdef bint threads = N * Ho * Wo * win.kh * win.kw * (C // groups) * O >= PARALLEL_MIN_MACS
    cdef Algorithm algo = _choose_algorithm(
        OP_FILTER_GRAD, C, O, groups, win,
        min(N, Ho, Wo, x.shape[1], x.shape[2], C, O, win.kh, win.kw) > 0, floating is float)
    if algo == ALGO_ZEROS:
        return np.zeros((win.kh, win.kw, C // groups, O), dtype=dtype)
    if algo == ALGO_DEPTHWISE:
        return _depthwise_filter_grad(x, dy, win, threads)
    if algo == ALGO_WINOGRAD:
        dw = _winograd_filter_grad(x, dy, win.pt, win.pl, win.dh, win.dw, threads)
        if dw is not None:
            return dw
    return _direct_filter_grad(x, dy, win, groups, threads)
