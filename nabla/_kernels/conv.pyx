"""Convolution kernels: conv2d and its adjoints in x and in w (NHWC x HWIO).

Each ``def`` is a thin layer: its ``floating`` memoryview arguments pick the
dtype, it allocates the result with NumPy, then, without the GIL, a ``prange``
hands independent work units (an output row, a tap and channel block) to
``cdef inline ... noexcept nogil`` functions.  Units write disjoint parts of
the result, so there are no races, locks or atomics.  Taps that fall into the
padding are skipped (``first_tap``/``end_tap``), never read from a padded copy.
The formulas are in ``nabla/_backend.py``; below ``Cg = C_in // groups``,
``Og = C_out // groups``.

Fast paths (every size > 0, any number of groups but depthwise) run
register-blocked micro-kernels from ``_microkernels.h`` (AVX-512 or AVX2 intrinsics
when the compiler targets them, plain C otherwise); depthwise convolutions
(``groups == C_in == C_out``) run the channel-vector kernels of ``_depthwise.h``
instead (the section "depthwise" at the end).  ``_direct_conv`` computes conv2d,
and conv2d_transpose as a conv2d of dy with the channel-swapped filter read
flipped, one output phase
(h % sh, v % sw) at a time, from a filter copy packed for the micro-kernel
(``_packed_filter``; for column stride 1 the columns are packed flipped, so the
kernels can merge column taps); a grouped convolution runs the same kernels group
by group on each pixel's slice of channels (``DirectGeo.xps``: the pixel stride).
float32 conv2d with one input channel, <= 8 outputs and column stride 1 runs
``nb_c1_row_f32`` (vectors along output pixels) instead.
``_filter_grad_fast`` sums dw over blocks of output rows into partial sums fixed
by the shapes (not the thread count: same bits on any number of threads), added
up in a fixed order after the parallel region; with few input channels its tiles run
over the merged (column tap, channel) axis.  Every ``prange`` runs on one
thread when the call has fewer than ``PARALLEL_MIN_MACS`` multiply-adds: tiny
problems do not pay for waking OpenMP threads.
"""
cimport openmp
from cython.parallel cimport prange

import numpy as np

from nabla._kernels._geometry cimport Window, end_tap, first_tap, make_window, source_window
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


cdef extern from "_threads.h" nogil:
    void nb_set_team(int n)
    int nb_team_size()


def _set_team(int n):
    """Set how many threads this module's kernels use when called from this thread
    (0: OpenMP's default); nabla/_threads.py calls it before each kernel."""
    nb_set_team(n)


def _omp_set_num_threads(int n):
    """OpenMP's per-thread limit of the calling thread (nabla.set_num_threads raises it)."""
    openmp.omp_set_num_threads(n)


def _omp_get_max_threads():
    """OpenMP's per-thread limit of the calling thread."""
    return openmp.omp_get_max_threads()


def _team_size():
    """The num_threads this module's next parallel loop would use on this thread."""
    return nb_team_size()

cdef extern from "_microkernels.h" nogil:
    ctypedef struct nb_rowgeo:
        Py_ssize_t H, W, C, xps
        Py_ssize_t row0, row_step, wa0, wa_step, na
        Py_ssize_t col0, col_pix, col_tap, wb0, wb_step, nb
        Py_ssize_t Kw
        Py_ssize_t npix, y_pix, nch
    void nb_conv_row_f32(const float *x, const float *wblk, float *y, const float *zeros,
                         const nb_rowgeo *g)
    void nb_conv_row_f64(const double *x, const double *wblk, double *y,
                         const double *zeros, const nb_rowgeo *g)
    void nb_conv_half_f32(const float *x, const float *wblk, float *y, const float *zeros,
                          const nb_rowgeo *g)
    void nb_conv_half_f64(const double *x, const double *wblk, double *y,
                          const double *zeros, const nb_rowgeo *g)
    void nb_fgrad_half_f32(const float *x, Py_ssize_t xrs, Py_ssize_t xps, const float *dy,
                           Py_ssize_t dyrs, Py_ssize_t dyps, Py_ssize_t nrows,
                           Py_ssize_t npix, float *dw, Py_ssize_t ldw, Py_ssize_t nc,
                           Py_ssize_t no)
    void nb_fgrad_half_f64(const double *x, Py_ssize_t xrs, Py_ssize_t xps,
                           const double *dy, Py_ssize_t dyrs, Py_ssize_t dyps,
                           Py_ssize_t nrows, Py_ssize_t npix, double *dw, Py_ssize_t ldw,
                           Py_ssize_t nc, Py_ssize_t no)
    void nb_c1_row_f32(const float *x, const float *w, float *y, const nb_rowgeo *g)
    void nb_pack_row_f32(const float *x, const float *wblk, float *y, const float *zeros,
                         const nb_rowgeo *g, Py_ssize_t P)
    void nb_pack_row_f64(const double *x, const double *wblk, double *y,
                         const double *zeros, const nb_rowgeo *g, Py_ssize_t P)
    void nb_dot_row_f32(const float *x, const float *wblk, float *y, const float *zeros,
                        const nb_rowgeo *g)
    void nb_dot_row_f64(const double *x, const double *wblk, double *y,
                        const double *zeros, const nb_rowgeo *g)
    void nb_fgrad_tile_f32(const float *x, Py_ssize_t xrs, Py_ssize_t xps, const float *dy,
                           Py_ssize_t dyrs, Py_ssize_t dyps, Py_ssize_t nrows,
                           Py_ssize_t npix, float *dw, Py_ssize_t ldw, Py_ssize_t nc,
                           Py_ssize_t no)
    void nb_fgrad_tile_f64(const double *x, Py_ssize_t xrs, Py_ssize_t xps,
                           const double *dy, Py_ssize_t dyrs, Py_ssize_t dyps,
                           Py_ssize_t nrows, Py_ssize_t npix, double *dw, Py_ssize_t ldw,
                           Py_ssize_t nc, Py_ssize_t no)
    enum:
        NB_VB_F32
        NB_VB_F64
        NB_FG_C
        NB_DOT_MAXCH
        NB_HAVE_C1
        NB_HAVE_PACK

cdef enum:
    # Which row micro-kernel _direct_conv runs (see _microkernels.h and _kernel_kind).
    KIND_BLOCK = 0       # 8 pixels x 2 vectors of output channels
    KIND_HALF = 1        # 8 pixels x 1 vector: at most 16 (float) / 8 (double) outputs
    KIND_DOT = 2         # 4 pixels x <= 6 outputs, vectors along the reduction
    KIND_PACK = 3        # 16 pixels x 1 vector: <= LANES/P outputs x P channels per step

cdef enum:
    CHANNEL_BLOCK = 64   # input channels per work unit of conv2d_filter_grad (grouped path)
    FG_PIXELS = 128      # output pixels per work unit of the fast filter gradient
    FG_PART_PIXELS = 4096   # a partial sum of dw per this many output pixels ...
    FG_MAX_PARTS = 64       # ... but at most this many partial sums (copies of dw),
    FG_SMALL_PARTS = 8      # and at least this many (if there are that many pixel units)
    FG_SMALL_BYTES = 262144 # when they fit in this many bytes together (small filters)
    FILTER_CACHE_BYTES = 1 << 20   # packed filter bytes a conv work unit sweeps with
    WINOGRAD_MAX_C = 64            # most reduction channels of a Winograd F(4x4, 3x3) call

ctypedef struct DirectGeo:
    # One call of the direct (register-blocked) convolution, _direct_conv.
    Py_ssize_t N, H, W       # input images: x, or dy for conv2d_transpose
    Py_ssize_t C, xps        # channels each group reduces; x values per pixel (groups*C)
    Py_ssize_t Ho, Wo        # output images: y, or dx
    Py_ssize_t O, yps        # outputs of each group; y values per pixel (groups*O)
    Py_ssize_t groups, Kh, Kw
    Py_ssize_t vb, nob       # output channels per packed block; blocks per group
    Py_ssize_t pack          # reduction channels per lane group (KIND_PACK), else 1
    int kind                 # the row micro-kernel (KIND_*)
    bint transpose
    Window win


# Below this many multiply-adds a kernel runs on the calling thread only.  Measured
# on the 2-core dev host (benchmarks/conv_kernels.py --threshold): waking the second
# thread costs about 5 us, so two threads only pay from roughly 3e5 multiply-adds
# (about 15 us of work) on; 2**19 leaves a margin for a loaded machine.
cdef Py_ssize_t PARALLEL_MIN_MACS = 1 << 19


# Which algorithms conv2d and conv2d_transpose may use: ALGO_AUTO picks the fastest
# for each call (_winograd_ok), ALGO_DIRECT keeps the direct form everywhere, whose
# results do not depend on the algorithm choice (nabla.set_conv_algorithm).
cdef enum:
    ALGO_AUTO = 0
    ALGO_DIRECT = 1

cdef int CONV_ALGO = ALGO_AUTO
_ALGO_NAMES = ("auto", "direct")


def _conv_algorithm(name=None):
    """The algorithm setting ("auto" or "direct"); set it if name is given
    (nabla/_algorithms.py: nabla.set_conv_algorithm)."""
    global CONV_ALGO
    if name is not None:
        CONV_ALGO = _ALGO_NAMES.index(name)
    return _ALGO_NAMES[CONV_ALGO]


cdef inline bint _winograd_ok(Py_ssize_t C, Py_ssize_t O, Py_ssize_t groups,
                              Window win) noexcept:
    """Whether a conv2d (or a conv2d_transpose, with C and O its dy's and dx's channels)
    runs Winograd F(4x4, 3x3): 3x3 filters, stride 1, no dilation, no groups,
    16 <= C <= WINOGRAD_MAX_C reduction channels and O >= 16 outputs.  Measured
    (benchmarks/results/2026-11-30-winograd.md): with fewer channels the transforms
    cost more than they save; with more, its float32 rounding error (growing with C)
    passes 1e-5 of max|y|, and the 36 transformed filters (36*C*O values) no longer
    stay in cache.  float64 takes the same path (its error stays near 1e-14), so it
    keeps about half of float32's speed."""
    return (CONV_ALGO == ALGO_AUTO and groups == 1 and win.kh == 3 and win.kw == 3
            and win.sh == 1 and win.sw == 1 and win.dh == 1 and win.dw == 1
            and 16 <= C <= WINOGRAD_MAX_C and O >= 16)


def _parallel_min_macs(value=None):
    """The single-thread threshold (multiply-adds); set it if value is given (benchmarks)."""
    global PARALLEL_MIN_MACS
    if value is not None:
        PARALLEL_MIN_MACS = value
    return PARALLEL_MIN_MACS


# ---------------------------------------------------------------- conv2d

def conv2d(const floating[:, :, :, ::1] x, const floating[:, :, :, ::1] w,
           out_hw, stride, padding, dilation, Py_ssize_t groups):
    """y (N, Ho, Wo, C_out) = x (N, H, W, C_in) convolved with w (Kh, Kw, Cg, C_out)."""
    dtype = np.float32 if floating is float else np.float64
    cdef Window win = make_window((w.shape[0], w.shape[1]), stride, padding, dilation)
    cdef Py_ssize_t N = x.shape[0], Ho = out_hw[0], Wo = out_hw[1], row
    cdef bint threads = _macs(N * Ho * Wo, w) >= PARALLEL_MIN_MACS
    cdef floating[:, :, :, ::1] y_view
    cdef DirectGeo d
    cdef floating[:, :, :, :, ::1] wp
    cdef const floating[::1] zeros
    if min(N, Ho, Wo, x.shape[1], x.shape[2], x.shape[3], w.shape[0], w.shape[1],
           w.shape[3]) > 0 and not _is_depthwise(w.shape[2], w.shape[3], groups):
        if _winograd_ok(x.shape[3], w.shape[3], groups, win):
            y = _winograd_conv(x, np.asarray(w, dtype=np.float64), Ho, Wo, win.pt, win.pl,
                               threads)
            if y is not None:
                return y
        y = np.empty((N, Ho, Wo, w.shape[3]), dtype=dtype)
        y_view = y
        if floating is float and NB_HAVE_C1 and groups == 1 and x.shape[3] == 1 \
                and win.sw == 1 and w.shape[3] <= 8:
            # One input channel, <= 8 outputs: vectors along the output pixels.
            with nogil:
                for row in prange(N * Ho, schedule="static", num_threads=nb_team_size(), use_threads_if=threads):
                    _c1_row(&x[0, 0, 0, 0], x.shape[1], x.shape[2], &w[0, 0, 0, 0],
                            w.shape[0], w.shape[1], &y_view[0, 0, 0, 0], Ho, Wo,
                            w.shape[3], win, row)
            return y
        # Group g reduces its Cg input channels into its Og outputs.
        _direct_geo(&d, x.shape[0], x.shape[1], x.shape[2], w.shape[2], Ho, Wo,
                    w.shape[3] // groups, groups, win, False, floating is float)
        wp = _packed_filter(w, &d)
        zeros = np.zeros(x.shape[3], dtype=dtype)
        with nogil:
            _direct_conv(&x[0, 0, 0, 0], &wp[0, 0, 0, 0, 0], &y_view[0, 0, 0, 0], &zeros[0], &d,
                         threads)
        return y
    if _is_depthwise(w.shape[2], w.shape[3], groups) and min(N, Ho, Wo, x.shape[1],
                                                            x.shape[2], w.shape[0], w.shape[1]) > 0:
        return _depthwise_conv2d(x, w, Ho, Wo, win, threads)
    y = np.zeros((N, Ho, Wo, w.shape[3]), dtype=dtype)
    y_view = y
    with nogil:
        # Work unit: one output row y[n, i]; rows are disjoint, so no races.
        for row in prange(N * Ho, schedule="static", num_threads=nb_team_size(), use_threads_if=threads):
            _conv2d_row(x, w, y_view, win, groups, row // Ho, row % Ho)
    return y


cdef inline void _conv2d_row(const floating[:, :, :, ::1] x, const floating[:, :, :, ::1] w,
                             floating[:, :, :, ::1] y, Window win, Py_ssize_t groups,
                             Py_ssize_t n, Py_ssize_t i) noexcept nogil:
    cdef Py_ssize_t H = x.shape[1], W = x.shape[2]
    cdef Py_ssize_t Cg = w.shape[2], C_out = w.shape[3], Og = C_out // groups
    cdef bint depthwise = Cg == 1 and Og == 1   # input channel o feeds output channel o
    cdef Py_ssize_t r0 = i * win.sh - win.pt    # input row of tap a = 0
    cdef Py_ssize_t a_lo = first_tap(r0, win.dh), a_hi = end_tap(r0, win.dh, win.kh, H)
    cdef Py_ssize_t j, c0, a, b, r, col, g, c, o
    cdef floating xv
    for j in range(y.shape[2]):
        c0 = j * win.sw - win.pl
        for a in range(a_lo, a_hi):
            r = r0 + a * win.dh
            for b in range(first_tap(c0, win.dw), end_tap(c0, win.dw, win.kw, W)):
                col = c0 + b * win.dw
                if depthwise:
                    for o in range(C_out):
                        y[n, i, j, o] += x[n, r, col, o] * w[a, b, 0, o]
                else:
                    for g in range(groups):
                        for c in range(Cg):
                            xv = x[n, r, col, g * Cg + c]
                            for o in range(g * Og, (g + 1) * Og):   # contiguous in y and w
                                y[n, i, j, o] += xv * w[a, b, c, o]


# ------------------------------------------------------- conv2d_transpose

def conv2d_transpose(const floating[:, :, :, ::1] dy, const floating[:, :, :, ::1] w,
                     out_hw, stride, padding, dilation, Py_ssize_t groups):
    """dx (N, H, W, C_in), (H, W) = out_hw: the adjoint of conv2d in x, applied to dy."""
    dtype = np.float32 if floating is float else np.float64
    cdef Window win = make_window((w.shape[0], w.shape[1]), stride, padding, dilation)
    cdef Py_ssize_t N = dy.shape[0], H = out_hw[0], W = out_hw[1], row
    cdef bint threads = _macs(N * dy.shape[1] * dy.shape[2], w) >= PARALLEL_MIN_MACS
    cdef floating[:, :, :, ::1] dx_view
    cdef DirectGeo d
    cdef floating[:, :, :, :, ::1] wp
    cdef const floating[::1] zeros
    if min(N, H, W, dy.shape[1], dy.shape[2], dy.shape[3], w.shape[0], w.shape[1],
           w.shape[2]) > 0 and not _is_depthwise(w.shape[2], w.shape[3], groups):
        # A direct convolution of dy with the channel-swapped filter, one output
        # phase (h % sh, v % sw) at a time; see _transpose_unit.  Group g reduces
        # its Og channels of dy into its Cg channels of dx.
        if _winograd_ok(dy.shape[3], w.shape[2], groups, win):
            # The correlation of dy with the filter turned by 180 degrees, its
            # channels swapped, over a border of 2 - p (the taps k = 2 - a).
            dx = _winograd_conv(dy, np.asarray(w, dtype=np.float64)[::-1, ::-1].transpose(
                0, 1, 3, 2), H, W, 2 - win.pt, 2 - win.pl, threads)
            if dx is not None:
                return dx
        dx = np.empty((N, H, W, w.shape[2] * groups), dtype=dtype)
        dx_view = dx
        _direct_geo(&d, N, dy.shape[1], dy.shape[2], w.shape[3] // groups, H, W, w.shape[2],
                    groups, win, True, floating is float)
        wp = _packed_filter(w, &d)
        zeros = np.zeros(dy.shape[3], dtype=dtype)
        with nogil:
            _direct_conv(&dy[0, 0, 0, 0], &wp[0, 0, 0, 0, 0], &dx_view[0, 0, 0, 0], &zeros[0], &d,
                         threads)
        return dx
    if _is_depthwise(w.shape[2], w.shape[3], groups) and min(N, H, W, dy.shape[1], dy.shape[2],
                                                            w.shape[0], w.shape[1]) > 0:
        return _depthwise_conv2d_transpose(dy, w, H, W, win, threads)
    dx = np.zeros((N, H, W, w.shape[2] * groups), dtype=dtype)
    dx_view = dx
    with nogil:
        # Gather form: work unit = one row dx[n, h], which sums everything that
        # conv2d would spread into it, so rows are disjoint and there are no races.
        for row in prange(N * H, schedule="static", num_threads=nb_team_size(), use_threads_if=threads):
            _conv2d_transpose_row(dy, w, dx_view, win, groups, row // H, row % H)
    return dx


cdef inline void _conv2d_transpose_row(const floating[:, :, :, ::1] dy,
                                       const floating[:, :, :, ::1] w,
                                       floating[:, :, :, ::1] dx, Window win,
                                       Py_ssize_t groups, Py_ssize_t n,
                                       Py_ssize_t h) noexcept nogil:
    cdef Py_ssize_t Ho = dy.shape[1], Wo = dy.shape[2]
    cdef Py_ssize_t Cg = w.shape[2], C_out = w.shape[3], Og = C_out // groups
    cdef bint depthwise = Cg == 1 and Og == 1
    cdef Py_ssize_t a, b, i, j, v, g, c, o
    cdef floating acc
    for a in range(win.kh):
        i = source_window(h + win.pt - a * win.dh, win.sh, Ho)
        if i == -2:
            break
        if i == -1:
            continue
        for v in range(dx.shape[2]):
            for b in range(win.kw):
                j = source_window(v + win.pl - b * win.dw, win.sw, Wo)
                if j == -2:
                    break
                if j == -1:
                    continue
                if depthwise:
                    for c in range(C_out):
                        dx[n, h, v, c] += dy[n, i, j, c] * w[a, b, 0, c]
                else:
                    for g in range(groups):
                        for c in range(Cg):
                            acc = 0
                            for o in range(g * Og, (g + 1) * Og):   # contiguous in dy and w
                                acc = acc + dy[n, i, j, o] * w[a, b, c, o]
                            dx[n, h, v, g * Cg + c] += acc


# ----------------------------------------------------- conv2d_filter_grad

def conv2d_filter_grad(const floating[:, :, :, ::1] x, const floating[:, :, :, ::1] dy,
                       kernel_hw, stride, padding, dilation, Py_ssize_t groups):
    """dw (Kh, Kw, Cg, C_out): the adjoint of conv2d in w, applied to dy."""
    dtype = np.float32 if floating is float else np.float64
    cdef Window win = make_window(kernel_hw, stride, padding, dilation)
    cdef Py_ssize_t N = x.shape[0], Ho = dy.shape[1], Wo = dy.shape[2]
    cdef Py_ssize_t Kh = win.kh, Kw = win.kw, C = x.shape[3], O = dy.shape[3]
    cdef Py_ssize_t vb = NB_VB_F32 if floating is float else NB_VB_F64
    cdef bint threads = N * Ho * Wo * Kh * Kw * (C // groups) * O >= PARALLEL_MIN_MACS
    cdef Py_ssize_t rows_per_unit, units_per_image, S, Q, T, slice_width, columns
    cdef bint half
    cdef floating[:, :, :, :, ::1] parts
    cdef floating[:, :, :, ::1] dw_view
    cdef Py_ssize_t Cg, Og, per_tap, unit, tap
    if min(N, Ho, Wo, x.shape[1], x.shape[2], C, O, Kh, Kw) > 0 \
            and not _is_depthwise(C // groups, O, groups):
        # The partition of the sum over pixels is fixed by the shapes alone, never by
        # the number of threads, so dw has the same bits on any thread count: the
        # pixel units (about FG_PIXELS output pixels each) go, in order, to S chunks,
        # each summed into its own copy of dw; the copies are then added in the order
        # 0, 1, ..., S-1.  Q slices of the output columns (a column: one vector of one
        # group's outputs) give the threads more units without more copies: a unit
        # owns its slice outright.
        Cg, Og = C // groups, O // groups
        rows_per_unit = min(Ho, (FG_PIXELS + Wo - 1) // Wo)
        units_per_image = (Ho + rows_per_unit - 1) // rows_per_unit
        # S grows with the pixels, and for a small dw (cheap copies) up to FG_SMALL_PARTS.
        S = max(1, (N * Ho * Wo) // FG_PART_PIXELS, min(FG_SMALL_PARTS, FG_SMALL_BYTES // (
            Kh * Kw * Cg * O * x.itemsize)))
        S = min(S, N * units_per_image, FG_MAX_PARTS)
        while S & (S - 1):     # a power of two: S units share out evenly on 2, 4, 8... threads
            S = S & (S - 1)
        # Q changes which thread computes what, never what is computed, so it may follow
        # the thread count T: the fewest slices that give every thread the same number
        # of units, or at least 4 each (slicing makes the units re-read their x rows).
        T = nb_team_size() if threads else 1
        half = Og <= vb // 2
        if half:
            vb = vb // 2       # half-width tiles: one vector covers a group's outputs
        columns = groups * ((Og + vb - 1) // vb)
        Q = 1
        while Q < columns and (S * Q) % T != 0 and S * Q < 4 * T:
            Q += 1
        slice_width = (columns + Q - 1) // Q
        Q = (columns + slice_width - 1) // slice_width
        parts_arr = np.zeros((S, Kh, Kw, Cg, O), dtype=dtype)
        parts = parts_arr
        with nogil:
            _filter_grad_fast(&x[0, 0, 0, 0], &dy[0, 0, 0, 0], &parts[0, 0, 0, 0, 0],
                              N, x.shape[1], x.shape[2], Cg, Ho, Wo, Og, groups, win, vb, half,
                              rows_per_unit, units_per_image, S, Q, slice_width, threads)
        return parts_arr[0]
    if _is_depthwise(C // groups, O, groups) and min(N, Ho, Wo, x.shape[1], x.shape[2], Kh,
                                                     Kw) > 0:
        return _depthwise_filter_grad(x, dy, win, threads)
    dw = np.zeros((Kh, Kw, C // groups, O), dtype=dtype)
    dw_view = dw
    Cg = dw_view.shape[2]
    Og = O // groups
    # Work unit: one tap (a, b) and one block of at most CHANNEL_BLOCK input
    # channels c of one group; it owns dw[a, b, c_block, group's outputs], so
    # units never write to the same cell.  Blocking the channels keeps threads
    # busy when Kh*Kw is small (1x1 filters).
    if Cg == 1 and Og == 1:    # depthwise: blocks of channels, not groups
        per_tap = (O + CHANNEL_BLOCK - 1) // CHANNEL_BLOCK
    else:
        per_tap = groups * ((Cg + CHANNEL_BLOCK - 1) // CHANNEL_BLOCK)
    with nogil:
        for unit in prange(Kh * Kw * per_tap, schedule="static", num_threads=nb_team_size(), use_threads_if=threads):
            tap = unit // per_tap
            _filter_grad_unit(x, dy, dw_view, win, groups, tap // Kw, tap % Kw,
                              unit % per_tap)
    return dw


cdef inline void _filter_grad_unit(const floating[:, :, :, ::1] x,
                                   const floating[:, :, :, ::1] dy,
                                   floating[:, :, :, ::1] dw, Window win, Py_ssize_t groups,
                                   Py_ssize_t a, Py_ssize_t b, Py_ssize_t block) noexcept nogil:
    cdef Py_ssize_t H = x.shape[1], W = x.shape[2], Ho = dy.shape[1], Wo = dy.shape[2]
    cdef Py_ssize_t Cg = dw.shape[2], C_out = dw.shape[3], Og = C_out // groups
    # Output rows i (columns j) whose tap a (b) lands inside the input.
    cdef Py_ssize_t r0 = a * win.dh - win.pt, c0 = b * win.dw - win.pl
    cdef Py_ssize_t i_lo = first_tap(r0, win.sh), i_hi = end_tap(r0, win.sh, Ho, H)
    cdef Py_ssize_t j_lo = first_tap(c0, win.sw), j_hi = end_tap(c0, win.sw, Wo, W)
    cdef Py_ssize_t blocks_per_group, g, c_lo, c_hi, n, i, j, r, col, c, o
    cdef floating xv
    if Cg == 1 and Og == 1:
        c_lo = block * CHANNEL_BLOCK
        c_hi = min(c_lo + CHANNEL_BLOCK, C_out)
        for n in range(x.shape[0]):
            for i in range(i_lo, i_hi):
                r = r0 + i * win.sh
                for j in range(j_lo, j_hi):
                    col = c0 + j * win.sw
                    for c in range(c_lo, c_hi):
                        dw[a, b, 0, c] += x[n, r, col, c] * dy[n, i, j, c]
        return
    blocks_per_group = (Cg + CHANNEL_BLOCK - 1) // CHANNEL_BLOCK
    g = block // blocks_per_group
    c_lo = (block % blocks_per_group) * CHANNEL_BLOCK
    c_hi = min(c_lo + CHANNEL_BLOCK, Cg)
    for n in range(x.shape[0]):
        for i in range(i_lo, i_hi):
            r = r0 + i * win.sh
            for j in range(j_lo, j_hi):
                col = c0 + j * win.sw
                for c in range(c_lo, c_hi):
                    xv = x[n, r, col, g * Cg + c]
                    for o in range(g * Og, (g + 1) * Og):   # contiguous in dw and dy
                        dw[a, b, c, o] += xv * dy[n, i, j, o]


# ------------------------------------------------------------- fast paths

cdef inline Py_ssize_t _macs(Py_ssize_t pixels, const floating[:, :, :, ::1] w) noexcept:
    """Multiply-adds of a conv2d (or of either adjoint) with this many output pixels."""
    return pixels * w.shape[0] * w.shape[1] * w.shape[2] * w.shape[3]


cdef inline bint _is_depthwise(Py_ssize_t Cg, Py_ssize_t C_out, Py_ssize_t groups) noexcept:
    """One input and one output channel per group: input channel o feeds output o."""
    return groups > 1 and Cg == 1 and C_out == groups


cdef inline int _kernel_kind(Py_ssize_t C, Py_ssize_t O, Py_ssize_t groups, Py_ssize_t *vb,
                             Py_ssize_t *pack) noexcept:
    """The row micro-kernel for C reduction and O output channels; sets its block width.

    vb comes in as the full block (2 vectors).  One group of a grouped convolution
    with at most half a vector of outputs: the packed form (P = 4 or 2 reduction
    channels per output, so all lanes work; AVX-512).  Few outputs (O <= NB_DOT_MAXCH)
    with at least as many reduction channels: the dot form, whose vectors run along
    C (a full block would be mostly padding).  O up to one vector: the half-width block.
    """
    cdef Py_ssize_t lanes = vb[0] // 2
    pack[0] = 1
    if NB_HAVE_PACK and groups > 1 and 2 * O <= lanes:
        pack[0] = 4 if 4 * O <= lanes and C % 4 == 0 else 2
        if C % pack[0] == 0:
            vb[0] = lanes
            return KIND_PACK
        pack[0] = 1
    if O <= NB_DOT_MAXCH and C >= O:
        vb[0] = O
        return KIND_DOT
    if O <= vb[0] // 2:
        vb[0] = vb[0] // 2
        return KIND_HALF
    return KIND_BLOCK


cdef void _direct_geo(DirectGeo *d, Py_ssize_t N, Py_ssize_t H, Py_ssize_t W, Py_ssize_t C,
                      Py_ssize_t Ho, Py_ssize_t Wo, Py_ssize_t O, Py_ssize_t groups,
                      Window win, bint transpose, bint single) noexcept:
    """Fill d for a direct convolution (transpose: a transposed one) of x (N, H, W,
    groups*C) into y (N, Ho, Wo, groups*O), group g reducing its C channels of x into
    its O channels of y; single: float32, else float64."""
    d.N, d.H, d.W, d.C, d.xps = N, H, W, C, groups * C
    d.Ho, d.Wo, d.O, d.yps = Ho, Wo, O, groups * O
    d.groups, d.Kh, d.Kw, d.win, d.transpose = groups, win.kh, win.kw, win, transpose
    d.vb = NB_VB_F32 if single else NB_VB_F64
    d.kind = _kernel_kind(C, O, groups, &d.vb, &d.pack)
    d.nob = (O + d.vb - 1) // d.vb


cdef object _packed_filter(const floating[:, :, :, ::1] w, const DirectGeo *d):
    """The filter w (Kh, Kw, Cg, C_out), packed group by group for d's micro-kernel.

    Block layout (groups * nob, Kh, Kw, C, vb): the nob blocks of each group in turn.
    Dot layout (groups, Kh, Kw, O, C).  See _pack.  Forward: group g reduces w's axis 2
    into its outputs g*O ... (axis 3); transpose: the reverse.
    """
    dtype = np.float32 if floating is float else np.float64
    cdef Py_ssize_t Kh = d.Kh, Kw = d.Kw, C = d.C, O = d.O, g, first
    cdef Py_ssize_t C_out = w.shape[3], ts = w.shape[2] * C_out, Og = C_out // d.groups
    cdef bint dot = d.kind == KIND_DOT
    cdef tuple shape
    if dot:
        shape = (d.groups, Kh, Kw, O, C)
    else:
        shape = (d.groups * d.nob, Kh, Kw, C // d.pack, d.vb)
    packed = _aligned_zeros(shape, dtype)
    cdef floating[:, :, :, :, ::1] wp = packed
    for g in range(d.groups):
        first = g if dot else g * d.nob
        if d.transpose:
            # Reduction over the group's outputs (stride 1 in w), outputs along w's
            # axis 2 (stride C_out).  Column stride 1: columns packed flipped, so the
            # row kernel sees a forward geometry (column taps one apart, ascending)
            # and can merge column taps.
            _pack(&w[0, 0, 0, g * Og], Kh, Kw, C, O, ts, 1, C_out, d.vb, d.pack, dot,
                  d.win.sw == 1, &wp[first, 0, 0, 0, 0])
        else:
            _pack(&w[0, 0, 0, g * Og], Kh, Kw, C, O, ts, C_out, 1, d.vb, d.pack, dot, False,
                  &wp[first, 0, 0, 0, 0])
    return packed


cdef void _pack(const floating *w, Py_ssize_t Kh, Py_ssize_t Kw, Py_ssize_t C, Py_ssize_t O,
                Py_ssize_t ts, Py_ssize_t sc, Py_ssize_t so, Py_ssize_t vb, Py_ssize_t P,
                bint dot, bint flip, floating *out) noexcept nogil:
    """Copy the filter (of one group) into the layout a micro-kernel streams through.

    Source: tap t = a*Kw + b, reduction channel c, output channel o at
    w[t*ts + c*sc + o*so] (conv2d: HWIO, ts = Cg*C_out, sc = C_out, so = 1, w at the
    group's first output; conv2d_transpose: the same array read with input and output
    channels swapped, sc = 1, so = C_out); with flip,
    packed column b holds source column Kw - 1 - b.  Block layout (ceil(O/vb), Kh*Kw,
    C, vb): panel [ob, t] is the C x vb matrix of outputs ob*vb .. ob*vb + vb - 1, zero
    past O (out must be zeroed).  Packed (P > 1; O <= vb/P): each panel is C/P rows of
    vb, lane o*P + j of row k holding channel k*P + j of output o.  Dot layout (Kh, O,
    Kw, C): for each row tap and output, the column taps' reductions are one contiguous
    run.
    """
    cdef Py_ssize_t taps = Kh * Kw, t, a, b, c, o, ob
    cdef const floating *src
    cdef floating *dst
    for t in range(taps):
        a = t // Kw
        b = t % Kw
        src = w + (a * Kw + (Kw - 1 - b if flip else b)) * ts
        if dot:
            for o in range(O):
                dst = out + ((a * O + o) * Kw + b) * C
                for c in range(C):
                    dst[c] = src[c * sc + o * so]
        else:
            for ob in range((O + vb - 1) // vb):
                dst = out + (ob * taps + t) * C * vb // P
                for c in range(C):
                    for o in range(ob * vb, min(ob * vb + vb, O)):
                        dst[(c // P) * vb + (o - ob * vb) * P + c % P] = src[c * sc + o * so]


cdef object _aligned_zeros(tuple shape, dtype):
    """np.zeros(shape, dtype) starting on a 64-byte boundary (NumPy only promises 16).

    The micro-kernels load 64-byte vectors from these buffers; unaligned, every
    load would be split across two cache lines.
    """
    cdef Py_ssize_t itemsize = 4 if dtype is np.float32 else 8, nbytes = itemsize, d
    for d in shape:
        nbytes *= d
    raw = np.zeros(nbytes + 64, dtype=np.uint8)
    cdef unsigned char[::1] raw_view = raw
    cdef Py_ssize_t start = (64 - <size_t>&raw_view[0] % 64) % 64
    return raw[start:start + nbytes].view(dtype).reshape(shape)


cdef inline void _conv_row(const floating *x, const floating *wblk, floating *y,
                           const floating *zeros, const nb_rowgeo *g, int kind,
                           Py_ssize_t pack) noexcept nogil:
    if kind == KIND_PACK:
        if floating is float:
            nb_pack_row_f32(x, wblk, y, zeros, g, pack)
        else:
            nb_pack_row_f64(x, wblk, y, zeros, g, pack)
    elif floating is float:
        if kind == KIND_BLOCK:
            nb_conv_row_f32(x, wblk, y, zeros, g)
        elif kind == KIND_HALF:
            nb_conv_half_f32(x, wblk, y, zeros, g)
        else:
            nb_dot_row_f32(x, wblk, y, zeros, g)
    else:
        if kind == KIND_BLOCK:
            nb_conv_row_f64(x, wblk, y, zeros, g)
        elif kind == KIND_HALF:
            nb_conv_half_f64(x, wblk, y, zeros, g)
        else:
            nb_dot_row_f64(x, wblk, y, zeros, g)


cdef void _direct_conv(const floating *x, const floating *wp, floating *y,
                       const floating *zeros, const DirectGeo *d, bint threads) noexcept nogil:
    """y (N, Ho, Wo, groups*O) from x (N, H, W, groups*C) and the packed filter wp.

    Forward (d.transpose False): y = conv2d(x, w).  Transpose: x is dy, y is dx and wp
    packs w with its channels swapped (HWOI): y = conv2d_transpose(x, w).
    d.kind picks the micro-kernel (KIND_*); wp was packed by _packed_filter for it.
    Block b < groups*nob is block b % nob (vb output channels) of group b // nob.
    Work unit: one output row y[n, i] and one set of blocks; units write disjoint
    parts of y (every cell of y exactly once), so no races.
    """
    cdef Py_ssize_t nblocks = d.groups * d.nob, rows = d.N * d.Ho, u, ob
    # The blocks are split into nsets equal sets whose filter panels (Kh*Kw*C*vb
    # values per block) fit in FILTER_CACHE_BYTES; a work unit is one output row and
    # one set, so a thread sweeps the rows with a cache-resident filter set, and the
    # input rows are re-read once per set.
    cdef Py_ssize_t panel = _panel_size(d) * sizeof(floating)
    cdef Py_ssize_t nsets = (nblocks * panel + FILTER_CACHE_BYTES - 1) // FILTER_CACHE_BYTES
    if nsets > nblocks:
        nsets = nblocks
    while nblocks % nsets:
        nsets += 1
    cdef Py_ssize_t per_set = nblocks // nsets
    for u in prange(rows * nsets, schedule="static", num_threads=nb_team_size(), use_threads_if=threads):
        for ob in range((u // rows) * per_set, (u // rows + 1) * per_set):
            if d.transpose:
                _transpose_unit(x, wp, y, zeros, d, u % rows, ob)
            else:
                _forward_unit(x, wp, y, zeros, d, u % rows, ob)


cdef inline Py_ssize_t _panel_size(const DirectGeo *d) noexcept nogil:
    """Values of the packed filter per block (see _pack)."""
    return d.Kh * d.Kw * d.C * d.vb // d.pack


cdef inline void _block_pointers(const DirectGeo *d, Py_ssize_t ob, Py_ssize_t *x_off,
                                 Py_ssize_t *y_off, Py_ssize_t *nch) noexcept nogil:
    """Block ob's first channel of x and of y (offsets within a pixel), and its width."""
    cdef Py_ssize_t g = ob // d.nob, k = ob % d.nob
    x_off[0] = g * d.C
    y_off[0] = g * d.O + k * d.vb
    nch[0] = min(d.vb, d.O - k * d.vb)


cdef inline void _forward_unit(const floating *x, const floating *wp, floating *y,
                               const floating *zeros, const DirectGeo *d, Py_ssize_t row,
                               Py_ssize_t ob) noexcept nogil:
    cdef Py_ssize_t n = row // d.Ho, i = row % d.Ho, x_off, y_off
    cdef Window win = d.win
    cdef nb_rowgeo g
    _block_pointers(d, ob, &x_off, &y_off, &g.nch)
    g.H, g.W, g.C, g.xps = d.H, d.W, d.C, d.xps
    # Row tap a reads input row i*sh - pt + a*dh (the kernel skips rows outside).
    g.row0, g.row_step, g.wa0, g.wa_step, g.na = i * win.sh - win.pt, win.dh, 0, 1, d.Kh
    # Column tap b of pixel j reads input column j*sw - pl + b*dw (zeros outside).
    g.col0, g.col_pix, g.col_tap, g.wb0, g.wb_step, g.nb = -win.pl, win.sw, win.dw, 0, 1, d.Kw
    g.Kw, g.npix, g.y_pix = d.Kw, d.Wo, d.yps
    _conv_row(x + n * d.H * d.W * d.xps + x_off, wp + ob * _panel_size(d),
              y + row * d.Wo * d.yps + y_off, zeros, &g, d.kind, d.pack)


cdef inline void _c1_row(const float *x, Py_ssize_t H, Py_ssize_t W, const float *w,
                         Py_ssize_t Kh, Py_ssize_t Kw, float *y, Py_ssize_t Ho, Py_ssize_t Wo,
                         Py_ssize_t O, Window win, Py_ssize_t row) noexcept nogil:
    """Output row y[n, i] of a one-input-channel conv2d (nb_c1_row_f32, w: HWIO)."""
    cdef Py_ssize_t n = row // Ho, i = row % Ho
    cdef nb_rowgeo g
    g.H, g.W, g.C, g.xps = H, W, 1, 1
    g.row0, g.row_step, g.wa0, g.wa_step, g.na = i * win.sh - win.pt, win.dh, 0, 1, Kh
    g.col0, g.col_pix, g.col_tap, g.wb0, g.wb_step, g.nb = -win.pl, 1, win.dw, 0, 1, Kw
    g.Kw, g.npix, g.y_pix, g.nch = Kw, Wo, O, O
    nb_c1_row_f32(x + n * H * W, w, y + row * Wo * O, &g)


cdef inline Py_ssize_t _gcd(Py_ssize_t a, Py_ssize_t b) noexcept nogil:
    while b:
        a, b = b, a % b
    return a


cdef inline void _phase_taps(Py_ssize_t offset, Py_ssize_t d, Py_ssize_t s, Py_ssize_t K,
                             Py_ssize_t *t0, Py_ssize_t *t_step, Py_ssize_t *count,
                             Py_ssize_t *e0, Py_ssize_t *e_step) noexcept nogil:
    """The taps t < K of one output phase of conv2d_transpose along one axis.

    Output cell h = q*s + rh of dx gets tap t from dy cell (h + p - t*d) / s when that
    is whole; with offset = rh + p (>= 0) that is  q + (offset - t*d) / s.  The taps
    with s | offset - t*d are t0, t0 + t_step, ... (count of them, t_step = s / gcd(s, d));
    tap k of them reads dy cell  q + e0 + k*e_step  (e_step = -t_step*d/s <= 0).
    """
    cdef Py_ssize_t t
    count[0] = 0
    t0[0] = 0
    t_step[0] = s // _gcd(s, d)
    e0[0] = 0
    e_step[0] = -(t_step[0] * d) // s
    for t in range(min(K, s)):
        if (offset - t * d) % s == 0:   # C remainder: 0 iff divisible, for any sign
            t0[0] = t
            count[0] = (K - 1 - t) // t_step[0] + 1
            e0[0] = (offset - t * d) // s   # exact: no rounding for negative values
            return


cdef inline void _transpose_unit(const floating *dy, const floating *wp, floating *dx,
                                 const floating *zeros, const DirectGeo *d, Py_ssize_t row,
                                 Py_ssize_t ob) noexcept nogil:
    """Row dx[n, h], channel block ob: one row kernel call per column phase v % sw.

    Here d's input is dy (N, d.H, d.W, .) and its output dx (N, d.Ho, d.Wo, .)."""
    cdef Py_ssize_t n = row // d.Ho, h = row % d.Ho, rw, x_off, y_off
    cdef Py_ssize_t a0, a_step, na, e0, e_step, b0, b_step, nb, f0, f_step
    cdef Py_ssize_t Kh = d.Kh, Kw = d.Kw, W = d.Wo
    cdef Window win = d.win
    cdef nb_rowgeo g
    _block_pointers(d, ob, &x_off, &y_off, &g.nch)
    _phase_taps(h % win.sh + win.pt, win.dh, win.sh, Kh, &a0, &a_step, &na, &e0, &e_step)
    g.H, g.W, g.C, g.xps = d.H, d.W, d.C, d.xps
    g.row0, g.row_step, g.wa0, g.wa_step, g.na = h // win.sh + e0, e_step, a0, a_step, na
    g.Kw = Kw
    g.y_pix = win.sw * d.yps
    for rw in range(min(win.sw, W)):
        _phase_taps(rw + win.pl, win.dw, win.sw, Kw, &b0, &b_step, &nb, &f0, &f_step)
        if win.sw == 1:
            # Filter packed with flipped columns (see _packed_filter): packed column
            # l reads dy column  v + pl - (Kw - 1 - l)*dw.
            g.col0, g.col_pix, g.col_tap = win.pl - (Kw - 1) * win.dw, 1, win.dw
            g.wb0, g.wb_step, g.nb = 0, 1, Kw
        else:
            g.col0, g.col_pix, g.col_tap, g.wb0, g.wb_step, g.nb = f0, 1, f_step, b0, b_step, nb
        g.npix = (W - rw + win.sw - 1) // win.sw
        _conv_row(dy + n * d.H * d.W * d.xps + x_off, wp + ob * _panel_size(d),
                  dx + (row * W + rw) * d.yps + y_off, zeros, &g, d.kind, d.pack)


cdef void _filter_grad_fast(const floating *x, const floating *dy, floating *parts,
                            Py_ssize_t N, Py_ssize_t H, Py_ssize_t W, Py_ssize_t C,
                            Py_ssize_t Ho, Py_ssize_t Wo, Py_ssize_t O, Py_ssize_t groups,
                            Window win, Py_ssize_t vb, bint half, Py_ssize_t rows_per_unit,
                            Py_ssize_t units_per_image, Py_ssize_t S, Py_ssize_t Q,
                            Py_ssize_t slice_width, bint threads) noexcept nogil:
    """parts[0] (Kh, Kw, C, groups*O) = dw, summed through the partial sums parts[0 .. S-1].

    x (N, H, W, groups*C), dy (N, Ho, Wo, groups*O); group g reduces its C channels of
    x against its O channels of dy.  Pixel unit: rows [i0, i0 + rows_per_unit) of
    dy[n] (about FG_PIXELS pixels, which stay in cache while every tap, group and
    channel tile sweeps over them).  Work unit (s, q): the pixel units of chunk s, in
    order, for the columns of slice q (slice_width columns; column k is vector
    k % nvec of group k // nvec, nvec = ceil(O / vb)), into parts[s].  Which thread
    runs a work unit does not change what it computes.
    """
    cdef Py_ssize_t u, p, s, k, k1, grp, o0, o1, size = win.kh * win.kw * C * groups * O
    cdef Py_ssize_t units = N * units_per_image, nvec = (O + vb - 1) // vb
    for u in prange(S * Q, schedule="static", num_threads=nb_team_size(), use_threads_if=threads):
        s = u // Q
        for p in range(s * units // S, (s + 1) * units // S):
            # The slice's columns, one group's run at a time.
            k = (u % Q) * slice_width
            while k < min(groups * nvec, (u % Q + 1) * slice_width):
                grp = k // nvec
                k1 = min((grp + 1) * nvec, (u % Q + 1) * slice_width)
                o0 = grp * O + (k - grp * nvec) * vb
                o1 = min((grp + 1) * O, grp * O + (k1 - grp * nvec) * vb)
                _filter_grad_fast_unit(x + grp * C, dy, parts + s * size, H, W, C, groups * C,
                                       Ho, Wo, groups * O, win, vb, half, p // units_per_image,
                                       (p % units_per_image) * rows_per_unit, rows_per_unit,
                                       o0, o1)
                k = k1
    if S > 1:
        _sum_parts(parts, S, size, threads)


cdef void _sum_parts(floating *parts, Py_ssize_t S, Py_ssize_t size,
                     bint threads) noexcept nogil:
    """parts[0][k] = ((parts[0][k] + parts[1][k]) + parts[2][k]) + ...: a fixed order."""
    cdef Py_ssize_t blk, s, k, k1, nblk = (size + 4095) // 4096
    for blk in prange(nblk, schedule="static", num_threads=nb_team_size(), use_threads_if=threads and size >= 65536):
        k1 = min(size, (blk + 1) * 4096)
        for s in range(1, S):
            for k in range(blk * 4096, k1):
                parts[k] = parts[k] + parts[s * size + k]


cdef inline void _fgrad_tile(const floating *x, Py_ssize_t xrs, Py_ssize_t xps,
                             const floating *dy, Py_ssize_t dyrs, Py_ssize_t dyps,
                             Py_ssize_t nrows, Py_ssize_t npix, floating *dw, Py_ssize_t ldw,
                             Py_ssize_t nc, Py_ssize_t no, bint half) noexcept nogil:
    if floating is float:
        if half:
            nb_fgrad_half_f32(x, xrs, xps, dy, dyrs, dyps, nrows, npix, dw, ldw, nc, no)
        else:
            nb_fgrad_tile_f32(x, xrs, xps, dy, dyrs, dyps, nrows, npix, dw, ldw, nc, no)
    else:
        if half:
            nb_fgrad_half_f64(x, xrs, xps, dy, dyrs, dyps, nrows, npix, dw, ldw, nc, no)
        else:
            nb_fgrad_tile_f64(x, xrs, xps, dy, dyrs, dyps, nrows, npix, dw, ldw, nc, no)


cdef inline void _filter_grad_fast_unit(const floating *x, const floating *dy,
                                        floating *dw, Py_ssize_t H, Py_ssize_t W,
                                        Py_ssize_t C, Py_ssize_t xps, Py_ssize_t Ho,
                                        Py_ssize_t Wo, Py_ssize_t O, Window win, Py_ssize_t vb,
                                        bint half, Py_ssize_t n, Py_ssize_t i0, Py_ssize_t rows,
                                        Py_ssize_t o0, Py_ssize_t o1) noexcept nogil:
    """dw[.., o0:o1] += the products of pixel rows [i0, i0 + rows) of image n.

    x's pixels are xps values apart (C of them reduced); dy's and dw's rows are O apart;
    tiles are vb outputs wide (half: one vector)."""
    cdef Py_ssize_t i1 = min(Ho, i0 + rows), a, b, r0, c0, ia, ib, ja, jb, On = o1 - o0
    # Output channels o0 .. o1-1 only: shift both pointers; O stays the row stride.
    dy = dy + o0
    dw = dw + o0
    cdef Py_ssize_t KC = win.kw * C, ma = 0, mb = 0
    # Few input channels, dilation 1 in columns: the column taps b and channels c of
    # one pixel are contiguous in x (offset b*C + c) and in dw, so the pixels that all
    # Kw taps reach run as tiles over the merged (b, c) axis, NB_FG_C at a time,
    # instead of Kw tiles of C (mostly idle) channels each.
    cdef bint merge = win.dw == 1 and xps == C and ((KC + NB_FG_C - 1) // NB_FG_C
                                                    < win.kw * ((C + NB_FG_C - 1) // NB_FG_C))
    if merge:
        ma = first_tap(-win.pl, win.sw)
        mb = end_tap(win.kw - 1 - win.pl, win.sw, Wo, W)
        if ma >= mb:
            merge = False
    for a in range(win.kh):
        # Output rows i in [ia, ib) of this unit whose tap a lands inside the input.
        r0 = a * win.dh - win.pt
        ia = max(i0, first_tap(r0, win.sh))
        ib = min(i1, end_tap(r0, win.sh, Ho, H))
        if ia >= ib:
            continue
        if merge:
            _fgrad_block(x + ((n * H + r0 + ia * win.sh) * W - win.pl + ma * win.sw) * C,
                         win.sh * W * C, win.sw * C, dy + ((n * Ho + ia) * Wo + ma) * O,
                         Wo * O, O, ib - ia, mb - ma, dw + a * KC * O, KC, O, On, vb, half)
        for b in range(win.kw):
            c0 = b * win.dw - win.pl
            ja = first_tap(c0, win.sw)
            jb = end_tap(c0, win.sw, Wo, W)
            if merge:
                # The pixels of tap b outside the merged range [ma, mb).
                _fgrad_range(x, dy, dw, H, W, C, xps, Ho, Wo, O, On, win, vb, half, n, a, b, r0, c0,
                             ia, ib, ja, min(jb, ma))
                _fgrad_range(x, dy, dw, H, W, C, xps, Ho, Wo, O, On, win, vb, half, n, a, b, r0, c0,
                             ia, ib, max(ja, mb), jb)
            else:
                _fgrad_range(x, dy, dw, H, W, C, xps, Ho, Wo, O, On, win, vb, half, n, a, b, r0, c0,
                             ia, ib, ja, jb)


cdef inline void _fgrad_range(const floating *x, const floating *dy, floating *dw,
                              Py_ssize_t H, Py_ssize_t W, Py_ssize_t C, Py_ssize_t xps,
                              Py_ssize_t Ho, Py_ssize_t Wo, Py_ssize_t O, Py_ssize_t On,
                              Window win,
                              Py_ssize_t vb,
                              bint half, Py_ssize_t n, Py_ssize_t a, Py_ssize_t b,
                              Py_ssize_t r0, Py_ssize_t c0, Py_ssize_t ia, Py_ssize_t ib,
                              Py_ssize_t ja, Py_ssize_t jb) noexcept nogil:
    """dw[a, b] += tap (a, b)'s products over output rows [ia, ib), columns [ja, jb)."""
    if ja >= jb:
        return
    _fgrad_block(x + ((n * H + r0 + ia * win.sh) * W + c0 + ja * win.sw) * xps,
                 win.sh * W * xps, win.sw * xps, dy + ((n * Ho + ia) * Wo + ja) * O, Wo * O, O,
                 ib - ia, jb - ja, dw + (a * win.kw + b) * C * O, C, O, On, vb, half)


cdef inline void _fgrad_block(const floating *xb, Py_ssize_t xrs, Py_ssize_t xps,
                              const floating *db, Py_ssize_t dyrs, Py_ssize_t dyps,
                              Py_ssize_t nrows, Py_ssize_t npix, floating *dwb, Py_ssize_t C,
                              Py_ssize_t O, Py_ssize_t On, Py_ssize_t vb,
                              bint half) noexcept nogil:
    """dwb[c, o] (C x On, rows O apart) += sum over the pixels of xb[.., c] * db[.., o]."""
    cdef Py_ssize_t ob, cb
    # Output block outer: its dy panel (pixels x vb) stays in L1 while the
    # input-channel tiles stream the (narrower) x panel past it.
    for ob in range((On + vb - 1) // vb):
        for cb in range((C + NB_FG_C - 1) // NB_FG_C):
            _fgrad_tile(xb + cb * NB_FG_C, xrs, xps, db + ob * vb, dyrs, dyps, nrows, npix,
                        dwb + cb * NB_FG_C * O + ob * vb, O, min(NB_FG_C, C - cb * NB_FG_C),
                        min(vb, On - ob * vb), half)


# ------------------------------------------------------ Winograd F(4x4, 3x3)

cdef extern from "_winograd.h" nogil:
    void nb_wino_input_f32(const float *x, Py_ssize_t H, Py_ssize_t W, Py_ssize_t C,
                           Py_ssize_t r0, Py_ssize_t c0, float *V, Py_ssize_t vs,
                           const float *zeros)
    void nb_wino_input_f64(const double *x, Py_ssize_t H, Py_ssize_t W, Py_ssize_t C,
                           Py_ssize_t r0, Py_ssize_t c0, double *V, Py_ssize_t vs,
                           const double *zeros)
    float nb_wino_output_f32(const float *M, Py_ssize_t ms, Py_ssize_t O, float *y,
                             Py_ssize_t W, Py_ssize_t r0, Py_ssize_t c0, int nr, int nc)
    double nb_wino_output_f64(const double *M, Py_ssize_t ms, Py_ssize_t O, double *y,
                              Py_ssize_t W, Py_ssize_t r0, Py_ssize_t c0, int nr, int nc)

# G of F(4x4, 3x3): U = G g G^T (Lavin & Gray 2016), applied in float64.
# (Written in 24ths: the module compiles with C division, where 1 / 4 == 0.)
_WINOGRAD_G = np.array([[6, 0, 0], [-4, -4, -4], [-4, 4, -4], [1, 2, 4], [1, -2, 4],
                        [0, 0, 24]], dtype=np.float64) / 24


cdef object _winograd_conv(const floating[:, :, :, ::1] x, w64, Py_ssize_t Ho, Py_ssize_t Wo,
                           Py_ssize_t pt, Py_ssize_t pl, bint threads):
    """y (N, Ho, Wo, O) = the 3x3 stride-1 correlation of x (N, H, W, C) with w64 (3, 3,
    C, O; float64), padding pt on top and pl on the left (the rest is zeros), by
    Winograd F(4x4, 3x3) (see _winograd.h).

    Work unit: TB consecutive 4x4 output tiles (in the order image, tile row, tile
    column): transform their inputs into V (36, TB, C), run the 36 products
    M[xi] = V[xi] @ U[xi] with the block micro-kernel (the tiles as pixels of a 1x1
    convolution), transform M (36, TB, O) into the outputs.  Units write disjoint
    tiles of y; each thread has its own V and M (scratch independent of the batch).
    Returns None if an output is not finite: an inf or NaN in x (or an overflow)
    spreads over whole tiles in the transformed domain, where the direct form gives
    IEEE's answer cell by cell, so the caller then runs the direct form.
    """
    dtype = np.float32 if floating is float else np.float64
    cdef Py_ssize_t N = x.shape[0], H = x.shape[1], W = x.shape[2], C = x.shape[3]
    cdef Py_ssize_t O = w64.shape[3], xi
    cdef DirectGeo d
    # The 36 filter panels, packed for the micro-kernel like a 1x1 convolution's.
    _direct_geo(&d, 1, 1, 1, C, 1, 1, O, 1, make_window((1, 1), (1, 1), (0, 0, 0, 0),
                (1, 1)), False, floating is float)
    # U[i, j] = sum_ab G[i, a] G[j, b] w[a, b]: two matrix products (BLAS), not one
    # 4-index einsum loop.
    U = np.tensordot(_WINOGRAD_G, np.tensordot(_WINOGRAD_G, w64, axes=(1, 0)), axes=(1, 1))
    U = np.ascontiguousarray(U.transpose(1, 0, 2, 3), dtype=dtype)
    if not np.isfinite(U).all():
        return None
    cdef const floating[:, :, :, ::1] U_view = U
    packed = _aligned_zeros((36 * d.nob, 1, 1, C // d.pack, d.vb), dtype)
    cdef floating[:, :, :, :, ::1] up = packed
    for xi in range(36):
        _pack(&U_view[xi // 6, xi % 6, 0, 0], 1, 1, C, O, C * O, O, 1, d.vb, d.pack,
              d.kind == KIND_DOT, False, &up[xi * d.nob, 0, 0, 0, 0])
    cdef Py_ssize_t th = (Ho + 3) // 4, tw = (Wo + 3) // 4, tiles = N * th * tw
    # Tiles per unit: a multiple of the kernel's pixel tile, V and M within ~256 KiB.
    cdef Py_ssize_t TB = (262144 // (36 * (C + O) * sizeof(floating))) // 8 * 8
    TB = max(8, min(64, TB))
    cdef Py_ssize_t T = nb_team_size() if threads else 1
    scratch_arr = _aligned_zeros((T, 36 * TB * (C + O)), dtype)
    cdef floating[:, ::1] scratch = scratch_arr
    y = np.empty((N, Ho, Wo, O), dtype=dtype)
    cdef floating[:, :, :, ::1] y_view = y
    cdef const floating[::1] zeros = np.zeros(max(C, O), dtype=dtype)
    units = np.zeros((tiles + TB - 1) // TB, dtype=dtype)     # 0, or NaN: not finite
    cdef floating[::1] poison = units
    with nogil:
        _winograd_run(&x[0, 0, 0, 0], H, W, C, &up[0, 0, 0, 0, 0], &d, &y_view[0, 0, 0, 0],
                      Ho, Wo, O, pt, pl, th, tw, tiles, TB, &scratch[0, 0], &zeros[0],
                      &poison[0], threads)
    if np.isnan(units).any():
        return None
    return y


cdef void _winograd_run(const floating *x, Py_ssize_t H, Py_ssize_t W, Py_ssize_t C,
                        const floating *up, const DirectGeo *d, floating *y, Py_ssize_t Ho,
                        Py_ssize_t Wo, Py_ssize_t O, Py_ssize_t pt, Py_ssize_t pl,
                        Py_ssize_t th, Py_ssize_t tw, Py_ssize_t tiles, Py_ssize_t TB,
                        floating *scratch, const floating *zeros, floating *poison,
                        bint threads) noexcept nogil:
    cdef Py_ssize_t u
    for u in prange((tiles + TB - 1) // TB, schedule="static", num_threads=nb_team_size(),
                    use_threads_if=threads):
        poison[u] = _winograd_unit(x, H, W, C, up, d, y, Ho, Wo, O, pt, pl, th, tw,
                                   u * TB, min(TB, tiles - u * TB), TB,
                                   scratch + openmp.omp_get_thread_num() * 36 * TB * (C + O),
                                   zeros)


cdef inline floating _winograd_unit(const floating *x, Py_ssize_t H, Py_ssize_t W, Py_ssize_t C,
                                const floating *up, const DirectGeo *d, floating *y,
                                Py_ssize_t Ho, Py_ssize_t Wo, Py_ssize_t O, Py_ssize_t pt,
                                Py_ssize_t pl, Py_ssize_t th, Py_ssize_t tw, Py_ssize_t t0,
                                Py_ssize_t nt, Py_ssize_t TB, floating *V,
                                const floating *zeros) noexcept nogil:
    """Tiles t0 .. t0 + nt - 1, with the scratch V (36, TB, C) and after it M (36, TB, O);
    returns 0 if every output is finite, else NaN."""
    cdef floating *M = V + 36 * TB * C
    cdef floating poison = 0
    cdef Py_ssize_t t, tile, n, ty, tx, xi, ob
    cdef nb_rowgeo g
    for t in range(nt):
        tile = t0 + t
        n, ty, tx = tile // (th * tw), tile % (th * tw) // tw, tile % tw
        if floating is float:
            nb_wino_input_f32(x + n * H * W * C, H, W, C, 4 * ty - pt, 4 * tx - pl,
                              V + t * C, TB * C, zeros)
        else:
            nb_wino_input_f64(x + n * H * W * C, H, W, C, 4 * ty - pt, 4 * tx - pl,
                              V + t * C, TB * C, zeros)
    # M[xi] (nt x O) = V[xi] (nt x C) @ U[xi]: a 1x1 convolution of nt pixels.
    g.H, g.W, g.C, g.xps = 1, nt, C, C
    g.row0, g.row_step, g.wa0, g.wa_step, g.na = 0, 0, 0, 0, 1
    g.col0, g.col_pix, g.col_tap, g.wb0, g.wb_step, g.nb = 0, 1, 0, 0, 0, 1
    g.Kw, g.npix, g.y_pix = 1, nt, O
    for xi in range(36):
        for ob in range(d.nob):
            g.nch = min(d.vb, O - ob * d.vb)
            _conv_row(V + xi * TB * C, up + (xi * d.nob + ob) * _panel_size(d),
                      M + xi * TB * O + ob * d.vb, zeros, &g, d.kind, d.pack)
    for t in range(nt):
        tile = t0 + t
        n, ty, tx = tile // (th * tw), tile % (th * tw) // tw, tile % tw
        if floating is float:
            poison += nb_wino_output_f32(M + t * O, TB * O, O, y + n * Ho * Wo * O, Wo, 4 * ty,
                                         4 * tx, min(4, Ho - 4 * ty), min(4, Wo - 4 * tx))
        else:
            poison += nb_wino_output_f64(M + t * O, TB * O, O, y + n * Ho * Wo * O, Wo, 4 * ty,
                                         4 * tx, min(4, Ho - 4 * ty), min(4, Wo - 4 * tx))
    return poison


# ------------------------------------------------------------- depthwise

cdef extern from "_depthwise.h" nogil:
    ctypedef struct nb_dwgeo:
        Py_ssize_t H, W, C, nch
        Py_ssize_t row0, row_step, na, w_row
        Py_ssize_t col0, col_pix, col_tap, nb, w_col
        Py_ssize_t npix, y_pix
    ctypedef struct nb_dwfgeo:
        Py_ssize_t H, W, C, nch, Wo
        Py_ssize_t row0, row_step, nrows
        Py_ssize_t col0, col_pix, col_tap, Kw
    void nb_dw_row_f32(const float *x, const float *w, float *y, const float *zeros,
                       const nb_dwgeo *g)
    void nb_dw_row_f64(const double *x, const double *w, double *y, const double *zeros,
                       const nb_dwgeo *g)
    void nb_dw_fgrad_f32(const float *x, const float *dy, float *dw, const float *zeros,
                         const nb_dwfgeo *g)
    void nb_dw_fgrad_f64(const double *x, const double *dy, double *dw, const double *zeros,
                         const nb_dwfgeo *g)
    enum:
        NB_DW_CB_F32
        NB_DW_CB_F64
        NB_DW_VBYTES


cdef object _aligned_as(tuple shape, dtype, size_t address, bint zero):
    """An array (np.empty, or np.zeros if zero) whose data sits at the same offset in
    its NB_DW_VBYTES-byte block as address.

    The depthwise kernels align their vector loads to the input x (see _depthwise.h);
    an output and a filter with x's offset are then aligned too.
    """
    cdef Py_ssize_t itemsize = 4 if dtype is np.float32 else 8, nbytes = itemsize, d
    for d in shape:
        nbytes *= d
    raw = (np.zeros if zero else np.empty)(nbytes + NB_DW_VBYTES, dtype=np.uint8)
    cdef size_t start = (address - raw.ctypes.data) % NB_DW_VBYTES
    return raw[start:start + nbytes].view(dtype).reshape(shape)


cdef object _filter_aligned_as(const floating[:, :, :, ::1] w, size_t address):
    """w itself if its vectors line up with those of address, else a copy that does."""
    if (<size_t>&w[0, 0, 0, 0] - address) % NB_DW_VBYTES == 0:
        return w
    copy = _aligned_as((w.shape[0], w.shape[1], w.shape[2], w.shape[3]),
                       np.float32 if floating is float else np.float64, address, False)
    copy[...] = w
    return copy


cdef inline void _dw_row(const floating *x, const floating *w, floating *y,
                         const floating *zeros, const nb_dwgeo *g) noexcept nogil:
    if floating is float:
        nb_dw_row_f32(x, w, y, zeros, g)
    else:
        nb_dw_row_f64(x, w, y, zeros, g)


cdef object _depthwise_conv2d(const floating[:, :, :, ::1] x, const floating[:, :, :, ::1] w,
                              Py_ssize_t Ho, Py_ssize_t Wo, Window win, bint threads):
    """y = conv2d(x, w) with groups == C_in == C_out (w: (Kh, Kw, 1, C)).

    Work unit: one output row y[n, i], all channels (nb_dw_row); rows are disjoint.
    """
    dtype = np.float32 if floating is float else np.float64
    cdef Py_ssize_t N = x.shape[0], H = x.shape[1], W = x.shape[2], C = x.shape[3], row
    cdef size_t at = <size_t>&x[0, 0, 0, 0]
    y = _aligned_as((N, Ho, Wo, C), dtype, at, False)
    cdef floating[:, :, :, ::1] y_view = y
    cdef const floating[:, :, :, ::1] wa = _filter_aligned_as(w, at)
    cdef const floating[::1] zeros = np.zeros(C, dtype=dtype)
    cdef nb_dwgeo g
    g.H, g.W, g.C, g.nch = H, W, C, C
    g.row_step, g.na, g.w_row = win.dh, win.kh, win.kw * C
    g.col0, g.col_pix, g.col_tap, g.nb, g.w_col = -win.pl, win.sw, win.dw, win.kw, C
    g.npix, g.y_pix = Wo, C
    with nogil:
        for row in prange(N * Ho, schedule="static", num_threads=nb_team_size(),
                          use_threads_if=threads):
            _dw_forward_row(&x[0, 0, 0, 0] + (row // Ho) * H * W * C, &wa[0, 0, 0, 0],
                            &y_view[0, 0, 0, 0] + row * Wo * C, &zeros[0], g,
                            (row % Ho) * win.sh - win.pt)
    return y


cdef inline void _dw_forward_row(const floating *x, const floating *w, floating *y,
                                 const floating *zeros, nb_dwgeo g,
                                 Py_ssize_t row0) noexcept nogil:
    """One output row: g (a private copy) with its first input row row0 = i*sh - pt."""
    g.row0 = row0
    _dw_row(x, w, y, zeros, &g)


cdef object _depthwise_conv2d_transpose(const floating[:, :, :, ::1] dy,
                                        const floating[:, :, :, ::1] w, Py_ssize_t H,
                                        Py_ssize_t W, Window win, bint threads):
    """dx = conv2d_transpose(dy, w) with groups == C_in == C_out.

    Each output phase (h % sh, v % sw) is a depthwise correlation of dy with the
    taps of that phase (_phase_taps), read backwards through dy; for stride 1 that
    is the whole filter, flipped.  Work unit: one row dx[n, h], all its phases.
    """
    dtype = np.float32 if floating is float else np.float64
    cdef Py_ssize_t N = dy.shape[0], C = dy.shape[3], row
    cdef size_t at = <size_t>&dy[0, 0, 0, 0]
    dx = _aligned_as((N, H, W, C), dtype, at, False)
    cdef floating[:, :, :, ::1] dx_view = dx
    cdef const floating[:, :, :, ::1] wa = _filter_aligned_as(w, at)
    cdef const floating[::1] zeros = np.zeros(C, dtype=dtype)
    with nogil:
        for row in prange(N * H, schedule="static", num_threads=nb_team_size(),
                          use_threads_if=threads):
            _dw_transpose_row(&dy[0, 0, 0, 0], &wa[0, 0, 0, 0], &dx_view[0, 0, 0, 0],
                              &zeros[0], dy.shape[1], dy.shape[2], C, H, W, win, row)
    return dx


cdef inline void _dw_transpose_row(const floating *dy, const floating *w, floating *dx,
                                   const floating *zeros, Py_ssize_t Ho, Py_ssize_t Wo,
                                   Py_ssize_t C, Py_ssize_t H, Py_ssize_t W, Window win,
                                   Py_ssize_t row) noexcept nogil:
    """Row dx[n, h]: one nb_dw_row call per column phase v % sw."""
    cdef Py_ssize_t n = row // H, h = row % H, rw
    cdef Py_ssize_t a0, a_step, na, e0, e_step, b0, b_step, nb, f0, f_step
    cdef nb_dwgeo g
    # Row tap k: dy row h // sh + e0 + k*e_step, filter row a0 + k*a_step.
    _phase_taps(h % win.sh + win.pt, win.dh, win.sh, win.kh, &a0, &a_step, &na, &e0, &e_step)
    g.H, g.W, g.C, g.nch = Ho, Wo, C, C
    g.row0, g.row_step, g.na, g.w_row = h // win.sh + e0, e_step, na, a_step * win.kw * C
    g.y_pix = win.sw * C
    for rw in range(min(win.sw, W)):
        # Column tap l of phase pixel q (dx column q*sw + rw): dy column q + f0 + l*f_step,
        # filter column b0 + l*b_step.
        _phase_taps(rw + win.pl, win.dw, win.sw, win.kw, &b0, &b_step, &nb, &f0, &f_step)
        g.col0, g.col_pix, g.col_tap, g.nb, g.w_col = f0, 1, f_step, nb, b_step * C
        g.npix = (W - rw + win.sw - 1) // win.sw
        _dw_row(dy + n * Ho * Wo * C, w + (a0 * win.kw + b0) * C, dx + (row * W + rw) * C,
                zeros, &g)


cdef object _depthwise_filter_grad(const floating[:, :, :, ::1] x,
                                   const floating[:, :, :, ::1] dy, Window win, bint threads):
    """dw (Kh, Kw, 1, C) = conv2d_filter_grad(x, dy) with groups == C_in == C_out.

    As in conv2d_filter_grad's fast path, the sum over pixels is split by the shapes
    alone: pixel units (rows of about FG_PIXELS output pixels) go, in order, to S
    chunks, each summed into its own copy of dw, and the copies are added in the
    order 0, 1, ..., S-1; so dw has the same bits on any number of threads.  Q
    channel slices give the threads more units (channels never mix, so slicing does
    not change any sum).
    """
    dtype = np.float32 if floating is float else np.float64
    cdef Py_ssize_t N = x.shape[0], Ho = dy.shape[1], Wo = dy.shape[2], C = x.shape[3]
    cdef Py_ssize_t cb = NB_DW_CB_F32 if floating is float else NB_DW_CB_F64
    cdef Py_ssize_t rows_per_unit = min(Ho, (FG_PIXELS + Wo - 1) // Wo)
    cdef Py_ssize_t units_per_image = (Ho + rows_per_unit - 1) // rows_per_unit
    cdef Py_ssize_t size = win.kh * win.kw * C, S, Q, T, slice_width, chunks, u, p
    S = max(1, (N * Ho * Wo) // FG_PART_PIXELS, min(FG_SMALL_PARTS, FG_SMALL_BYTES // (
        size * x.itemsize)))
    S = min(S, N * units_per_image, FG_MAX_PARTS)
    while S & (S - 1):     # a power of two: S units share out evenly on 2, 4, 8... threads
        S = S & (S - 1)
    T = nb_team_size() if threads else 1
    chunks = (C + cb - 1) // cb
    Q = 1
    while Q < chunks and (S * Q) % T != 0 and S * Q < 4 * T:
        Q += 1
    slice_width = ((chunks + Q - 1) // Q) * cb
    Q = (C + slice_width - 1) // slice_width
    # The partial sums share x's alignment, as the kernel's vectors do.
    parts_arr = _aligned_as((S, win.kh, win.kw, 1, C), dtype, <size_t>&x[0, 0, 0, 0], True)
    cdef floating[:, :, :, :, ::1] parts = parts_arr
    cdef floating *parts0 = &parts[0, 0, 0, 0, 0]
    cdef const floating[::1] zeros = np.zeros(C, dtype=dtype)
    with nogil:
        for u in prange(S * Q, schedule="static", num_threads=nb_team_size(),
                        use_threads_if=threads):
            for p in range((u // Q) * N * units_per_image // S,
                           (u // Q + 1) * N * units_per_image // S):
                _dw_fgrad_unit(&x[0, 0, 0, 0], &dy[0, 0, 0, 0], parts0 + (u // Q) * size,
                               &zeros[0], x.shape[1], x.shape[2], C, Ho, Wo, win,
                               p // units_per_image, (p % units_per_image) * rows_per_unit,
                               rows_per_unit, (u % Q) * slice_width,
                               min(C, (u % Q + 1) * slice_width))
        if S > 1:
            _sum_parts(parts0, S, size, threads)
    return parts_arr[0]


cdef inline void _dw_fgrad_unit(const floating *x, const floating *dy, floating *dw,
                                const floating *zeros, Py_ssize_t H, Py_ssize_t W,
                                Py_ssize_t C, Py_ssize_t Ho, Py_ssize_t Wo, Window win,
                                Py_ssize_t n, Py_ssize_t i0, Py_ssize_t rows, Py_ssize_t c0,
                                Py_ssize_t c1) noexcept nogil:
    """dw[.., c0:c1] += the products of dy rows [i0, i0 + rows) of image n, one filter
    row a per nb_dw_fgrad call, over the output rows whose tap a is inside the input."""
    cdef Py_ssize_t i1 = min(Ho, i0 + rows), a, r0, ia, ib
    cdef nb_dwfgeo g
    g.H, g.W, g.C, g.nch, g.Wo = H, W, C, c1 - c0, Wo
    g.row_step = win.sh
    g.col0, g.col_pix, g.col_tap, g.Kw = -win.pl, win.sw, win.dw, win.kw
    for a in range(win.kh):
        r0 = a * win.dh - win.pt
        ia = max(i0, first_tap(r0, win.sh))
        ib = min(i1, end_tap(r0, win.sh, Ho, H))
        if ia >= ib:
            continue
        g.row0, g.nrows = r0 + ia * win.sh, ib - ia
        if floating is float:
            nb_dw_fgrad_f32(x + n * H * W * C + c0, dy + (n * Ho + ia) * Wo * C + c0,
                            dw + a * win.kw * C + c0, zeros, &g)
        else:
            nb_dw_fgrad_f64(x + n * H * W * C + c0, dy + (n * Ho + ia) * Wo * C + c0,
                            dw + a * win.kw * C + c0, zeros, &g)
