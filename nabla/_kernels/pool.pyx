"""Pooling kernels: max and average pooling and their adjoints (NHWC).

Same layering as conv.pyx: a thin ``def`` picks the dtype through its
``floating`` memoryviews and allocates, then a ``prange`` without the GIL runs
``cdef inline ... noexcept nogil`` work units (an output row, or an image and
channel block for the scatter) that write disjoint parts of the result.  Each
makes one pass over the arrays with the innermost loop over contiguous
channels.  The formulas are in ``nabla/_backend.py``.
"""
from cython.parallel cimport prange
from libc.math cimport INFINITY
from libc.stdint cimport int64_t
from libc.string cimport memset

import numpy as np

from nabla._kernels._geometry cimport Window, end_tap, first_tap, make_window, source_window
from nabla._kernels._types cimport floating

cdef extern from "_threads.h" nogil:
    void nb_set_team(int n)
    int nb_team_size()


def _set_team(int n):
    """Set how many threads this module's kernels use when called from this thread
    (0: OpenMP's default); nabla/_threads.py calls it before each kernel."""
    nb_set_team(n)

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
    cdef floating[:, :, :, ::1] y_view = y
    cdef int64_t[:, :, :, ::1] argmax_view = argmax
    cdef Window win = make_window(kernel_size, stride, padding, dilation)
    cdef Py_ssize_t Ho = y_view.shape[1], row
    cdef bint threads = y.size * win.kh * win.kw > PARALLEL_MIN_WORK
    with nogil:
        for row in prange(y_view.shape[0] * Ho, schedule="static", num_threads=nb_team_size(), use_threads_if=threads):
            _max_pool2d_row(x, y_view, argmax_view, win, row // Ho, row % Ho)
    return y, argmax


cdef inline void _max_pool2d_row(const floating[:, :, :, ::1] x, floating[:, :, :, ::1] y,
                                 int64_t[:, :, :, ::1] argmax, Window win,
                                 Py_ssize_t n, Py_ssize_t i) noexcept nogil:
    cdef Py_ssize_t H = x.shape[1], W = x.shape[2], C = x.shape[3]
    cdef Py_ssize_t r0 = i * win.sh - win.pt
    cdef Py_ssize_t a_lo = first_tap(r0, win.dh), a_hi = end_tap(r0, win.dh, win.kh, H)
    cdef Py_ssize_t j, c0, b_lo, b_hi, a, b, r, col, c
    cdef int64_t flat
    cdef floating v, cur
    cdef bint take
    # Row pointers (bounds-checked in debug builds) let the compiler vectorise
    # the channel loop, whose conditional update is written as selects.
    cdef const floating* x_px
    cdef floating* y_px
    cdef int64_t* argmax_px
    if C == 0:
        return
    for j in range(y.shape[2]):
        c0 = j * win.sw - win.pl
        b_lo = first_tap(c0, win.dw)
        b_hi = end_tap(c0, win.dw, win.kw, W)
        y_px = &y[n, i, j, 0]
        argmax_px = &argmax[n, i, j, 0]
        if a_lo >= a_hi or b_lo >= b_hi:      # the window lies wholly in the padding
            for c in range(C):
                y_px[c] = -INFINITY
                argmax_px[c] = -1
            continue
        # Take the first in-bounds cell, then visit all cells in row-major order
        # (revisiting the first one changes nothing).
        r = r0 + a_lo * win.dh
        col = c0 + b_lo * win.dw
        x_px = &x[n, r, col, 0]
        for c in range(C):
            y_px[c] = x_px[c]
            argmax_px[c] = r * W + col
        for a in range(a_lo, a_hi):
            r = r0 + a * win.dh
            for b in range(b_lo, b_hi):
                col = c0 + b * win.dw
                flat = r * W + col
                x_px = &x[n, r, col, 0]
                for c in range(C):
                    v = x_px[c]
                    cur = y_px[c]
                    # Replace iff v > cur, or v is NaN and cur is not (v != v is isnan).
                    take = (v > cur) | ((v != v) & (cur == cur))
                    y_px[c] = v if take else cur
                    argmax_px[c] = flat if take else argmax_px[c]


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
    cdef floating[:, :, :, ::1] y_view = y
    cdef Window win = make_window(kernel_size, stride, padding, dilation)
    cdef Py_ssize_t Ho = y_view.shape[1], row
    cdef bint threads = y.size * win.kh * win.kw > PARALLEL_MIN_WORK
    with nogil:
        for row in prange(y_view.shape[0] * Ho, schedule="static", num_threads=nb_team_size(), use_threads_if=threads):
            _avg_pool2d_row(x, y_view, win, row // Ho, row % Ho)
    return y


cdef inline void _avg_pool2d_row(const floating[:, :, :, ::1] x, floating[:, :, :, ::1] y,
                                 Window win, Py_ssize_t n, Py_ssize_t i) noexcept nogil:
    # Summation order as the contract's formula: 0, then the in-bounds cells in
    # row-major window order, then one multiply by 1/(kh*kw).
    cdef Py_ssize_t H = x.shape[1], W = x.shape[2], C = x.shape[3]
    cdef Py_ssize_t r0 = i * win.sh - win.pt
    cdef Py_ssize_t a_lo = first_tap(r0, win.dh), a_hi = end_tap(r0, win.dh, win.kh, H)
    cdef Py_ssize_t j, c0, b_lo, b_hi, a, b, r, c
    cdef floating scale = 1.0 / <floating>(win.kh * win.kw)
    cdef const floating* x_px
    cdef floating* y_px
    if C == 0:
        return
    for j in range(y.shape[2]):
        c0 = j * win.sw - win.pl
        b_lo = first_tap(c0, win.dw)
        b_hi = end_tap(c0, win.dw, win.kw, W)
        y_px = &y[n, i, j, 0]
        for c in range(C):
            y_px[c] = 0
        for a in range(a_lo, a_hi):
            r = r0 + a * win.dh
            for b in range(b_lo, b_hi):
                x_px = &x[n, r, c0 + b * win.dw, 0]
                for c in range(C):
                    y_px[c] += x_px[c]
        for c in range(C):
            y_px[c] = scale * y_px[c]


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
