"""Reference convolution kernels: conv2d and its two adjoints.

Notation (as in ``nabla/_backend.py``): x (N, H, W, C_in), w (Kh, Kw, Cg, C_out),
dy / y (N, Ho, Wo, C_out), ``G = groups``, ``Cg = C_in // G``, ``Og = C_out // G``,
and output channel ``o`` belongs to group ``g = o // Og``.

Groups are handled by splitting a channel axis into ``(G, Cg)`` or ``(G, Og)``
(channel ``g*Cg + c`` is ``[g, c]``), so ``w`` reads as (Kh, Kw, Cg, G, Og) and
``g`` becomes an ordinary index of the einsum that is carried, not summed.
"""
import numpy as np

from ._windows import crop, tap, window_view, zeros_padded


def conv2d(x, w, out_hw, stride, padding, dilation, groups):
    """y (N, Ho, Wo, C_out) with, for ``g = o // Og``::

        y[n, i, j, o] = sum_{a, b, c < Cg} x[n, i*sh + a*dh - pt, j*sw + b*dw - pl, g*Cg + c] * w[a, b, c, o]

    where x outside [0, H) x [0, W) reads as 0.
    """
    N, H, W, C_in = x.shape
    Kh, Kw, Cg, C_out = w.shape
    G, Og = groups, C_out // groups

    # xwin[n, i, j, a, b, g, c] = x[n, i*sh + a*dh - pt, j*sw + b*dw - pl, g*Cg + c]
    xwin = window_view(x, out_hw, (Kh, Kw), stride, padding, dilation, fill=0)
    xwin = xwin.reshape(N, *out_hw, Kh, Kw, G, Cg)
    wg = w.reshape(Kh, Kw, Cg, G, Og)                 # wg[a, b, c, g, k] = w[a, b, c, g*Og + k]

    y = np.einsum("nijabgc,abcgk->nijgk", xwin, wg, optimize=True)
    return np.ascontiguousarray(y.reshape(N, *out_hw, C_out))


def conv2d_transpose(dy, w, out_hw, stride, padding, dilation, groups):
    """dx (N, H, W, C_in), (H, W) = out_hw, the adjoint of conv2d in x::

        dx[n, h, v, g*Cg + c] = sum over (i, a) with i*sh + a*dh - pt == h,
                                     (j, b) with j*sw + b*dw - pl == v,
                                     o in group g   of   dy[n, i, j, o] * w[a, b, c, o]

    Rows/columns of dx that no (i, a) reaches are 0.

    Read as a scatter: tap (a, b) of output (i, j) read x at (h, v), so it sends
    ``dy[n, i, j, :] @ w[a, b].T`` (per group) back there.  For one tap and all
    (i, j) at once, those cells are the strided slice ``tap(a, b)`` of the padded
    buffer; add into it, then crop the padding away.
    """
    N, Ho, Wo, C_out = dy.shape
    Kh, Kw, Cg, _ = w.shape
    G, Og = groups, C_out // groups
    C_in = G * Cg

    dyg = dy.reshape(N, Ho, Wo, G, Og)                # dyg[n, i, j, g, k] = dy[n, i, j, g*Og + k]
    wg = w.reshape(Kh, Kw, Cg, G, Og)
    geometry = ((Ho, Wo), (Kh, Kw), stride, padding, dilation)
    dxpad = zeros_padded(N, out_hw, C_in, *geometry, dtype=dy.dtype)
    for a in range(Kh):
        for b in range(Kw):
            # contribution[n, i, j, g, c] = sum_k dyg[n, i, j, g, k] * wg[a, b, c, g, k]
            contribution = np.einsum("nijgk,cgk->nijgc", dyg, wg[a, b])
            dxpad[tap(a, b, (Ho, Wo), stride, dilation)] += contribution.reshape(N, Ho, Wo, C_in)
    return crop(dxpad, out_hw, padding)


def conv2d_filter_grad(x, dy, kernel_hw, stride, padding, dilation, groups):
    """dw (Kh, Kw, Cg, C_out), the adjoint of conv2d in w, for ``g = o // Og``::

        dw[a, b, c, o] = sum_{n, i, j} x[n, i*sh + a*dh - pt, j*sw + b*dw - pl, g*Cg + c] * dy[n, i, j, o]

    (x outside the input reads as 0): the same windows as conv2d, contracted
    with dy over (n, i, j) instead of with w over (a, b, c).
    """
    N, H, W, C_in = x.shape
    _, Ho, Wo, C_out = dy.shape
    Kh, Kw = kernel_hw
    G = groups
    Cg, Og = C_in // G, C_out // G

    xwin = window_view(x, (Ho, Wo), kernel_hw, stride, padding, dilation, fill=0)
    xwin = xwin.reshape(N, Ho, Wo, Kh, Kw, G, Cg)
    dyg = dy.reshape(N, Ho, Wo, G, Og)

    dw = np.einsum("nijabgc,nijgk->abcgk", xwin, dyg, optimize=True)
    return np.ascontiguousarray(dw.reshape(Kh, Kw, Cg, C_out))
