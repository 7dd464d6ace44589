"""Reference pooling kernels: max pooling (with argmax, gather, scatter) and average pooling.

Windows are those of ``_windows.window_view``: output (i, j) looks at the cells
``(i*sh + a*dh - pt, j*sw + b*dw - pl)`` for ``a < kh``, ``b < kw``.  Max pooling
records *where* each maximum came from as a flat index ``h*W + w`` into the
unpadded input (``argmax``); its derivatives only ever move values along those
indices (gather forward, scatter-add backward).
"""
import numpy as np

from .._args import adaptive_bins
from ._windows import crop, tap, window_view, zeros_padded


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
    Ho, Wo = out_hw

    # xwin[n, i, j, a, b, c] = the cell's value            (-inf in padding)
    # cell[0, i, j, a, b, 0] = the cell's flat index h*W + w (-1 in padding),
    #                          so "in bounds" is simply cell >= 0
    xwin = window_view(x, out_hw, kernel_size, stride, padding, dilation, fill=-np.inf)
    flat_index = np.arange(H * W, dtype=np.int64).reshape(1, H, W, 1)
    cell = window_view(flat_index, out_hw, kernel_size, stride, padding, dilation, fill=-1)

    # (y, argmax) is the current pick of every window ("cur" in the contract).
    y = np.full((N, Ho, Wo, C), -np.inf, dtype=x.dtype)
    argmax = np.full((N, Ho, Wo, C), -1, dtype=np.int64)
    for a in range(kh):
        for b in range(kw):
            v, index = xwin[:, :, :, a, b, :], cell[:, :, :, a, b, :]
            in_bounds = index >= 0
            first = argmax == -1
            better = (v > y) | (np.isnan(v) & ~np.isnan(y))
            take = in_bounds & (first | better)
            y = np.where(take, v, y)
            argmax = np.where(take, index, argmax)
    return np.ascontiguousarray(y), np.ascontiguousarray(argmax)


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
    kh, kw = kernel_size
    xwin = window_view(x, out_hw, kernel_size, stride, padding, dilation, fill=0)
    y = xwin.sum(axis=(3, 4)) / (kh * kw)
    return np.ascontiguousarray(y)


def avg_pool2d_transpose(g, in_hw, kernel_size, stride, padding, dilation):
    """dx (N, H, W, C), (H, W) = in_hw, the adjoint of avg_pool2d::

        dx[n, h, v, c] = (1 / (kh*kw)) * sum over (i, a), (j, b) with
                         i*sh + a*dh - pt == h and j*sw + b*dw - pl == v of g[n, i, j, c]

    Read as a scatter: each tap (a, b) sends g back to the cells it read,
    which for all (i, j) at once is the strided slice ``tap(a, b)`` of the
    padded buffer; add, crop the padding away, divide.
    """
    N, Ho, Wo, C = g.shape
    kh, kw = kernel_size
    geometry = ((Ho, Wo), kernel_size, stride, padding, dilation)
    dxpad = zeros_padded(N, in_hw, C, *geometry, dtype=g.dtype)
    for a in range(kh):
        for b in range(kw):
            dxpad[tap(a, b, (Ho, Wo), stride, dilation)] += g
    return crop(dxpad, in_hw, padding) / (kh * kw)


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
