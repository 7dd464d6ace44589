# Depthwise convolutions for conv.pyx (included there): groups == C_in == C_out, one
# input and one output channel per group, by the channel-vector kernels of
# _depthwise.h (forward, transpose and filter gradient).

cdef extern from "_depthwise.h" nogil:
    ctypedef struct nb_dwgeo:
        Py_ssize_t H, W, C, nch
        Py_ssize_t row0, row_step, na, w_row
        Py_ssize_t col0, col_pix, col_tap, nb, w_col
        Py_ssize_t npix, y_pix
    ctypedef struct nb_dwfgeo:
        Py_ssize_t H, W, C, nch, Wo
        Py_ssize_t row0, row_step, nrows
        Py_ssize_t col0, col_pix, col_tap, Kw
    void nb_dw_row_f32(const float *x, const float *w, float *y, const float *zeros,
                       const nb_dwgeo *g)
    void nb_dw_row_f64(const double *x, const double *w, double *y, const double *zeros,
                       const nb_dwgeo *g)
    void nb_dw_fgrad_f32(const float *x, const float *dy, float *dw, const float *zeros,
                         const nb_dwfgeo *g)
    void nb_dw_fgrad_f64(const double *x, const double *dy, double *dw, const double *zeros,
                         const nb_dwfgeo *g)
    enum:
        NB_DW_CB_F32
        NB_DW_CB_F64
        NB_DW_VBYTES


cdef object _aligned_as(tuple shape, dtype, size_t address, bint zero):
    """An array (np.empty, or np.zeros if zero) whose data sits at the same offset in
    its NB_DW_VBYTES-byte block as address.

    The depthwise kernels align their vector loads to the input x (see _depthwise.h);
    an output and a filter with x's offset are then aligned too.
    """
    cdef Py_ssize_t itemsize = 4 if dtype is np.float32 else 8, nbytes = itemsize, d
    for d in shape:
        nbytes *= d
    raw = (np.zeros if zero else np.empty)(nbytes + NB_DW_VBYTES, dtype=np.uint8)
    cdef size_t start = (address - raw.ctypes.data) % NB_DW_VBYTES
    return raw[start:start + nbytes].view(dtype).reshape(shape)


cdef object _filter_aligned_as(const floating[:, :, :, ::1] w, size_t address):
    """w itself if its vectors line up with those of address, else a copy that does."""
    if (<size_t>&w[0, 0, 0, 0] - address) % NB_DW_VBYTES == 0:
        return w
    copy = _aligned_as((w.shape[0], w.shape[1], w.shape[2], w.shape[3]),
                       np.float32 if floating is float else np.float64, address, False)
    copy[...] = w
    return copy


cdef inline void _dw_row(const floating *x, const floating *w, floating *y,
                         const floating *zeros, const nb_dwgeo *g) noexcept nogil:
    if floating is float:
        nb_dw_row_f32(x, w, y, zeros, g)
    else:
        nb_dw_row_f64(x, w, y, zeros, g)


cdef object _depthwise_conv2d(const floating[:, :, :, ::1] x, const floating[:, :, :, ::1] w,
                              Py_ssize_t Ho, Py_ssize_t Wo, Window win, bint threads):
    """y = conv2d(x, w) with groups == C_in == C_out (w: (Kh, Kw, 1, C)).

    Work unit: one output row y[n, i], all channels (nb_dw_row); rows are disjoint.
    """
    dtype = np.float32 if floating is float else np.float64
    cdef Py_ssize_t N = x.shape[0], H = x.shape[1], W = x.shape[2], C = x.shape[3], row
    cdef size_t at = <size_t>&x[0, 0, 0, 0]
    y = _aligned_as((N, Ho, Wo, C), dtype, at, False)
    cdef floating[:, :, :, ::1] y_view = y
    cdef const floating[:, :, :, ::1] wa = _filter_aligned_as(w, at)
    cdef const floating[::1] zeros = np.zeros(C, dtype=dtype)
    cdef nb_dwgeo g
    g.H, g.W, g.C, g.nch = H, W, C, C
    g.row_step, g.na, g.w_row = win.dh, win.kh, win.kw * C
    g.col0, g.col_pix, g.col_tap, g.nb, g.w_col = -win.pl, win.sw, win.dw, win.kw, C
    g.npix, g.y_pix = Wo, C
    with nogil:
        for row in prange(N * Ho, schedule="static", num_threads=nb_team_size(),
                          use_threads_if=threads):
            _dw_forward_row(&x[0, 0, 0, 0] + (row // Ho) * H * W * C, &wa[0, 0, 0, 0],
                            &y_view[0, 0, 0, 0] + row * Wo * C, &zeros[0], g,
                            (row % Ho) * win.sh - win.pt)
    return y


cdef inline void _dw_forward_row(const floating *x, const floating *w, floating *y,
                                 const floating *zeros, nb_dwgeo g,
                                 Py_ssize_t row0) noexcept nogil:
    """One output row: g (a private copy) with its first input row row0 = i*sh - pt."""
    g.row0 = row0
    _dw_row(x, w, y, zeros, &g)


cdef object _depthwise_conv2d_transpose(const floating[:, :, :, ::1] dy,
                                        const floating[:, :, :, ::1] w, Py_ssize_t H,
                                        Py_ssize_t W, Window win, bint threads):
    """dx = conv2d_transpose(dy, w) with groups == C_in == C_out.

    Each output phase (h % sh, v % sw) is a depthwise correlation of dy with the
    taps of that phase (_phase_taps), read backwards through dy; for stride 1 that
    is the whole filter, flipped.  Work unit: one row dx[n, h], all its phases.
    """
    dtype = np.float32 if floating is float else np.float64
    cdef Py_ssize_t N = dy.shape[0], C = dy.shape[3], row
    cdef size_t at = <size_t>&dy[0, 0, 0, 0]
    dx = _aligned_as((N, H, W, C), dtype, at, False)
    cdef floating[:, :, :, ::1] dx_view = dx
    cdef const floating[:, :, :, ::1] wa = _filter_aligned_as(w, at)
    cdef const floating[::1] zeros = np.zeros(C, dtype=dtype)
    with nogil:
        for row in prange(N * H, schedule="static", num_threads=nb_team_size(),
                          use_threads_if=threads):
            _dw_transpose_row(&dy[0, 0, 0, 0], &wa[0, 0, 0, 0], &dx_view[0, 0, 0, 0],
                              &zeros[0], dy.shape[1], dy.shape[2], C, H, W, win, row)
    return dx


cdef inline void _dw_transpose_row(const floating *dy, const floating *w, floating *dx,
                                   const floating *zeros, Py_ssize_t Ho, Py_ssize_t Wo,
                                   Py_ssize_t C, Py_ssize_t H, Py_ssize_t W, Window win,
                                   Py_ssize_t row) noexcept nogil:
    """Row dx[n, h]: one nb_dw_row call per column phase v % sw."""
    cdef Py_ssize_t n = row // H, h = row % H, rw
    cdef Py_ssize_t a0, a_step, na, e0, e_step, b0, b_step, nb, f0, f_step
    cdef nb_dwgeo g
    # Row tap k: dy row h // sh + e0 + k*e_step, filter row a0 + k*a_step.
    _phase_taps(h % win.sh + win.pt, win.dh, win.sh, win.kh, &a0, &a_step, &na, &e0, &e_step)
    g.H, g.W, g.C, g.nch = Ho, Wo, C, C
    g.row0, g.row_step, g.na, g.w_row = h // win.sh + e0, e_step, na, a_step * win.kw * C
    g.y_pix = win.sw * C
    for rw in range(min(win.sw, W)):
        # Column tap l of phase pixel q (dx column q*sw + rw): dy column q + f0 + l*f_step,
        # filter column b0 + l*b_step.
        _phase_taps(rw + win.pl, win.dw, win.sw, win.kw, &b0, &b_step, &nb, &f0, &f_step)
        g.col0, g.col_pix, g.col_tap, g.nb, g.w_col = f0, 1, f_step, nb, b_step * C
        g.npix = (W - rw + win.sw - 1) // win.sw
        _dw_row(dy + n * Ho * Wo * C, w + (a0 * win.kw + b0) * C, dx + (row * W + rw) * C,
                zeros, &g)


cdef object _depthwise_filter_grad(const floating[:, :, :, ::1] x,
                                   const floating[:, :, :, ::1] dy, Window win, bint threads):
    """dw (Kh, Kw, 1, C) = conv2d_filter_grad(x, dy) with groups == C_in == C_out.

    As in conv2d_filter_grad's fast path, the sum over pixels is split by the shapes
    alone: pixel units (rows of about FG_PIXELS output pixels) go, in order, to S
    chunks, each summed into its own copy of dw, and the copies are added in the
    order 0, 1, ..., S-1; so dw has the same bits on any number of threads.  Q
    channel slices give the threads more units (channels never mix, so slicing does
    not change any sum).
    """
    dtype = np.float32 if floating is float else np.float64
    cdef Py_ssize_t N = x.shape[0], Ho = dy.shape[1], Wo = dy.shape[2], C = x.shape[3]
    cdef Py_ssize_t cb = NB_DW_CB_F32 if floating is float else NB_DW_CB_F64
    cdef Py_ssize_t rows_per_unit = min(Ho, (FG_PIXELS + Wo - 1) // Wo)
    cdef Py_ssize_t units_per_image = (Ho + rows_per_unit - 1) // rows_per_unit
    cdef Py_ssize_t size = win.kh * win.kw * C, S, Q, T, slice_width, chunks, u, p
    S = max(1, (N * Ho * Wo) // FG_PART_PIXELS, min(FG_SMALL_PARTS, FG_SMALL_BYTES // (
        size * x.itemsize)))
    S = min(S, N * units_per_image, FG_MAX_PARTS)
    while S & (S - 1):     # a power of two: S units share out evenly on 2, 4, 8... threads
        S = S & (S - 1)
    T = nb_team_size() if threads else 1
    chunks = (C + cb - 1) // cb
    Q = 1
    while Q < chunks and (S * Q) % T != 0 and S * Q < 4 * T:
        Q += 1
    slice_width = ((chunks + Q - 1) // Q) * cb
    Q = (C + slice_width - 1) // slice_width
    # The partial sums share x's alignment, as the kernel's vectors do.
    parts_arr = _aligned_as((S, win.kh, win.kw, 1, C), dtype, <size_t>&x[0, 0, 0, 0], True)
    cdef floating[:, :, :, :, ::1] parts = parts_arr
    cdef floating *parts0 = &parts[0, 0, 0, 0, 0]
    cdef const floating[::1] zeros = np.zeros(C, dtype=dtype)
    with nogil:
        for u in prange(S * Q, schedule="static", num_threads=nb_team_size(),
                        use_threads_if=threads):
            for p in range((u // Q) * N * units_per_image // S,
                           (u // Q + 1) * N * units_per_image // S):
                _dw_fgrad_unit(&x[0, 0, 0, 0], &dy[0, 0, 0, 0], parts0 + (u // Q) * size,
                               &zeros[0], x.shape[1], x.shape[2], C, Ho, Wo, win,
                               p // units_per_image, (p % units_per_image) * rows_per_unit,
                               rows_per_unit, (u % Q) * slice_width,
                               min(C, (u % Q + 1) * slice_width))
        if S > 1:
            _sum_parts(parts0, S, size, threads)
    return parts_arr[0]


cdef inline void _dw_fgrad_unit(const floating *x, const floating *dy, floating *dw,
                                const floating *zeros, Py_ssize_t H, Py_ssize_t W,
                                Py_ssize_t C, Py_ssize_t Ho, Py_ssize_t Wo, Window win,
                                Py_ssize_t n, Py_ssize_t i0, Py_ssize_t rows, Py_ssize_t c0,
                                Py_ssize_t c1) noexcept nogil:
    """dw[.., c0:c1] += the products of dy rows [i0, i0 + rows) of image n, one filter
    row a per nb_dw_fgrad call, over the output rows whose tap a is inside the input."""
    cdef Py_ssize_t i1 = min(Ho, i0 + rows), a, r0, ia, ib
    cdef nb_dwfgeo g
    g.H, g.W, g.C, g.nch, g.Wo = H, W, C, c1 - c0, Wo
    g.row_step = win.sh
    g.col0, g.col_pix, g.col_tap, g.Kw = -win.pl, win.sw, win.dw, win.kw
    for a in range(win.kh):
        r0 = a * win.dh - win.pt
        ia = max(i0, first_tap(r0, win.sh))
        ib = min(i1, end_tap(r0, win.sh, Ho, H))
        if ia >= ib:
            continue
        g.row0, g.nrows = r0 + ia * win.sh, ib - ia
        if floating is float:
            nb_dw_fgrad_f32(x + n * H * W * C + c0, dy + (n * Ho + ia) * Wo * C + c0,
                            dw + a * win.kw * C + c0, zeros, &g)
        else:
            nb_dw_fgrad_f64(x + n * H * W * C + c0, dy + (n * Ho + ia) * Wo * C + c0,
                            dw + a * win.kw * C + c0, zeros, &g)
