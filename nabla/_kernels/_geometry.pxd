# Window geometry shared by conv.pyx and pool.pyx.
#
# Output cell i of a window op reads input rows  r = i*sh - pt + a*dh  for taps
# a = 0 .. Kh-1 (columns likewise).  Padding is never materialised: a kernel
# clips the tap range to the taps that land inside [0, H) with ``first_tap``
# and ``end_tap``.  Both take the position of tap 0 (``start``) and the step
# between taps, so the same helpers also give, for a fixed tap a, the range of
# output rows i whose tap a is in bounds (start = a*dh - pt, step = sh).
#
# Worked example: H = 5, Kh = 3, dh = 2, pt = 3, i = 0: start = -3, rows
# -3, -1, 1 -> first_tap(-3, 2) = 2, end_tap(-3, 2, 3, 5) = 3: only a = 2 (row 1).

ctypedef struct Window:
    Py_ssize_t kh, kw   # taps per window (filter or pooling window size)
    Py_ssize_t sh, sw   # stride
    Py_ssize_t pt, pl   # top / left padding (bottom / right only shape Ho, Wo)
    Py_ssize_t dh, dw   # dilation


cdef inline Window make_window(kernel_hw, stride, padding, dilation):
    """Unpack the op layer's plain-int tuples (padding is (pt, pb, pl, pr))."""
    cdef Window win
    win.kh, win.kw = kernel_hw
    win.sh, win.sw = stride
    win.pt, win.pl = padding[0], padding[2]
    win.dh, win.dw = dilation
    return win


cdef inline Py_ssize_t first_tap(Py_ssize_t start, Py_ssize_t step) noexcept nogil:
    """The smallest k >= 0 with start + k*step >= 0 (step >= 1)."""
    if start >= 0:
        return 0
    return (step - 1 - start) // step


cdef inline Py_ssize_t end_tap(Py_ssize_t start, Py_ssize_t step, Py_ssize_t count,
                               Py_ssize_t size) noexcept nogil:
    """One past the largest k < count with start + k*step <= size - 1 (0 if none)."""
    cdef Py_ssize_t end
    if start > size - 1:
        return 0
    end = (size - 1 - start) // step + 1
    return end if end < count else count


cdef inline Py_ssize_t source_window(Py_ssize_t offset, Py_ssize_t step,
                                     Py_ssize_t count) noexcept nogil:
    """For the adjoint kernels (gather form): which window reads a given row with a given tap.

    Tap a of window i reads row i*sh + a*dh - pt, so row h is read by tap a of
    window i = (h + pt - a*dh) / sh, if that is a whole number in [0, Ho).  With
    offset = h + pt - a*dh this returns that i, -1 if there is none, and -2 if
    offset < 0: then no later tap (whose offset is smaller still) has one either.
    """
    if offset < 0:
        return -2
    if offset % step != 0 or offset // step >= count:
        return -1
    return offset // step
