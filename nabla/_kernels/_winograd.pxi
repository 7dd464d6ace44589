# Winograd F(4x4, 3x3) for conv.pyx (included there): 3x3 stride-1 conv2d and
# conv2d_transpose (Lavin & Gray, CVPR 2016); the transforms are in _winograd.h, the
# 36 products run on the direct algorithm's block micro-kernel.

cdef inline bint _winograd_ok(Py_ssize_t C, Py_ssize_t O, Py_ssize_t groups,
                              Window win) noexcept:
    """Whether a conv2d (or a conv2d_transpose, with C and O its dy's and dx's channels)
    can run Winograd F(4x4, 3x3): 3x3 filters, stride 1, any dilation, no groups,
    WINOGRAD_MIN_C <= C <= WINOGRAD_MAX_C reduction channels and O >= WINOGRAD_MIN_C
    outputs.  Measured
    (benchmarks/results/2026-11-30-winograd.md): with fewer channels the transforms
    cost more than they save; with more, its float32 rounding error (growing with C)
    passes 1e-5 of max|y|, and the 36 transformed filters (36*C*O values) no longer
    stay in cache.  float64 takes the same path (its error stays near 1e-14), so it
    keeps about half of float32's speed."""
    return (groups == 1 and win.kh == 3 and win.kw == 3 and win.sh == 1 and win.sw == 1
            and WINOGRAD_MIN_C <= C <= WINOGRAD_MAX_C and O >= WINOGRAD_MIN_C)


cdef inline bint _winograd_fg_ok(Py_ssize_t C, Py_ssize_t O, Py_ssize_t groups,
                                 Window win) noexcept:
    """Whether a filter gradient can run Winograd F(3x3, 4x4): a 3x3 stride-1
    ungrouped layer (any dilation) with WINOGRAD_FG_MIN_C to WINOGRAD_MAX_C channels each
    way.  With fewer channels, writing and reading the transformed tiles (36 values
    per channel and tile) costs what the products save: at 64 channels it ran as
    fast as the direct form; its error is the direct form's at 128 and 256
    (benchmarks/results/2026-11-30-session6.md)."""
    return (groups == 1 and win.kh == 3 and win.kw == 3 and win.sh == 1 and win.sw == 1
            and C >= WINOGRAD_FG_MIN_C and O >= WINOGRAD_FG_MIN_C
            and C <= WINOGRAD_MAX_C and O <= WINOGRAD_MAX_C)


cdef extern from "_winograd.h" nogil:
    void nb_wino_input_f32(const float *x, Py_ssize_t H, Py_ssize_t W, Py_ssize_t C,
                           Py_ssize_t r0, Py_ssize_t c0, Py_ssize_t dh, Py_ssize_t dw,
                           float *V, Py_ssize_t vs, const float *zeros)
    void nb_wino_input_f64(const double *x, Py_ssize_t H, Py_ssize_t W, Py_ssize_t C,
                           Py_ssize_t r0, Py_ssize_t c0, Py_ssize_t dh, Py_ssize_t dw,
                           double *V, Py_ssize_t vs, const double *zeros)
    float nb_wino_output_f32(const float *M, Py_ssize_t ms, Py_ssize_t O, float *y,
                             Py_ssize_t W, Py_ssize_t r0, Py_ssize_t c0, Py_ssize_t dh,
                             Py_ssize_t dw, int nr, int nc)
    double nb_wino_output_f64(const double *M, Py_ssize_t ms, Py_ssize_t O, double *y,
                              Py_ssize_t W, Py_ssize_t r0, Py_ssize_t c0, Py_ssize_t dh,
                              Py_ssize_t dw, int nr, int nc)
    float nb_wino_filter_f32(const float *w, Py_ssize_t ts, Py_ssize_t cs, Py_ssize_t os,
                             Py_ssize_t nc, Py_ssize_t O, float *up, Py_ssize_t xs,
                             Py_ssize_t panel, Py_ssize_t vb)
    double nb_wino_filter_f64(const double *w, Py_ssize_t ts, Py_ssize_t cs, Py_ssize_t os,
                              Py_ssize_t nc, Py_ssize_t O, double *up, Py_ssize_t xs,
                              Py_ssize_t panel, Py_ssize_t vb)
    void nb_wino_dy_f32(const float *dy, Py_ssize_t Ho, Py_ssize_t Wo, Py_ssize_t O,
                        Py_ssize_t r0, Py_ssize_t c0, Py_ssize_t dh, Py_ssize_t dw,
                        float *D, Py_ssize_t ds, const float *zeros)
    void nb_wino_dy_f64(const double *dy, Py_ssize_t Ho, Py_ssize_t Wo, Py_ssize_t O,
                        Py_ssize_t r0, Py_ssize_t c0, Py_ssize_t dh, Py_ssize_t dw,
                        double *D, Py_ssize_t ds, const double *zeros)
    void nb_wino_fgrad_output_f32(const float *Mw, Py_ssize_t ms, Py_ssize_t n, float *dw,
                                  Py_ssize_t ds)
    void nb_wino_fgrad_output_f64(const double *Mw, Py_ssize_t ms, Py_ssize_t n, double *dw,
                                  Py_ssize_t ds)
    enum:
        NB_WINO_FC


ctypedef struct WinoTiles:
    # The 4x4 output tiles of one Winograd call and where they read and write.
    Py_ssize_t H, W, C       # input images: x, or dy for conv2d_transpose
    Py_ssize_t Ho, Wo, O     # output images: y, or dx
    Py_ssize_t pt, pl        # the input pixel of output (i, j) under tap (a, b) is
    Py_ssize_t dh, dw        # (i - pt + a*dh, j - pl + b*dw)
    Py_ssize_t th, tw        # tile rows and columns of one phase (below)
    Py_ssize_t tiles         # N * (dh*th) * (dw*tw)


cdef void _wino_tiles(WinoTiles *g, Py_ssize_t N, Py_ssize_t H, Py_ssize_t W, Py_ssize_t C,
                      Py_ssize_t Ho, Py_ssize_t Wo, Py_ssize_t O, Py_ssize_t pt,
                      Py_ssize_t pl, Py_ssize_t dh, Py_ssize_t dw) noexcept:
    """Fill g.  A dilated layer is an undilated one on each phase, the sub-image of
    output pixels (ph + dh*i, pw + dw*j) (ph < dh, pw < dw), which reads only input
    pixels dh rows and dw columns apart: so every 4x4 tile lies in one phase, its
    pixels dh and dw apart.  Each phase gets th x tw tiles (enough for the largest
    phase; a smaller one leaves its last tiles partly or wholly empty); tiles are
    numbered by image, then (phase row, tile row), then (phase column, tile column):
    for an undilated layer, image, tile row, tile column."""
    g.H, g.W, g.C, g.Ho, g.Wo, g.O, g.pt, g.pl, g.dh, g.dw = H, W, C, Ho, Wo, O, pt, pl, dh, dw
    g.th = ((Ho + dh - 1) // dh + 3) // 4
    g.tw = ((Wo + dw - 1) // dw + 3) // 4
    g.tiles = N * dh * g.th * dw * g.tw


cdef inline Py_ssize_t _tile_origin(const WinoTiles *g, Py_ssize_t tile, Py_ssize_t *r,
                                    Py_ssize_t *c, Py_ssize_t *nr,
                                    Py_ssize_t *nc) noexcept nogil:
    """Tile `tile`'s image (returned), its top-left output pixel (r, c) and how many
    of its rows and columns are inside the output (nr, nc <= 4; <= 0: none)."""
    cdef Py_ssize_t TH = g.dh * g.th, TW = g.dw * g.tw
    cdef Py_ssize_t R = tile % (TH * TW) // TW, Q = tile % TW
    cdef Py_ssize_t ph = R // g.th, pw = Q // g.tw
    r[0] = ph + 4 * g.dh * (R % g.th)
    c[0] = pw + 4 * g.dw * (Q % g.tw)
    nr[0] = min(4, (g.Ho - ph + g.dh - 1) // g.dh - 4 * (R % g.th))
    nc[0] = min(4, (g.Wo - pw + g.dw - 1) // g.dw - 4 * (Q % g.tw))
    return tile // (TH * TW)

cdef object _winograd_conv(const floating[:, :, :, ::1] x, const floating[:, :, :, ::1] w,
                           Py_ssize_t Ho, Py_ssize_t Wo, Py_ssize_t pt, Py_ssize_t pl,
                           Py_ssize_t dh, Py_ssize_t dw, bint transpose, bint threads):
    """y (N, Ho, Wo, O) = the 3x3 stride-1 correlation of x (N, H, W, C) with the filter
    w (3, 3, C, O), padding pt on top and pl on the left (the rest is zeros),
    dilation (dh, dw), by Winograd F(4x4, 3x3) (see _winograd.h; dilated: tiles of
    pixels dh and dw apart, see _wino_tiles).  transpose: w is (3, 3, O, C) and the
    correlation is with it turned by 180 degrees, its channel axes swapped (the
    transposed convolution's taps).

    The 36 transformed filters U[xi] (C x O, computed in float64 and rounded once)
    are packed like a 1x1 convolution's filter for the block micro-kernel.  Then,
    for a small C*O (the filters stay in cache), work units of TB consecutive 4x4
    output tiles (in the order image, tile row, tile column), each with its own V
    and M (_winograd_run); otherwise chunks of tiles shared by the team
    (_winograd_chunks).  Scratch does not depend on the batch either way.
    Returns None if an output is not finite: an inf or NaN in x (or an overflow)
    spreads over whole tiles in the transformed domain, where the direct form gives
    IEEE's answer cell by cell, so the caller then runs the direct form.
    """
    dtype = np.float32 if floating is float else np.float64
    cdef Py_ssize_t N = x.shape[0], H = x.shape[1], W = x.shape[2], C = x.shape[3]
    cdef Py_ssize_t O = w.shape[2] if transpose else w.shape[3]
    cdef DirectGeo d
    _direct_geo(&d, 1, 1, 1, C, 1, 1, O, 1, make_window((1, 1), (1, 1), (0, 0, 0, 0),
                (1, 1)), False, floating is float)
    if d.kind != KIND_BLOCK and d.kind != KIND_HALF and d.kind != KIND_WIDE:
        return None          # not reached: _winograd_ok asks for >= 16 outputs
    packed = _aligned_zeros((36 * d.nob, 1, 1, C, d.vb), dtype, False)
    cdef floating[:, :, :, :, ::1] up = packed
    filter_poison = np.zeros((C + NB_WINO_FC - 1) // NB_WINO_FC, dtype=dtype)
    cdef floating[::1] fp = filter_poison
    with nogil:
        _winograd_filter(&w[0, 0, 0, 0], w.shape[2], w.shape[3], transpose, C, O, &d,
                         &up[0, 0, 0, 0, 0], &fp[0], threads)
    if np.isnan(filter_poison).any():
        return None
    cdef WinoTiles g
    _wino_tiles(&g, N, H, W, C, Ho, Wo, O, pt, pl, dh, dw)
    cdef Py_ssize_t tiles = g.tiles, T = nb_team_size() if threads else 1, TB, nchunks
    cdef Py_ssize_t chunk_bytes
    y = np.empty((N, Ho, Wo, O), dtype=dtype)
    cdef floating[:, :, :, ::1] y_view = y
    cdef const floating[::1] zeros = np.zeros(max(C, O), dtype=dtype)
    cdef floating[:, ::1] scratch
    cdef floating[::1] poison
    if _winograd_shared(C, O, floating is float):
        # Chunks of TB tiles (a multiple of the kernel's pixel tile) whose V and M fit
        # in WINOGRAD_CHUNK_BYTES, or in as many bytes as the transformed filters
        # (which stream once per chunk) if those are more; as few and as even as that
        # allows.  256 channels: float64 forward 0.78-0.81 of the time with 4 MB
        # chunks, float32 0.88 (benchmarks/results/2026-11-30-session8.md).
        chunk_bytes = max(WINOGRAD_CHUNK_BYTES, 36 * C * O * sizeof(floating))
        nchunks = (tiles * 36 * (C + O) * sizeof(floating) + chunk_bytes - 1) // chunk_bytes
        TB = ((tiles + nchunks - 1) // nchunks + 7) // 8 * 8
        scratch_arr = _aligned_zeros((1, 36 * TB * (C + O)), dtype, False)
        scratch = scratch_arr
        units = np.zeros(tiles, dtype=dtype)             # 0, or NaN: not finite
        poison = units
        with nogil:
            _winograd_chunks(&x[0, 0, 0, 0], &g, &up[0, 0, 0, 0, 0], &d,
                             &y_view[0, 0, 0, 0], TB, &scratch[0, 0], &zeros[0], &poison[0],
                             threads)
    else:
        # Tiles per unit: a multiple of the kernel's pixel tile, V and M within
        # WINOGRAD_SCRATCH bytes.
        TB = (WINOGRAD_SCRATCH // (36 * (C + O) * sizeof(floating))) // 8 * 8
        TB = max(8, min(64, TB))
        if d.kind == KIND_HALF and NB_HAVE_HALF16 and TB > 16:
            TB = TB // 16 * 16       # whole tiles of nb_conv_half16 (_winograd_product)
        scratch_arr = _aligned_zeros((T, 36 * TB * (C + O)), dtype)
        scratch = scratch_arr
        units = np.zeros((tiles + TB - 1) // TB, dtype=dtype)     # 0, or NaN: not finite
        poison = units
        with nogil:
            _winograd_run(&x[0, 0, 0, 0], &g, &up[0, 0, 0, 0, 0], &d,
                          &y_view[0, 0, 0, 0], TB, &scratch[0, 0], &zeros[0], &poison[0],
                          threads)
    if np.isnan(units).any():
        return None
    return y


cdef void _winograd_filter(const floating *w, Py_ssize_t Cw, Py_ssize_t Ow, bint transpose,
                           Py_ssize_t C, Py_ssize_t O, const DirectGeo *d, floating *up,
                           floating *poison, bint threads) noexcept nogil:
    """The packed transformed filters (see _winograd_conv), NB_WINO_FC reduction
    channels per unit; poison[u] is NaN if a value of unit u is not finite."""
    cdef Py_ssize_t u, c, panel = _panel_size(d)
    cdef Py_ssize_t ts = Cw * Ow, cs = 1 if transpose else Ow, os = Ow if transpose else 1
    # transpose: tap (a, b), output o of channel c is w[2 - a, 2 - b, o, c].
    cdef const floating *w0 = w + 8 * ts if transpose else w
    if transpose:
        ts = -ts
    for u in prange((C + NB_WINO_FC - 1) // NB_WINO_FC, schedule="static",
                    num_threads=nb_team_size(), use_threads_if=threads):
        c = u * NB_WINO_FC
        if floating is float:
            poison[u] = nb_wino_filter_f32(w0 + c * cs, ts, cs, os, min(NB_WINO_FC, C - c), O,
                                           up + c * d.vb, d.nob * panel, panel, d.vb)
        else:
            poison[u] = nb_wino_filter_f64(w0 + c * cs, ts, cs, os, min(NB_WINO_FC, C - c), O,
                                           up + c * d.vb, d.nob * panel, panel, d.vb)


cdef inline bint _winograd_shared(Py_ssize_t C, Py_ssize_t O, bint single) noexcept:
    """Whether a call runs in shared chunks (_winograd_chunks) rather than in
    per-thread units of tiles (_winograd_run): when its 36 transformed filters
    (36*C*O values) would not stay in cache while each unit sweeps them all."""
    if WINOGRAD_SCHEME:
        return WINOGRAD_SCHEME == 2
    return 36 * C * O * (4 if single else 8) > WINOGRAD_UNIT_FILTER_BYTES


# A switch for benchmarks/winograd.py: 0 lets _winograd_shared choose, 1 always runs
# per-thread units, 2 always shared chunks.
cdef int WINOGRAD_SCHEME = 0


def _winograd_scheme(value=None):
    """The Winograd schedule switch (0 auto, 1 units, 2 chunks); set it if value is given."""
    global WINOGRAD_SCHEME
    if value is not None:
        WINOGRAD_SCHEME = int(value)
    return WINOGRAD_SCHEME


cdef void _winograd_chunks(const floating *x, const WinoTiles *g, const floating *up,
                           const DirectGeo *d, floating *y, Py_ssize_t TB, floating *V,
                           const floating *zeros, floating *poison,
                           bint threads) noexcept nogil:
    """The Winograd convolution in chunks of TB tiles shared by the team, for layers
    whose transformed filters are too large for every thread to sweep them all.

    Per chunk, three parallel loops: the input transforms of its tiles into V (36,
    TB, C); the 36 x nob products M[xi][:, block] = V[xi] @ U[xi][:, block], a unit
    each (so each thread streams only its share of the filters, past the chunk's
    tiles); the output transforms.  Each value of M and y is computed by one unit in
    a fixed order: the same bits on any number of threads.  poison[t] is NaN if an
    output of tile t is not finite.
    """
    cdef Py_ssize_t C = g.C, O = g.O
    cdef floating *M = V + 36 * TB * C
    cdef Py_ssize_t chunk, t0, nt, t, u
    for chunk in range((g.tiles + TB - 1) // TB):
        t0 = chunk * TB
        nt = min(TB, g.tiles - t0)
        for t in prange(nt, schedule="static", num_threads=nb_team_size(),
                        use_threads_if=threads):
            _winograd_input(x, g, t0 + t, V + t * C, TB * C, zeros)
        for u in prange(36 * d.nob, schedule="static", num_threads=nb_team_size(),
                        use_threads_if=threads):
            _winograd_product(V, up, M, d, u // d.nob, u % d.nob, nt, TB, C, O, zeros)
        for t in prange(nt, schedule="static", num_threads=nb_team_size(),
                        use_threads_if=threads):
            poison[t0 + t] = _winograd_output(M + t * O, TB * O, y, g, t0 + t)


cdef inline void _winograd_input(const floating *x, const WinoTiles *g, Py_ssize_t tile,
                                 floating *V, Py_ssize_t vs,
                                 const floating *zeros) noexcept nogil:
    """V[xi * vs + 0 .. C) = the transformed input patch of tile `tile` (_wino_tiles)."""
    cdef Py_ssize_t r, c, nr, nc, n = _tile_origin(g, tile, &r, &c, &nr, &nc)
    cdef const floating *xn = x + n * g.H * g.W * g.C
    if floating is float:
        nb_wino_input_f32(xn, g.H, g.W, g.C, r - g.pt, c - g.pl, g.dh, g.dw, V, vs, zeros)
    else:
        nb_wino_input_f64(xn, g.H, g.W, g.C, r - g.pt, c - g.pl, g.dh, g.dw, V, vs, zeros)


cdef inline floating _winograd_output(const floating *M, Py_ssize_t ms, floating *y,
                                      const WinoTiles *g, Py_ssize_t tile) noexcept nogil:
    """Tile `tile`'s outputs from its products M[xi * ms + 0 .. O); 0 if all are finite,
    else NaN."""
    cdef Py_ssize_t r, c, nr, nc, n = _tile_origin(g, tile, &r, &c, &nr, &nc)
    cdef floating *yn = y + n * g.Ho * g.Wo * g.O
    if nr <= 0 or nc <= 0:
        return 0             # a tile past the end of a smaller phase
    if floating is float:
        return nb_wino_output_f32(M, ms, g.O, yn, g.Wo, r, c, g.dh, g.dw, nr, nc)
    else:
        return nb_wino_output_f64(M, ms, g.O, yn, g.Wo, r, c, g.dh, g.dw, nr, nc)


cdef inline void _winograd_product(const floating *V, const floating *up, floating *M,
                                   const DirectGeo *d, Py_ssize_t xi, Py_ssize_t ob,
                                   Py_ssize_t nt, Py_ssize_t TB, Py_ssize_t C, Py_ssize_t O,
                                   const floating *zeros) noexcept nogil:
    """M[xi][:nt, block ob] = V[xi][:nt] @ U[xi][:, block ob], as a 1x1 convolution of
    nt pixels (V and M hold TB tiles per point)."""
    cdef nb_rowgeo g
    g.H, g.W, g.C, g.xps = 1, nt, C, C
    g.row0, g.row_step, g.wa0, g.wa_step, g.na = 0, 0, 0, 0, 1
    g.col0, g.col_pix, g.col_tap, g.wb0, g.wb_step, g.nb = 0, 1, 0, 0, 0, 1
    g.Kw, g.npix, g.y_pix = 1, nt, O
    g.nch = min(d.vb, O - ob * d.vb)
    if d.kind == KIND_HALF and NB_HAVE_HALF16 and nt >= 16:
        # 16-tile rows (AVX-512): the half-width kernel's 8-pixel tiles leave its
        # FMA units waiting on their latency; the same sums, the same bits.
        if floating is float:
            nb_conv_half16_f32(V + xi * TB * C, up + (xi * d.nob + ob) * _panel_size(d),
                               M + xi * TB * O + ob * d.vb, zeros, &g)
        else:
            nb_conv_half16_f64(V + xi * TB * C, up + (xi * d.nob + ob) * _panel_size(d),
                               M + xi * TB * O + ob * d.vb, zeros, &g)
        return
    _conv_row(V + xi * TB * C, up + (xi * d.nob + ob) * _panel_size(d),
              M + xi * TB * O + ob * d.vb, zeros, &g, d.kind, d.pack, d, 1)


cdef void _winograd_run(const floating *x, const WinoTiles *g, const floating *up,
                        const DirectGeo *d, floating *y, Py_ssize_t TB, floating *scratch,
                        const floating *zeros, floating *poison, bint threads) noexcept nogil:
    cdef Py_ssize_t u
    for u in prange((g.tiles + TB - 1) // TB, schedule="static", num_threads=nb_team_size(),
                    use_threads_if=threads):
        poison[u] = _winograd_unit(x, g, up, d, y, u * TB, min(TB, g.tiles - u * TB), TB,
                                   scratch + openmp.omp_get_thread_num() * 36 * TB * (g.C + g.O),
                                   zeros)


cdef inline floating _winograd_unit(const floating *x, const WinoTiles *g,
                                    const floating *up, const DirectGeo *d, floating *y,
                                    Py_ssize_t t0, Py_ssize_t nt, Py_ssize_t TB, floating *V,
                                    const floating *zeros) noexcept nogil:
    """Tiles t0 .. t0 + nt - 1, with the scratch V (36, TB, C) and after it M (36, TB, O);
    returns 0 if every output is finite, else NaN.  While its products run, it
    prefetches the input and output rows of the next unit's tiles (undilated layers:
    a dilated one's tiles interleave)."""
    cdef Py_ssize_t H = g.H, W = g.W, C = g.C, Ho = g.Ho, Wo = g.Wo, O = g.O, pt = g.pt
    cdef Py_ssize_t th = g.th, tw = g.tw, tiles = g.tiles
    cdef floating *M = V + 36 * TB * C
    cdef floating poison = 0
    cdef Py_ssize_t t, xi, ob, first, last, nbytes = 0, ybytes = 0
    cdef const floating *ahead = x
    cdef floating *y_ahead = y
    if t0 + TB < tiles and PREFETCH and g.dh == 1 and g.dw == 1:
        # Its tiles' input rows 4*ty - pt .. 4*ty - pt + 5 as one run of x, and their
        # output rows 4*ty .. 4*ty + 3 as one run of y.
        first, last = t0 + TB, min(tiles, t0 + 2 * TB) - 1
        ahead = x + (first // (th * tw) * H + min(H, max(0, 4 * (first % (th * tw) // tw) - pt))) * W * C
        if PREFETCH & PREFETCH_INPUT:
            nbytes = min(PREFETCH_MAX_BYTES, (x + (last // (th * tw) * H + min(
                H, 4 * (last % (th * tw) // tw) - pt + 6)) * W * C - ahead) * <Py_ssize_t>sizeof(floating))
        y_ahead = y + (first // (th * tw) * Ho + 4 * (first % (th * tw) // tw)) * Wo * O
        if PREFETCH & PREFETCH_OUTPUT:
            ybytes = min(PREFETCH_MAX_BYTES, (y + (last // (th * tw) * Ho + min(
                Ho, 4 * (last % (th * tw) // tw) + 4)) * Wo * O - y_ahead) * <Py_ssize_t>sizeof(floating))
    for t in range(nt):
        _winograd_input(x, g, t0 + t, V + t * C, TB * C, zeros)
    for xi in range(36):
        nb_prefetch_part(ahead, nbytes, xi, 36)
        nb_prefetch_part(y_ahead, ybytes, xi, 36)
        for ob in range(d.nob):
            _winograd_product(V, up, M, d, xi, ob, nt, TB, C, O, zeros)
    for t in range(nt):
        poison += _winograd_output(M + t * O, TB * O, y, g, t0 + t)
    return poison


# ------------------------------------------------- the filter gradient, F(3x3, 4x4)

cdef object _winograd_filter_grad(const floating[:, :, :, ::1] x,
                                  const floating[:, :, :, ::1] dy, Py_ssize_t pt,
                                  Py_ssize_t pl, Py_ssize_t dil_h, Py_ssize_t dil_w,
                                  bint threads):
    """dw (3, 3, C, O) = the filter gradient of a 3x3 stride-1 conv2d (padding pt on
    top, pl on the left, dilation (dil_h, dil_w)) by Winograd F(3x3, 4x4) (see _winograd.h
    and, for the tiles of a dilated layer, _wino_tiles): the 4x4 tiles of
    dy and their 6x6 patches of x are transformed in chunks of tiles shared by the
    team, the 36 products Mw[xi] (C x O) += V[xi]^T D[xi] run on the filter-gradient
    tile (a unit per point and 8-channel x output block, summing the chunk's tiles
    in order), and Mw is transformed into dw once at the end.  Chunks of at most
    WINOGRAD_FG_CHUNK_BYTES (not the batch) and Mw (36*C*O values) are the scratch;
    every sum runs in an order fixed by the shapes: the same bits on any number of
    threads.  Returns None if a value of dw is not finite (the caller then runs the
    direct form, whose inf and NaN are the formula's cell by cell)."""
    dtype = np.float32 if floating is float else np.float64
    cdef Py_ssize_t N = x.shape[0], H = x.shape[1], W = x.shape[2], C = x.shape[3]
    cdef Py_ssize_t Ho = dy.shape[1], Wo = dy.shape[2], O = dy.shape[3]
    cdef WinoTiles g
    _wino_tiles(&g, N, H, W, C, Ho, Wo, O, pt, pl, dil_h, dil_w)
    cdef Py_ssize_t tiles = g.tiles, vb = NB_VB_F32 if floating is float else NB_VB_F64
    # Rows of V and D padded by a cache line where they would be a multiple of 256
    # bytes long: a tile reads one 8-channel column of them, and rows 1 KB apart
    # (256 channels) fall into 4 of the L1 cache's 64 sets.
    cdef Py_ssize_t vc = _padded_row(C, sizeof(floating)), vo = _padded_row(O, sizeof(floating))
    cdef Py_ssize_t nchunks = (tiles * 36 * (vc + vo) * sizeof(floating)
                               + WINOGRAD_FG_CHUNK_BYTES - 1) // WINOGRAD_FG_CHUNK_BYTES
    cdef Py_ssize_t TB = (tiles + nchunks - 1) // nchunks
    scratch_arr = _aligned_zeros((36 * TB * (vc + vo),), dtype, False)
    cdef floating[::1] scratch = scratch_arr
    Mw_arr = _aligned_zeros((36 * C * O,), dtype)
    cdef floating[::1] Mw = Mw_arr
    dw = np.empty((3, 3, C, O), dtype=dtype)
    cdef floating[:, :, :, ::1] dw_view = dw
    cdef const floating[::1] zeros = np.zeros(max(C, O), dtype=dtype)
    with nogil:
        _winograd_fg_chunks(&x[0, 0, 0, 0], &dy[0, 0, 0, 0], &g, TB, vc, vo, &scratch[0],
                            &Mw[0], &dw_view[0, 0, 0, 0], &zeros[0], vb, threads)
    if not np.isfinite(dw).all():
        return None
    return dw


cdef inline Py_ssize_t _padded_row(Py_ssize_t n, Py_ssize_t itemsize) noexcept nogil:
    """n, or n plus a cache line of values if n values are a multiple of 256 bytes."""
    return n + 64 // itemsize if (n * itemsize) % 256 == 0 else n


cdef void _winograd_fg_chunks(const floating *x, const floating *dy, const WinoTiles *g,
                              Py_ssize_t TB, Py_ssize_t vc, Py_ssize_t vo, floating *V,
                              floating *Mw, floating *dw, const floating *zeros,
                              Py_ssize_t vb, bint threads) noexcept nogil:
    """dw from x and dy (g: the layer's tiles), in chunks of TB tiles (see
    _winograd_filter_grad)."""
    cdef Py_ssize_t C = g.C, O = g.O, tiles = g.tiles
    cdef floating *D = V + 36 * TB * vc
    cdef Py_ssize_t ncb = (C + NB_FG_C - 1) // NB_FG_C, nob = (O + vb - 1) // vb
    cdef Py_ssize_t chunk, t0, nt, t, u, k0, n
    for chunk in range((tiles + TB - 1) // TB):
        t0 = chunk * TB
        nt = min(TB, tiles - t0)
        for t in prange(nt, schedule="static", num_threads=nb_team_size(),
                        use_threads_if=threads):
            _winograd_input(x, g, t0 + t, V + t * vc, TB * vc, zeros)
            _winograd_dy(dy, g, t0 + t, D + t * vo, TB * vo, zeros)
        for u in prange(36 * ncb * nob, schedule="static", num_threads=nb_team_size(),
                        use_threads_if=threads):
            _winograd_fg_block(V, D, Mw, u // (ncb * nob), u // nob % ncb, u % nob, nt, TB,
                               vc, vo, C, O, vb)
    for u in prange((C * O + WINOGRAD_FG_OUT_BLOCK - 1) // WINOGRAD_FG_OUT_BLOCK,
                    schedule="static", num_threads=nb_team_size(), use_threads_if=threads):
        k0 = u * WINOGRAD_FG_OUT_BLOCK
        n = min(WINOGRAD_FG_OUT_BLOCK, C * O - k0)
        if floating is float:
            nb_wino_fgrad_output_f32(Mw + k0, C * O, n, dw + k0, C * O)
        else:
            nb_wino_fgrad_output_f64(Mw + k0, C * O, n, dw + k0, C * O)


cdef inline void _winograd_fg_block(const floating *V, const floating *D, floating *Mw,
                                    Py_ssize_t xi, Py_ssize_t cb, Py_ssize_t ob,
                                    Py_ssize_t nt, Py_ssize_t TB, Py_ssize_t vc, Py_ssize_t vo,
                                    Py_ssize_t C, Py_ssize_t O,
                                    Py_ssize_t vb) noexcept nogil:
    """Mw[xi][8-channel block cb, output block ob] += the sum over the chunk's nt tiles
    of V[xi][t, block]^T D[xi][t, block], in partial sums of WINOGRAD_FG_SUM tiles
    (each from zero, then added in): rounding grows with the length of a float sum,
    and a chunk may hold thousands of tiles."""
    cdef floating part[NB_FG_C * NB_VB_F32]      # the widest block: float32's
    cdef Py_ssize_t nc = min(NB_FG_C, C - cb * NB_FG_C), no = min(vb, O - ob * vb)
    cdef Py_ssize_t p, s, k, o, m
    cdef floating *dst = Mw + (xi * C + cb * NB_FG_C) * O + ob * vb
    for p in range((nt + WINOGRAD_FG_SUM - 1) // WINOGRAD_FG_SUM):
        s = p * WINOGRAD_FG_SUM
        m = min(WINOGRAD_FG_SUM, nt - s)
        for k in range(NB_FG_C * vb):
            part[k] = 0
        _fgrad_tile(V + (xi * TB + s) * vc + cb * NB_FG_C, 0, vc,
                    D + (xi * TB + s) * vo + ob * vb, 0, vo, 1, m, part, vb, nc, no, TILE_FULL, 0, 0)
        for k in range(nc):
            for o in range(no):
                dst[k * O + o] += part[k * vb + o]


cdef inline void _winograd_dy(const floating *dy, const WinoTiles *g, Py_ssize_t tile,
                              floating *D, Py_ssize_t ds, const floating *zeros) noexcept nogil:
    """D[xi * ds + 0 .. O) = the transformed 4x4 tile `tile` of dy (_wino_tiles)."""
    cdef Py_ssize_t r, c, nr, nc, n = _tile_origin(g, tile, &r, &c, &nr, &nc)
    cdef const floating *dyn = dy + n * g.Ho * g.Wo * g.O
    if floating is float:
        nb_wino_dy_f32(dyn, g.Ho, g.Wo, g.O, r, c, g.dh, g.dw, D, ds, zeros)
    else:
        nb_wino_dy_f64(dyn, g.Ho, g.Wo, g.O, r, c, g.dh, g.dw, D, ds, zeros)
