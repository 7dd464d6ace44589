"""Reference convolution kernels: conv2d and its two adjoints.

Notation (as in ``nabla/_backend.py``): x (N, H, W, C_in), w (Kh, Kw, Cg, C_out),
dy / y (N, Ho, Wo, C_out), ``G = groups``, ``Cg = C_in // G``, ``Og = C_out // G``,
and output channel ``o`` belongs to group ``g = o // Og``.

Groups are handled by splitting a channel axis into ``(G, Cg)`` or ``(G, Og)``
(channel ``g*Cg + c`` is ``[g, c]``), so ``w`` reads as (Kh, Kw, Cg, G, Og) and
``g`` becomes an ordinary index of the einsum that is carried, not summed.
"""
import numpy as np

from ._windows import reads_padding, tap_slices


def conv2d(x, w, out_hw, stride, padding, dilation, groups):
    """y (N, Ho, Wo, C_out) with, for ``g = o // Og``::

        y[n, i, j, o] = sum_{a, b, c < Cg} x[n, i*sh + a*dh - pt, j*sw + b*dw - pl, g*Cg + c] * w[a, b, c, o]

    where x outside [0, H) x [0, W) reads as 0.
    """
    N, H, W, C_in = x.shape
    Kh, Kw, Cg, C_out = w.shape
    G, Og = groups, C_out // groups
    geometry = ((H, W), out_hw, stride, padding, dilation)

    xg = x.reshape(N, H, W, G, Cg)                    # xg[n, h, v, g, c] = x[n, h, v, g*Cg + c]
    wg = w.reshape(Kh, Kw, Cg, G, Og)                 # wg[a, b, c, g, k] = w[a, b, c, g*Og + k]
    y = np.zeros((N, *out_hw, G, Og), dtype=np.result_type(x, w))
    for a in range(Kh):
        for b in range(Kw):
            windows, cells = tap_slices(a, b, *geometry)
            # Windows whose tap (a, b) is inside: y[.., g, k] += sum_c xg[cell, g, c] * wg[a, b, c, g, k]
            y[windows] += np.einsum("nijgc,cgk->nijgk", xg[cells], wg[a, b])
            # The others read 0, and 0 * w[a, b, c, o] adds nothing, unless that w is inf
            # or NaN: then IEEE arithmetic makes it NaN, and so does this.
            padding_term = np.einsum("c,cgk->gk", np.zeros(Cg, y.dtype), wg[a, b])
            if np.any(padding_term != 0):
                y[:, reads_padding(windows, out_hw)] += padding_term
    return y.reshape(N, *out_hw, C_out)


def conv2d_transpose(dy, w, out_hw, stride, padding, dilation, groups):
    """dx (N, H, W, C_in), (H, W) = out_hw, the adjoint of conv2d in x::

        dx[n, h, v, g*Cg + c] = sum over (i, a) with i*sh + a*dh - pt == h,
                                     (j, b) with j*sw + b*dw - pl == v,
                                     o in group g   of   dy[n, i, j, o] * w[a, b, c, o]

    Rows/columns of dx that no (i, a) reaches are 0.

    Read as a scatter: tap (a, b) of window (i, j) read x at (h, v), so it sends
    ``dy[n, i, j, :] @ w[a, b].T`` (per group) back there.  For one tap, the
    windows whose tap is inside the input and the cells they read are the two
    slices of ``tap_slices``; what the other windows' tap sent into the padding
    is dropped, as the cropped rows of the formula.
    """
    N, Ho, Wo, C_out = dy.shape
    Kh, Kw, Cg, _ = w.shape
    G, Og = groups, C_out // groups
    geometry = (out_hw, (Ho, Wo), stride, padding, dilation)

    dyg = dy.reshape(N, Ho, Wo, G, Og)                # dyg[n, i, j, g, k] = dy[n, i, j, g*Og + k]
    wg = w.reshape(Kh, Kw, Cg, G, Og)
    dx = np.zeros((N, *out_hw, G, Cg), dtype=np.result_type(dy, w))
    for a in range(Kh):
        for b in range(Kw):
            windows, cells = tap_slices(a, b, *geometry)
            # dx[cell, g, c] += sum_k dyg[window, g, k] * wg[a, b, c, g, k]
            dx[cells] += np.einsum("nijgk,cgk->nijgc", dyg[windows], wg[a, b])
    return dx.reshape(N, *out_hw, G * Cg)


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
    geometry = ((H, W), (Ho, Wo), stride, padding, dilation)

    xg = x.reshape(N, H, W, G, Cg)
    dyg = dy.reshape(N, Ho, Wo, G, Og)
    dw = np.zeros((Kh, Kw, Cg, G, Og), dtype=np.result_type(x, dy))
    for a in range(Kh):
        for b in range(Kw):
            windows, cells = tap_slices(a, b, *geometry)
            # Windows whose tap (a, b) is inside: sum over them of xg[cell, g, c] * dyg[window, g, k]
            dw[a, b] = np.einsum("nijgc,nijgk->cgk", xg[cells], dyg[windows])
            # The others read 0: 0 * dy adds nothing, unless dy is inf or NaN there (IEEE: NaN).
            padding_term = (0 * dyg[:, reads_padding(windows, (Ho, Wo))]).sum(axis=(0, 1))
            dw[a, b] += padding_term                   # (G, Og), the same for every c
    return dw.reshape(Kh, Kw, Cg, C_out)
