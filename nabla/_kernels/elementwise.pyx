"""Elementwise kernels for the large tensors of a training step: ReLU, its
backward, the sum of two tensors of one shape, and per-channel sums (formulas in
``nabla/_backend.py``).

NumPy runs these on one thread and, for relu's derivative, as two passes with a
temporary mask.  Here each is one pass: a ``prange`` over fixed chunks of the
flat arrays (elementwise) or over fixed blocks of rows (``channel_sum``, whose
float64 partial sums are added in block order, ``_rows.pxd``: the same bits on
any number of threads).  Calls smaller than ``PARALLEL_MIN_WORK`` elements run
on one thread.
"""
from cython.parallel cimport prange

import numpy as np

from nabla._kernels._rows cimport add_blocks, block_rows, sum_rows
from nabla._kernels._types cimport floating

include "_team.pxi"


cdef enum:
    CHUNK = 1 << 14                  # elements per work unit of an elementwise pass
    PARALLEL_MIN_WORK = 1 << 15


_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


# ------------------------------------------------------------------- relu

def relu(x):
    """y = max(x, 0), NaN kept (NumPy's maximum); other dtypes than float32 and
    float64 take NumPy's maximum itself."""
    if x.dtype not in _FLOATS:
        return np.maximum(x, 0).astype(x.dtype, copy=False)
    return _relu(x.reshape(-1)).reshape(x.shape)


def _relu(const floating[::1] x):
    cdef Py_ssize_t n = x.shape[0], chunks = (n + CHUNK - 1) // CHUNK, k
    y = np.empty(n, np.float32 if floating is float else np.float64)
    cdef floating[::1] y_v = y
    if n == 0:
        return y
    with nogil:
        for k in prange(chunks, schedule="static", num_threads=nb_team_size(),
                        use_threads_if=n > PARALLEL_MIN_WORK):
            _relu_chunk(&x[0], &y_v[0], k * CHUNK, min((k + 1) * CHUNK, n))
    return y


cdef inline void _relu_chunk(const floating* x, floating* y, Py_ssize_t i0, Py_ssize_t i1) noexcept nogil:
    cdef Py_ssize_t i
    cdef floating v
    for i in range(i0, i1):
        v = x[i]
        y[i] = 0 if v <= 0 else v    # NaN <= 0 is false: NaN stays (and -0.0 gives 0)


def relu_backward(g, x):
    """dx = g * (1 where x > 0, else 0): relu's VJP (a NaN or inf in g where
    x <= 0 gives NaN, as a multiplication by 0 does)."""
    return _relu_backward(g.reshape(-1), x.reshape(-1)).reshape(g.shape)


def _relu_backward(const floating[::1] g, const floating[::1] x):
    cdef Py_ssize_t n = g.shape[0], chunks = (n + CHUNK - 1) // CHUNK, k
    dx = np.empty(n, np.float32 if floating is float else np.float64)
    cdef floating[::1] dx_v = dx
    if n == 0:
        return dx
    with nogil:
        for k in prange(chunks, schedule="static", num_threads=nb_team_size(),
                        use_threads_if=n > PARALLEL_MIN_WORK):
            _relu_backward_chunk(&g[0], &x[0], &dx_v[0], k * CHUNK, min((k + 1) * CHUNK, n))
    return dx


cdef inline void _relu_backward_chunk(const floating* g, const floating* x, floating* dx,
                                      Py_ssize_t i0, Py_ssize_t i1) noexcept nogil:
    cdef Py_ssize_t i
    cdef floating one = 1, zero = 0
    for i in range(i0, i1):
        dx[i] = g[i] * (one if x[i] > 0 else zero)


# -------------------------------------------------------------------- add

def add(x, y):
    """x + y, both of one shape and dtype (float32 or float64)."""
    return _add(x.reshape(-1), y.reshape(-1)).reshape(x.shape)


def _add(const floating[::1] x, const floating[::1] y):
    cdef Py_ssize_t n = x.shape[0], chunks = (n + CHUNK - 1) // CHUNK, k
    out = np.empty(n, np.float32 if floating is float else np.float64)
    cdef floating[::1] out_v = out
    if n == 0:
        return out
    with nogil:
        for k in prange(chunks, schedule="static", num_threads=nb_team_size(),
                        use_threads_if=n > PARALLEL_MIN_WORK):
            _add_chunk(&x[0], &y[0], &out_v[0], k * CHUNK, min((k + 1) * CHUNK, n))
    return out


cdef inline void _add_chunk(const floating* x, const floating* y, floating* out,
                            Py_ssize_t i0, Py_ssize_t i1) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(i0, i1):
        out[i] = x[i] + y[i]


# ------------------------------------------------------------ channel_sum

def channel_sum(x):
    """s (C,): the sum over every axis but the last, float64 partial sums rounded
    to x's dtype once."""
    cdef Py_ssize_t M = 1, axis, last = x.ndim - 1    # (no negative indices: wraparound is off)
    for axis in range(last):
        M *= x.shape[axis]
    return _channel_sum(x.reshape(M, x.shape[last]))


def _channel_sum(const floating[:, ::1] x):
    cdef Py_ssize_t M = x.shape[0], C = x.shape[1], R = block_rows(C), c
    cdef Py_ssize_t blocks = (M + R - 1) // R, b
    s = np.zeros(C, np.float32 if floating is float else np.float64)
    cdef floating[::1] s_v = s
    if M == 0 or C == 0:
        return s
    cdef double[:, ::1] part = np.empty((blocks, C))
    cdef double[::1] total = np.empty(C)
    with nogil:
        for b in prange(blocks, schedule="static", num_threads=nb_team_size(),
                        use_threads_if=M * C > PARALLEL_MIN_WORK):
            sum_rows(&x[0, 0], &part[b, 0], b * R, min((b + 1) * R, M), C)
        add_blocks(&part[0, 0], &total[0], blocks, C)
        for c in range(C):
            s_v[c] = <floating>total[c]
    return s
