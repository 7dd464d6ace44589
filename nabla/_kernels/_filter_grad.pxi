# The filter gradient of conv.pyx (included there): dw = the adjoint of conv2d in w,
# by the register-blocked tiles of _microkernels.h (nb_fgrad_tile: 8 input channels
# x 2 vectors of outputs, summed over pixels; nb_fgrad_wide: 4 x 4 vectors; _fg_tile
# chooses).
#
# _filter_grad_fast sums dw over blocks of output rows into partial sums fixed by
# the shapes (not the thread count: same bits on any number of threads), added up
# in a fixed order after the parallel region; with few input channels its tiles run
# over the merged (column tap, channel) axis.

cdef object _direct_filter_grad(const floating[:, :, :, ::1] x,
                                const floating[:, :, :, ::1] dy, Window win,
                                Py_ssize_t groups, bint threads):
    """dw (Kh, Kw, Cg, C_out) by the register-blocked tiles, group by group."""
    dtype = np.float32 if floating is float else np.float64
    cdef Py_ssize_t N = x.shape[0], Ho = dy.shape[1], Wo = dy.shape[2]
    cdef Py_ssize_t Kh = win.kh, Kw = win.kw, C = x.shape[3], O = dy.shape[3]
    cdef Py_ssize_t vb
    cdef Py_ssize_t rows_per_unit, units_per_image, S, Q, T, slice_width, columns, Cg, Og
    cdef int tile
    cdef floating[:, :, :, :, ::1] parts
    # The partition of the sum over pixels is fixed by the shapes alone, never by
    # the number of threads, so dw has the same bits on any thread count: the
    # pixel units (about FG_PIXELS output pixels each) go, in order, to S chunks,
    # each summed into its own copy of dw; the copies are then added in the order
    # 0, 1, ..., S-1.  Q slices of the output columns (a column: one vector of one
    # group's outputs) give the threads more units without more copies: a unit
    # owns its slice outright.
    Cg, Og = C // groups, O // groups
    # Larger pixel units for layers with very few products per pixel: a unit's fixed
    # costs (its tiles' accumulator loads and stores, prefetch, pointers) outweighed
    # its products.  LeNet's first layer (1 -> 6 channels, 5x5, 150 per pixel): 0.51
    # -> 0.32 ms; layers from 16 channels up within 3% either way, the 1x1 64 -> 256
    # 11% slower with 4M-product units (benchmarks/results/2026-11-30-session6.md).
    cdef Py_ssize_t pixels = FG_PIXELS
    while pixels < FG_PIXELS_MAX and pixels * Kh * Kw * Cg * Og < FG_UNIT_MACS:
        pixels *= 2
    rows_per_unit = min(Ho, (pixels + Wo - 1) // Wo)
    units_per_image = (Ho + rows_per_unit - 1) // rows_per_unit
    # S grows with the pixels, and for a small dw (cheap copies) up to FG_SMALL_PARTS.
    S = max(1, (N * Ho * Wo) // FG_PART_PIXELS, min(FG_SMALL_PARTS, FG_SMALL_BYTES // (
        Kh * Kw * Cg * O * x.itemsize)))
    S = min(S, N * units_per_image, FG_MAX_PARTS)
    while S & (S - 1):     # a power of two: S units share out evenly on 2, 4, 8... threads
        S = S & (S - 1)
    # Q changes which thread computes what, never what is computed, so it may follow
    # the thread count T: the fewest slices that give every thread the same number
    # of units, or at least 4 each (slicing makes the units re-read their x rows).
    T = nb_team_size() if threads else 1
    tile = _fg_tile(Cg, Og, groups, win.sw, floating is float, &vb)
    columns = groups * ((Og + vb - 1) // vb)
    # At least enough slices that one slice's part of dw stays in L2 while the pixel
    # units stream past it (a unit adds into every value of its slice).
    Q = min(columns, max(1, (Kh * Kw * Cg * O * x.itemsize + FG_SLICE_BYTES - 1) // FG_SLICE_BYTES))
    while Q < columns and (S * Q) % T != 0 and S * Q < 4 * T:
        Q += 1
    slice_width = (columns + Q - 1) // Q
    if tile == TILE_PACK:
        slice_width += slice_width % 2    # slices of whole pairs of groups
    Q = (columns + slice_width - 1) // slice_width
    parts_arr = np.zeros((S, Kh, Kw, Cg, O), dtype=dtype)
    parts = parts_arr
    # Channel panels: each pixel unit copies its rows of x and dy into per-thread
    # scratch, one contiguous panel per tile's channels (see _filter_grad_panels).
    cdef Py_ssize_t panel_size = 0
    if tile == TILE_FULL and groups == 1 and Cg % NB_FG_C == 0 \
            and _fg_panels(Cg, win.sw, floating is float):
        panel_size = (((rows_per_unit - 1) * win.sh + (Kh - 1) * win.dh + 1) * x.shape[2] * Cg
                      + rows_per_unit * Wo * slice_width * vb)
    scratch_arr = _aligned_zeros((T if panel_size else 1, max(panel_size, 1)), dtype)
    cdef floating[:, ::1] scratch = scratch_arr
    with nogil:
        _filter_grad_fast(&x[0, 0, 0, 0], &dy[0, 0, 0, 0], &parts[0, 0, 0, 0, 0],
                          N, x.shape[1], x.shape[2], Cg, Ho, Wo, Og, groups, win, vb, tile,
                          rows_per_unit, units_per_image, S, Q, slice_width,
                          &scratch[0, 0], panel_size, threads)
    return parts_arr[0]


cdef inline bint _fg_panels(Py_ssize_t C, Py_ssize_t sw, bint single) noexcept:
    """Whether a tile's pixels sit FG_PANEL_STRIDE bytes or more apart in x, so that
    its pixel units copy their rows into channel panels (_filter_grad_panels)."""
    return sw * C * (4 if single else 8) >= FG_PANEL_STRIDE


cdef int _fg_tile(Py_ssize_t C, Py_ssize_t O, Py_ssize_t groups, Py_ssize_t sw, bint single,
                  Py_ssize_t *vb) noexcept:
    """The filter gradient's tile (TILE_*) for C input and O output channels per group,
    column stride sw; sets vb, the outputs one column (tile) covers.

    Packed (float32, AVX-512): up to two groups of <= 8 outputs, Cg even.  Half
    width: a group's outputs fit in one vector.  Wide (AVX-512): ungrouped outputs
    filling blocks of 4 vectors, and no channel panels; on the 64-channel ResNet
    layer 0.91-0.93 of the 8 x 2 tile's time (474-496 GFLOP/s on 2 threads), on the
    stem 0.90; neutral elsewhere (benchmarks/results/2026-11-30-session8.md).
    Otherwise 8 channels x 2 vectors."""
    vb[0] = NB_VB_F32 if single else NB_VB_F64
    if single and NB_HAVE_PACK_FGRAD and groups > 1 and O <= 8 and C % 2 == 0:
        vb[0] = O
        return TILE_PACK
    if O <= vb[0] // 2:
        vb[0] = vb[0] // 2
        return TILE_HALF
    if (WIDE_FG and NB_HAVE_WIDE and groups == 1 and O % (2 * vb[0]) == 0
            and not _fg_panels(C, sw, single)):
        vb[0] = 2 * vb[0]
        return TILE_WIDE
    return TILE_FULL


cdef void _filter_grad_fast(const floating *x, const floating *dy, floating *parts,
                            Py_ssize_t N, Py_ssize_t H, Py_ssize_t W, Py_ssize_t C,
                            Py_ssize_t Ho, Py_ssize_t Wo, Py_ssize_t O, Py_ssize_t groups,
                            Window win, Py_ssize_t vb, int tile, Py_ssize_t rows_per_unit,
                            Py_ssize_t units_per_image, Py_ssize_t S, Py_ssize_t Q,
                            Py_ssize_t slice_width, floating *scratch, Py_ssize_t panel_size,
                            bint threads) noexcept nogil:
    """parts[0] (Kh, Kw, C, groups*O) = dw, summed through the partial sums parts[0 .. S-1].

    x (N, H, W, groups*C), dy (N, Ho, Wo, groups*O); group g reduces its C channels of
    x against its O channels of dy.  Pixel unit: rows [i0, i0 + rows_per_unit) of
    dy[n] (about FG_PIXELS pixels, which stay in cache while every tap, group and
    channel tile sweeps over them).  Work unit (s, q): the pixel units of chunk s, in
    order, for the columns of slice q (slice_width columns; column k is vector
    k % nvec of group k // nvec, nvec = ceil(O / vb)), into parts[s].  Which thread
    runs a work unit does not change what it computes.  panel_size > 0: each thread
    has that many values of scratch for _filter_grad_panels, which then does the
    (ungrouped) units.
    """
    cdef Py_ssize_t u, p, s, k, k1, grp, o0, o1, size = win.kh * win.kw * C * groups * O
    cdef Py_ssize_t units = N * units_per_image, nvec = (O + vb - 1) // vb
    cdef Py_ssize_t k_end, k0, steps, x_bytes, dy_bytes
    cdef const floating *x_ahead
    cdef const floating *dy_ahead
    for u in prange(S * Q, schedule="static", num_threads=nb_team_size(), use_threads_if=threads):
        s = u // Q
        k0 = (u % Q) * slice_width
        k_end = min(groups * nvec, (u % Q + 1) * slice_width)
        # Calls per pixel unit below: one per group the slice touches (packed tiles:
        # one per two groups).
        steps = (k_end - 1) // nvec - k0 // nvec + 1
        if tile == TILE_PACK:
            steps = (k_end - k0 + 1) // 2
        for p in range(s * units // S, (s + 1) * units // S):
            # The next pixel unit's rows of x and dy, prefetched a slice per call.
            _fg_unit_rows(x, dy, p + 1, units, units_per_image, rows_per_unit, H, W,
                          groups * C, Ho, Wo, groups * O, win, &x_ahead, &x_bytes,
                          &dy_ahead, &dy_bytes)
            # The slice's columns, one group's run at a time (packed: two groups).
            k = k0
            while k < k_end:
                grp = k // nvec
                if tile == TILE_PACK:
                    k1 = min(k + 2, k_end)
                    o0, o1 = k * O, k1 * O
                else:
                    k1 = min((grp + 1) * nvec, k_end)
                    o0 = grp * O + (k - grp * nvec) * vb
                    o1 = min((grp + 1) * O, grp * O + (k1 - grp * nvec) * vb)
                if panel_size:
                    _filter_grad_panels(x, dy, parts + s * size, H, W, C, Ho, Wo, O, win, vb,
                                        p // units_per_image,
                                        (p % units_per_image) * rows_per_unit, rows_per_unit,
                                        o0, o1, x_ahead, x_bytes, dy_ahead, dy_bytes,
                                        scratch + openmp.omp_get_thread_num() * panel_size)
                    k = k1
                    continue
                _filter_grad_fast_unit(x + grp * C, dy, parts + s * size, H, W, C, groups * C,
                                       Ho, Wo, groups * O, win, vb, tile, p // units_per_image,
                                       (p % units_per_image) * rows_per_unit, rows_per_unit,
                                       o0, o1, x_ahead, x_bytes, dy_ahead, dy_bytes,
                                       (k - k0) // 2 if tile == TILE_PACK else grp - k0 // nvec,
                                       steps)
                k = k1
    if S > 1:
        _sum_parts(parts, S, size, threads)


cdef inline void _fg_unit_rows(const floating *x, const floating *dy, Py_ssize_t p,
                               Py_ssize_t units, Py_ssize_t units_per_image,
                               Py_ssize_t rows_per_unit, Py_ssize_t H, Py_ssize_t W,
                               Py_ssize_t xps, Py_ssize_t Ho, Py_ssize_t Wo, Py_ssize_t dyps,
                               Window win, const floating **x_rows, Py_ssize_t *x_bytes,
                               const floating **dy_rows, Py_ssize_t *dy_bytes) noexcept nogil:
    """The rows of x and of dy that pixel unit p reads (starts and byte counts; 0 bytes
    if p is past the last unit), for the prefetch of _filter_grad_fast."""
    cdef Py_ssize_t n = p // units_per_image, i0, i1, lo, hi
    x_rows[0], dy_rows[0], x_bytes[0], dy_bytes[0] = x, dy, 0, 0
    if p >= units or not PREFETCH & PREFETCH_INPUT:
        return
    i0 = (p % units_per_image) * rows_per_unit
    i1 = min(Ho, i0 + rows_per_unit)
    dy_rows[0] = dy + (n * Ho + i0) * Wo * dyps
    dy_bytes[0] = min((i1 - i0) * Wo * dyps * <Py_ssize_t>sizeof(floating), PREFETCH_MAX_BYTES)
    lo = max(0, i0 * win.sh - win.pt)
    hi = min(H, (i1 - 1) * win.sh - win.pt + (win.kh - 1) * win.dh + 1)
    if lo < hi:
        x_rows[0] = x + (n * H + lo) * W * xps
        x_bytes[0] = min((hi - lo) * W * xps * <Py_ssize_t>sizeof(floating), PREFETCH_MAX_BYTES)


cdef void _sum_parts(floating *parts, Py_ssize_t S, Py_ssize_t size,
                     bint threads) noexcept nogil:
    """parts[0][k] = ((parts[0][k] + parts[1][k]) + parts[2][k]) + ...: a fixed order."""
    cdef Py_ssize_t blk, s, k, k1, nblk = (size + 4095) // 4096
    for blk in prange(nblk, schedule="static", num_threads=nb_team_size(), use_threads_if=threads and size >= 65536):
        k1 = min(size, (blk + 1) * 4096)
        for s in range(1, S):
            for k in range(blk * 4096, k1):
                parts[k] = parts[k] + parts[s * size + k]


cdef void _filter_grad_panels(const floating *x, const floating *dy, floating *dw,
                              Py_ssize_t H, Py_ssize_t W, Py_ssize_t C, Py_ssize_t Ho,
                              Py_ssize_t Wo, Py_ssize_t O, Window win, Py_ssize_t vb,
                              Py_ssize_t n, Py_ssize_t i0, Py_ssize_t rows, Py_ssize_t o0,
                              Py_ssize_t o1, const floating *x_ahead, Py_ssize_t x_bytes,
                              const floating *dy_ahead, Py_ssize_t dy_bytes,
                              floating *panels) noexcept nogil:
    """dw[.., o0:o1] += the products of pixel rows [i0, i0 + rows) of image n (groups 1,
    C a multiple of NB_FG_C), from copies in `panels`.

    With C a power of two, a pixel's channels are 1 KB (256 floats) apart, and the
    pixels one tile streams fall into a few sets of L1 (and, as the pages fall, of L2):
    the gradient of the 8x8x256 ResNet layer ran at 262 GF/s against 388 at 224
    channels.  So the unit first copies the input rows its taps read, as C / NB_FG_C
    panels (rows, W, NB_FG_C), and its dy rows as one panel (pixels, vb) per block of
    vb outputs; every tile then reads contiguous memory.  Same products, same order
    of sums as _filter_grad_fast_unit: the same bits."""
    cdef Py_ssize_t i1 = min(Ho, i0 + rows), a, b, r0, c0, ia, ib, ja, jb, On = o1 - o0
    cdef Py_ssize_t lo = max(0, i0 * win.sh - win.pt), cb, ob, r, col, k, q, nv
    cdef Py_ssize_t hi = min(H, (i1 - 1) * win.sh - win.pt + (win.kh - 1) * win.dh + 1)
    cdef Py_ssize_t ncb = C // NB_FG_C, nob = (On + vb - 1) // vb, npix = (i1 - i0) * Wo
    cdef Py_ssize_t xplane = max(hi - lo, 0) * W * NB_FG_C, dyplane = npix * vb
    cdef floating *xp = panels
    cdef floating *dp = panels + ncb * xplane
    cdef const floating *src
    # x rows [lo, hi): panel cb holds channels cb*8 .. cb*8 + 7 of every pixel.
    for r in range(lo, hi):
        for col in range(W):
            src = x + ((n * H + r) * W + col) * C
            for cb in range(ncb):
                for k in range(NB_FG_C):
                    xp[cb * xplane + ((r - lo) * W + col) * NB_FG_C + k] = src[cb * NB_FG_C + k]
    # dy rows [i0, i1), outputs o0 .. o1: panel ob holds outputs o0 + ob*vb ... (the
    # last one's lanes past o1 are never read: the tile masks them).
    for q in range(npix):
        src = dy + (n * Ho + i0) * Wo * O + q * O + o0
        for ob in range(nob):
            nv = min(vb, On - ob * vb)
            for k in range(nv):
                dp[ob * dyplane + q * vb + k] = src[ob * vb + k]
    for a in range(win.kh):
        nb_prefetch_part(x_ahead, x_bytes, a, win.kh)
        nb_prefetch_part(dy_ahead, dy_bytes, a, win.kh)
        r0 = a * win.dh - win.pt
        ia = max(i0, first_tap(r0, win.sh))
        ib = min(i1, end_tap(r0, win.sh, Ho, H))
        if ia >= ib:
            continue
        for b in range(win.kw):
            c0 = b * win.dw - win.pl
            ja = first_tap(c0, win.sw)
            jb = end_tap(c0, win.sw, Wo, W)
            if ja >= jb:
                continue
            for ob in range(nob):
                for cb in range(ncb):
                    _fgrad_tile(xp + cb * xplane + ((r0 + ia * win.sh - lo) * W + c0
                                                    + ja * win.sw) * NB_FG_C,
                                win.sh * W * NB_FG_C, win.sw * NB_FG_C,
                                dp + ob * dyplane + ((ia - i0) * Wo + ja) * vb, Wo * vb, vb,
                                ib - ia, jb - ja,
                                dw + ((a * win.kw + b) * C + cb * NB_FG_C) * O + o0 + ob * vb,
                                O, NB_FG_C, min(vb, On - ob * vb), TILE_FULL, C, vb)


cdef inline void _fgrad_tile(const floating *x, Py_ssize_t xrs, Py_ssize_t xps,
                             const floating *dy, Py_ssize_t dyrs, Py_ssize_t dyps,
                             Py_ssize_t nrows, Py_ssize_t npix, floating *dw, Py_ssize_t ldw,
                             Py_ssize_t nc, Py_ssize_t no, int tile, Py_ssize_t xgap,
                             Py_ssize_t og) noexcept nogil:
    if floating is float:
        if tile == TILE_PACK:
            # no = one or two groups of og outputs, their channels xgap apart in x.
            nb_fgrad_pack_f32(x, xrs, xps, dy, dyrs, dyps, nrows, npix, dw, ldw, nc, og,
                              no // og, xgap, og)
        elif tile == TILE_HALF:
            nb_fgrad_half_f32(x, xrs, xps, dy, dyrs, dyps, nrows, npix, dw, ldw, nc, no)
        elif tile == TILE_WIDE:
            nb_fgrad_wide_f32(x, xrs, xps, dy, dyrs, dyps, nrows, npix, dw, ldw, nc)
        else:
            nb_fgrad_tile_f32(x, xrs, xps, dy, dyrs, dyps, nrows, npix, dw, ldw, nc, no)
    else:
        if tile == TILE_WIDE:
            nb_fgrad_wide_f64(x, xrs, xps, dy, dyrs, dyps, nrows, npix, dw, ldw, nc)
        elif tile == TILE_HALF:
            nb_fgrad_half_f64(x, xrs, xps, dy, dyrs, dyps, nrows, npix, dw, ldw, nc, no)
        else:
            nb_fgrad_tile_f64(x, xrs, xps, dy, dyrs, dyps, nrows, npix, dw, ldw, nc, no)


cdef inline void _filter_grad_fast_unit(const floating *x, const floating *dy,
                                        floating *dw, Py_ssize_t H, Py_ssize_t W,
                                        Py_ssize_t C, Py_ssize_t xps, Py_ssize_t Ho,
                                        Py_ssize_t Wo, Py_ssize_t O, Window win, Py_ssize_t vb,
                                        int tile, Py_ssize_t n, Py_ssize_t i0, Py_ssize_t rows,
                                        Py_ssize_t o0, Py_ssize_t o1,
                                        const floating *x_ahead, Py_ssize_t x_bytes,
                                        const floating *dy_ahead, Py_ssize_t dy_bytes,
                                        Py_ssize_t step, Py_ssize_t steps) noexcept nogil:
    """dw[.., o0:o1] += the products of pixel rows [i0, i0 + rows) of image n.

    x's pixels are xps values apart (C of them reduced); dy's and dw's rows are O apart;
    tiles are vb outputs wide (TILE_HALF: one vector; TILE_PACK: vb is one group's
    outputs, and o0:o1 spans one or two groups).  Prefetches part `step` of `steps`
    of the next unit's rows (x_ahead, dy_ahead), a slice per filter row."""
    cdef Py_ssize_t i1 = min(Ho, i0 + rows), a, b, r0, c0, ia, ib, ja, jb, On = o1 - o0
    # Output channels o0 .. o1-1 only: shift both pointers; O stays the row stride.
    dy = dy + o0
    dw = dw + o0
    cdef Py_ssize_t KC = win.kw * C, ma = 0, mb = 0
    # Few input channels, dilation 1 in columns: the column taps b and channels c of
    # one pixel are contiguous in x (offset b*C + c) and in dw, so the pixels that all
    # Kw taps reach run as tiles over the merged (b, c) axis, NB_FG_C at a time,
    # instead of Kw tiles of C (mostly idle) channels each.
    cdef bint merge = win.dw == 1 and xps == C and ((KC + NB_FG_C - 1) // NB_FG_C
                                                    < win.kw * ((C + NB_FG_C - 1) // NB_FG_C))
    if merge:
        ma = first_tap(-win.pl, win.sw)
        mb = end_tap(win.kw - 1 - win.pl, win.sw, Wo, W)
        if ma >= mb:
            merge = False
    for a in range(win.kh):
        nb_prefetch_part(x_ahead, x_bytes, step * win.kh + a, steps * win.kh)
        nb_prefetch_part(dy_ahead, dy_bytes, step * win.kh + a, steps * win.kh)
        # Output rows i in [ia, ib) of this unit whose tap a lands inside the input.
        r0 = a * win.dh - win.pt
        ia = max(i0, first_tap(r0, win.sh))
        ib = min(i1, end_tap(r0, win.sh, Ho, H))
        if ia >= ib:
            continue
        if merge:
            _fgrad_block(x + ((n * H + r0 + ia * win.sh) * W - win.pl + ma * win.sw) * C,
                         win.sh * W * C, win.sw * C, dy + ((n * Ho + ia) * Wo + ma) * O,
                         Wo * O, O, ib - ia, mb - ma, dw + a * KC * O, KC, O, On, vb, tile)
        for b in range(win.kw):
            c0 = b * win.dw - win.pl
            ja = first_tap(c0, win.sw)
            jb = end_tap(c0, win.sw, Wo, W)
            if merge:
                # The pixels of tap b outside the merged range [ma, mb).
                _fgrad_range(x, dy, dw, H, W, C, xps, Ho, Wo, O, On, win, vb, tile, n, a, b, r0, c0,
                             ia, ib, ja, min(jb, ma))
                _fgrad_range(x, dy, dw, H, W, C, xps, Ho, Wo, O, On, win, vb, tile, n, a, b, r0, c0,
                             ia, ib, max(ja, mb), jb)
            else:
                _fgrad_range(x, dy, dw, H, W, C, xps, Ho, Wo, O, On, win, vb, tile, n, a, b, r0, c0,
                             ia, ib, ja, jb)


cdef inline void _fgrad_range(const floating *x, const floating *dy, floating *dw,
                              Py_ssize_t H, Py_ssize_t W, Py_ssize_t C, Py_ssize_t xps,
                              Py_ssize_t Ho, Py_ssize_t Wo, Py_ssize_t O, Py_ssize_t On,
                              Window win,
                              Py_ssize_t vb,
                              int tile, Py_ssize_t n, Py_ssize_t a, Py_ssize_t b,
                              Py_ssize_t r0, Py_ssize_t c0, Py_ssize_t ia, Py_ssize_t ib,
                              Py_ssize_t ja, Py_ssize_t jb) noexcept nogil:
    """dw[a, b] += tap (a, b)'s products over output rows [ia, ib), columns [ja, jb)."""
    if ja >= jb:
        return
    _fgrad_block(x + ((n * H + r0 + ia * win.sh) * W + c0 + ja * win.sw) * xps,
                 win.sh * W * xps, win.sw * xps, dy + ((n * Ho + ia) * Wo + ja) * O, Wo * O, O,
                 ib - ia, jb - ja, dw + (a * win.kw + b) * C * O, C, O, On, vb, tile)


cdef inline void _fgrad_block(const floating *xb, Py_ssize_t xrs, Py_ssize_t xps,
                              const floating *db, Py_ssize_t dyrs, Py_ssize_t dyps,
                              Py_ssize_t nrows, Py_ssize_t npix, floating *dwb, Py_ssize_t C,
                              Py_ssize_t O, Py_ssize_t On, Py_ssize_t vb,
                              int tile) noexcept nogil:
    """dwb[c, o] (C x On, rows O apart) += sum over the pixels of xb[.., c] * db[.., o].

    TILE_PACK: On is one or two groups of vb outputs, the second group's C channels
    C further on in x; one packed tile covers both."""
    cdef Py_ssize_t ob, cb
    if tile == TILE_PACK:
        for cb in range((C + NB_FG_C - 1) // NB_FG_C):
            _fgrad_tile(xb + cb * NB_FG_C, xrs, xps, db, dyrs, dyps, nrows, npix,
                        dwb + cb * NB_FG_C * O, O, min(NB_FG_C, C - cb * NB_FG_C), On, tile,
                        C, vb)
        return
    # Output block outer: its dy panel (pixels x vb) stays in L1 while the
    # input-channel tiles stream the (narrower) x panel past it.
    cdef Py_ssize_t fc = NB_FGW_C if tile == TILE_WIDE else NB_FG_C
    for ob in range((On + vb - 1) // vb):
        for cb in range((C + fc - 1) // fc):
            _fgrad_tile(xb + cb * fc, xrs, xps, db + ob * vb, dyrs, dyps, nrows, npix,
                        dwb + cb * fc * O + ob * vb, O, min(fc, C - cb * fc),
                        min(vb, On - ob * vb), tile, C, vb)
