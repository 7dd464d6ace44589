"""Reference pooling kernels: max pooling (with argmax, gather, scatter) and average pooling.

Windows are those of ``_windows.tap_slices``: output (i, j) looks at the cells
``(i*sh + a*dh - pt, j*sw + b*dw - pl)`` for ``a < kh``, ``b < kw``; each kernel
loops over the taps (a, b), handling every window at once.  Max pooling
records *where* each maximum came from as a flat index ``h*W + w`` into the
unpadded input (``argmax``); its derivatives only ever move values along those
indices (gather forward, scatter-add backward).
"""
import numpy as np

from .._args import adaptive_bins
from ._windows import tap_slices


def max_pool2d(x, out_hw, kernel_size, stride, padding, dilation):
    """(y, argmax), both (N, Ho, Wo, C); y of x's dtype, argmax int64.

    Over the in-bounds cells of each window, visited in row-major order (a, then b):
    y is the maximum and argmax the flat index ``h*W + w`` of the *first* maximum.
    A NaN wins (y is NaN, argmax the first NaN).  A window with no in-bounds cell
    gives y = -inf, argmax = -1.  Padded cells are never selected.

    Computed exactly as the contract's equivalent rule: take the first in-bounds
    cell, then a later cell replaces the current one iff
    ``v > cur or (isnan(v) and not isnan(cur))``.  The loop is over the taps
    (a, b) in visiting order; each step handles every window at once.
    """
    N, H, W, C = x.shape
    kh, kw = kernel_size
    geometry = ((H, W), out_hw, stride, padding, dilation)
    # cell[0, h, v, 0] = the flat index h*W + v of an input cell
    cell = np.arange(H * W, dtype=np.int64).reshape(1, H, W, 1)

    # (y, argmax) is the current pick of every window ("cur" in the contract);
    # argmax == -1 while a window has seen no in-bounds cell.
    y = np.full((N, *out_hw, C), -np.inf, dtype=x.dtype)
    argmax = np.full((N, *out_hw, C), -1, dtype=np.int64)
    for a in range(kh):
        for b in range(kw):
            # Only windows whose tap (a, b) is in bounds take part: padding is never picked.
            windows, cells = tap_slices(a, b, *geometry)
            v, index = x[cells], cell[cells]
            cur, cur_index = y[windows], argmax[windows]
            first = cur_index == -1
            better = (v > cur) | (np.isnan(v) & ~np.isnan(cur))
            take = first | better
            y[windows] = np.where(take, v, cur)
            argmax[windows] = np.where(take, index, cur_index)
    return y, argmax


def max_pool2d_gather(t, argmax):
    """out (N, Ho, Wo, C) of t's dtype, with t (N, H, W, C)::

        out[n, i, j, c] = t[n, argmax // W, argmax % W, c]   (0 where argmax == -1)
    """
    N, H, W, C = t.shape
    out = np.zeros(argmax.shape, dtype=t.dtype)
    n, i, j, c = np.nonzero(argmax != -1)
    k = argmax[n, i, j, c]
    out[n, i, j, c] = t[n, k // W, k % W, c]
    return out


def max_pool2d_scatter(g, argmax, in_hw):
    """dx (N, H, W, C), (H, W) = in_hw, the adjoint of max_pool2d_gather:
    zeros, then for every (n, i, j, c) with argmax != -1::

        dx[n, argmax // W, argmax % W, c] += g[n, i, j, c]

    (``np.add.at`` adds repeated indices up, as overlapping windows need.)
    """
    N, Ho, Wo, C = g.shape
    H, W = in_hw
    dx = np.zeros((N, H, W, C), dtype=g.dtype)
    n, i, j, c = np.nonzero(argmax != -1)
    k = argmax[n, i, j, c]
    np.add.at(dx, (n, k // W, k % W, c), g[n, i, j, c])
    return dx


def avg_pool2d(x, out_hw, kernel_size, stride, padding, dilation):
    """y (N, Ho, Wo, C)::

        y[n, i, j, c] = (1 / (kh*kw)) * sum_{a < kh, b < kw} x[n, i*sh + a*dh - pt, j*sw + b*dw - pl, c]

    with x outside the input reading as 0 (padded cells count in the divisor).
    """
    N, H, W, C = x.shape
    kh, kw = kernel_size
    y = np.zeros((N, *out_hw, C), dtype=x.dtype)
    for a in range(kh):
        for b in range(kw):
            # Windows whose tap (a, b) is inside add that cell; the others add a padded 0.
            windows, cells = tap_slices(a, b, (H, W), out_hw, stride, padding, dilation)
            y[windows] += x[cells]
    return y / (kh * kw)


def avg_pool2d_transpose(g, in_hw, kernel_size, stride, padding, dilation):
    """dx (N, H, W, C), (H, W) = in_hw, the adjoint of avg_pool2d::

        dx[n, h, v, c] = (1 / (kh*kw)) * sum over (i, a), (j, b) with
                         i*sh + a*dh - pt == h and j*sw + b*dw - pl == v of g[n, i, j, c]

    Read as a scatter: each tap (a, b) sends g back to the cells it read
    (``tap_slices``: the windows whose tap is inside, and those cells); add, divide.
    """
    N, Ho, Wo, C = g.shape
    kh, kw = kernel_size
    dx = np.zeros((N, *in_hw, C), dtype=g.dtype)
    for a in range(kh):
        for b in range(kw):
            windows, cells = tap_slices(a, b, in_hw, (Ho, Wo), stride, padding, dilation)
            dx[cells] += g[windows]            # what went to the padding is dropped
    return dx / (kh * kw)


def adaptive_max_pool2d(x, out_hw):
    """Max over PyTorch's adaptive bins: output row i takes input rows
    ``floor(i*H/Ho)`` to ``ceil((i+1)*H/Ho) - 1`` (columns alike); argmax as
    ``max_pool2d``'s (flat ``h*W + w`` of the first maximum in row-major order;
    a NaN wins)."""
    n, h, w, c = x.shape
    ho, wo = out_hw
    y = np.empty((n, ho, wo, c), x.dtype)
    argmax = np.empty((n, ho, wo, c), np.int64)
    for i, (r0, r1) in enumerate(adaptive_bins(h, ho)):
        for j, (c0, c1) in enumerate(adaptive_bins(w, wo)):
            window = x[:, r0:r1, c0:c1, :].reshape(n, (r1 - r0) * (c1 - c0), c)
            k = np.argmax(window, axis=1)      # first maximum; np.argmax returns the first NaN
            y[:, i, j, :] = np.take_along_axis(window, k[:, None, :], axis=1)[:, 0, :]
            argmax[:, i, j, :] = (r0 + k // (c1 - c0)) * w + c0 + k % (c1 - c0)
    return y, argmax
