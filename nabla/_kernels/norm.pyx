"""Batch normalisation kernels, channels last (formulas in ``nabla/_backend.py``).

Every kernel sees ``x`` as a matrix of ``M`` rows (every axis but the last:
N*H*W for an NHWC image batch) by ``C`` contiguous channels; the ``def``
reshapes, the loops run over rows, with the innermost loop over the channels
(contiguous, so it vectorises).

Per-channel sums (the batch mean and variance, and the two sums of the
backward pass) are taken over fixed blocks of rows (``_rows.pxd``): block ``b``
adds rows ``[b*R, min((b + 1)*R, M))``, in order, into its own row of partial
sums, in float64 for either dtype; after the parallel region the partial sums
are added in block order.  ``R`` depends on ``C`` only, never on the number of
threads, so every result has the same bits on any number of threads.
For float64 data the variance takes two passes (the mean first, then the squares
of ``x - mean``), which stays accurate when the mean is large against the spread.
For float32 data one pass adds ``x`` and ``x**2`` in float64 (a float32 square is
exact in float64): ``var = sum(x**2)/M - mean**2`` then loses about
``1e-16 * mean**2 / var`` of relative accuracy, far below float32's 6e-8 for any
mean under 10**4 standard deviations.

Each pass is a ``prange`` over the blocks (its own rows of the output for the
elementwise passes), run on one thread for calls smaller than
``PARALLEL_MIN_WORK`` elements.
"""
from cython.parallel cimport prange
from libc.math cimport NAN, sqrt

import numpy as np

from nabla._kernels._rows cimport add_blocks, block_rows, sum_rows
from nabla._kernels._types cimport floating

include "_team.pxi"


cdef enum:
    # Below this many elements a call runs on one thread (waking threads costs
    # microseconds, more than a small pass over the data).
    PARALLEL_MIN_WORK = 1 << 15


def _matrix(x):
    """x (..., C) as the (M, C) matrix the kernels loop over (a view: x is C-contiguous).
    (No negative indices here: this module is compiled with wraparound off.)"""
    cdef Py_ssize_t M = 1, axis, last = x.ndim - 1
    for axis in range(last):
        M *= x.shape[axis]
    return x.reshape(M, x.shape[last])


# ------------------------------------------------------------- batch_norm

def batch_norm(x, gamma, beta, eps):
    """(y, mean, var): mean and var (biased) per channel over the rows of x,
    y = (x - mean) / sqrt(var + eps) * gamma + beta."""
    y, mean, var = _batch_norm(_matrix(x), gamma, beta, float(eps))
    return y.reshape(x.shape), mean, var


def _batch_norm(const floating[:, ::1] x, const floating[::1] gamma, const floating[::1] beta, double eps):
    cdef Py_ssize_t M = x.shape[0], C = x.shape[1], R = block_rows(C), c
    cdef Py_ssize_t blocks = (M + R - 1) // R, b
    dtype = np.float32 if floating is float else np.float64
    y = np.empty((M, C), dtype)
    mean = np.empty(C, dtype)
    var = np.empty(C, dtype)
    cdef floating[:, ::1] y_v = y
    cdef floating[::1] mean_v = mean, var_v = var
    if M == 0 or C == 0:             # the mean of no rows is NaN (as NumPy's)
        mean.fill(NAN)
        var.fill(NAN)
        return y, mean, var
    cdef double[:, ::1] part = np.empty((blocks, 2 * C if floating is float else C))
    cdef double[::1] mu = np.empty(C), acc = np.empty(C), both = np.empty(2 * C)
    # The centring and scaling, rounded to x's dtype: y's pass runs in it.
    cdef floating[::1] scale = np.empty(C, dtype)
    cdef bint threads = M * C > PARALLEL_MIN_WORK
    with nogil:
        if floating is float:        # one pass: sums of x and of x**2 (part is (blocks, 2C))
            for b in prange(blocks, schedule="static", num_threads=nb_team_size(), use_threads_if=threads):
                _sum_rows_and_squares(&x[0, 0], &part[b, 0], b * R, min((b + 1) * R, M), C)
            add_blocks(&part[0, 0], &both[0], blocks, 2 * C)
            for c in range(C):
                mu[c] = both[c] / M
                acc[c] = max(both[C + c] - M * mu[c] * mu[c], 0.0)    # M * var
        else:                        # two passes: the mean, then the squares about it
            for b in prange(blocks, schedule="static", num_threads=nb_team_size(), use_threads_if=threads):
                sum_rows(&x[0, 0], &part[b, 0], b * R, min((b + 1) * R, M), C)
            add_blocks(&part[0, 0], &mu[0], blocks, C)
            for c in range(C):
                mu[c] = mu[c] / M
            for b in prange(blocks, schedule="static", num_threads=nb_team_size(), use_threads_if=threads):
                _sum_squares(&x[0, 0], &mu[0], &part[b, 0], b * R, min((b + 1) * R, M), C)
            add_blocks(&part[0, 0], &acc[0], blocks, C)
        for c in range(C):
            mean_v[c] = <floating>mu[c]
            var_v[c] = <floating>(acc[c] / M)
            scale[c] = <floating>(gamma[c] / sqrt(acc[c] / M + eps))
        for b in prange(blocks, schedule="static", num_threads=nb_team_size(), use_threads_if=threads):
            _affine_rows(&x[0, 0], &y_v[0, 0], &mean_v[0], &scale[0], &beta[0], b * R, min((b + 1) * R, M), C)
    return y, mean, var


cdef inline void _sum_rows_and_squares(const floating* x, double* acc, Py_ssize_t r0, Py_ssize_t r1,
                                       Py_ssize_t C) noexcept nogil:
    """acc[c] = sum of x[r, c], acc[C + c] = sum of x[r, c]**2, over rows r0 <= r < r1."""
    cdef Py_ssize_t r, c
    cdef const floating* row
    cdef double* acc2 = acc + C
    cdef double v
    for c in range(2 * C):
        acc[c] = 0
    for r in range(r0, r1):
        row = x + r * C
        for c in range(C):
            v = row[c]
            acc[c] += v
            acc2[c] += v * v


cdef inline void _sum_squares(const floating* x, const double* mu, double* acc, Py_ssize_t r0,
                              Py_ssize_t r1, Py_ssize_t C) noexcept nogil:
    """acc[c] = sum over rows r0 <= r < r1 of (x[r, c] - mu[c])**2."""
    cdef Py_ssize_t r, c
    cdef const floating* row
    cdef double d
    for c in range(C):
        acc[c] = 0
    for r in range(r0, r1):
        row = x + r * C
        for c in range(C):
            d = row[c] - mu[c]
            acc[c] += d * d


cdef inline void _affine_rows(const floating* x, floating* y, const floating* shift,
                              const floating* scale, const floating* beta, Py_ssize_t r0,
                              Py_ssize_t r1, Py_ssize_t C) noexcept nogil:
    """y[r, c] = (x[r, c] - shift[c]) * scale[c] + beta[c] for rows r0 <= r < r1."""
    cdef Py_ssize_t r, c
    cdef const floating* x_row
    cdef floating* y_row
    for r in range(r0, r1):
        x_row = x + r * C
        y_row = y + r * C
        for c in range(C):
            y_row[c] = (x_row[c] - shift[c]) * scale[c] + beta[c]


# --------------------------------------------- batch_norm_backward_reduce

def batch_norm_backward_reduce(x, dy, mean, var, eps):
    """sums (2, C): sums[0] = sum over rows of dy * (x - mean) / sqrt(var + eps)
    (dgamma), sums[1] = sum over rows of dy (dbeta)."""
    return _backward_reduce(_matrix(x), _matrix(dy), mean, var, float(eps))


def _backward_reduce(const floating[:, ::1] x, const floating[:, ::1] dy, const floating[::1] mean,
                     const floating[::1] var, double eps):
    cdef Py_ssize_t M = x.shape[0], C = x.shape[1], R = block_rows(C), c
    cdef Py_ssize_t blocks = (M + R - 1) // R, b
    sums = np.zeros((2, C), np.float32 if floating is float else np.float64)
    cdef floating[:, ::1] sums_v = sums
    if M == 0 or C == 0:
        return sums
    # Block b's partial sums: part[b, :C] of dy * (x - mean), part[b, C:] of dy.
    cdef double[:, ::1] part = np.empty((blocks, 2 * C))
    cdef double[::1] total = np.empty(2 * C)
    cdef bint threads = M * C > PARALLEL_MIN_WORK
    with nogil:
        for b in prange(blocks, schedule="static", num_threads=nb_team_size(), use_threads_if=threads):
            _sum_dy_rows(&x[0, 0], &dy[0, 0], &mean[0], &part[b, 0], b * R, min((b + 1) * R, M), C)
        add_blocks(&part[0, 0], &total[0], blocks, 2 * C)
        for c in range(C):
            sums_v[0, c] = <floating>(total[c] / sqrt(var[c] + eps))
            sums_v[1, c] = <floating>total[C + c]
    return sums


cdef inline void _sum_dy_rows(const floating* x, const floating* dy, const floating* mean, double* acc,
                              Py_ssize_t r0, Py_ssize_t r1, Py_ssize_t C) noexcept nogil:
    """acc[c] = sum of dy[r, c] * (x[r, c] - mean[c]), acc[C + c] = sum of dy[r, c],
    over rows r0 <= r < r1."""
    cdef Py_ssize_t r, c
    cdef const floating* x_row
    cdef const floating* dy_row
    cdef double* acc_dy = acc + C
    for c in range(2 * C):
        acc[c] = 0
    for r in range(r0, r1):
        x_row = x + r * C
        dy_row = dy + r * C
        for c in range(C):
            acc[c] += <double>dy_row[c] * (<double>x_row[c] - mean[c])
            acc_dy[c] += dy_row[c]


# ---------------------------------------------------- batch_norm_backward

def batch_norm_backward(x, gamma, dy, sums, mean, var, eps):
    """dx = gamma * r * (dy - (sums[1] + (x - mean) * r * sums[0]) / M) with
    r = 1 / sqrt(var + eps) and M the number of rows."""
    return _backward(_matrix(x), gamma, _matrix(dy), sums, mean, var, float(eps)).reshape(x.shape)


def _backward(const floating[:, ::1] x, const floating[::1] gamma, const floating[:, ::1] dy,
              const floating[:, ::1] sums, const floating[::1] mean, const floating[::1] var, double eps):
    # dx = a*dy - k*(x - mean) - b per channel, with a = gamma*r, k = a*r*sums[0]/M and
    # b = a*sums[1]/M, computed in float64 and rounded to x's dtype once.
    cdef Py_ssize_t M = x.shape[0], C = x.shape[1], R = block_rows(C), c
    cdef Py_ssize_t blocks = (M + R - 1) // R, b
    dtype = np.float32 if floating is float else np.float64
    dx = np.empty((M, C), dtype)
    cdef floating[:, ::1] dx_v = dx
    if M == 0 or C == 0:
        return dx
    cdef floating[::1] a = np.empty(C, dtype), k = np.empty(C, dtype), shift = np.empty(C, dtype)
    cdef double r, ar
    cdef bint threads = M * C > PARALLEL_MIN_WORK
    with nogil:
        for c in range(C):
            r = 1.0 / sqrt(var[c] + eps)
            ar = gamma[c] * r
            a[c] = <floating>ar
            k[c] = <floating>(ar * r * sums[0, c] / M)
            shift[c] = <floating>(ar * sums[1, c] / M)
        for b in prange(blocks, schedule="static", num_threads=nb_team_size(), use_threads_if=threads):
            _backward_rows(&x[0, 0], &dy[0, 0], &dx_v[0, 0], &mean[0], &a[0], &k[0], &shift[0],
                           b * R, min((b + 1) * R, M), C)
    return dx


cdef inline void _backward_rows(const floating* x, const floating* dy, floating* dx, const floating* mean,
                                const floating* a, const floating* k, const floating* shift,
                                Py_ssize_t r0, Py_ssize_t r1, Py_ssize_t C) noexcept nogil:
    cdef Py_ssize_t r, c, o
    for r in range(r0, r1):
        o = r * C
        for c in range(C):
            dx[o + c] = a[c] * dy[o + c] - k[c] * (x[o + c] - mean[c]) - shift[c]


# ------------------------------------------------------- batch_norm_eval

def batch_norm_eval(x, mean, scale, beta):
    """y = (x - mean) * scale + beta per channel (evaluation mode, scale = gamma / sqrt(var + eps))."""
    return _eval(_matrix(x), mean, scale, beta).reshape(x.shape)


def _eval(const floating[:, ::1] x, const floating[::1] mean, const floating[::1] scale,
          const floating[::1] beta):
    cdef Py_ssize_t M = x.shape[0], C = x.shape[1], R = block_rows(C)
    cdef Py_ssize_t blocks = (M + R - 1) // R, b
    y = np.empty((M, C), np.float32 if floating is float else np.float64)
    cdef floating[:, ::1] y_v = y
    if M == 0 or C == 0:
        return y
    cdef bint threads = M * C > PARALLEL_MIN_WORK
    with nogil:
        for b in prange(blocks, schedule="static", num_threads=nb_team_size(), use_threads_if=threads):
            _affine_rows(&x[0, 0], &y_v[0, 0], &mean[0], &scale[0], &beta[0], b * R, min((b + 1) * R, M), C)
    return y
