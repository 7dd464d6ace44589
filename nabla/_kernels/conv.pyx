"""Convolution kernels: conv2d and its adjoints in x and in w (NHWC x HWIO).

Each ``def`` is a thin layer: its ``floating`` memoryview arguments pick the
dtype, it allocates the result with NumPy, then, without the GIL, a ``prange``
hands independent work units (an output row, a tap and channel block) to
``cdef inline ... noexcept nogil`` functions.  Units write disjoint parts of
the result, so there are no races, locks or atomics.  Taps that fall into the
padding are skipped (``first_tap``/``end_tap``), never read from a padded copy.
The formulas are in ``nabla/_backend.py``; below ``Cg = C_in // groups``,
``Og = C_out // groups``.
"""
from cython.parallel cimport prange

import numpy as np

from nabla._kernels._geometry cimport Window, end_tap, first_tap, make_window, source_window
from nabla._kernels._types cimport floating

cdef enum:
    CHANNEL_BLOCK = 64   # input channels per work unit of conv2d_filter_grad


# ---------------------------------------------------------------- conv2d

def conv2d(const floating[:, :, :, ::1] x, const floating[:, :, :, ::1] w,
           out_hw, stride, padding, dilation, Py_ssize_t groups):
    """y (N, Ho, Wo, C_out) = x (N, H, W, C_in) convolved with w (Kh, Kw, Cg, C_out)."""
    y = np.zeros((x.shape[0], out_hw[0], out_hw[1], w.shape[3]),
                 dtype=np.float32 if floating is float else np.float64)
    cdef floating[:, :, :, ::1] y_view = y
    cdef Window win = make_window((w.shape[0], w.shape[1]), stride, padding, dilation)
    cdef Py_ssize_t Ho = y_view.shape[1], row
    with nogil:
        # Work unit: one output row y[n, i]; rows are disjoint, so no races.
        for row in prange(y_view.shape[0] * Ho, schedule="static"):
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
    dx = np.zeros((dy.shape[0], out_hw[0], out_hw[1], w.shape[2] * groups),
                  dtype=np.float32 if floating is float else np.float64)
    cdef floating[:, :, :, ::1] dx_view = dx
    cdef Window win = make_window((w.shape[0], w.shape[1]), stride, padding, dilation)
    cdef Py_ssize_t H = dx_view.shape[1], row
    with nogil:
        # Gather form: work unit = one row dx[n, h], which sums everything that
        # conv2d would spread into it, so rows are disjoint and there are no races.
        for row in prange(dx_view.shape[0] * H, schedule="static"):
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
    dw = np.zeros((kernel_hw[0], kernel_hw[1], x.shape[3] // groups, dy.shape[3]),
                  dtype=np.float32 if floating is float else np.float64)
    cdef floating[:, :, :, ::1] dw_view = dw
    cdef Window win = make_window(kernel_hw, stride, padding, dilation)
    cdef Py_ssize_t Cg = dw_view.shape[2], Og = dw_view.shape[3] // groups
    cdef Py_ssize_t per_tap, unit, tap
    # Work unit: one tap (a, b) and one block of at most CHANNEL_BLOCK input
    # channels c of one group; it owns dw[a, b, c_block, group's outputs], so
    # units never write to the same cell.  Blocking the channels keeps threads
    # busy when Kh*Kw is small (1x1 filters).
    if Cg == 1 and Og == 1:    # depthwise: blocks of channels, not groups
        per_tap = (dw_view.shape[3] + CHANNEL_BLOCK - 1) // CHANNEL_BLOCK
    else:
        per_tap = groups * ((Cg + CHANNEL_BLOCK - 1) // CHANNEL_BLOCK)
    with nogil:
        for unit in prange(win.kh * win.kw * per_tap, schedule="static"):
            tap = unit // per_tap
            _filter_grad_unit(x, dy, dw_view, win, groups, tap // win.kw, tap % win.kw,
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
