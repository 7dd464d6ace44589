"""Window arithmetic shared by every reference kernel, kept in one place.

All eight kernels index their input the same way: output cell ``(i, j)`` and
filter tap ``(a, b)`` read input cell::

    h = i*sh + a*dh - pt        v = j*sw + b*dw - pl

or the padding, when ``(h, v)`` falls outside the input.  Fix the tap ``(a, b)``
and ``h`` steps by ``sh`` as ``i`` steps by one, so the windows whose tap ``(a, b)``
lands inside the input are a block of consecutive ``i`` (and ``j``), and the
cells they read are a strided slice of the input.  :func:`tap_slices` gives both,
as index tuples of the same shape::

    windows, cells = tap_slices(a, b, ...)
    y[windows]  <->  x[cells]     tap (a, b) of those windows reads those cells

A forward kernel loops over the taps and accumulates ``y[windows] += f(x[cells])``;
an adjoint sends the values back, ``dx[cells] += g(dy[windows])``.  The other
windows' tap ``(a, b)`` reads padding (0 for convolution and average pooling,
never a candidate for max pooling).  No padded copy is ever made, so memory is
bounded by the input and output sizes whatever the padding (padding 2**30 costs
nothing), and every array index is an ordinary Python int.

Worked example (one axis): ``H = 5``, ``Kh = 3``, ``sh = 2``, ``dh = 1``,
``pt = pb = 1``, so ``Ho = (5 + 1 + 1 - 1*(3 - 1) - 1) // 2 + 1 = 3``::

    input row      -1  0  1  2  3  4  5      (-1 and 5 are padding)
    window i=0     a0 a1 a2                  reads rows -1, 0, 1
    window i=1           a0 a1 a2            reads rows  1, 2, 3
    window i=2                 a0 a1 a2      reads rows  3, 4, 5

    tap a=0: windows 1, 2 read rows 1, 3      -> windows [1:3],  rows [1:4:2]
    tap a=1: windows 0, 1, 2 read rows 0, 2, 4 -> windows [0:3],  rows [0:5:2]
    tap a=2: windows 0, 1 read rows 1, 3      -> windows [0:2],  rows [1:4:2]

With dilation ``dh = 2`` (same ``H``, ``Kh``, ``pt = pb = 1``, ``sh = 1``) a window
spans ``dh*(Kh - 1) + 1 = 5`` rows and skips every other one: window ``i`` reads
rows ``i - 1, i + 1, i + 3``, and ``Ho = (7 - 4 - 1) // 1 + 1 = 3``.
"""
import numpy as np


def tap_range(t, size, out_size, stride, pad, dilation):
    """One axis, one tap ``t``: ``(first, stop, row)``.

    Windows ``first <= i < stop`` have tap ``t`` inside ``[0, size)``, at input rows
    ``row, row + stride, ...``; all others read padding.  ``first == stop`` if none.
    """
    start = t * dilation - pad               # the row tap t of window 0 reads
    first = max(0, -(start // stride))       # smallest i with start + i*stride >= 0
    stop = min(out_size, (size - 1 - start) // stride + 1) if start < size else 0
    if stop <= first:
        return 0, 0, 0
    return first, stop, start + first * stride


def tap_slices(a, b, in_hw, out_hw, stride, padding, dilation):
    """``(windows, cells)``: index tuples for (N, Ho, Wo, ...) and (N, H, W, ...) arrays.

    ``x[cells][n, k, l, c] == x[n, i*sh + a*dh - pt, j*sw + b*dw - pl, c]`` for the
    windows ``(i, j)`` that ``y[windows][n, k, l, c]`` names: those whose tap
    ``(a, b)`` lands inside the input.  Each input cell appears at most once.
    """
    (H, W), (Ho, Wo) = in_hw, out_hw
    (sh, sw), (pt, _, pl, _), (dh, dw) = stride, padding, dilation
    i0, i1, h0 = tap_range(a, H, Ho, sh, pt, dh)
    j0, j1, v0 = tap_range(b, W, Wo, sw, pl, dw)
    windows = (slice(None), slice(i0, i1), slice(j0, j1))
    cells = (slice(None), slice(h0, h0 + (i1 - i0) * sh, sh), slice(v0, v0 + (j1 - j0) * sw, sw))
    return windows, cells


def reads_padding(windows, out_hw):
    """(Ho, Wo) bool: True for the windows *not* in ``windows`` (their tap reads padding)."""
    mask = np.ones(out_hw, dtype=bool)
    mask[windows[1:]] = False
    return mask
