"""Naive nested-loop versions of the backend kernels, for tests on tiny inputs only.

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


# ----------------------------------------------------- the options' references
# Loops for what the public ops add on top of the kernels (padding modes,
# count_include_pad, unpooling, adaptive bins), from their definitions, for
# tests/op_db.py and tests/test_options.py.

def _source(j, n, mode):
    """The input cell (0..n-1) that padded cell ``j`` (input coordinates: -1 is the
    first cell before the input) copies, or None for a constant cell."""
    if 0 <= j < n:
        return j
    if mode == "constant":
        return None
    if mode == "edge":       # the nearest edge cell
        return 0 if j < 0 else n - 1
    if mode == "wrap":       # the other side: j = -1 is cell n - 1
        while j < 0:
            j += n
        while j >= n:
            j -= n
        return j
    if mode == "reflect":    # bounce off the edge cells without repeating them
        while not 0 <= j < n:
            j = -j if j < 0 else 2 * (n - 1) - j
        return j
    raise ValueError(mode)


def pad(x, pad_width, mode="constant", value=0.0):
    """``x`` padded by ``pad_width`` ((before, after) per axis), one cell at a time."""
    x = np.asarray(x)
    out_shape = tuple(n + lo + hi for n, (lo, hi) in zip(x.shape, pad_width))
    y = np.empty(out_shape, dtype=x.dtype)
    for out_index in np.ndindex(*out_shape):
        src = [_source(i - lo, n, mode) for i, n, (lo, _) in zip(out_index, x.shape, pad_width)]
        y[out_index] = value if any(s is None for s in src) else x[tuple(src)]
    return y


def avg_pool2d_counted(x, out_hw, kernel_size, stride, padding, dilation, count_include_pad):
    """Average pooling dividing each window's sum by a count of its taps: those in
    the input (``count_include_pad=False``), or in the input and the ``padding``
    around it (True; taps past that padding, as ``ceil_mode`` adds, never count).
    A window with a count of 0 gives 0."""
    N, H, W, C = x.shape
    Ho, Wo = out_hw
    (kh, kw), (sh, sw), (pt, pb, pl, pr), (dh, dw) = kernel_size, stride, padding, dilation
    y = np.zeros((N, Ho, Wo, C), dtype=x.dtype)
    for n in range(N):
        for i in range(Ho):
            for j in range(Wo):
                for c in range(C):
                    total, count = 0.0, 0
                    for a in range(kh):
                        for b in range(kw):
                            h, v = i * sh + a * dh - pt, j * sw + b * dw - pl
                            if _in_bounds(h, v, H, W):
                                total += float(x[n, h, v, c])
                            if count_include_pad:
                                count += (-pt <= h < H + pb) and (-pl <= v < W + pr)
                            else:
                                count += _in_bounds(h, v, H, W)
                    y[n, i, j, c] = total / count if count else 0.0
    return y


def max_unpool2d(x, indices, out_hw):
    """Each x[n, i, j, c] added at flat position indices[n, i, j, c] = h*W + w of a
    zero (N, H, W, C) output; -1 is skipped; repeated positions add up."""
    N, Hi, Wi, C = x.shape
    H, W = out_hw
    y = np.zeros((N, H, W, C), dtype=np.float64)
    for n in range(N):
        for i in range(Hi):
            for j in range(Wi):
                for c in range(C):
                    k = int(indices[n, i, j, c])
                    if k == -1:
                        continue
                    y[n, k // W, k % W, c] += float(x[n, i, j, c])
    return y.astype(x.dtype)


def adaptive_bins(n, m):
    """PyTorch's bins of an axis of n cells into m: bin i is
    [floor(i*n/m), ceil((i+1)*n/m)), computed with exact fractions."""
    from fractions import Fraction
    return [(math.floor(Fraction(i * n, m)), math.ceil(Fraction((i + 1) * n, m))) for i in range(m)]


def adaptive_avg_pool2d(x, out_hw):
    N, H, W, C = x.shape
    Ho, Wo = out_hw
    y = np.zeros((N, Ho, Wo, C), dtype=x.dtype)
    for n in range(N):
        for i, (r0, r1) in enumerate(adaptive_bins(H, Ho)):
            for j, (c0, c1) in enumerate(adaptive_bins(W, Wo)):
                for c in range(C):
                    total = 0.0
                    for h in range(r0, r1):
                        for v in range(c0, c1):
                            total += float(x[n, h, v, c])
                    y[n, i, j, c] = total / ((r1 - r0) * (c1 - c0))
    return y


def adaptive_max_pool2d(x, out_hw):
    """(y, argmax): the first maximum of each bin in row-major order (the first NaN if any)."""
    N, H, W, C = x.shape
    Ho, Wo = out_hw
    y = np.full((N, Ho, Wo, C), -np.inf, dtype=x.dtype)
    argmax = np.full((N, Ho, Wo, C), -1, dtype=np.int64)
    for n in range(N):
        for i, (r0, r1) in enumerate(adaptive_bins(H, Ho)):
            for j, (c0, c1) in enumerate(adaptive_bins(W, Wo)):
                for c in range(C):
                    best = None
                    for h in range(r0, r1):
                        for v in range(c0, c1):
                            value = float(x[n, h, v, c])
                            if best is None or (not math.isnan(best[0]) and (math.isnan(value) or value > best[0])):
                                best = (value, h * W + v)
                    if best is not None:
                        y[n, i, j, c], argmax[n, i, j, c] = best
    return y, argmax


def batch_norm(x, mean, var, gamma, beta, eps):
    """y[..., c] = (x[..., c] - mean[c]) / sqrt(var[c] + eps) * gamma[c] + beta[c], one
    element at a time; ``mean``/``var`` None: the batch's, over every axis but the last
    (var biased), accumulated in Python floats."""
    C = x.shape[-1]
    rows = x.reshape(-1, C)
    y = np.empty(rows.shape, x.dtype)
    for c in range(C):
        column = [float(v) for v in rows[:, c]]
        if mean is None:
            mu = math.fsum(column) / len(column)
            sigma2 = math.fsum((v - mu) ** 2 for v in column) / len(column)
        else:
            mu, sigma2 = float(mean[c]), float(var[c])
        g = 1.0 if gamma is None else float(gamma[c])
        b = 0.0 if beta is None else float(beta[c])
        for m, v in enumerate(column):
            y[m, c] = (v - mu) / math.sqrt(sigma2 + eps) * g + b
    return y.reshape(x.shape)
