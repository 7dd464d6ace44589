"""Naive nested-loop versions of the eight backend kernels, for tests on tiny inputs only.

Each function is written directly from its formula in ``nabla/_backend.py``,
one scalar at a time in plain Python loops, sharing no code with any backend.
The adjoints (conv2d_transpose, conv2d_filter_grad, avg_pool2d_transpose) are
written in *scatter* form: loop over every output position and tap, and add
the product into the cell it came from.  That is a different structure from
the reference backend's, so the two agreeing means something.

Sums are accumulated in Python floats (float64) and stored in the input's dtype.
"""
import math

import numpy as np


def _in_bounds(h, v, H, W):
    return 0 <= h < H and 0 <= v < W


def _x(x, n, h, v, c):
    """x[n, h, v, c] as a Python float, reading 0 outside the input ("x outside reads as 0")."""
    N, H, W, C = x.shape
    return float(x[n, h, v, c]) if _in_bounds(h, v, H, W) else 0.0


def conv2d(x, w, out_hw, stride, padding, dilation, groups):
    N, H, W, C_in = x.shape
    Kh, Kw, Cg, C_out = w.shape
    Ho, Wo = out_hw
    (sh, sw), (pt, pb, pl, pr), (dh, dw) = stride, padding, dilation
    Og = C_out // groups
    y = np.zeros((N, Ho, Wo, C_out), dtype=x.dtype)
    for n in range(N):
        for i in range(Ho):
            for j in range(Wo):
                for o in range(C_out):
                    g = o // Og
                    total = 0.0
                    for a in range(Kh):
                        for b in range(Kw):
                            h, v = i * sh + a * dh - pt, j * sw + b * dw - pl
                            for c in range(Cg):
                                total += _x(x, n, h, v, g * Cg + c) * float(w[a, b, c, o])
                    y[n, i, j, o] = total
    return y


def conv2d_transpose(dy, w, out_hw, stride, padding, dilation, groups):
    N, Ho, Wo, C_out = dy.shape
    Kh, Kw, Cg, _ = w.shape
    H, W = out_hw
    (sh, sw), (pt, pb, pl, pr), (dh, dw) = stride, padding, dilation
    Og = C_out // groups
    dx = np.zeros((N, H, W, groups * Cg), dtype=np.float64)
    for n in range(N):
        for i in range(Ho):
            for j in range(Wo):
                for a in range(Kh):
                    for b in range(Kw):
                        h, v = i * sh + a * dh - pt, j * sw + b * dw - pl
                        if not _in_bounds(h, v, H, W):
                            continue
                        for o in range(C_out):
                            g = o // Og
                            for c in range(Cg):
                                dx[n, h, v, g * Cg + c] += float(dy[n, i, j, o]) * float(w[a, b, c, o])
    return dx.astype(dy.dtype)


def conv2d_filter_grad(x, dy, kernel_hw, stride, padding, dilation, groups):
    N, H, W, C_in = x.shape
    _, Ho, Wo, C_out = dy.shape
    Kh, Kw = kernel_hw
    (sh, sw), (pt, pb, pl, pr), (dh, dw) = stride, padding, dilation
    Cg, Og = C_in // groups, C_out // groups
    dwt = np.zeros((Kh, Kw, Cg, C_out), dtype=np.float64)
    for n in range(N):
        for i in range(Ho):
            for j in range(Wo):
                for a in range(Kh):
                    for b in range(Kw):
                        h, v = i * sh + a * dh - pt, j * sw + b * dw - pl
                        for o in range(C_out):
                            g = o // Og
                            for c in range(Cg):
                                dwt[a, b, c, o] += _x(x, n, h, v, g * Cg + c) * float(dy[n, i, j, o])
    return dwt.astype(x.dtype)


def max_pool2d(x, out_hw, kernel_size, stride, padding, dilation):
    """The first maximum of the in-bounds cells; the first NaN if any; (-inf, -1) if none."""
    N, H, W, C = x.shape
    Ho, Wo = out_hw
    (kh, kw), (sh, sw), (pt, pb, pl, pr), (dh, dw) = kernel_size, stride, padding, dilation
    y = np.full((N, Ho, Wo, C), -np.inf, dtype=x.dtype)
    argmax = np.full((N, Ho, Wo, C), -1, dtype=np.int64)
    for n in range(N):
        for i in range(Ho):
            for j in range(Wo):
                for c in range(C):
                    cells = []  # (value, flat index) of the in-bounds cells, in visiting order
                    for a in range(kh):
                        for b in range(kw):
                            h, v = i * sh + a * dh - pt, j * sw + b * dw - pl
                            if _in_bounds(h, v, H, W):
                                cells.append((float(x[n, h, v, c]), h * W + v))
                    if not cells:
                        continue
                    nans = [cell for cell in cells if math.isnan(cell[0])]
                    if nans:
                        best = nans[0]
                    else:
                        top = max(value for value, _ in cells)
                        best = next(cell for cell in cells if cell[0] == top)
                    y[n, i, j, c], argmax[n, i, j, c] = best
    return y, argmax


def max_pool2d_gather(t, argmax):
    N, H, W, C = t.shape
    out = np.zeros(argmax.shape, dtype=t.dtype)
    for n, i, j, c in np.ndindex(*argmax.shape):
        k = int(argmax[n, i, j, c])
        if k != -1:
            out[n, i, j, c] = t[n, k // W, k % W, c]
    return out


def max_pool2d_scatter(g, argmax, in_hw):
    N, Ho, Wo, C = g.shape
    H, W = in_hw
    dx = np.zeros((N, H, W, C), dtype=np.float64)
    for n, i, j, c in np.ndindex(*argmax.shape):
        k = int(argmax[n, i, j, c])
        if k != -1:
            dx[n, k // W, k % W, c] += float(g[n, i, j, c])
    return dx.astype(g.dtype)


def avg_pool2d(x, out_hw, kernel_size, stride, padding, dilation):
    N, H, W, C = x.shape
    Ho, Wo = out_hw
    (kh, kw), (sh, sw), (pt, pb, pl, pr), (dh, dw) = kernel_size, stride, padding, dilation
    y = np.zeros((N, Ho, Wo, C), dtype=x.dtype)
    for n in range(N):
        for i in range(Ho):
            for j in range(Wo):
                for c in range(C):
                    total = 0.0
                    for a in range(kh):
                        for b in range(kw):
                            h, v = i * sh + a * dh - pt, j * sw + b * dw - pl
                            if _in_bounds(h, v, H, W):
                                total += float(x[n, h, v, c])
                    y[n, i, j, c] = total / (kh * kw)
    return y


def avg_pool2d_transpose(g, in_hw, kernel_size, stride, padding, dilation):
    N, Ho, Wo, C = g.shape
    H, W = in_hw
    (kh, kw), (sh, sw), (pt, pb, pl, pr), (dh, dw) = kernel_size, stride, padding, dilation
    dx = np.zeros((N, H, W, C), dtype=np.float64)
    for n in range(N):
        for i in range(Ho):
            for j in range(Wo):
                for a in range(kh):
                    for b in range(kw):
                        h, v = i * sh + a * dh - pt, j * sw + b * dw - pl
                        if not _in_bounds(h, v, H, W):
                            continue
                        for c in range(C):
                            dx[n, h, v, c] += float(g[n, i, j, c]) / (kh * kw)
    return dx.astype(g.dtype)
