# Per-channel sums over the rows of an (M, C) matrix (channels last, contiguous),
# shared by norm.pyx and elementwise.pyx.
#
# Block b of rows is [b*R, min((b + 1)*R, M)) with R = block_rows(C): a function
# of C alone, never of the thread count.  Each block adds its rows in order into
# its own row of float64 partial sums (one prange iteration per block); the
# partial sums are then added in block order (add_blocks).  So a sum has the same
# bits on any number of threads.
from nabla._kernels._types cimport floating

cdef enum:
    # About this many elements per block of rows (32 KiB of float32: a block is a
    # thread's unit of work and stays in cache).
    BLOCK_ELEMS = 1 << 13


cdef inline Py_ssize_t block_rows(Py_ssize_t C) noexcept nogil:
    """R, the rows per block: a function of C alone."""
    if C >= BLOCK_ELEMS:
        return 1
    return BLOCK_ELEMS // C if C > 0 else BLOCK_ELEMS


cdef inline void sum_rows(const floating* x, double* acc, Py_ssize_t r0, Py_ssize_t r1,
                          Py_ssize_t C) noexcept nogil:
    """acc[c] = sum over rows r0 <= r < r1 of x[r, c] (x is (M, C), row-major)."""
    cdef Py_ssize_t r, c
    cdef const floating* row
    for c in range(C):
        acc[c] = 0
    for r in range(r0, r1):
        row = x + r * C
        for c in range(C):
            acc[c] += row[c]


cdef inline void add_blocks(const double* part, double* total, Py_ssize_t blocks,
                            Py_ssize_t width) noexcept nogil:
    """total[c] = sum over blocks b, in order, of part[b*width + c]."""
    cdef Py_ssize_t b, c
    cdef const double* row
    for c in range(width):
        total[c] = 0
    for b in range(blocks):
        row = part + b * width
        for c in range(width):
            total[c] += row[c]
