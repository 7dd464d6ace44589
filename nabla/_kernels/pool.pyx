"""Pooling kernels: max and average pooling and their adjoints (NHWC).

Same layering as conv.pyx: a thin ``def`` picks the dtype through its
``floating`` memoryviews and allocates, then a ``prange`` without the GIL runs
``cdef inline ... noexcept nogil`` work units (an output row, or an image and
channel block for the scatter) that write disjoint parts of the result.  Each
makes one pass over the arrays with the innermost loop over contiguous
channels.  max_pool2d and avg_pool2d run the vector kernels of
``_pool.h`` (one pixel's maximum and index, or sum, stay in registers over the
whole window); the others are Cython loops.  The formulas are in
``nabla/_backend.py``.
"""
from cython.parallel cimport prange
from libc.stdint cimport int64_t
from libc.string cimport memset

import numpy as np

from nabla._kernels._geometry cimport Window, end_tap, first_tap, make_window, source_window
from nabla._kernels._types cimport floating

include "_team.pxi"

cdef extern from "_pool.h" nogil:
    ctypedef struct nbp_row:
        Py_ssize_t W, C, Wo, r0, a_lo, a_hi, dh, sw, pl, kw, dw
    void nbp_max_row_f32(const float* x, float* y, int64_t* am, const nbp_row* g)
    void nbp_max_row_f64(const double* x, double* y, int64_t* am, const nbp_row* g)
    void nbp_avg_row_f32(const float* x, float* y, const nbp_row* g, float scale)
    void nbp_avg_row_f64(const double* x, double* y, const nbp_row* g, double scale)

cdef enum:
    SCATTER_BLOCK = 64   # channels per work unit of max_pool2d_scatter
    # Below this many cell visits a call runs on one thread: starting a parallel
    # region costs microseconds, and far more on a loaded machine, where the
    # threads wait for each other's time slices.
    PARALLEL_MIN_WORK = 1 << 15


# ------------------------------------------------------------ max_pool2d

def max_pool2d(const floating[:, :, :, ::1] x, out_hw, kernel_size, stride, padding,
               dilation):
    """(y, argmax), both (N, Ho, Wo, C): window maxima and the flat index h*W + w
    of the first maximum (first NaN if any; -inf and -1 for all-padding windows)."""
    shape = (x.shape[0], out_hw[0], out_hw[1], x.shape[3])
    y = np.empty(shape, dtype=np.float32 if floating is float else np.float64)
    argmax = np.empty(shape, dtype=np.int64)
    if y.size == 0:
        return y, argmax
    cdef floating[:, :, :, ::1] y_view = y
    cdef int64_t[:, :, :, ::1] argmax_view = argmax
    cdef Window win = make_window(kernel_size, stride, padding, dilation)
    cdef Py_ssize_t Ho = y_view.shape[1], row
    cdef bint threads = y.size * win.kh * win.kw > PARALLEL_MIN_WORK
    # An empty image (H or W == 0, all windows in padding) has no cell to point at.
    cdef const floating* x0 = &x[0, 0, 0, 0] if x.shape[1] * x.shape[2] > 0 else NULL
    with nogil:
        for row in prange(y_view.shape[0] * Ho, schedule="static", num_threads=nb_team_size(), use_threads_if=threads):
            _max_pool2d_row(x0, x, y_view, argmax_view, win, row // Ho, row % Ho)
    return y, argmax


cdef inline nbp_row _row_geometry(const floating[:, :, :, ::1] x, Py_ssize_t Wo, Window win,
                                  Py_ssize_t i) noexcept nogil:
    """The geometry of output row i for _pool.h: its in-bounds row taps and the column rule."""
    cdef nbp_row g
    g.W = x.shape[2]
    g.C = x.shape[3]
    g.Wo = Wo
    g.r0 = i * win.sh - win.pt
    g.a_lo = first_tap(g.r0, win.dh)
    g.a_hi = end_tap(g.r0, win.dh, win.kh, x.shape[1])
    g.dh = win.dh
    g.sw, g.pl, g.kw, g.dw = win.sw, win.pl, win.kw, win.dw
    return g


cdef inline void _max_pool2d_row(const floating* x0, const floating[:, :, :, ::1] x,
                                 floating[:, :, :, ::1] y, int64_t[:, :, :, ::1] argmax,
                                 Window win, Py_ssize_t n, Py_ssize_t i) noexcept nogil:
    # The vector kernel of _pool.h (registers hold each pixel's maximum and index).
    cdef nbp_row g = _row_geometry(x, y.shape[2], win, i)
    cdef const floating* x_n = x0 + n * x.shape[1] * x.shape[2] * x.shape[3] if x0 != NULL else NULL
    if floating is float:
        nbp_max_row_f32(x_n, &y[n, i, 0, 0], &argmax[n, i, 0, 0], &g)
    else:
        nbp_max_row_f64(x_n, &y[n, i, 0, 0], &argmax[n, i, 0, 0], &g)


# ----------------------------------------------------- max_pool2d_gather

def max_pool2d_gather(const floating[:, :, :, ::1] t, const int64_t[:, :, :, ::1] argmax):
    """out (N, Ho, Wo, C): out[n, i, j, c] = t[n, argmax // W, argmax % W, c]
    (0 where argmax == -1)."""
    out = np.empty((argmax.shape[0], argmax.shape[1], argmax.shape[2], argmax.shape[3]),
                   dtype=np.float32 if floating is float else np.float64)
    cdef floating[:, :, :, ::1] out_view = out
    cdef Py_ssize_t Ho = argmax.shape[1], row
    cdef bint threads = out.size > PARALLEL_MIN_WORK
    with nogil:
        for row in prange(argmax.shape[0] * Ho, schedule="static", num_threads=nb_team_size(), use_threads_if=threads):
            _gather_row(t, argmax, out_view, row // Ho, row % Ho)
    return out


cdef inline void _gather_row(const floating[:, :, :, ::1] t,
                             const int64_t[:, :, :, ::1] argmax,
                             floating[:, :, :, ::1] out,
                             Py_ssize_t n, Py_ssize_t i) noexcept nogil:
    cdef Py_ssize_t W = t.shape[2], HW = t.shape[1] * t.shape[2], j, c
    cdef int64_t k
    for j in range(argmax.shape[2]):
        for c in range(argmax.shape[3]):
            k = argmax[n, i, j, c]
            # -1 marks an all-padding window; the range test also keeps any
            # other stray index from reading outside t.
            if 0 <= k < HW:
                out[n, i, j, c] = t[n, k // W, k % W, c]
            else:
                out[n, i, j, c] = 0


# ---------------------------------------------------- max_pool2d_scatter

def max_pool2d_scatter(const floating[:, :, :, ::1] g, const int64_t[:, :, :, ::1] argmax,
                       in_hw):
    """dx (N, H, W, C), (H, W) = in_hw: the adjoint of max_pool2d_gather."""
    # Every cell of dx is zeroed by its work unit (see _scatter_unit), so
    # np.empty suffices: no separate zero-fill pass over memory.
    dx = np.empty((g.shape[0], in_hw[0], in_hw[1], g.shape[3]),
                  dtype=np.float32 if floating is float else np.float64)
    cdef floating[:, :, :, ::1] dx_view = dx
    cdef Py_ssize_t C = g.shape[3], blocks, unit
    blocks = (C + SCATTER_BLOCK - 1) // SCATTER_BLOCK
    cdef bint threads = max(g.size, dx.size) > PARALLEL_MIN_WORK
    with nogil:
        # Work unit: one image and one block of channels; it writes only
        # dx[n, :, :, block], so units never collide.
        for unit in prange(g.shape[0] * blocks, schedule="static", num_threads=nb_team_size(), use_threads_if=threads):
            _scatter_unit(g, argmax, dx_view, unit // blocks,
                          (unit % blocks) * SCATTER_BLOCK,
                          min((unit % blocks + 1) * SCATTER_BLOCK, C))
    return dx


cdef inline void _zero_cells(floating* dx_n, Py_ssize_t C, Py_ssize_t lo, Py_ssize_t hi,
                             Py_ssize_t c_lo, Py_ssize_t c_hi) noexcept nogil:
    """Zero channels [c_lo, c_hi) of the flat cells [lo, hi) of one image."""
    cdef Py_ssize_t q, c
    cdef floating* px
    if c_hi - c_lo == C:                  # all channels: one contiguous range
        if hi > lo:
            memset(dx_n + lo * C, 0, (hi - lo) * C * sizeof(floating))
        return
    for q in range(lo, hi):
        px = dx_n + q * C
        for c in range(c_lo, c_hi):
            px[c] = 0


cdef inline void _scatter_unit(const floating[:, :, :, ::1] g,
                               const int64_t[:, :, :, ::1] argmax,
                               floating[:, :, :, ::1] dx, Py_ssize_t n,
                               Py_ssize_t c_lo, Py_ssize_t c_hi) noexcept nogil:
    # dx[n, k // W, k % W, c] is dx_n[k*C + c] (dx is C-contiguous), so no
    # division per element.  The unit zeroes its cells lazily, whole rows at a
    # time, just before the first write that reaches them: cells [0, zeroed)
    # are zero or hold partial sums, cells from `zeroed` on are not touched
    # yet.  For the usual argmax (rows growing with the output row) the zeroed
    # rows are still in cache when the scatter adds into them.
    cdef Py_ssize_t W = dx.shape[2], HW = dx.shape[1] * dx.shape[2], C = dx.shape[3]
    cdef Py_ssize_t i, j, c, zeroed = 0, top
    cdef int64_t k, kmax, kmin
    cdef floating* dx_n
    cdef const floating* g_px
    cdef const int64_t* argmax_px
    if HW == 0 or c_lo >= c_hi:
        return
    dx_n = &dx[n, 0, 0, 0]
    for i in range(g.shape[1]):
        for j in range(g.shape[2]):
            g_px = &g[n, i, j, 0]
            argmax_px = &argmax[n, i, j, 0]
            kmax = -1
            kmin = HW
            for c in range(c_lo, c_hi):
                k = argmax_px[c]
                kmax = k if k > kmax else kmax
                kmin = k if k < kmin else kmin
            if kmax >= zeroed:
                # Zero through the end of the row of the largest valid index.
                top = HW if kmax >= HW else (kmax // W + 1) * W
                _zero_cells(dx_n, C, zeroed, top, c_lo, c_hi)
                zeroed = top
            if 0 <= kmin and kmax < HW:       # all in range (the usual case)
                for c in range(c_lo, c_hi):
                    dx_n[argmax_px[c] * C + c] += g_px[c]
                continue
            for c in range(c_lo, c_hi):
                k = argmax_px[c]
                # -1 marks an all-padding window; the range test also keeps any
                # other stray index from writing outside dx.
                if 0 <= k < HW:
                    dx_n[k * C + c] += g_px[c]
    _zero_cells(dx_n, C, zeroed, HW, c_lo, c_hi)


# ------------------------------------------------------------ avg_pool2d

def avg_pool2d(const floating[:, :, :, ::1] x, out_hw, kernel_size, stride, padding,
               dilation):
    """y (N, Ho, Wo, C): window sums over kh*kw (padded cells count as zeros)."""
    # Every cell is written by _avg_pool2d_row.
    y = np.empty((x.shape[0], out_hw[0], out_hw[1], x.shape[3]),
                 dtype=np.float32 if floating is float else np.float64)
    if y.size == 0:
        return y
    cdef floating[:, :, :, ::1] y_view = y
    cdef Window win = make_window(kernel_size, stride, padding, dilation)
    cdef Py_ssize_t Ho = y_view.shape[1], row
    cdef bint threads = y.size * win.kh * win.kw > PARALLEL_MIN_WORK
    cdef const floating* x0 = &x[0, 0, 0, 0] if x.shape[1] * x.shape[2] > 0 else NULL
    with nogil:
        for row in prange(y_view.shape[0] * Ho, schedule="static", num_threads=nb_team_size(), use_threads_if=threads):
            _avg_pool2d_row(x0, x, y_view, win, row // Ho, row % Ho)
    return y


cdef inline void _avg_pool2d_row(const floating* x0, const floating[:, :, :, ::1] x,
                                 floating[:, :, :, ::1] y, Window win, Py_ssize_t n,
                                 Py_ssize_t i) noexcept nogil:
    # Summation order as the contract's formula: 0, then the in-bounds cells in
    # row-major window order, then one multiply by 1/(kh*kw) (nbp_avg_row, _pool.h).
    cdef nbp_row g = _row_geometry(x, y.shape[2], win, i)
    cdef const floating* x_n = x0 + n * x.shape[1] * x.shape[2] * x.shape[3] if x0 != NULL else NULL
    cdef floating scale = 1.0 / <floating>(win.kh * win.kw)
    if floating is float:
        nbp_avg_row_f32(x_n, &y[n, i, 0, 0], &g, scale)
    else:
        nbp_avg_row_f64(x_n, &y[n, i, 0, 0], &g, scale)


# -------------------------------------------------- avg_pool2d_transpose

def avg_pool2d_transpose(const floating[:, :, :, ::1] g, in_hw, kernel_size, stride,
                         padding, dilation):
    """dx (N, H, W, C), (H, W) = in_hw: the adjoint of avg_pool2d, applied to g."""
    # Every cell is written by _avg_pool2d_transpose_row.
    dx = np.empty((g.shape[0], in_hw[0], in_hw[1], g.shape[3]),
                  dtype=np.float32 if floating is float else np.float64)
    cdef floating[:, :, :, ::1] dx_view = dx
    cdef Window win = make_window(kernel_size, stride, padding, dilation)
    cdef Py_ssize_t H = dx_view.shape[1], row
    cdef bint threads = max(g.size * win.kh * win.kw, dx.size) > PARALLEL_MIN_WORK
    with nogil:
        # Gather form, as conv2d_transpose: work unit = one row dx[n, h].
        for row in prange(dx_view.shape[0] * H, schedule="static", num_threads=nb_team_size(), use_threads_if=threads):
            _avg_pool2d_transpose_row(g, dx_view, win, row // H, row % H)
    return dx


cdef inline void _avg_pool2d_transpose_row(const floating[:, :, :, ::1] g,
                                           floating[:, :, :, ::1] dx, Window win,
                                           Py_ssize_t n, Py_ssize_t h) noexcept nogil:
    # The row dx[n, h] (in cache) is zeroed, then for each tap (a, b) the
    # windows j whose tap b lands in it add g[n, i, j] at column
    # v = j*sw + b*dw - pl (first_tap/end_tap give that j range, no division
    # per cell).  A cell gets at most one term per tap, so each sums its terms
    # in (a, b) order, as the formula, and is scaled once at the end.
    cdef Py_ssize_t Ho = g.shape[1], Wo = g.shape[2], Wd = dx.shape[2], C = dx.shape[3]
    cdef Py_ssize_t a, b, i, j, q, c, start
    cdef floating scale = 1.0 / <floating>(win.kh * win.kw)
    cdef floating* row
    cdef floating* d_px
    cdef const floating* g_px
    if C == 0 or Wd == 0:
        return
    row = &dx[n, h, 0, 0]
    for q in range(Wd * C):
        row[q] = 0
    for a in range(win.kh):
        i = source_window(h + win.pt - a * win.dh, win.sh, Ho)
        if i == -2:
            break
        if i == -1:
            continue
        for b in range(win.kw):
            start = b * win.dw - win.pl
            for j in range(first_tap(start, win.sw), end_tap(start, win.sw, Wo, Wd)):
                g_px = &g[n, i, j, 0]
                d_px = row + (start + j * win.sw) * C
                for c in range(C):
                    d_px[c] += g_px[c]
    for q in range(Wd * C):
        row[q] = scale * row[q]


# ------------------------------------------------ adaptive_max_pool2d

def adaptive_max_pool2d(const floating[:, :, :, ::1] x, out_hw):
    """(y, argmax), both (N, Ho, Wo, C), over PyTorch's adaptive bins: output (i, j)
    takes rows [floor(i*H/Ho), ceil((i+1)*H/Ho)) and columns alike, with
    max_pool2d's rules (the first maximum in row-major order; a NaN wins)."""
    shape = (x.shape[0], out_hw[0], out_hw[1], x.shape[3])
    y = np.empty(shape, dtype=np.float32 if floating is float else np.float64)
    argmax = np.empty(shape, dtype=np.int64)
    cdef floating[:, :, :, ::1] y_view = y
    cdef int64_t[:, :, :, ::1] argmax_view = argmax
    cdef Py_ssize_t Ho = y_view.shape[1], row
    # Bins overlap by at most one cell per axis: the work is about two visits per input cell.
    cdef bint threads = 2 * x.shape[0] * x.shape[1] * x.shape[2] * x.shape[3] > PARALLEL_MIN_WORK
    with nogil:
        for row in prange(y_view.shape[0] * Ho, schedule="static", num_threads=nb_team_size(), use_threads_if=threads):
            _adaptive_max_row(x, y_view, argmax_view, row // Ho, row % Ho)
    return y, argmax


cdef inline void _adaptive_max_row(const floating[:, :, :, ::1] x, floating[:, :, :, ::1] y,
                                   int64_t[:, :, :, ::1] argmax, Py_ssize_t n, Py_ssize_t i) noexcept nogil:
    # One output row (n, i): its bin of rows is [r_lo, r_hi); the op layer
    # guarantees H, W >= 1, so every bin holds at least one cell.
    cdef Py_ssize_t H = x.shape[1], W = x.shape[2], C = x.shape[3]
    cdef Py_ssize_t Ho = y.shape[1], Wo = y.shape[2]
    cdef Py_ssize_t r_lo = (i * H) // Ho, r_hi = ((i + 1) * H + Ho - 1) // Ho
    cdef Py_ssize_t j, c_lo, c_hi, r, col, c
    cdef int64_t flat
    cdef floating v, cur
    cdef bint take
    cdef const floating* x_px
    cdef floating* y_px
    cdef int64_t* argmax_px
    if C == 0:
        return
    for j in range(Wo):
        c_lo = (j * W) // Wo
        c_hi = ((j + 1) * W + Wo - 1) // Wo
        y_px = &y[n, i, j, 0]
        argmax_px = &argmax[n, i, j, 0]
        x_px = &x[n, r_lo, c_lo, 0]
        for c in range(C):                  # start from the bin's first cell
            y_px[c] = x_px[c]
            argmax_px[c] = r_lo * W + c_lo
        for r in range(r_lo, r_hi):
            for col in range(c_lo, c_hi):
                flat = r * W + col
                x_px = &x[n, r, col, 0]
                for c in range(C):
                    v = x_px[c]
                    cur = y_px[c]
                    take = (v > cur) | ((v != v) & (cur == cur))   # as max_pool2d's rule
                    y_px[c] = v if take else cur
                    argmax_px[c] = flat if take else argmax_px[c]
