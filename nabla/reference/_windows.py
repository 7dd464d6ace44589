"""Window arithmetic shared by every reference kernel, kept in one place.

All eight kernels index their input the same way: output cell ``(i, j)`` and
filter tap ``(a, b)`` read input cell::

    h = i*sh + a*dh - pt        v = j*sw + b*dw - pl

Padding the input first (``pt`` rows on top, ``pl`` columns on the left, and so
on) removes the ``- pt`` and ``- pl``: in the padded array ``xpad`` the cell is
simply ``xpad[n, i*sh + a*dh, j*sw + b*dw, c]``.  Two helpers follow from that:

- :func:`window_view` (forward kernels) gives every window at once, as a
  read-only strided view ``win[n, i, j, a, b, c] = xpad[n, i*sh + a*dh, j*sw + b*dw, c]``.
- :func:`tap` (adjoint kernels) gives, for one tap ``(a, b)``, the slice of the
  padded array holding the cells that tap reads for all ``(i, j)`` at once, so
  ``win[:, :, :, a, b, :]`` *is* ``xpad[tap(a, b, ...)]``.  An adjoint adds its
  cotangent into that same slice of a zero buffer, tap after tap, and finally
  :func:`crop` cuts the padding off again.

Worked example (one axis): ``H = 5``, ``Kh = 3``, ``sh = 2``, ``dh = 1``,
``pt = pb = 1``.  Then ``Ho = (5 + 1 + 1 - 1*(3 - 1) - 1) // 2 + 1 = 3`` and the
padded axis has 7 cells, padded index = input index + 1::

    padded index    0  1  2  3  4  5  6
    input row      -1  0  1  2  3  4  5      (-1 and 5 are padding)
    window i=0     a0 a1 a2                  reads padded 0,1,2 = rows -1,0,1
    window i=1           a0 a1 a2            reads padded 2,3,4 = rows  1,2,3
    window i=2                 a0 a1 a2      reads padded 4,5,6 = rows  3,4,5

    tap(a=1) selects padded[1 : 1 + 3*2 : 2] = padded[1], [3], [5], i.e. rows 0, 2, 4.

With dilation ``dh = 2`` (same ``H``, ``Kh``, ``pt = pb = 1``, ``sh = 1``) a
window spans ``dh*(Kh - 1) + 1 = 5`` cells and skips every other one: window
``i`` reads padded ``i, i + 2, i + 4``, and ``Ho = (7 - 4 - 1) // 1 + 1 = 3``.
"""
import numpy as np
from numpy.lib.stride_tricks import as_strided


def padded_hw(in_hw, out_hw, kernel_hw, stride, padding, dilation):
    """(Hp, Wp): the input plus its padding, and more at the bottom/right if needed.

    The last window starts at ``(Ho - 1)*sh`` and ends at ``(Ho - 1)*sh + (Kh - 1)*dh``
    (padded coordinates), so the padded axis needs that many cells plus one.
    For sizes the op layer computed this never exceeds ``H + pt + pb``; taking
    the larger of the two keeps every view in bounds whatever ``out_hw`` is
    (cells beyond the bottom padding read as padding too, as the formulas say).
    """
    (H, W), (Ho, Wo), (Kh, Kw) = in_hw, out_hw, kernel_hw
    (sh, sw), (pt, pb, pl, pr), (dh, dw) = stride, padding, dilation
    Hp = max(H + pt + pb, (Ho - 1) * sh + (Kh - 1) * dh + 1)
    Wp = max(W + pl + pr, (Wo - 1) * sw + (Kw - 1) * dw + 1)
    return Hp, Wp


def window_view(x, out_hw, kernel_hw, stride, padding, dilation, fill=0):
    """Pad ``x`` (N, H, W, C) with ``fill`` and view it as windows (N, Ho, Wo, Kh, Kw, C).

    ``win[n, i, j, a, b, c] == x[n, i*sh + a*dh - pt, j*sw + b*dw - pl, c]``,
    reading ``fill`` outside the input (0 for convolution and average pooling,
    -inf for max pooling).  The view shares memory with a fresh padded copy; it
    is read-only.  The six strides are the formula itself: one step in ``i``
    moves ``sh`` rows, one step in ``a`` moves ``dh`` rows, and so on.
    """
    N, H, W, C = x.shape
    pt, pb, pl, pr = padding
    Hp, Wp = padded_hw((H, W), out_hw, kernel_hw, stride, padding, dilation)
    xpad = np.full((N, Hp, Wp, C), fill, dtype=x.dtype)
    xpad[:, pt:pt + H, pl:pl + W, :] = x

    (Ho, Wo), (Kh, Kw) = out_hw, kernel_hw
    (sh, sw), (dh, dw) = stride, dilation
    s_n, s_h, s_w, s_c = xpad.strides
    return as_strided(
        xpad,
        shape=(N, Ho, Wo, Kh, Kw, C),
        strides=(s_n, sh * s_h, sw * s_w, dh * s_h, dw * s_w, s_c),
        writeable=False,
    )


def tap(a, b, out_hw, stride, dilation):
    """Index of tap ``(a, b)`` in a padded (N, Hp, Wp, C) array, for all (i, j) at once.

    ``buf[tap(a, b, ...)][n, i, j, c] is buf[n, i*sh + a*dh, j*sw + b*dw, c]``,
    an (N, Ho, Wo, C) strided slice: rows ``a*dh, a*dh + sh, ..., a*dh + (Ho-1)*sh``.
    (The stop, one stride past the last row, is clipped by NumPy; it also gives
    an empty slice when Ho == 0.)
    """
    (Ho, Wo), (sh, sw), (dh, dw) = out_hw, stride, dilation
    rows = slice(a * dh, a * dh + Ho * sh, sh)
    cols = slice(b * dw, b * dw + Wo * sw, sw)
    return (slice(None), rows, cols, slice(None))


def zeros_padded(N, in_hw, C, out_hw, kernel_hw, stride, padding, dilation, dtype):
    """A zero (N, Hp, Wp, C) buffer for adjoints to scatter-add into, tap by tap."""
    Hp, Wp = padded_hw(in_hw, out_hw, kernel_hw, stride, padding, dilation)
    return np.zeros((N, Hp, Wp, C), dtype=dtype)


def crop(buf, in_hw, padding):
    """Cut the padding off a padded buffer: the (N, H, W, C) input-sized part, as a new array."""
    (H, W), (pt, pb, pl, pr) = in_hw, padding
    return np.ascontiguousarray(buf[:, pt:pt + H, pl:pl + W, :])
