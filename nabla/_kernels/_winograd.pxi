# Winograd F(4x4, 3x3) for conv.pyx (included there): 3x3 stride-1 conv2d and
# conv2d_transpose (Lavin & Gray, CVPR 2016); the transforms are in _winograd.h, the
# 36 products run on the direct algorithm's block micro-kernel.

cdef inline bint _winograd_ok(Py_ssize_t C, Py_ssize_t O, Py_ssize_t groups,
                              Window win) noexcept:
    """Whether a conv2d (or a conv2d_transpose, with C and O its dy's and dx's channels)
    can run Winograd F(4x4, 3x3): 3x3 filters, stride 1, no dilation, no groups,
    WINOGRAD_MIN_C <= C <= WINOGRAD_MAX_C reduction channels and O >= WINOGRAD_MIN_C
    outputs.  Measured
    (benchmarks/results/2026-11-30-winograd.md): with fewer channels the transforms
    cost more than they save; with more, its float32 rounding error (growing with C)
    passes 1e-5 of max|y|, and the 36 transformed filters (36*C*O values) no longer
    stay in cache.  float64 takes the same path (its error stays near 1e-14), so it
    keeps about half of float32's speed."""
    return (groups == 1 and win.kh == 3 and win.kw == 3
            and win.sh == 1 and win.sw == 1 and win.dh == 1 and win.dw == 1
            and WINOGRAD_MIN_C <= C <= WINOGRAD_MAX_C and O >= WINOGRAD_MIN_C)


cdef extern from "_winograd.h" nogil:
    void nb_wino_input_f32(const float *x, Py_ssize_t H, Py_ssize_t W, Py_ssize_t C,
                           Py_ssize_t r0, Py_ssize_t c0, float *V, Py_ssize_t vs,
                           const float *zeros)
    void nb_wino_input_f64(const double *x, Py_ssize_t H, Py_ssize_t W, Py_ssize_t C,
                           Py_ssize_t r0, Py_ssize_t c0, double *V, Py_ssize_t vs,
                           const double *zeros)
    float nb_wino_output_f32(const float *M, Py_ssize_t ms, Py_ssize_t O, float *y,
                             Py_ssize_t W, Py_ssize_t r0, Py_ssize_t c0, int nr, int nc)
    double nb_wino_output_f64(const double *M, Py_ssize_t ms, Py_ssize_t O, double *y,
                              Py_ssize_t W, Py_ssize_t r0, Py_ssize_t c0, int nr, int nc)

# G of F(4x4, 3x3): U = G g G^T (Lavin & Gray 2016), applied in float64.
# (Written in 24ths: the module compiles with C division, where 1 / 4 == 0.)
_WINOGRAD_G = np.array([[6, 0, 0], [-4, -4, -4], [-4, 4, -4], [1, 2, 4], [1, -2, 4],
                        [0, 0, 24]], dtype=np.float64) / 24


cdef object _winograd_conv(const floating[:, :, :, ::1] x, w64, Py_ssize_t Ho, Py_ssize_t Wo,
                           Py_ssize_t pt, Py_ssize_t pl, bint threads):
    """y (N, Ho, Wo, O) = the 3x3 stride-1 correlation of x (N, H, W, C) with w64 (3, 3,
    C, O; float64), padding pt on top and pl on the left (the rest is zeros), by
    Winograd F(4x4, 3x3) (see _winograd.h).

    Work unit: TB consecutive 4x4 output tiles (in the order image, tile row, tile
    column): transform their inputs into V (36, TB, C), run the 36 products
    M[xi] = V[xi] @ U[xi] with the block micro-kernel (the tiles as pixels of a 1x1
    convolution), transform M (36, TB, O) into the outputs.  Units write disjoint
    tiles of y; each thread has its own V and M (scratch independent of the batch).
    Returns None if an output is not finite: an inf or NaN in x (or an overflow)
    spreads over whole tiles in the transformed domain, where the direct form gives
    IEEE's answer cell by cell, so the caller then runs the direct form.
    """
    dtype = np.float32 if floating is float else np.float64
    cdef Py_ssize_t N = x.shape[0], H = x.shape[1], W = x.shape[2], C = x.shape[3]
    cdef Py_ssize_t O = w64.shape[3], xi
    cdef DirectGeo d
    # The 36 filter panels, packed for the micro-kernel like a 1x1 convolution's.
    _direct_geo(&d, 1, 1, 1, C, 1, 1, O, 1, make_window((1, 1), (1, 1), (0, 0, 0, 0),
                (1, 1)), False, floating is float)
    # U[i, j] = sum_ab G[i, a] G[j, b] w[a, b]: two matrix products (BLAS), not one
    # 4-index einsum loop.
    U = np.tensordot(_WINOGRAD_G, np.tensordot(_WINOGRAD_G, w64, axes=(1, 0)), axes=(1, 1))
    U = np.ascontiguousarray(U.transpose(1, 0, 2, 3), dtype=dtype)
    if not np.isfinite(U).all():
        return None
    cdef const floating[:, :, :, ::1] U_view = U
    packed = _aligned_zeros((36 * d.nob, 1, 1, C // d.pack, d.vb), dtype)
    cdef floating[:, :, :, :, ::1] up = packed
    for xi in range(36):
        _pack(&U_view[xi // 6, xi % 6, 0, 0], 1, 1, C, O, C * O, O, 1, d.vb, d.pack,
              d.kind == KIND_DOT, False, &up[xi * d.nob, 0, 0, 0, 0])
    cdef Py_ssize_t th = (Ho + 3) // 4, tw = (Wo + 3) // 4, tiles = N * th * tw
    # Tiles per unit: a multiple of the kernel's pixel tile, V and M within
    # WINOGRAD_SCRATCH bytes.
    cdef Py_ssize_t TB = (WINOGRAD_SCRATCH // (36 * (C + O) * sizeof(floating))) // 8 * 8
    TB = max(8, min(64, TB))
    cdef Py_ssize_t T = nb_team_size() if threads else 1
    scratch_arr = _aligned_zeros((T, 36 * TB * (C + O)), dtype)
    cdef floating[:, ::1] scratch = scratch_arr
    y = np.empty((N, Ho, Wo, O), dtype=dtype)
    cdef floating[:, :, :, ::1] y_view = y
    cdef const floating[::1] zeros = np.zeros(max(C, O), dtype=dtype)
    units = np.zeros((tiles + TB - 1) // TB, dtype=dtype)     # 0, or NaN: not finite
    cdef floating[::1] poison = units
    with nogil:
        _winograd_run(&x[0, 0, 0, 0], H, W, C, &up[0, 0, 0, 0, 0], &d, &y_view[0, 0, 0, 0],
                      Ho, Wo, O, pt, pl, th, tw, tiles, TB, &scratch[0, 0], &zeros[0],
                      &poison[0], threads)
    if np.isnan(units).any():
        return None
    return y


cdef void _winograd_run(const floating *x, Py_ssize_t H, Py_ssize_t W, Py_ssize_t C,
                        const floating *up, const DirectGeo *d, floating *y, Py_ssize_t Ho,
                        Py_ssize_t Wo, Py_ssize_t O, Py_ssize_t pt, Py_ssize_t pl,
                        Py_ssize_t th, Py_ssize_t tw, Py_ssize_t tiles, Py_ssize_t TB,
                        floating *scratch, const floating *zeros, floating *poison,
                        bint threads) noexcept nogil:
    cdef Py_ssize_t u
    for u in prange((tiles + TB - 1) // TB, schedule="static", num_threads=nb_team_size(),
                    use_threads_if=threads):
        poison[u] = _winograd_unit(x, H, W, C, up, d, y, Ho, Wo, O, pt, pl, th, tw,
                                   u * TB, min(TB, tiles - u * TB), TB, tiles,
                                   scratch + openmp.omp_get_thread_num() * 36 * TB * (C + O),
                                   zeros)


cdef inline floating _winograd_unit(const floating *x, Py_ssize_t H, Py_ssize_t W, Py_ssize_t C,
                                const floating *up, const DirectGeo *d, floating *y,
                                Py_ssize_t Ho, Py_ssize_t Wo, Py_ssize_t O, Py_ssize_t pt,
                                Py_ssize_t pl, Py_ssize_t th, Py_ssize_t tw, Py_ssize_t t0,
                                Py_ssize_t nt, Py_ssize_t TB, Py_ssize_t tiles, floating *V,
                                const floating *zeros) noexcept nogil:
    """Tiles t0 .. t0 + nt - 1, with the scratch V (36, TB, C) and after it M (36, TB, O);
    returns 0 if every output is finite, else NaN.  While its products run, it
    prefetches the input and output rows of the next unit's tiles (of `tiles` in all)."""
    cdef floating *M = V + 36 * TB * C
    cdef floating poison = 0
    cdef Py_ssize_t t, tile, n, ty, tx, xi, ob, first, last, nbytes = 0, ybytes = 0
    cdef const floating *ahead = x
    cdef floating *y_ahead = y
    cdef nb_rowgeo g
    if t0 + TB < tiles and PREFETCH:
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
        tile = t0 + t
        n, ty, tx = tile // (th * tw), tile % (th * tw) // tw, tile % tw
        if floating is float:
            nb_wino_input_f32(x + n * H * W * C, H, W, C, 4 * ty - pt, 4 * tx - pl,
                              V + t * C, TB * C, zeros)
        else:
            nb_wino_input_f64(x + n * H * W * C, H, W, C, 4 * ty - pt, 4 * tx - pl,
                              V + t * C, TB * C, zeros)
    # M[xi] (nt x O) = V[xi] (nt x C) @ U[xi]: a 1x1 convolution of nt pixels.
    g.H, g.W, g.C, g.xps = 1, nt, C, C
    g.row0, g.row_step, g.wa0, g.wa_step, g.na = 0, 0, 0, 0, 1
    g.col0, g.col_pix, g.col_tap, g.wb0, g.wb_step, g.nb = 0, 1, 0, 0, 0, 1
    g.Kw, g.npix, g.y_pix = 1, nt, O
    for xi in range(36):
        nb_prefetch_part(ahead, nbytes, xi, 36)
        nb_prefetch_part(y_ahead, ybytes, xi, 36)
        for ob in range(d.nob):
            g.nch = min(d.vb, O - ob * d.vb)
            _conv_row(V + xi * TB * C, up + (xi * d.nob + ob) * _panel_size(d),
                      M + xi * TB * O + ob * d.vb, zeros, &g, d.kind, d.pack, d, 1)
    for t in range(nt):
        tile = t0 + t
        n, ty, tx = tile // (th * tw), tile % (th * tw) // tw, tile % tw
        if floating is float:
            poison += nb_wino_output_f32(M + t * O, TB * O, O, y + n * Ho * Wo * O, Wo, 4 * ty,
                                         4 * tx, min(4, Ho - 4 * ty), min(4, Wo - 4 * tx))
        else:
            poison += nb_wino_output_f64(M + t * O, TB * O, O, y + n * Ho * Wo * O, Wo, 4 * ty,
                                         4 * tx, min(4, Ho - 4 * ty), min(4, Wo - 4 * tx))
    return poison
