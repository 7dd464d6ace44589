# The direct algorithm of conv.pyx (included there): register-blocked micro-kernels
# (_microkernels.h) over NHWC rows, for conv2d and conv2d_transpose, ungrouped or
# group by group.
#
# _direct_conv computes conv2d, and conv2d_transpose as a conv2d of dy with the
# channel-swapped filter read flipped, one output phase (h % sh, v % sw) at a time,
# from a filter copy packed for the micro-kernel (_packed_filter; for column stride 1
# the columns are packed flipped, so the kernels can merge column taps).  A grouped
# convolution runs the same kernels group by group on each pixel's slice of channels
# (DirectGeo.xps: the pixel stride), or the packed-lane kernel when a group has at
# most half a vector of outputs; layers with short reduction runs per tap and 64
# outputs (or a multiple) run 4-pixel x 4-vector tiles (_wide_ok).  float32 conv2d
# with one input channel, <= 8 outputs and column stride 1 runs nb_c1_row_f32
# (vectors along output pixels, ALGO_PIXELS) instead.  Taps that fall into the
# padding are skipped, never read from a padded copy.

cdef extern from "_microkernels.h" nogil:
    ctypedef struct nb_rowgeo:
        Py_ssize_t H, W, C, xps
        Py_ssize_t row0, row_step, wa0, wa_step, na
        Py_ssize_t col0, col_pix, col_tap, wb0, wb_step, nb
        Py_ssize_t Kw
        Py_ssize_t npix, y_pix, nch
    void nb_conv_row_f32(const float *x, const float *wblk, float *y, const float *zeros,
                         const nb_rowgeo *g)
    void nb_conv_row_f64(const double *x, const double *wblk, double *y,
                         const double *zeros, const nb_rowgeo *g)
    void nb_conv_half_f32(const float *x, const float *wblk, float *y, const float *zeros,
                          const nb_rowgeo *g)
    void nb_conv_half_f64(const double *x, const double *wblk, double *y,
                          const double *zeros, const nb_rowgeo *g)
    void nb_conv_half16_f32(const float *x, const float *wblk, float *y, const float *zeros,
                            const nb_rowgeo *g)
    void nb_conv_half16_f64(const double *x, const double *wblk, double *y,
                            const double *zeros, const nb_rowgeo *g)
    void nb_conv_wide_f32(const float *x, const float *wblk, float *y, const float *zeros,
                          const nb_rowgeo *g)
    void nb_conv_wide_f64(const double *x, const double *wblk, double *y,
                          const double *zeros, const nb_rowgeo *g)
    void nb_fgrad_half_f32(const float *x, Py_ssize_t xrs, Py_ssize_t xps, const float *dy,
                           Py_ssize_t dyrs, Py_ssize_t dyps, Py_ssize_t nrows,
                           Py_ssize_t npix, float *dw, Py_ssize_t ldw, Py_ssize_t nc,
                           Py_ssize_t no)
    void nb_fgrad_half_f64(const double *x, Py_ssize_t xrs, Py_ssize_t xps,
                           const double *dy, Py_ssize_t dyrs, Py_ssize_t dyps,
                           Py_ssize_t nrows, Py_ssize_t npix, double *dw, Py_ssize_t ldw,
                           Py_ssize_t nc, Py_ssize_t no)
    void nb_fgrad_wide_f32(const float *x, Py_ssize_t xrs, Py_ssize_t xps, const float *dy,
                           Py_ssize_t dyrs, Py_ssize_t dyps, Py_ssize_t nrows,
                           Py_ssize_t npix, float *dw, Py_ssize_t ldw, Py_ssize_t nc)
    void nb_fgrad_wide_f64(const double *x, Py_ssize_t xrs, Py_ssize_t xps,
                           const double *dy, Py_ssize_t dyrs, Py_ssize_t dyps,
                           Py_ssize_t nrows, Py_ssize_t npix, double *dw, Py_ssize_t ldw,
                           Py_ssize_t nc)
    void nb_c1_row_f32(const float *x, const float *w, float *y, const nb_rowgeo *g)
    void nb_pack_row_f32(const float *x, const float *wblk, Py_ssize_t wgap, float *y,
                         Py_ssize_t xgap, Py_ssize_t ygap, const float *zeros,
                         const nb_rowgeo *g, Py_ssize_t P, Py_ssize_t G)
    void nb_pack_row_f64(const double *x, const double *wblk, Py_ssize_t wgap, double *y,
                         Py_ssize_t xgap, Py_ssize_t ygap, const double *zeros,
                         const nb_rowgeo *g, Py_ssize_t P, Py_ssize_t G)
    void nb_prefetch_part(const void *p, Py_ssize_t n, Py_ssize_t k, Py_ssize_t parts)
    void nb_dot_row_f32(const float *x, const float *wblk, float *y, const float *zeros,
                        const nb_rowgeo *g)
    void nb_dot_row_f64(const double *x, const double *wblk, double *y,
                        const double *zeros, const nb_rowgeo *g)
    void nb_fgrad_tile_f32(const float *x, Py_ssize_t xrs, Py_ssize_t xps, const float *dy,
                           Py_ssize_t dyrs, Py_ssize_t dyps, Py_ssize_t nrows,
                           Py_ssize_t npix, float *dw, Py_ssize_t ldw, Py_ssize_t nc,
                           Py_ssize_t no)
    void nb_fgrad_tile_f64(const double *x, Py_ssize_t xrs, Py_ssize_t xps,
                           const double *dy, Py_ssize_t dyrs, Py_ssize_t dyps,
                           Py_ssize_t nrows, Py_ssize_t npix, double *dw, Py_ssize_t ldw,
                           Py_ssize_t nc, Py_ssize_t no)
    void nb_fgrad_pack_f32(const float *x, Py_ssize_t xrs, Py_ssize_t xps, const float *dy,
                           Py_ssize_t dyrs, Py_ssize_t dyps, Py_ssize_t nrows,
                           Py_ssize_t npix, float *dw, Py_ssize_t ldw, Py_ssize_t nc,
                           Py_ssize_t no, Py_ssize_t G, Py_ssize_t xgap, Py_ssize_t ogap)
    enum:
        NB_HAVE_PACK_FGRAD
        NB_HAVE_WIDE
        NB_HAVE_HALF16
        NB_VB_F32
        NB_VB_F64
        NB_FG_C
        NB_FGW_C
        NB_DOT_MAXCH
        NB_HAVE_C1
        NB_HAVE_PACK

cdef enum:
    # Which row micro-kernel _direct_conv runs (see _microkernels.h and _kernel_kind).
    KIND_BLOCK = 0       # 8 pixels x 2 vectors of output channels
    KIND_HALF = 1        # 8 pixels x 1 vector: at most 16 (float) / 8 (double) outputs
    KIND_DOT = 2         # 4 pixels x <= 6 outputs, vectors along the reduction
    KIND_PACK = 3        # 16 pixels x 1 vector: <= LANES/P outputs x P channels per step
    KIND_WIDE = 4        # 4 pixels x 4 vectors (AVX-512; _wide_ok)

cdef enum:
    # The filter gradient's tile (_filter_grad.pxi).
    TILE_FULL = 0        # 8 channels x 2 vectors of outputs
    TILE_HALF = 1        # 8 channels x 1 vector
    TILE_PACK = 2        # 8 channels x one or two groups of <= 8 outputs, packed lanes
    TILE_WIDE = 3        # 4 channels x 4 vectors (AVX-512)

ctypedef struct DirectGeo:
    # One call of the direct (register-blocked) convolution, _direct_conv.
    Py_ssize_t N, H, W       # input images: x, or dy for conv2d_transpose
    Py_ssize_t C, xps        # channels each group reduces; x values per pixel (groups*C)
    Py_ssize_t Ho, Wo        # output images: y, or dx
    Py_ssize_t O, yps        # outputs of each group; y values per pixel (groups*O)
    Py_ssize_t groups, Kh, Kw
    Py_ssize_t vb, nob       # output channels per packed block; blocks per group
    Py_ssize_t pack          # reduction channels per lane group (KIND_PACK), else 1
    int kind                 # the row micro-kernel (KIND_*)
    bint transpose
    Window win



cdef object _direct_forward(const floating[:, :, :, ::1] x, const floating[:, :, :, ::1] w,
                            Py_ssize_t Ho, Py_ssize_t Wo, Window win, Py_ssize_t groups,
                            bint threads):
    """conv2d by the direct algorithm: y (N, Ho, Wo, C_out); group g reduces its Cg
    input channels into its Og outputs."""
    dtype = np.float32 if floating is float else np.float64
    cdef DirectGeo d
    _direct_geo(&d, x.shape[0], x.shape[1], x.shape[2], w.shape[2], Ho, Wo,
                w.shape[3] // groups, groups, win, False, floating is float)
    cdef floating[:, :, :, :, ::1] wp = _packed_filter(w, &d)
    cdef const floating[::1] zeros = np.zeros(x.shape[3], dtype=dtype)
    y = np.empty((x.shape[0], Ho, Wo, w.shape[3]), dtype=dtype)
    cdef floating[:, :, :, ::1] y_view = y
    with nogil:
        _direct_conv(&x[0, 0, 0, 0], &wp[0, 0, 0, 0, 0], &y_view[0, 0, 0, 0], &zeros[0], &d,
                     threads)
    return y


cdef object _direct_transpose(const floating[:, :, :, ::1] dy, const floating[:, :, :, ::1] w,
                              Py_ssize_t H, Py_ssize_t W, Window win, Py_ssize_t groups,
                              bint threads):
    """conv2d_transpose by the direct algorithm: dx (N, H, W, C_in), a direct
    convolution of dy with the channel-swapped filter, one output phase (h % sh,
    v % sw) at a time (see _transpose_unit); group g reduces its Og channels of dy
    into its Cg channels of dx."""
    dtype = np.float32 if floating is float else np.float64
    cdef DirectGeo d
    _direct_geo(&d, dy.shape[0], dy.shape[1], dy.shape[2], w.shape[3] // groups, H, W,
                w.shape[2], groups, win, True, floating is float)
    cdef floating[:, :, :, :, ::1] wp = _packed_filter(w, &d)
    cdef const floating[::1] zeros = np.zeros(dy.shape[3], dtype=dtype)
    dx = np.empty((dy.shape[0], H, W, w.shape[2] * groups), dtype=dtype)
    cdef floating[:, :, :, ::1] dx_view = dx
    with nogil:
        _direct_conv(&dy[0, 0, 0, 0], &wp[0, 0, 0, 0, 0], &dx_view[0, 0, 0, 0], &zeros[0], &d,
                     threads)
    return dx


cdef object _pixels_forward(const float[:, :, :, ::1] x, const float[:, :, :, ::1] w,
                            Py_ssize_t Ho, Py_ssize_t Wo, Window win, bint threads):
    """conv2d with one input channel and <= 8 outputs (float32, column stride 1):
    vectors along the output pixels (nb_c1_row_f32), one output row per work unit."""
    y = np.empty((x.shape[0], Ho, Wo, w.shape[3]), dtype=np.float32)
    cdef float[:, :, :, ::1] y_view = y
    cdef Py_ssize_t row
    with nogil:
        for row in prange(x.shape[0] * Ho, schedule="static", num_threads=nb_team_size(),
                          use_threads_if=threads):
            _c1_row(&x[0, 0, 0, 0], x.shape[1], x.shape[2], &w[0, 0, 0, 0], w.shape[0],
                    w.shape[1], &y_view[0, 0, 0, 0], Ho, Wo, w.shape[3], win, row)
    return y


cdef inline int _kernel_kind(Py_ssize_t C, Py_ssize_t O, Py_ssize_t groups, Py_ssize_t *vb,
                             Py_ssize_t *pack) noexcept:
    """The row micro-kernel for C reduction and O output channels; sets its block width.

    vb comes in as the full block (2 vectors).  One group of a grouped convolution
    with at most half a vector of outputs: the packed form (P = 4 or 2 reduction
    channels per output, so all lanes work; AVX-512).  Few outputs (O <= NB_DOT_MAXCH)
    with at least as many reduction channels: the dot form, whose vectors run along
    C (a full block would be mostly padding).  O up to one vector: the half-width block.
    """
    cdef Py_ssize_t lanes = vb[0] // 2
    pack[0] = 1
    if NB_HAVE_PACK and groups > 1 and 2 * O <= lanes:
        pack[0] = 4 if 4 * O <= lanes and C % 4 == 0 else 2
        if C % pack[0] == 0:
            vb[0] = lanes
            return KIND_PACK
        pack[0] = 1
    if O <= NB_DOT_MAXCH and C >= O:
        vb[0] = O
        return KIND_DOT
    if O <= vb[0] // 2:
        vb[0] = vb[0] // 2
        return KIND_HALF
    return KIND_BLOCK


cdef void _direct_geo(DirectGeo *d, Py_ssize_t N, Py_ssize_t H, Py_ssize_t W, Py_ssize_t C,
                      Py_ssize_t Ho, Py_ssize_t Wo, Py_ssize_t O, Py_ssize_t groups,
                      Window win, bint transpose, bint single) noexcept:
    """Fill d for a direct convolution (transpose: a transposed one) of x (N, H, W,
    groups*C) into y (N, Ho, Wo, groups*O), group g reducing its C channels of x into
    its O channels of y; single: float32, else float64."""
    d.N, d.H, d.W, d.C, d.xps = N, H, W, C, groups * C
    d.Ho, d.Wo, d.O, d.yps = Ho, Wo, O, groups * O
    d.groups, d.Kh, d.Kw, d.win, d.transpose = groups, win.kh, win.kw, win, transpose
    d.vb = NB_VB_F32 if single else NB_VB_F64
    d.kind = _kernel_kind(C, O, groups, &d.vb, &d.pack)
    if d.kind == KIND_BLOCK and _wide_ok(d):
        d.kind, d.vb = KIND_WIDE, 2 * d.vb
    d.nob = (O + d.vb - 1) // d.vb


cdef inline bint _wide_ok(const DirectGeo *d) noexcept:
    """Whether the block kernel's 8 x 2-vector tiles give way to 4 x 4-vector ones
    (AVX-512): for ungrouped layers whose outputs fill whole 4-vector blocks and
    whose reduction runs per tap (Kw*C values where the column taps merge, else C)
    have at most WIDE_MAX_RUN values.  There a tile's fixed costs per tap (its pixel
    pointers, loop, border copies) weigh most, and a wide tile pays them once for 64
    outputs instead of twice: the 7x7/2 stem (runs of 21) 0.82-0.92x of the time,
    3x3 layers with 3 to 16 input channels and 64 outputs 0.79-0.99x; with runs of
    96 or more 0.96-1.06x (benchmarks/results/2026-11-30-session7.md)."""
    cdef Py_ssize_t run = d.Kw * d.C if d.win.dw == 1 else d.C
    return (WIDE_TILES and NB_HAVE_WIDE and d.groups == 1 and d.O % (2 * d.vb) == 0
            and run <= WIDE_MAX_RUN)


cdef object _packed_filter(const floating[:, :, :, ::1] w, const DirectGeo *d):
    """The filter w (Kh, Kw, Cg, C_out), packed group by group for d's micro-kernel.

    Block layout (groups * nob, Kh, Kw, C, vb): the nob blocks of each group in turn.
    Dot layout (groups, Kh, Kw, O, C).  See _pack.  Forward: group g reduces w's axis 2
    into its outputs g*O ... (axis 3); transpose: the reverse.
    """
    dtype = np.float32 if floating is float else np.float64
    cdef Py_ssize_t Kh = d.Kh, Kw = d.Kw, C = d.C, O = d.O, g, first
    cdef Py_ssize_t C_out = w.shape[3], ts = w.shape[2] * C_out, Og = C_out // d.groups
    cdef bint dot = d.kind == KIND_DOT
    cdef tuple shape
    if dot:
        shape = (d.groups, Kh, Kw, O, C)
    else:
        shape = (d.groups * d.nob, Kh, Kw, C // d.pack, d.vb)
    packed = _aligned_zeros(shape, dtype)
    cdef floating[:, :, :, :, ::1] wp = packed
    for g in range(d.groups):
        first = g if dot else g * d.nob
        if d.transpose:
            # Reduction over the group's outputs (stride 1 in w), outputs along w's
            # axis 2 (stride C_out).  Column stride 1: columns packed flipped, so the
            # row kernel sees a forward geometry (column taps one apart, ascending)
            # and can merge column taps.
            _pack(&w[0, 0, 0, g * Og], Kh, Kw, C, O, ts, 1, C_out, d.vb, d.pack, dot,
                  d.win.sw == 1, &wp[first, 0, 0, 0, 0])
        else:
            _pack(&w[0, 0, 0, g * Og], Kh, Kw, C, O, ts, C_out, 1, d.vb, d.pack, dot, False,
                  &wp[first, 0, 0, 0, 0])
    return packed


cdef void _pack(const floating *w, Py_ssize_t Kh, Py_ssize_t Kw, Py_ssize_t C, Py_ssize_t O,
                Py_ssize_t ts, Py_ssize_t sc, Py_ssize_t so, Py_ssize_t vb, Py_ssize_t P,
                bint dot, bint flip, floating *out) noexcept nogil:
    """Copy the filter (of one group) into the layout a micro-kernel streams through.

    Source: tap t = a*Kw + b, reduction channel c, output channel o at
    w[t*ts + c*sc + o*so] (conv2d: HWIO, ts = Cg*C_out, sc = C_out, so = 1, w at the
    group's first output; conv2d_transpose: the same array read with input and output
    channels swapped, sc = 1, so = C_out); with flip,
    packed column b holds source column Kw - 1 - b.  Block layout (ceil(O/vb), Kh*Kw,
    C, vb): panel [ob, t] is the C x vb matrix of outputs ob*vb .. ob*vb + vb - 1, zero
    past O (out must be zeroed).  Packed (P > 1; O <= vb/P): each panel is C/P rows of
    vb, lane o*P + j of row k holding channel k*P + j of output o.  Dot layout (Kh, O,
    Kw, C): for each row tap and output, the column taps' reductions are one contiguous
    run.
    """
    cdef Py_ssize_t taps = Kh * Kw, t, a, b, c, o, ob
    cdef const floating *src
    cdef floating *dst
    for t in range(taps):
        a = t // Kw
        b = t % Kw
        src = w + (a * Kw + (Kw - 1 - b if flip else b)) * ts
        if dot:
            for o in range(O):
                dst = out + ((a * O + o) * Kw + b) * C
                for c in range(C):
                    dst[c] = src[c * sc + o * so]
        else:
            for ob in range((O + vb - 1) // vb):
                dst = out + (ob * taps + t) * C * vb // P
                for c in range(C):
                    for o in range(ob * vb, min(ob * vb + vb, O)):
                        dst[(c // P) * vb + (o - ob * vb) * P + c % P] = src[c * sc + o * so]


cdef object _aligned_zeros(tuple shape, dtype, bint zero=True):
    """np.zeros(shape, dtype) starting on a 64-byte boundary (NumPy only promises 16);
    np.empty's uninitialised memory if not zero (for scratch a kernel writes before
    it reads).

    The micro-kernels load 64-byte vectors from these buffers; unaligned, every
    load would be split across two cache lines.
    """
    cdef Py_ssize_t itemsize = 4 if dtype is np.float32 else 8, nbytes = itemsize, d
    for d in shape:
        nbytes *= d
    raw = (np.zeros if zero else np.empty)(nbytes + 64, dtype=np.uint8)
    cdef unsigned char[::1] raw_view = raw
    cdef Py_ssize_t start = (64 - <size_t>&raw_view[0] % 64) % 64
    return raw[start:start + nbytes].view(dtype).reshape(shape)


cdef inline void _conv_row(const floating *x, const floating *wblk, floating *y,
                           const floating *zeros, const nb_rowgeo *g, int kind,
                           Py_ssize_t pack, const DirectGeo *d,
                           Py_ssize_t pair) noexcept nogil:
    """One row micro-kernel call; the packed kernel may take 2 or 4 groups at once
    (pair; their inputs, outputs and filter panels one group's width apart, from d)."""
    if kind == KIND_PACK:
        if floating is float:
            nb_pack_row_f32(x, wblk, _panel_size(d), y, d.C, d.O, zeros, g, pack, pair)
        else:
            nb_pack_row_f64(x, wblk, _panel_size(d), y, d.C, d.O, zeros, g, pack, pair)
    elif floating is float:
        if kind == KIND_BLOCK:
            nb_conv_row_f32(x, wblk, y, zeros, g)
        elif kind == KIND_WIDE:
            nb_conv_wide_f32(x, wblk, y, zeros, g)
        elif kind == KIND_HALF:
            nb_conv_half_f32(x, wblk, y, zeros, g)
        else:
            nb_dot_row_f32(x, wblk, y, zeros, g)
    else:
        if kind == KIND_BLOCK:
            nb_conv_row_f64(x, wblk, y, zeros, g)
        elif kind == KIND_WIDE:
            nb_conv_wide_f64(x, wblk, y, zeros, g)
        elif kind == KIND_HALF:
            nb_conv_half_f64(x, wblk, y, zeros, g)
        else:
            nb_dot_row_f64(x, wblk, y, zeros, g)


cdef void _direct_conv(const floating *x, const floating *wp, floating *y,
                       const floating *zeros, const DirectGeo *d, bint threads) noexcept nogil:
    """y (N, Ho, Wo, groups*O) from x (N, H, W, groups*C) and the packed filter wp.

    Forward (d.transpose False): y = conv2d(x, w).  Transpose: x is dy, y is dx and wp
    packs w with its channels swapped (HWOI): y = conv2d_transpose(x, w).
    d.kind picks the micro-kernel (KIND_*); wp was packed by _packed_filter for it.
    Block b < groups*nob is block b % nob (vb output channels) of group b // nob.
    Work unit: one output row y[n, i] and one set of blocks; units write disjoint
    parts of y (every cell of y exactly once), so no races.
    """
    cdef Py_ssize_t nblocks = d.groups * d.nob, rows = d.N * d.Ho, u
    # The blocks are split into nsets equal sets whose filter panels (Kh*Kw*C*vb
    # values per block) fit in FILTER_CACHE_BYTES; a work unit is one output row and
    # one set, so a thread sweeps the rows with a cache-resident filter set, and the
    # input rows are re-read once per set.
    cdef Py_ssize_t panel = _panel_size(d) * sizeof(floating)
    cdef Py_ssize_t nsets = (nblocks * panel + FILTER_CACHE_BYTES - 1) // FILTER_CACHE_BYTES
    if nsets > nblocks:
        nsets = nblocks
    while nblocks % nsets:
        nsets += 1
    cdef Py_ssize_t per_set = nblocks // nsets
    for u in prange(rows * nsets, schedule="static", num_threads=nb_team_size(), use_threads_if=threads):
        _direct_blocks(x, wp, y, zeros, d, u % rows, (u // rows) * per_set,
                       (u // rows + 1) * per_set)


cdef inline void _direct_blocks(const floating *x, const floating *wp, floating *y,
                                const floating *zeros, const DirectGeo *d, Py_ssize_t row,
                                Py_ssize_t ob0, Py_ssize_t ob1) noexcept nogil:
    """Output row `row` (of y, or of dx for the transpose), channel blocks [ob0, ob1);
    the packed kernel takes four or two groups (blocks) at a time where it can.  Meanwhile
    it prefetches, a slice per block, the input rows the next row will read and the
    next output row (a store to a line not in cache waits for the line to be read)."""
    cdef Py_ssize_t ob = ob0, pair, step = 0, steps, nbytes, ybytes = 0
    cdef const floating *ahead = _next_input_rows(x, d, row, &nbytes)
    if PREFETCH & PREFETCH_OUTPUT and row + 1 < d.N * d.Ho:
        ybytes = min(d.Wo * d.yps * <Py_ssize_t>sizeof(floating), PREFETCH_MAX_BYTES)
    steps = (ob1 - ob0 + PACK_GROUPS - 1) // PACK_GROUPS if d.kind == KIND_PACK else ob1 - ob0
    if nbytes > PREFETCH_BURST_BYTES * steps:
        # Long contiguous rows (1x1 transpose, 256 channels: 28 KB a step) ran 5-7%
        # slower with the prefetch: the hardware follows those runs by itself.
        nbytes = 0
    while ob < ob1:
        nb_prefetch_part(ahead, nbytes, step, steps)
        nb_prefetch_part(y + (row + 1) * d.Wo * d.yps, ybytes, step, steps)
        pair = 1
        if d.kind == KIND_PACK:
            pair = min(PACK_GROUPS, ob1 - ob)
            if pair == 3:                    # the kernel takes 1, 2 or 4 groups
                pair = 2
        if d.transpose:
            _transpose_unit(x, wp, y, zeros, d, row, ob, pair)
        else:
            _forward_unit(x, wp, y, zeros, d, row, ob, pair)
        ob += pair
        step += 1


cdef inline void _input_rows(const DirectGeo *d, Py_ssize_t i, Py_ssize_t *lo,
                             Py_ssize_t *hi) noexcept nogil:
    """The input rows [lo, hi) that output row i (of its image) reads, clipped to the
    image (lo >= hi: none).  conv2d: rows i*sh - pt + a*dh; conv2d_transpose (the
    input is dy): the rows q with q*sh + a*dh - pt = i for some tap a."""
    cdef Window win = d.win
    cdef Py_ssize_t top
    if d.transpose:
        top = i + win.pt - (d.Kh - 1) * win.dh       # q*sh >= top; C division truncates
        lo[0] = top // win.sh if top < 0 else (top + win.sh - 1) // win.sh
        hi[0] = (i + win.pt) // win.sh + 1 if i + win.pt >= 0 else 0
    else:
        lo[0] = i * win.sh - win.pt
        hi[0] = lo[0] + (d.Kh - 1) * win.dh + 1
    lo[0] = max(lo[0], 0)
    hi[0] = min(hi[0], d.H)


cdef inline const floating *_next_input_rows(const floating *x, const DirectGeo *d,
                                             Py_ssize_t row, Py_ssize_t *nbytes) noexcept nogil:
    """The input rows output row `row + 1` reads and row `row` does not, as a start in
    x and a byte count (0: none), for the prefetch of _direct_blocks."""
    cdef Py_ssize_t lo, hi, lo_now, hi_now, n = (row + 1) // d.Ho
    nbytes[0] = 0
    if row + 1 >= d.N * d.Ho or not PREFETCH & PREFETCH_INPUT:
        return x
    _input_rows(d, (row + 1) % d.Ho, &lo, &hi)
    if n == row // d.Ho:
        _input_rows(d, row % d.Ho, &lo_now, &hi_now)
        lo = max(lo, hi_now)
    if lo >= hi:
        return x
    nbytes[0] = min((hi - lo) * d.W * d.xps * <Py_ssize_t>sizeof(floating), PREFETCH_MAX_BYTES)
    return x + (n * d.H + lo) * d.W * d.xps


cdef inline Py_ssize_t _panel_size(const DirectGeo *d) noexcept nogil:
    """Values of the packed filter per block (see _pack)."""
    return d.Kh * d.Kw * d.C * d.vb // d.pack


cdef inline void _block_pointers(const DirectGeo *d, Py_ssize_t ob, Py_ssize_t *x_off,
                                 Py_ssize_t *y_off, Py_ssize_t *nch) noexcept nogil:
    """Block ob's first channel of x and of y (offsets within a pixel), and its width."""
    cdef Py_ssize_t g = ob // d.nob, k = ob % d.nob
    x_off[0] = g * d.C
    y_off[0] = g * d.O + k * d.vb
    nch[0] = min(d.vb, d.O - k * d.vb)


cdef inline void _forward_unit(const floating *x, const floating *wp, floating *y,
                               const floating *zeros, const DirectGeo *d, Py_ssize_t row,
                               Py_ssize_t ob, Py_ssize_t pair) noexcept nogil:
    """Output row y[n, i], channel blocks ob .. ob + pair - 1 (pair > 1: packed)."""
    cdef Py_ssize_t n = row // d.Ho, i = row % d.Ho, x_off, y_off
    cdef Window win = d.win
    cdef nb_rowgeo g
    _block_pointers(d, ob, &x_off, &y_off, &g.nch)
    g.H, g.W, g.C, g.xps = d.H, d.W, d.C, d.xps
    # Row tap a reads input row i*sh - pt + a*dh (the kernel skips rows outside).
    g.row0, g.row_step, g.wa0, g.wa_step, g.na = i * win.sh - win.pt, win.dh, 0, 1, d.Kh
    # Column tap b of pixel j reads input column j*sw - pl + b*dw (zeros outside).
    g.col0, g.col_pix, g.col_tap, g.wb0, g.wb_step, g.nb = -win.pl, win.sw, win.dw, 0, 1, d.Kw
    g.Kw, g.npix, g.y_pix = d.Kw, d.Wo, d.yps
    _conv_row(x + n * d.H * d.W * d.xps + x_off, wp + ob * _panel_size(d),
              y + row * d.Wo * d.yps + y_off, zeros, &g, d.kind, d.pack, d, pair)


cdef inline void _c1_row(const float *x, Py_ssize_t H, Py_ssize_t W, const float *w,
                         Py_ssize_t Kh, Py_ssize_t Kw, float *y, Py_ssize_t Ho, Py_ssize_t Wo,
                         Py_ssize_t O, Window win, Py_ssize_t row) noexcept nogil:
    """Output row y[n, i] of a one-input-channel conv2d (nb_c1_row_f32, w: HWIO)."""
    cdef Py_ssize_t n = row // Ho, i = row % Ho
    cdef nb_rowgeo g
    g.H, g.W, g.C, g.xps = H, W, 1, 1
    g.row0, g.row_step, g.wa0, g.wa_step, g.na = i * win.sh - win.pt, win.dh, 0, 1, Kh
    g.col0, g.col_pix, g.col_tap, g.wb0, g.wb_step, g.nb = -win.pl, 1, win.dw, 0, 1, Kw
    g.Kw, g.npix, g.y_pix, g.nch = Kw, Wo, O, O
    nb_c1_row_f32(x + n * H * W, w, y + row * Wo * O, &g)


cdef inline Py_ssize_t _gcd(Py_ssize_t a, Py_ssize_t b) noexcept nogil:
    while b:
        a, b = b, a % b
    return a


cdef inline void _phase_taps(Py_ssize_t offset, Py_ssize_t d, Py_ssize_t s, Py_ssize_t K,
                             Py_ssize_t *t0, Py_ssize_t *t_step, Py_ssize_t *count,
                             Py_ssize_t *e0, Py_ssize_t *e_step) noexcept nogil:
    """The taps t < K of one output phase of conv2d_transpose along one axis.

    Output cell h = q*s + rh of dx gets tap t from dy cell (h + p - t*d) / s when that
    is whole; with offset = rh + p (>= 0) that is  q + (offset - t*d) / s.  The taps
    with s | offset - t*d are t0, t0 + t_step, ... (count of them, t_step = s / gcd(s, d));
    tap k of them reads dy cell  q + e0 + k*e_step  (e_step = -t_step*d/s <= 0).
    """
    cdef Py_ssize_t t
    count[0] = 0
    t0[0] = 0
    t_step[0] = s // _gcd(s, d)
    e0[0] = 0
    e_step[0] = -(t_step[0] * d) // s
    for t in range(min(K, s)):
        if (offset - t * d) % s == 0:   # C remainder: 0 iff divisible, for any sign
            t0[0] = t
            count[0] = (K - 1 - t) // t_step[0] + 1
            e0[0] = (offset - t * d) // s   # exact: no rounding for negative values
            return


cdef inline void _transpose_unit(const floating *dy, const floating *wp, floating *dx,
                                 const floating *zeros, const DirectGeo *d, Py_ssize_t row,
                                 Py_ssize_t ob, Py_ssize_t pair) noexcept nogil:
    """Row dx[n, h], channel blocks ob .. ob + pair - 1: one row kernel call
    per column phase v % sw.

    Here d's input is dy (N, d.H, d.W, .) and its output dx (N, d.Ho, d.Wo, .)."""
    cdef Py_ssize_t n = row // d.Ho, h = row % d.Ho, rw, x_off, y_off
    cdef Py_ssize_t a0, a_step, na, e0, e_step, b0, b_step, nb, f0, f_step
    cdef Py_ssize_t Kh = d.Kh, Kw = d.Kw, W = d.Wo
    cdef Window win = d.win
    cdef nb_rowgeo g
    _block_pointers(d, ob, &x_off, &y_off, &g.nch)
    _phase_taps(h % win.sh + win.pt, win.dh, win.sh, Kh, &a0, &a_step, &na, &e0, &e_step)
    g.H, g.W, g.C, g.xps = d.H, d.W, d.C, d.xps
    g.row0, g.row_step, g.wa0, g.wa_step, g.na = h // win.sh + e0, e_step, a0, a_step, na
    g.Kw = Kw
    g.y_pix = win.sw * d.yps
    for rw in range(min(win.sw, W)):
        _phase_taps(rw + win.pl, win.dw, win.sw, Kw, &b0, &b_step, &nb, &f0, &f_step)
        if win.sw == 1:
            # Filter packed with flipped columns (see _packed_filter): packed column
            # l reads dy column  v + pl - (Kw - 1 - l)*dw.
            g.col0, g.col_pix, g.col_tap = win.pl - (Kw - 1) * win.dw, 1, win.dw
            g.wb0, g.wb_step, g.nb = 0, 1, Kw
        else:
            g.col0, g.col_pix, g.col_tap, g.wb0, g.wb_step, g.nb = f0, 1, f_step, b0, b_step, nb
        g.npix = (W - rw + win.sw - 1) // win.sw
        _conv_row(dy + n * d.H * d.W * d.xps + x_off, wp + ob * _panel_size(d),
                  dx + (row * W + rw) * d.yps + y_off, zeros, &g, d.kind, d.pack, d, pair)
