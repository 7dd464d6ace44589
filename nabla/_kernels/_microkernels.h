/* Register-blocked micro-kernels of nabla's convolutions (used by conv.pyx).
 *
 * The kernels, each for float (suffix _f32) and double (_f64):
 *
 * nb_conv_row: one output row of a direct NHWC x (packed) HWIO convolution for one
 *   block of VB output channels (VB = 32 floats or 16 doubles = two 512-bit vectors).
 *   The row is cut into tiles of NB_PX = 8 output pixels (6 with AVX2); a tile keeps its
 *   NB_PX x VB
 *   partial sums in 16 vector registers, and for every filter tap and input channel c
 *   loads the packed filter row wblk[tap][c][0:VB] (two vectors) and broadcasts the 8
 *   input values x[pixel][c].  Taps whose input row is outside the image are skipped;
 *   pixels whose input column is outside the image (padding), and pixels past the end
 *   of the row, read from `zeros` (C zeros) instead, so one code path serves interior
 *   and border tiles and no padded copy of the input is ever made.
 *   Geometry (nb_rowgeo, all in elements/indices, signed):
 *     row tap k < na reads input row  row0 + k*row_step  with filter row  wa0 + k*wa_step;
 *     col tap l < nb reads, for pixel q, input column  col0 + q*col_pix + l*col_tap  with
 *     filter column  wb0 + l*wb_step;  filter tap (wa, wb) of the block is at
 *     wblk + (wa*Kw + wb)*C*VB, a C x VB row-major panel (zero-padded past the last channel).
 *     Channel c < C of input pixel (r, col) is x[(r*W + col)*xps + c]: xps == C for a
 *     plain convolution, xps > C for one group of a grouped one (x points at the group's
 *     first channel); column taps merge into one run only when xps == C.
 *   Output pixel q (q < npix) goes to y + q*y_pix, channels [0, nch), nch <= VB; the
 *   row kernel overwrites (it does not accumulate), and with na == 0 or nb == 0 it
 *   writes zeros.  conv2d uses a stride-1-in-taps geometry; conv2d_transpose uses one
 *   output phase per call (negative steps: the filter is read flipped).
 *
 * nb_fgrad_tile: the filter-gradient tile dw[k][0:no] += sum_{r, q} x[r*xrs + q*xps + k]
 *   * dy[r*dyrs + q*dyps + 0:no] for k < nc <= 8 input channels and no <= VB output
 *   channels: 8 broadcasts and 2 vector loads per pixel, 16 accumulators.
 *   nb_fgrad_half: the same for no <= VB/2 (one vector, 8 accumulators).
 *
 * nb_conv_half: nb_conv_row with half-width blocks (VB = 16 floats / 8 doubles, one
 *   vector per pixel), for nch <= VB/2 output channels; panels are C x VB/2.
 *
 * nb_conv_wide (AVX-512 only, NB_HAVE_WIDE): nb_conv_row with double-width blocks
 *   (VB = 64 floats / 32 doubles, four vectors per pixel) in tiles of NB_PXW = 4
 *   pixels, for whole blocks (nch == 2*VB); panels are C x 2*VB.  Same sums in the
 *   same order: the same bits.  nb_fgrad_wide: the filter-gradient tile of NB_FGW_C =
 *   4 input channels x 2*VB outputs (4 broadcasts and 4 vector loads per pixel), the
 *   same bits as nb_fgrad_tile.
 *
 * nb_dot_row: the same row geometry for few output channels (nch <= NB_DOT_MAXCH), as
 *   conv2d_transpose needs when the layer has few input channels: vectors run along
 *   the reduction channels C instead (w row (wa, wb, o, 0:C) is contiguous in the
 *   HWIO filter itself), a tile is NB_DOT_PX pixels x nch channels of vector partial
 *   sums, reduced horizontally once per tile.  wblk[((wa*nch + o)*Kw + wb)*C + c]: a
 *   row tap's column taps are contiguous, so interior tiles with column taps one
 *   apart run one reduction of nb*C per row tap (as the block kernels do).
 *
 * nb_c1_row_f32 (AVX-512 only, NB_HAVE_C1): one input channel, vectors along pixels.
 *
 * nb_pack_row (AVX-512 only, NB_HAVE_PACK): few outputs, P reduction channels per
 *   lane group, so all lanes work (one group of a grouped convolution).
 *   nb_fgrad_pack_f32: the filter-gradient tile of one or two such groups (<= 8
 *   outputs each), two channels per output lane pair.
 *
 * One dialect for every instruction set: the kernels are written once, as macros over
 * a small table of vector operations (LANES, SET1, FMADD, SETZERO, LOADU, STOREU, and
 * MASKN / MLOADU / MSTOREU for the channel tails), instantiated for AVX-512 (16 floats
 * per vector, bit masks) and for AVX2 + FMA (8 floats, vector masks), whichever the
 * compiler targets (setup.py builds one variant per instruction set; the package picks
 * one at run time).  Without either, the same loops are written in plain C (the
 * compiler vectorises them for its baseline, SSE2 on x86-64, NEON on aarch64), and the
 * dot-form kernel runs on a table of one-lane "vectors".  The paths agree up to the
 * order of floating-point sums.
 */
#ifndef NABLA_MICROKERNELS_H
#define NABLA_MICROKERNELS_H

#include <stddef.h>
#include <string.h>
#if defined(__AVX512F__) || (defined(__AVX2__) && defined(__FMA__))
#include <immintrin.h>
#define NB_SIMD 1            /* the vector-table kernels below; else the plain C ones */
#endif

typedef ptrdiff_t nb_idx;

typedef struct {
    nb_idx H, W, C;                  /* input image (rows, columns); C channels reduced */
    nb_idx xps;                      /* x values per input pixel (C, or more: a group's C
                                        channels of a wider image)                    */
    nb_idx row0, row_step, wa0, wa_step, na;
    nb_idx col0, col_pix, col_tap, wb0, wb_step, nb;
    nb_idx Kw;                       /* filter columns of the packed panel layout */
    nb_idx npix, y_pix, nch;
} nb_rowgeo;

/* Software prefetch of slice k of `parts` equal slices of the bytes [p, p + n), one
 * request per 64-byte line, into the outer caches.  A work unit asks, one slice per
 * step of its own work, for the rows the next unit will read: a grouped layer reads
 * each pixel's channels group by group, a few lines 1 KB apart, which the hardware
 * prefetchers do not follow, and a layer whose input comes from memory (as in a
 * backward pass, never in a benchmark that repeats one call) ran up to 1.8x slower
 * than from cache (benchmarks/results/2026-11-30-prefetch.md).  No-op without
 * GCC/clang's __builtin_prefetch. */
static inline void nb_prefetch(const void *from, const void *to) {
    const char *q = (const char *)((size_t)from & ~(size_t)63);
    for (; q < (const char *)to; q += 64) {
#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
        /* As asm: GCC 12 deleted this loop written with __builtin_prefetch (when
         * nb_prefetch_part can return early), leaving no prefetch in the code. */
        __asm__ volatile("prefetcht1 %0" : : "m"(*q));
#elif defined(__GNUC__) || defined(__clang__)
        __builtin_prefetch(q, 0, 2);
#endif
    }
}

static inline void nb_prefetch_part(const void *p, nb_idx n, nb_idx k, nb_idx parts) {
    const char *c = (const char *)p;
    nb_idx lo, hi;
    if (c == NULL || n <= 0 || parts <= 0 || k < 0 || k >= parts)
        return;
    lo = (n / parts) * k + (n % parts) * k / parts;
    hi = (n / parts) * (k + 1) + (n % parts) * (k + 1) / parts;
    nb_prefetch(c + lo, c + hi);
}

/* Output pixels per tile: 8 x 2 vectors = 16 accumulators fit AVX-512's 32 registers;
 * AVX2 has 16, so 6 x 2 = 12 accumulators plus the two filter vectors and a broadcast. */
#if defined(__AVX512F__) || !defined(NB_SIMD)
#define NB_PX 8
#else
#define NB_PX 6
#endif
/* A block of output channels is two vectors: 32 floats / 16 doubles with AVX-512 (and
 * in the plain C kernels), 16 / 8 with AVX2. */
#if defined(__AVX512F__) || !defined(NB_SIMD)
#define NB_VB_F32 32
#define NB_VB_F64 16
#else
#define NB_VB_F32 16
#define NB_VB_F64 8
#endif
#define NB_FG_C 8                    /* input channels per filter-gradient tile */
#define NB_FGW_C 4                   /* ... per wide filter-gradient tile (AVX-512) */
#define NB_DOT_PX 4
#define NB_DOT_MAXCH 6

/* Set p[0..NP-1] to the input pixel rows of tile q0, col tap l (zeros when outside). */
#define NB_TILE_POINTERS_N(NP, p, xrow, g, q0, np, l, zeros)                        \
    do {                                                                            \
        nb_idx cbase_ = (g)->col0 + (q0) * (g)->col_pix + (l) * (g)->col_tap;       \
        for (int t_ = 0; t_ < (NP); t_++) {                                         \
            nb_idx col_ = cbase_ + t_ * (g)->col_pix;                               \
            (p)[t_] = (t_ < (np) && col_ >= 0 && col_ < (g)->W)                     \
                ? (xrow) + col_ * (g)->xps : (zeros);                               \
        }                                                                           \
    } while (0)

/* Merged column taps at a border tile (nb*C <= NB_MERGE_MAX): pixel t whose run
 * x[col .. col + nb - 1][0 .. C) is not wholly inside the row (or t >= np) reads a
 * copy of it in tmp[t] with zeros for the columns outside, so border tiles too run
 * one reduction of nb*C instead of nb reductions of C.  The copy is NB_COPY_RUN
 * (vectors: a masked load and a full store per LANES values, which stays inside
 * tmp[t] as LANES divides NB_MERGE_MAX); as a scalar loop it cost layers with 3 or
 * 4 channels 5-10%. */
#define NB_MERGE_MAX 32
#define NB_PAD_RUNS(NP, T, p, tmp, xrow, g, q0, np, C)                              \
    do {                                                                            \
        const nb_idx run_ = (g)->nb * (C);                                          \
        nb_idx cb_ = (g)->col0 + (q0) * (g)->col_pix;                               \
        for (int t_ = 0; t_ < (NP); t_++) {                                         \
            nb_idx col_ = cb_ + t_ * (g)->col_pix;                                  \
            if (t_ < (np) && col_ >= 0 && col_ + (g)->nb - 1 < (g)->W) continue;    \
            /* values [lo_, hi_) of the run are inside the row */                   \
            nb_idx lo_ = col_ < 0 ? -col_ * (C) : 0;                                \
            nb_idx hi_ = ((g)->W - col_) * (C);                                     \
            if (hi_ > run_) hi_ = run_;                                             \
            if (t_ >= (np) || lo_ > hi_) lo_ = hi_ = run_;                          \
            T *d_ = (tmp)[t_];                                                      \
            NB_COPY_RUN(T, d_, (xrow) + col_ * (C), lo_, hi_, run_);                \
            (p)[t_] = d_;                                                           \
        }                                                                           \
    } while (0)

/* The dot-form row kernel, generic over the vector abstraction below; NO is a
 * compile-time constant at each call site (the dispatcher's switch), so only the
 * NB_DOT_PX x NO accumulators a<t>_<o> that are used survive, all in registers. */
#define NB_DOT_ACC(o, V, MLOAD_, FMA_) do {                                         \
        if (NO > o) {                                                               \
            const V wv = MLOAD_(m, wp + o * os + c);                                \
            a0_##o = FMA_(x0, wv, a0_##o); a1_##o = FMA_(x1, wv, a1_##o);           \
            a2_##o = FMA_(x2, wv, a2_##o); a3_##o = FMA_(x3, wv, a3_##o);           \
        }                                                                           \
    } while (0)
#define NB_DOT_OUT(t, T, HSUM_) do {                                                \
        if (np > t) {                                                               \
            T *yp = y + (q0 + t) * g->y_pix;                                        \
            yp[0] = HSUM_(a##t##_0);                                                \
            if (NO > 1) yp[1] = HSUM_(a##t##_1);                                    \
            if (NO > 2) yp[2] = HSUM_(a##t##_2);                                    \
            if (NO > 3) yp[3] = HSUM_(a##t##_3);                                    \
            if (NO > 4) yp[4] = HSUM_(a##t##_4);                                    \
            if (NO > 5) yp[5] = HSUM_(a##t##_5);                                    \
        }                                                                           \
    } while (0)
#define NB_DOT_ZERO(t, V, SETZERO_)                                                 \
    V a##t##_0 = SETZERO_(), a##t##_1 = SETZERO_(), a##t##_2 = SETZERO_();          \
    V a##t##_3 = SETZERO_(), a##t##_4 = SETZERO_(), a##t##_5 = SETZERO_();

#define NB_DEFINE_DOT_ROW(NAME, T, V, LANES_, MASK_, MASKN_, SETZERO_, MLOAD_, FMA_, HSUM_) \
static inline __attribute__((always_inline)) void NAME##_n(                         \
    const T *x, const T *wblk, T *y, const T *zeros, const nb_rowgeo *g, const int NO) \
{                                                                                   \
    const nb_idx C = g->C, os = g->Kw * C;                                          \
    const int merge_ok = g->col_tap == 1 && g->wb_step == 1 && g->xps == C;         \
    for (nb_idx q0 = 0; q0 < g->npix; q0 += NB_DOT_PX) {                            \
        const nb_idx np = g->npix - q0 < NB_DOT_PX ? g->npix - q0 : NB_DOT_PX;      \
        NB_DOT_ZERO(0, V, SETZERO_) NB_DOT_ZERO(1, V, SETZERO_) NB_DOT_ZERO(2, V, SETZERO_) NB_DOT_ZERO(3, V, SETZERO_)                 \
        for (nb_idx k = 0; k < g->na; k++) {                                        \
            const nb_idx r = g->row0 + k * g->row_step;                             \
            if (r < 0 || r >= g->H) continue;                                       \
            const T *xrow = x + r * g->W * g->xps;                                  \
            const nb_idx wa = g->wa0 + k * g->wa_step;                              \
            /* Interior tile, column taps one apart: one run of nb*C per output     \
             * (the dot layout keeps a row tap's column taps contiguous).            */ \
            const int merged = merge_ok && np == NB_DOT_PX                          \
                && g->col0 + q0 * g->col_pix >= 0                                   \
                && g->col0 + (q0 + NB_DOT_PX - 1) * g->col_pix + g->nb - 1 < g->W;  \
            const nb_idx nl = merged ? 1 : g->nb, steps = merged ? g->nb * C : C;   \
            const MASK_ mr = MASKN_(steps % LANES_), mfull = MASKN_(LANES_);       \
            for (nb_idx l = 0; l < nl; l++) {                                       \
                const T *p[NB_DOT_PX];                                              \
                NB_TILE_POINTERS_N(NB_DOT_PX, p, xrow, g, q0, np, l, zeros);        \
                const T *wp = wblk + (wa * NO * g->Kw + g->wb0 + l * g->wb_step) * C; \
                for (nb_idx c = 0; c < steps; c += LANES_) {                        \
                    const MASK_ m = c + LANES_ <= steps ? mfull : mr;               \
                    const V x0 = MLOAD_(m, p[0] + c), x1 = MLOAD_(m, p[1] + c);     \
                    const V x2 = MLOAD_(m, p[2] + c), x3 = MLOAD_(m, p[3] + c);     \
                    NB_DOT_ACC(0, V, MLOAD_, FMA_); NB_DOT_ACC(1, V, MLOAD_, FMA_); NB_DOT_ACC(2, V, MLOAD_, FMA_);                    \
                    NB_DOT_ACC(3, V, MLOAD_, FMA_); NB_DOT_ACC(4, V, MLOAD_, FMA_); NB_DOT_ACC(5, V, MLOAD_, FMA_);                    \
                }                                                                   \
            }                                                                       \
        }                                                                           \
        NB_DOT_OUT(0, T, HSUM_); NB_DOT_OUT(1, T, HSUM_); NB_DOT_OUT(2, T, HSUM_); NB_DOT_OUT(3, T, HSUM_);                 \
    }                                                                               \
}                                                                                   \
static inline void NAME(const T *x, const T *wblk, T *y, const T *zeros,            \
                        const nb_rowgeo *g)                                         \
{                                                                                   \
    switch (g->nch) {                                                               \
    case 1: NAME##_n(x, wblk, y, zeros, g, 1); break;                               \
    case 2: NAME##_n(x, wblk, y, zeros, g, 2); break;                               \
    case 3: NAME##_n(x, wblk, y, zeros, g, 3); break;                               \
    case 4: NAME##_n(x, wblk, y, zeros, g, 4); break;                               \
    case 5: NAME##_n(x, wblk, y, zeros, g, 5); break;                               \
    default: NAME##_n(x, wblk, y, zeros, g, 6); break;                              \
    }                                                                               \
}


#ifdef NB_SIMD

/* ------------------------------------------- the vector kernels (AVX-512, AVX2) */

/* d[0 .. run) = s[i] for i in [lo, hi), zero elsewhere (0 <= lo <= hi <= run): a
 * load masked to the lanes inside [lo, hi) (the others are never read, so memory
 * around the run is not touched) and a full store per LANES values, which may write
 * up to LANES - 1 values past d + run. */
#define NB_COPY_RUN(T, d, s, lo, hi, run)                                           \
    do {                                                                            \
        for (nb_idx j_ = 0; j_ < (run); j_ += LANES) {                              \
            nb_idx a_ = (lo) - j_, b_ = (hi) - j_;                                  \
            a_ = a_ < 0 ? 0 : a_ > LANES ? LANES : a_;                              \
            b_ = b_ < 0 ? 0 : b_ > LANES ? LANES : b_;                              \
            STOREU((d) + j_, a_ < b_ ? MLOADU(MASKR(a_, b_), (s) + j_) : SETZERO()); \
        }                                                                           \
    } while (0)

/* Tile rows t >= NB_PX (AVX2's 6-pixel tiles) compile away. */
#define NB_FMA2(V, t) do {                                                          \
        if ((t) < NB_PX) {                                                          \
            V xb_ = SET1(p[(t) % NB_PX][c]);                                        \
            acc##t##0 = FMADD(xb_, w0, acc##t##0);                                  \
            acc##t##1 = FMADD(xb_, w1, acc##t##1);                                  \
        }                                                                           \
    } while (0)

#define NB_STORE2(t) do {                                                           \
        if (t < np) {                                                               \
            T *yp_ = y + (q0 + t) * g->y_pix;                                       \
            if (full) { STOREU(yp_, acc##t##0); STOREU(yp_ + LANES, acc##t##1); }   \
            else { MSTOREU(yp_, m0, acc##t##0); MSTOREU(yp_ + LANES, m1, acc##t##1); } \
        }                                                                           \
    } while (0)

/* The tap walk of one tile, shared by the two block kernels: for every row tap
 * whose input row is inside the image, and every column tap (or, where the taps
 * merge, their one contiguous run), point p[0..NB_PX) at the tile's input pixels
 * and wp at the filter panel, then run STEP(V_) for c < steps.  Interior tiles
 * with column taps one apart (conv2d with dw = 1) merge: the taps' input runs
 * x[col .. col + nb - 1][0 .. C) and filter panels are contiguous, so one loop of
 * nb*C steps replaces nb loops of C; border tiles merge through a zero-padded
 * copy (NB_PAD_RUNS) when the run fits in NB_MERGE_MAX. */
#define NB_TILE_TAPS(T, V_, STEP, NP)                                               \
        for (nb_idx k = 0; k < g->na; k++) {                                        \
            const nb_idx r = g->row0 + k * g->row_step;                             \
            if (r < 0 || r >= g->H) continue;                                       \
            const T *xrow = x + r * g->W * g->xps;                                  \
            const nb_idx wa = g->wa0 + k * g->wa_step;                              \
            const int interior = np == NP                                           \
                && g->col0 + q0 * g->col_pix >= 0                                   \
                && g->col0 + (q0 + NP - 1) * g->col_pix + g->nb - 1 < g->W;         \
            const int merged = merge_ok && (interior || g->nb * C <= NB_MERGE_MAX); \
            const nb_idx nl = merged ? 1 : g->nb, steps = merged ? g->nb * C : C;   \
            for (nb_idx l = 0; l < nl; l++) {                                       \
                const T *p[NP];                                                     \
                NB_TILE_POINTERS_N(NP, p, xrow, g, q0, np, l, zeros);               \
                if (merged && !interior)                                            \
                    NB_PAD_RUNS(NP, T, p, tmp_, xrow, g, q0, np, C);                \
                const T *wp = wblk + (wa * g->Kw + g->wb0 + l * g->wb_step) * C * VB; \
                _Pragma("GCC unroll 4") /* ~10% faster than rolled on Intel */     \
                for (nb_idx c = 0; c < steps; c++) {                                \
                    STEP(V_);                                                       \
                }                                                                   \
            }                                                                       \
        }

/* One reduction step c of a tile: a 2-vector (NB_STEP2) or 1-vector (NB_STEP1)
 * filter row times the 8 broadcast input values. */
#define NB_STEP2(V_) do {                                                           \
        const V_ w0 = LOADU(wp + c * VB), w1 = LOADU(wp + c * VB + LANES);          \
        NB_FMA2(V_, 0); NB_FMA2(V_, 1); NB_FMA2(V_, 2); NB_FMA2(V_, 3);             \
        NB_FMA2(V_, 4); NB_FMA2(V_, 5); NB_FMA2(V_, 6); NB_FMA2(V_, 7);             \
    } while (0)
#define NB_STEP1(V_) do {                                                           \
        const V_ w0 = LOADU(wp + c * VB);                                           \
        NB_FMA1(V_, 0); NB_FMA1(V_, 1); NB_FMA1(V_, 2); NB_FMA1(V_, 3);             \
        NB_FMA1(V_, 4); NB_FMA1(V_, 5); NB_FMA1(V_, 6); NB_FMA1(V_, 7);             \
        NB_FMA1(V_, 8); NB_FMA1(V_, 9); NB_FMA1(V_, 10); NB_FMA1(V_, 11);           \
        NB_FMA1(V_, 12); NB_FMA1(V_, 13); NB_FMA1(V_, 14); NB_FMA1(V_, 15);         \
    } while (0)

#define NB_DEFINE_CONV_ROW(NAME, T_, V_, LANES_, MASK_)                             \
static inline void NAME(const T_ *x, const T_ *wblk, T_ *y, const T_ *zeros,        \
                 const nb_rowgeo *g)                                                \
{                                                                                   \
    typedef T_ T;                                                                   \
    const nb_idx C = g->C, VB = 2 * LANES_;                                         \
    const int full = g->nch >= VB;                                                  \
    const nb_idx n0 = g->nch < LANES_ ? g->nch : LANES_;                            \
    const nb_idx n1 = g->nch - LANES_ > 0 ? g->nch - LANES_ : 0;                    \
    const MASK_ m0 = MASKN(n0), m1 = MASKN(n1);     \
    (void)m0; (void)m1;                                                             \
    const int merge_ok = g->col_tap == 1 && g->wb_step == 1 && g->xps == C;         \
    T tmp_[NB_PX][NB_MERGE_MAX];                                                    \
    for (nb_idx q0 = 0; q0 < g->npix; q0 += NB_PX) {                                \
        const nb_idx np = g->npix - q0 < NB_PX ? g->npix - q0 : NB_PX;              \
        V_ acc00 = SETZERO(), acc01 = SETZERO(), acc10 = SETZERO(), acc11 = SETZERO(); \
        V_ acc20 = SETZERO(), acc21 = SETZERO(), acc30 = SETZERO(), acc31 = SETZERO(); \
        V_ acc40 = SETZERO(), acc41 = SETZERO(), acc50 = SETZERO(), acc51 = SETZERO(); \
        V_ acc60 = SETZERO(), acc61 = SETZERO(), acc70 = SETZERO(), acc71 = SETZERO(); \
        NB_TILE_TAPS(T, V_, NB_STEP2, NB_PX);                                       \
        NB_STORE2(0); NB_STORE2(1); NB_STORE2(2); NB_STORE2(3);                     \
        NB_STORE2(4); NB_STORE2(5); NB_STORE2(6); NB_STORE2(7);                     \
    }                                                                               \
}

/* Half width (nch <= LANES: one vector per pixel, NP accumulators), for layers
 * with 16 or fewer output channels (8 for double), which a 2-vector tile would
 * half waste.  NP = NB_PX pixels a tile (nb_conv_half), or 16 on AVX-512
 * (nb_conv_half16: 16 sums in flight hide the FMA latency that 8 do not quite;
 * for long rows only, as Winograd's products at 16 channels: rows of 8 pixels
 * would fill half a tile). */
#define NB_FMA1(V, t) do {                                                          \
        if ((t) < NP_) acc##t##0 = FMADD(SET1(p[(t) % NP_][c]), w0, acc##t##0);     \
    } while (0)
#define NB_STORE1(t) do {                                                           \
        if ((t) < NP_ && t < np) {                                                  \
            T *yp_ = y + (q0 + t) * g->y_pix;                                       \
            if (full) STOREU(yp_, acc##t##0); else MSTOREU(yp_, m0, acc##t##0);     \
        }                                                                           \
    } while (0)

#define NB_DEFINE_CONV_ROW_HALF(NAME, T_, V_, LANES_, MASK_, NP)                    \
static inline void NAME(const T_ *x, const T_ *wblk, T_ *y, const T_ *zeros,        \
                 const nb_rowgeo *g)                                                \
{                                                                                   \
    typedef T_ T;                                                                   \
    enum { NP_ = NP };                                                              \
    const nb_idx C = g->C, VB = LANES_;                                             \
    const int full = g->nch >= VB;                                                  \
    const nb_idx n0 = g->nch < LANES_ ? g->nch : LANES_;                            \
    const MASK_ m0 = MASKN(n0);                                     \
    (void)m0;                                                                       \
    const int merge_ok = g->col_tap == 1 && g->wb_step == 1 && g->xps == C;         \
    T tmp_[NP_][NB_MERGE_MAX];                                                      \
    for (nb_idx q0 = 0; q0 < g->npix; q0 += NP_) {                                  \
        const nb_idx np = g->npix - q0 < NP_ ? g->npix - q0 : NP_;                  \
        V_ acc00 = SETZERO(), acc10 = SETZERO(), acc20 = SETZERO(), acc30 = SETZERO(); \
        V_ acc40 = SETZERO(), acc50 = SETZERO(), acc60 = SETZERO(), acc70 = SETZERO(); \
        V_ acc80 = SETZERO(), acc90 = SETZERO(), acc100 = SETZERO(), acc110 = SETZERO(); \
        V_ acc120 = SETZERO(), acc130 = SETZERO(), acc140 = SETZERO(), acc150 = SETZERO(); \
        NB_TILE_TAPS(T, V_, NB_STEP1, NP_);                                         \
        NB_STORE1(0); NB_STORE1(1); NB_STORE1(2); NB_STORE1(3);                     \
        NB_STORE1(4); NB_STORE1(5); NB_STORE1(6); NB_STORE1(7);                     \
        NB_STORE1(8); NB_STORE1(9); NB_STORE1(10); NB_STORE1(11);                   \
        NB_STORE1(12); NB_STORE1(13); NB_STORE1(14); NB_STORE1(15);                 \
    }                                                                               \
}

/* Wide tiles (AVX-512): NB_PXW = 4 pixels x 4 vectors (64 floats / 32 doubles of
 * output channels), 16 accumulators.  Per reduction step 4 filter loads and 4
 * broadcasts feed 16 multiply-adds (the 8 x 2 tile: 2 and 8), and a layer with 64
 * outputs walks its input runs, pointers and border copies once, not once per
 * 32-channel block. */
#define NB_PXW 4
#define NB_FMA4(V, t) do {                                                          \
        V xb_ = SET1(p[t][c]);                                                      \
        acc##t##0 = FMADD(xb_, w0, acc##t##0);                                      \
        acc##t##1 = FMADD(xb_, w1, acc##t##1);                                      \
        acc##t##2 = FMADD(xb_, w2, acc##t##2);                                      \
        acc##t##3 = FMADD(xb_, w3, acc##t##3);                                      \
    } while (0)
#define NB_STEP4(V_) do {                                                           \
        const V_ w0 = LOADU(wp + c * VB), w1 = LOADU(wp + c * VB + LANES);          \
        const V_ w2 = LOADU(wp + c * VB + 2 * LANES), w3 = LOADU(wp + c * VB + 3 * LANES); \
        NB_FMA4(V_, 0); NB_FMA4(V_, 1); NB_FMA4(V_, 2); NB_FMA4(V_, 3);             \
    } while (0)
#define NB_STORE4(t) do {                                                           \
        if (t < np) {                                                               \
            T *yp_ = y + (q0 + t) * g->y_pix;                                       \
            STOREU(yp_, acc##t##0); STOREU(yp_ + LANES, acc##t##1);                 \
            STOREU(yp_ + 2 * LANES, acc##t##2); STOREU(yp_ + 3 * LANES, acc##t##3); \
        }                                                                           \
    } while (0)
/* Whole blocks only: g->nch == VB (conv.pyx's _wide_ok asks for outputs that fill
 * every block). */
#define NB_DEFINE_CONV_ROW_WIDE(NAME, T_, V_, LANES_)                               \
static inline void NAME(const T_ *x, const T_ *wblk, T_ *y, const T_ *zeros,        \
                 const nb_rowgeo *g)                                                \
{                                                                                   \
    typedef T_ T;                                                                   \
    const nb_idx C = g->C, VB = 4 * LANES_;                                         \
    const int merge_ok = g->col_tap == 1 && g->wb_step == 1 && g->xps == C;         \
    T tmp_[NB_PXW][NB_MERGE_MAX];                                                   \
    for (nb_idx q0 = 0; q0 < g->npix; q0 += NB_PXW) {                               \
        const nb_idx np = g->npix - q0 < NB_PXW ? g->npix - q0 : NB_PXW;            \
        V_ acc00 = SETZERO(), acc01 = SETZERO(), acc02 = SETZERO(), acc03 = SETZERO(); \
        V_ acc10 = SETZERO(), acc11 = SETZERO(), acc12 = SETZERO(), acc13 = SETZERO(); \
        V_ acc20 = SETZERO(), acc21 = SETZERO(), acc22 = SETZERO(), acc23 = SETZERO(); \
        V_ acc30 = SETZERO(), acc31 = SETZERO(), acc32 = SETZERO(), acc33 = SETZERO(); \
        NB_TILE_TAPS(T, V_, NB_STEP4, NB_PXW);                                      \
        NB_STORE4(0); NB_STORE4(1); NB_STORE4(2); NB_STORE4(3);                     \
    }                                                                               \
}

#define NB_FG_FMA(V, k) do {                                                        \
        V xb_ = SET1(xp[off##k]);                                                   \
        acc##k##0 = FMADD(xb_, d0, acc##k##0);                                      \
        acc##k##1 = FMADD(xb_, d1, acc##k##1);                                      \
    } while (0)
#define NB_FG_LOAD(k) do {                                                          \
        acc##k##0 = MLOADU(m0, dw + off##k * ldw);                                  \
        acc##k##1 = MLOADU(m1, dw + off##k * ldw + LANES);                          \
    } while (0)
#define NB_FG_STORE(k) do {                                                         \
        if (k < nc) {                                                               \
            MSTOREU(dw + k * ldw, m0, acc##k##0);                                   \
            MSTOREU(dw + k * ldw + LANES, m1, acc##k##1);                           \
        }                                                                           \
    } while (0)

#define NB_DEFINE_FGRAD_TILE(NAME, T_, V_, LANES_, MASK_)                           \
static inline void NAME(const T_ *x, nb_idx xrs, nb_idx xps, const T_ *dy, nb_idx dyrs,    \
                 nb_idx dyps, nb_idx nrows, nb_idx npix, T_ *dw, nb_idx ldw,        \
                 nb_idx nc, nb_idx no)                                              \
{                                                                                   \
    typedef T_ T;                                                                   \
    const nb_idx n0 = no < LANES_ ? no : LANES_;                                    \
    const nb_idx n1 = no - LANES_ > 0 ? no - LANES_ : 0;                            \
    const MASK_ m0 = MASKN(n0), m1 = MASKN(n1);     \
    /* channels k >= nc repeat channel nc-1 (valid memory); they are not stored */  \
    const nb_idx off0 = 0, off1 = 1 < nc ? 1 : nc - 1, off2 = 2 < nc ? 2 : nc - 1; \
    const nb_idx off3 = 3 < nc ? 3 : nc - 1, off4 = 4 < nc ? 4 : nc - 1;            \
    const nb_idx off5 = 5 < nc ? 5 : nc - 1, off6 = 6 < nc ? 6 : nc - 1;            \
    const nb_idx off7 = 7 < nc ? 7 : nc - 1;                                        \
    V_ acc00, acc01, acc10, acc11, acc20, acc21, acc30, acc31;                      \
    V_ acc40, acc41, acc50, acc51, acc60, acc61, acc70, acc71;                      \
    NB_FG_LOAD(0); NB_FG_LOAD(1); NB_FG_LOAD(2); NB_FG_LOAD(3);                     \
    NB_FG_LOAD(4); NB_FG_LOAD(5); NB_FG_LOAD(6); NB_FG_LOAD(7);                     \
    for (nb_idx r = 0; r < nrows; r++) {                                            \
        const T *xr = x + r * xrs, *dr = dy + r * dyrs;                             \
        _Pragma("GCC unroll 4")                                                     \
        for (nb_idx q = 0; q < npix; q++) {                                         \
            const T *xp = xr + q * xps, *dp = dr + q * dyps;                        \
            const V_ d0 = MLOADU(m0, dp), d1 = MLOADU(m1, dp + LANES_);             \
            NB_FG_FMA(V_, 0); NB_FG_FMA(V_, 1); NB_FG_FMA(V_, 2); NB_FG_FMA(V_, 3); \
            NB_FG_FMA(V_, 4); NB_FG_FMA(V_, 5); NB_FG_FMA(V_, 6); NB_FG_FMA(V_, 7); \
        }                                                                           \
    }                                                                               \
    NB_FG_STORE(0); NB_FG_STORE(1); NB_FG_STORE(2); NB_FG_STORE(3);                 \
    NB_FG_STORE(4); NB_FG_STORE(5); NB_FG_STORE(6); NB_FG_STORE(7);                 \
}

/* Half width (no <= LANES output channels, 8 accumulators). */
#define NB_FG_FMA1(k) do {                                                          \
        acc##k##0 = FMADD(SET1(xp[off##k]), d0, acc##k##0);                         \
    } while (0)
#define NB_FG_LOAD1(k) do { acc##k##0 = MLOADU(m0, dw + off##k * ldw); } while (0)
#define NB_FG_STORE1(k) do { if (k < nc) MSTOREU(dw + k * ldw, m0, acc##k##0); } while (0)

#define NB_DEFINE_FGRAD_HALF(NAME, T_, V_, LANES_, MASK_)                           \
static inline void NAME(const T_ *x, nb_idx xrs, nb_idx xps, const T_ *dy, nb_idx dyrs,    \
                 nb_idx dyps, nb_idx nrows, nb_idx npix, T_ *dw, nb_idx ldw,        \
                 nb_idx nc, nb_idx no)                                              \
{                                                                                   \
    typedef T_ T;                                                                   \
    const nb_idx n0 = no < LANES_ ? no : LANES_;                                    \
    const MASK_ m0 = MASKN(n0);                                     \
    /* channels k >= nc repeat channel nc-1 (valid memory); they are not stored */  \
    const nb_idx off0 = 0, off1 = 1 < nc ? 1 : nc - 1, off2 = 2 < nc ? 2 : nc - 1; \
    const nb_idx off3 = 3 < nc ? 3 : nc - 1, off4 = 4 < nc ? 4 : nc - 1;            \
    const nb_idx off5 = 5 < nc ? 5 : nc - 1, off6 = 6 < nc ? 6 : nc - 1;            \
    const nb_idx off7 = 7 < nc ? 7 : nc - 1;                                        \
    V_ acc00, acc10, acc20, acc30, acc40, acc50, acc60, acc70;                      \
    NB_FG_LOAD1(0); NB_FG_LOAD1(1); NB_FG_LOAD1(2); NB_FG_LOAD1(3);                 \
    NB_FG_LOAD1(4); NB_FG_LOAD1(5); NB_FG_LOAD1(6); NB_FG_LOAD1(7);                 \
    for (nb_idx r = 0; r < nrows; r++) {                                            \
        const T *xr = x + r * xrs, *dr = dy + r * dyrs;                             \
        _Pragma("GCC unroll 4")                                                     \
        for (nb_idx q = 0; q < npix; q++) {                                         \
            const T *xp = xr + q * xps, *dp = dr + q * dyps;                        \
            const V_ d0 = MLOADU(m0, dp);                                           \
            NB_FG_FMA1(0); NB_FG_FMA1(1); NB_FG_FMA1(2); NB_FG_FMA1(3);             \
            NB_FG_FMA1(4); NB_FG_FMA1(5); NB_FG_FMA1(6); NB_FG_FMA1(7);             \
        }                                                                           \
    }                                                                               \
    NB_FG_STORE1(0); NB_FG_STORE1(1); NB_FG_STORE1(2); NB_FG_STORE1(3);             \
    NB_FG_STORE1(4); NB_FG_STORE1(5); NB_FG_STORE1(6); NB_FG_STORE1(7);             \
}

/* Wide filter-gradient tiles (AVX-512): NB_FGW_C = 4 input channels x 4 vectors (64
 * floats / 32 doubles) of outputs, 16 accumulators.  Per pixel 4 dy loads and 4
 * broadcasts feed 16 multiply-adds (the 8 x 2 tile: 2 and 8).  Whole blocks only
 * (no == 4 * LANES); channels k >= nc repeat channel nc-1 and are not stored. */
#define NB_FGW_FMA(V, k) do {                                                       \
        V xb_ = SET1(xp[off##k]);                                                   \
        acc##k##0 = FMADD(xb_, d0, acc##k##0);                                      \
        acc##k##1 = FMADD(xb_, d1, acc##k##1);                                      \
        acc##k##2 = FMADD(xb_, d2, acc##k##2);                                      \
        acc##k##3 = FMADD(xb_, d3, acc##k##3);                                      \
    } while (0)
#define NB_FGW_LOAD(k) do {                                                         \
        acc##k##0 = LOADU(dw + off##k * ldw);                                       \
        acc##k##1 = LOADU(dw + off##k * ldw + LANES);                               \
        acc##k##2 = LOADU(dw + off##k * ldw + 2 * LANES);                           \
        acc##k##3 = LOADU(dw + off##k * ldw + 3 * LANES);                           \
    } while (0)
#define NB_FGW_STORE(k) do {                                                        \
        if (k < nc) {                                                               \
            STOREU(dw + k * ldw, acc##k##0);                                        \
            STOREU(dw + k * ldw + LANES, acc##k##1);                                \
            STOREU(dw + k * ldw + 2 * LANES, acc##k##2);                            \
            STOREU(dw + k * ldw + 3 * LANES, acc##k##3);                            \
        }                                                                           \
    } while (0)
#define NB_DEFINE_FGRAD_WIDE(NAME, T_, V_)                                          \
static inline void NAME(const T_ *x, nb_idx xrs, nb_idx xps, const T_ *dy, nb_idx dyrs,    \
                 nb_idx dyps, nb_idx nrows, nb_idx npix, T_ *dw, nb_idx ldw,        \
                 nb_idx nc)                                                         \
{                                                                                   \
    typedef T_ T;                                                                   \
    const nb_idx off0 = 0, off1 = 1 < nc ? 1 : nc - 1, off2 = 2 < nc ? 2 : nc - 1; \
    const nb_idx off3 = 3 < nc ? 3 : nc - 1;                                        \
    V_ acc00, acc01, acc02, acc03, acc10, acc11, acc12, acc13;                      \
    V_ acc20, acc21, acc22, acc23, acc30, acc31, acc32, acc33;                      \
    NB_FGW_LOAD(0); NB_FGW_LOAD(1); NB_FGW_LOAD(2); NB_FGW_LOAD(3);                 \
    for (nb_idx r = 0; r < nrows; r++) {                                            \
        const T *xr = x + r * xrs, *dr = dy + r * dyrs;                             \
        _Pragma("GCC unroll 4")                                                     \
        for (nb_idx q = 0; q < npix; q++) {                                         \
            const T *xp = xr + q * xps, *dp = dr + q * dyps;                        \
            const V_ d0 = LOADU(dp), d1 = LOADU(dp + LANES);                        \
            const V_ d2 = LOADU(dp + 2 * LANES), d3 = LOADU(dp + 3 * LANES);        \
            NB_FGW_FMA(V_, 0); NB_FGW_FMA(V_, 1); NB_FGW_FMA(V_, 2); NB_FGW_FMA(V_, 3); \
        }                                                                           \
    }                                                                               \
    NB_FGW_STORE(0); NB_FGW_STORE(1); NB_FGW_STORE(2); NB_FGW_STORE(3);             \
}

#if defined(__AVX512F__)
/* AVX-512: 16 floats / 8 doubles per vector; masks are bit masks. */
#include "_vec_f32.h"       /* the vector table for float */
NB_DEFINE_CONV_ROW(nb_conv_row_f32, float, __m512, 16, __mmask16)
NB_DEFINE_CONV_ROW_HALF(nb_conv_half_f32, float, __m512, 16, __mmask16, NB_PX)
NB_DEFINE_CONV_ROW_HALF(nb_conv_half16_f32, float, __m512, 16, __mmask16, 16)
NB_DEFINE_CONV_ROW_WIDE(nb_conv_wide_f32, float, __m512, 16)
NB_DEFINE_FGRAD_TILE(nb_fgrad_tile_f32, float, __m512, 16, __mmask16)
NB_DEFINE_FGRAD_HALF(nb_fgrad_half_f32, float, __m512, 16, __mmask16)
NB_DEFINE_FGRAD_WIDE(nb_fgrad_wide_f32, float, __m512)
NB_DEFINE_DOT_ROW(nb_dot_row_f32, float, __m512, 16, __mmask16, MASKN, SETZERO, MLOADU, FMADD,
                  _mm512_reduce_add_ps)
#include "_vec_undef.h"      /* ends this instantiation's table */

#include "_vec_f64.h"       /* the vector table for double */
NB_DEFINE_CONV_ROW(nb_conv_row_f64, double, __m512d, 8, __mmask8)
NB_DEFINE_CONV_ROW_HALF(nb_conv_half_f64, double, __m512d, 8, __mmask8, NB_PX)
NB_DEFINE_CONV_ROW_HALF(nb_conv_half16_f64, double, __m512d, 8, __mmask8, 16)
#define NB_HAVE_HALF16 1
NB_DEFINE_CONV_ROW_WIDE(nb_conv_wide_f64, double, __m512d, 8)
#define NB_HAVE_WIDE 1
NB_DEFINE_FGRAD_TILE(nb_fgrad_tile_f64, double, __m512d, 8, __mmask8)
NB_DEFINE_FGRAD_HALF(nb_fgrad_half_f64, double, __m512d, 8, __mmask8)
NB_DEFINE_FGRAD_WIDE(nb_fgrad_wide_f64, double, __m512d)
NB_DEFINE_DOT_ROW(nb_dot_row_f64, double, __m512d, 8, __mmask8, MASKN, SETZERO, MLOADU, FMADD,
                  _mm512_reduce_add_pd)
#include "_vec_undef.h"      /* ends this instantiation's table */

#else  /* AVX2 + FMA */
/* AVX2: 8 floats / 4 doubles per vector; masks are vectors of all-ones lanes
 * (vmaskmov loads and stores, which never touch the masked-off lanes' memory). */
static inline float nb_hsum_f32x8(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    return _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)));
}
static inline double nb_hsum_f64x4(__m256d v)
{
    __m128d s = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
    return _mm_cvtsd_f64(_mm_add_sd(s, _mm_unpackhi_pd(s, s)));
}
#include "_vec_f32.h"       /* the vector table for float */
NB_DEFINE_CONV_ROW(nb_conv_row_f32, float, __m256, 8, __m256i)
NB_DEFINE_CONV_ROW_HALF(nb_conv_half_f32, float, __m256, 8, __m256i, NB_PX)
NB_DEFINE_FGRAD_TILE(nb_fgrad_tile_f32, float, __m256, 8, __m256i)
NB_DEFINE_FGRAD_HALF(nb_fgrad_half_f32, float, __m256, 8, __m256i)
NB_DEFINE_DOT_ROW(nb_dot_row_f32, float, __m256, 8, __m256i, MASKN, SETZERO, MLOADU, FMADD,
                  nb_hsum_f32x8)
#include "_vec_undef.h"      /* ends this instantiation's table */

#include "_vec_f64.h"       /* the vector table for double */
NB_DEFINE_CONV_ROW(nb_conv_row_f64, double, __m256d, 4, __m256i)
NB_DEFINE_CONV_ROW_HALF(nb_conv_half_f64, double, __m256d, 4, __m256i, NB_PX)
NB_DEFINE_FGRAD_TILE(nb_fgrad_tile_f64, double, __m256d, 4, __m256i)
NB_DEFINE_FGRAD_HALF(nb_fgrad_half_f64, double, __m256d, 4, __m256i)
NB_DEFINE_DOT_ROW(nb_dot_row_f64, double, __m256d, 4, __m256i, MASKN, SETZERO, MLOADU, FMADD,
                  nb_hsum_f64x4)
#include "_vec_undef.h"      /* ends this instantiation's table */
#endif  /* AVX-512 / AVX2 tables */

#if defined(__AVX512F__)
/* nb_c1_row_f32: conv2d with ONE input channel, column stride 1 (col_pix == 1) and
 * at most 8 outputs: the input row is then contiguous along the output pixels, so
 * vectors run along 16 output pixels (one masked load per tap: zero for padding and
 * for pixels past npix) and each tap's NO filter values are broadcast; every lane is
 * useful, where the channel-vector kernels would use NO of 16.  The NO x 16 tile is
 * transposed through a stack buffer into y (pixel-major, y_pix apart).  w is the
 * plain (Kh, Kw, NO) filter; tap (wa, wb) = (wa0 + k*wa_step, wb0 + l*wb_step). */
#define NB_HAVE_C1 1
static inline __attribute__((always_inline)) void nb_c1_row_f32_n(
    const float *x, const float *w, float *y, const nb_rowgeo *g, const int NO)
{
    const __m512i iota = _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
    const __m512i wv = _mm512_set1_epi32((int)g->W);
    __attribute__((aligned(64))) float buf[8][16];
    for (nb_idx q0 = 0; q0 < g->npix; q0 += 16) {
        const nb_idx np = g->npix - q0 < 16 ? g->npix - q0 : 16;
        const __mmask16 pm = (__mmask16)((1u << np) - 1);
        __m512 acc[8];
        for (int o = 0; o < NO; o++) acc[o] = _mm512_setzero_ps();
        for (nb_idx k = 0; k < g->na; k++) {
            const nb_idx r = g->row0 + k * g->row_step;
            if (r < 0 || r >= g->H) continue;
            const float *xrow = x + r * g->W;
            const nb_idx wa = g->wa0 + k * g->wa_step;
            for (nb_idx l = 0; l < g->nb; l++) {
                const nb_idx cs = g->col0 + q0 + l * g->col_tap;  /* column of lane 0 */
                __mmask16 m = pm;
                if (cs < 0 || cs + 15 >= g->W) {
                    const __m512i cv = _mm512_add_epi32(_mm512_set1_epi32((int)cs), iota);
                    m &= _mm512_cmpge_epi32_mask(cv, _mm512_setzero_si512())
                        & _mm512_cmplt_epi32_mask(cv, wv);
                }
                const __m512 xv = _mm512_maskz_loadu_ps(m, xrow + cs);
                const float *wp = w + (wa * g->Kw + g->wb0 + l * g->wb_step) * NO;
                for (int o = 0; o < NO; o++)
                    acc[o] = _mm512_fmadd_ps(xv, _mm512_set1_ps(wp[o]), acc[o]);
            }
        }
        for (int o = 0; o < NO; o++) _mm512_store_ps(buf[o], acc[o]);
        for (nb_idx q = 0; q < np; q++)
            for (int o = 0; o < NO; o++) y[(q0 + q) * g->y_pix + o] = buf[o][q];
    }
}
static inline void nb_c1_row_f32(const float *x, const float *w, float *y, const nb_rowgeo *g)
{
    switch (g->nch) {
    case 1: nb_c1_row_f32_n(x, w, y, g, 1); break;
    case 2: nb_c1_row_f32_n(x, w, y, g, 2); break;
    case 3: nb_c1_row_f32_n(x, w, y, g, 3); break;
    case 4: nb_c1_row_f32_n(x, w, y, g, 4); break;
    case 5: nb_c1_row_f32_n(x, w, y, g, 5); break;
    case 6: nb_c1_row_f32_n(x, w, y, g, 6); break;
    case 7: nb_c1_row_f32_n(x, w, y, g, 7); break;
    default: nb_c1_row_f32_n(x, w, y, g, 8); break;
    }
}


/* nb_pack_row (AVX-512 only, NB_HAVE_PACK): nb_conv_row for few output channels
 * (nch <= LANES/P) with P = 2 or 4 reduction channels per lane group, so every lane
 * works where the half-width kernel would leave most of them idle (one group of a
 * grouped convolution with 8 outputs fills 8 of 16 lanes).  Lane o*P + j of a
 * vector accumulates output o over the channels c = j (mod P): each step broadcasts
 * P consecutive input values x[pixel][c .. c+P) to every lane group (one
 * vbroadcastsd / vbroadcastf32x4) and multiplies by the packed filter row whose lane
 * o*P + j is w[c + j][o]; at the end the P lanes of each output are summed and
 * compressed to nch contiguous values.  Panels are (C/P) x LANES per tap (the tap
 * at wblk + (wa*Kw + wb)*C*LANES/P); C % P == 0.  Tiles of 16 pixels (16
 * accumulators hide the FMA latency), 8 pixels of two groups or 7 of four (below).
 * Geometry as nb_conv_row's; no merging of column taps (it serves grouped
 * convolutions, whose pixels are xps > C apart). */
#define NB_HAVE_PACK 1
/* A pair of floats broadcast as one 64-bit value: vbroadcastsd from memory is a
 * load alone, where vbroadcastf32x2 takes a shuffle uop after the load. */
static inline __m512 nb_bcast2_f32(const float *p)
{
    double d;
    __builtin_memcpy(&d, p, sizeof d);
    return _mm512_castpd_ps(_mm512_set1_pd(d));
}
static inline __m512 nb_bcast4_f32(const float *p) { return _mm512_broadcast_f32x4(_mm_loadu_ps(p)); }
static inline __m512d nb_bcast2_f64(const double *p) { return _mm512_broadcast_f64x2(_mm_loadu_pd(p)); }
static inline __m512d nb_bcast4_f64(const double *p) { return _mm512_broadcast_f64x4(_mm256_loadu_pd(p)); }
/* Sum each output's P lanes into its first lane, then pack the outputs together. */
static inline __m512 nb_fold_f32(__m512 a, const int P)
{
    a = _mm512_add_ps(a, _mm512_permute_ps(a, 0xB1));             /* swap lane pairs */
    if (P == 4) a = _mm512_add_ps(a, _mm512_permute_ps(a, 0x4E));  /* swap 64-bit halves */
    return _mm512_maskz_compress_ps(P == 4 ? 0x1111 : 0x5555, a);
}
static inline __m512d nb_fold_f64(__m512d a, const int P)
{
    a = _mm512_add_pd(a, _mm512_permute_pd(a, 0x55));
    if (P == 4) a = _mm512_add_pd(a, _mm512_permutex_pd(a, 0x4E));
    return _mm512_maskz_compress_pd(P == 4 ? 0x11 : 0x55, a);
}

/* Several groups at once (G = 2 or 4: blocks ob, ob + 1, ..., whose inputs sit xgap
 * values and outputs ygap values apart in each pixel, and whose filter panels wgap
 * values apart) share the tile's pixel pointers, which otherwise cost as much to set
 * up per tap as the tap's few reduction steps.  Tiles: 16 pixels of one group, 8
 * pixels x 2 groups, or 7 pixels x 4 groups (28 accumulators; ResNeXt's 56, 28, 14
 * and 7 pixel rows are whole tiles).  ResNeXt g32 (8 channels a group, 14x14): 4
 * groups a tile 0.82-0.86 of the time of 2; 6 pixels x 4 groups 1.2x; 4 pixels x 4
 * groups was slower too. */
#define NB_PACK_ACC 16
#define NB_PACK_PX4 7
#define NB_DEFINE_PACK_ROW(NAME, T, V, LANES_, MASK_, SETZERO_, LOADU_, FMADD_, MSTORE_,   \
                           BCAST2_, BCAST4_, FOLD_)                                 \
static inline __attribute__((always_inline)) void NAME##_p(                         \
    const T *x, const T *wblk, nb_idx wgap, T *y, nb_idx xgap, nb_idx ygap,         \
    const T *zeros, const nb_rowgeo *g, const int P, const int G)                   \
{                                                                                   \
    const int NPX = G == 4 ? NB_PACK_PX4 : NB_PACK_ACC / G;                         \
    const nb_idx C = g->C;                                                          \
    const MASK_ m = (MASK_)((1ull << g->nch) - 1);                                  \
    for (nb_idx q0 = 0; q0 < g->npix; q0 += NPX) {                                  \
        const nb_idx np = g->npix - q0 < NPX ? g->npix - q0 : NPX;                  \
        V acc[4 * NB_PACK_PX4];                                                     \
        for (int t = 0; t < G * NPX; t++) acc[t] = SETZERO_();                      \
        for (nb_idx k = 0; k < g->na; k++) {                                        \
            const nb_idx r = g->row0 + k * g->row_step;                             \
            if (r < 0 || r >= g->H) continue;                                       \
            const T *xrow = x + r * g->W * g->xps;                                  \
            const nb_idx wa = g->wa0 + k * g->wa_step;                              \
            for (nb_idx l = 0; l < g->nb; l++) {                                    \
                const T *p[NB_PACK_ACC];                                            \
                NB_TILE_POINTERS_N(NPX, p, xrow, g, q0, np, l, zeros);              \
                const T *wp = wblk + (wa * g->Kw + g->wb0 + l * g->wb_step) * C * LANES_ / P; \
                for (nb_idx c = 0; c < C; c += P) {                                 \
                    _Pragma("GCC unroll 4")                                         \
                    for (int gi = 0; gi < G; gi++) {                                \
                        const V w0 = LOADU_(wp + gi * wgap + c / P * LANES_);       \
                        _Pragma("GCC unroll 16")                                    \
                        for (int t = 0; t < NPX; t++)                               \
                            acc[gi * NPX + t] = FMADD_(                             \
                                P == 2 ? BCAST2_(p[t] + gi * xgap + c)              \
                                       : BCAST4_(p[t] + gi * xgap + c), w0,         \
                                acc[gi * NPX + t]);                                 \
                    }                                                               \
                }                                                                   \
            }                                                                       \
        }                                                                           \
        for (int gi = 0; gi < G; gi++)                                              \
            for (int t = 0; t < NPX; t++)                                           \
                if (t < np) MSTORE_(y + (q0 + t) * g->y_pix + gi * ygap, m,         \
                                    FOLD_(acc[gi * NPX + t], P));                   \
    }                                                                               \
}                                                                                   \
static inline void NAME(const T *x, const T *wblk, nb_idx wgap, T *y, nb_idx xgap,  \
                        nb_idx ygap, const T *zeros, const nb_rowgeo *g, nb_idx P,  \
                        nb_idx G)                                                   \
{                                                                                   \
    if (G == 4) {                                                                   \
        if (P == 4) NAME##_p(x, wblk, wgap, y, xgap, ygap, zeros, g, 4, 4);         \
        else NAME##_p(x, wblk, wgap, y, xgap, ygap, zeros, g, 2, 4);                \
    } else if (G == 2) {                                                            \
        if (P == 4) NAME##_p(x, wblk, wgap, y, xgap, ygap, zeros, g, 4, 2);         \
        else NAME##_p(x, wblk, wgap, y, xgap, ygap, zeros, g, 2, 2);                \
    } else {                                                                        \
        if (P == 4) NAME##_p(x, wblk, wgap, y, xgap, ygap, zeros, g, 4, 1);         \
        else NAME##_p(x, wblk, wgap, y, xgap, ygap, zeros, g, 2, 1);                \
    }                                                                               \
}
NB_DEFINE_PACK_ROW(nb_pack_row_f32, float, __m512, 16, __mmask16, _mm512_setzero_ps,
                   _mm512_loadu_ps, _mm512_fmadd_ps, _mm512_mask_storeu_ps, nb_bcast2_f32,
                   nb_bcast4_f32, nb_fold_f32)
NB_DEFINE_PACK_ROW(nb_pack_row_f64, double, __m512d, 8, __mmask8, _mm512_setzero_pd,
                   _mm512_loadu_pd, _mm512_fmadd_pd, _mm512_mask_storeu_pd, nb_bcast2_f64,
                   nb_bcast4_f64, nb_fold_f64)

/* nb_fgrad_pack_f32 (AVX-512, NB_HAVE_PACK): the filter-gradient tile of one or two
 * groups (G) of a grouped convolution with no <= 8 outputs each, where the half-width
 * tile would leave half the lanes idle.  Lane 2*o + j of accumulator k of a group holds
 * dw[2k + j][o]: per pixel one vbroadcastsd gives the channel pair x[2k], x[2k+1] to
 * every lane pair, and dy[0:no] is loaded once and each value doubled into a lane
 * pair (one vpermps), so 4 FMAs cover the group's 8 x 8 products.  nc <= 8 channels,
 * nc even; group j's x, dy and dw are j*xgap, j*ogap and j*ogap further on.  Adds
 * the tile into dw (rows ldw apart). */
#define NB_FGP_ACC(j) __m512 a##j##0 = _mm512_setzero_ps(), a##j##1 = _mm512_setzero_ps(), \
                             a##j##2 = _mm512_setzero_ps(), a##j##3 = _mm512_setzero_ps()
#define NB_FGP_STEP(j) do {                                                         \
        const float *xq = xp + (j) * xgap;                                          \
        const __m512 d = _mm512_permutexvar_ps(dup,                                 \
            _mm512_maskz_loadu_ps(mo, dp + (j) * ogap));                            \
        a##j##0 = _mm512_fmadd_ps(nb_pair_f32(xq), d, a##j##0);                     \
        a##j##1 = _mm512_fmadd_ps(nb_pair_f32(xq + k1), d, a##j##1);                \
        a##j##2 = _mm512_fmadd_ps(nb_pair_f32(xq + k2), d, a##j##2);                \
        a##j##3 = _mm512_fmadd_ps(nb_pair_f32(xq + k3), d, a##j##3);                \
    } while (0)
#define NB_FGP_STORE(j) do {                                                        \
        nb_fgp_add(dw + (j) * ogap, ldw, a##j##0, 0, nc, no);                       \
        nb_fgp_add(dw + (j) * ogap, ldw, a##j##1, 2, nc, no);                       \
        nb_fgp_add(dw + (j) * ogap, ldw, a##j##2, 4, nc, no);                       \
        nb_fgp_add(dw + (j) * ogap, ldw, a##j##3, 6, nc, no);                       \
    } while (0)
static inline __m512 nb_pair_f32(const float *p)
{
    double v;
    memcpy(&v, p, sizeof v);        /* two floats as one double: one vbroadcastsd */
    return _mm512_castpd_ps(_mm512_set1_pd(v));
}
/* dw rows c and c + 1 += the lanes (2*o, 2*o + 1) of a, outputs o < no. */
static inline void nb_fgp_add(float *dw, nb_idx ldw, __m512 a, nb_idx c, nb_idx nc, nb_idx no)
{
    const __m512i split = _mm512_set_epi32(15, 13, 11, 9, 7, 5, 3, 1, 14, 12, 10, 8, 6, 4, 2, 0);
    const __mmask8 mo = (__mmask8)((1u << no) - 1);
    const __m512 r = _mm512_permutexvar_ps(split, a);
    if (c >= nc)
        return;
    _mm256_mask_storeu_ps(dw + c * ldw, mo, _mm256_add_ps(
        _mm256_maskz_loadu_ps(mo, dw + c * ldw), _mm512_castps512_ps256(r)));
    _mm256_mask_storeu_ps(dw + (c + 1) * ldw, mo, _mm256_add_ps(
        _mm256_maskz_loadu_ps(mo, dw + (c + 1) * ldw), _mm512_extractf32x8_ps(r, 1)));
}
static inline void nb_fgrad_pack_f32(const float *x, nb_idx xrs, nb_idx xps, const float *dy,
                                     nb_idx dyrs, nb_idx dyps, nb_idx nrows, nb_idx npix,
                                     float *dw, nb_idx ldw, nb_idx nc, nb_idx no, nb_idx G,
                                     nb_idx xgap, nb_idx ogap)
{
    const __m512i dup = _mm512_set_epi32(7, 7, 6, 6, 5, 5, 4, 4, 3, 3, 2, 2, 1, 1, 0, 0);
    const __mmask16 mo = (__mmask16)((1u << no) - 1);
    /* channel pairs past nc read pair 0 again (valid memory); they are not stored */
    const nb_idx k1 = 2 < nc ? 2 : 0, k2 = 4 < nc ? 4 : 0, k3 = 6 < nc ? 6 : 0;
    NB_FGP_ACC(0);
    NB_FGP_ACC(1);
    for (nb_idx r = 0; r < nrows; r++) {
        const float *xr = x + r * xrs, *dr = dy + r * dyrs;
        if (G == 2) {
            _Pragma("GCC unroll 2")
            for (nb_idx q = 0; q < npix; q++) {
                const float *xp = xr + q * xps, *dp = dr + q * dyps;
                NB_FGP_STEP(0);
                NB_FGP_STEP(1);
            }
        } else {
            /* One group, summed in the same order as in a pair: which groups share
             * a tile must not change a bit of dw (it follows the thread count). */
            for (nb_idx q = 0; q < npix; q++) {
                const float *xp = xr + q * xps, *dp = dr + q * dyps;
                NB_FGP_STEP(0);
            }
        }
    }
    NB_FGP_STORE(0);
    if (G == 2)
        NB_FGP_STORE(1);
}

#endif  /* __AVX512F__: nb_c1_row_f32, nb_pack_row */

#else  /* !NB_SIMD */

/* ------------------------------------------------- portable fallback (plain C) */

#define NB_DEFINE_CONV_ROW(NAME, T, VB)                                             \
static inline void NAME(const T *x, const T *wblk, T *y, const T *zeros,            \
                 const nb_rowgeo *g)                                                \
{                                                                                   \
    const nb_idx C = g->C;                                                          \
    const nb_idx nch = g->nch < VB ? g->nch : VB;                                   \
    for (nb_idx q0 = 0; q0 < g->npix; q0 += NB_PX) {                                \
        const nb_idx np = g->npix - q0 < NB_PX ? g->npix - q0 : NB_PX;              \
        T acc[NB_PX][VB];                                                           \
        memset(acc, 0, sizeof(acc));                                                \
        for (nb_idx k = 0; k < g->na; k++) {                                        \
            const nb_idx r = g->row0 + k * g->row_step;                             \
            if (r < 0 || r >= g->H) continue;                                       \
            const T *xrow = x + r * g->W * g->xps;                                  \
            const nb_idx wa = g->wa0 + k * g->wa_step;                              \
            for (nb_idx l = 0; l < g->nb; l++) {                                    \
                const T *p[NB_PX];                                                  \
                NB_TILE_POINTERS_N(NB_PX, p, xrow, g, q0, np, l, zeros);            \
                const T *wp = wblk + (wa * g->Kw + g->wb0 + l * g->wb_step) * C * VB; \
                for (nb_idx c = 0; c < C; c++)                                      \
                    for (int t = 0; t < NB_PX; t++) {                               \
                        const T xv = p[t][c];                                       \
                        for (int v = 0; v < VB; v++)                                \
                            acc[t][v] += xv * wp[c * VB + v];                       \
                    }                                                               \
            }                                                                       \
        }                                                                           \
        for (nb_idx t = 0; t < np; t++)                                             \
            for (nb_idx v = 0; v < nch; v++)                                        \
                y[(q0 + t) * g->y_pix + v] = acc[t][v];                             \
    }                                                                               \
}

#define NB_DEFINE_FGRAD_TILE(NAME, T, VB)                                           \
static inline void NAME(const T *x, nb_idx xrs, nb_idx xps, const T *dy, nb_idx dyrs,      \
                 nb_idx dyps, nb_idx nrows, nb_idx npix, T *dw, nb_idx ldw,         \
                 nb_idx nc, nb_idx no)                                              \
{                                                                                   \
    T acc[NB_FG_C][VB];                                                             \
    memset(acc, 0, sizeof(acc));                                                    \
    for (nb_idx r = 0; r < nrows; r++)                                              \
        for (nb_idx q = 0; q < npix; q++) {                                         \
            const T *xp = x + r * xrs + q * xps, *dp = dy + r * dyrs + q * dyps;    \
            for (nb_idx k = 0; k < nc; k++)                                         \
                for (nb_idx v = 0; v < no; v++)                                     \
                    acc[k][v] += xp[k] * dp[v];                                     \
        }                                                                           \
    for (nb_idx k = 0; k < nc; k++)                                                 \
        for (nb_idx v = 0; v < no; v++)                                             \
            dw[k * ldw + v] += acc[k][v];                                           \
}

NB_DEFINE_CONV_ROW(nb_conv_row_f32, float, NB_VB_F32)
NB_DEFINE_CONV_ROW(nb_conv_row_f64, double, NB_VB_F64)
NB_DEFINE_CONV_ROW(nb_conv_half_f32, float, NB_VB_F32 / 2)
NB_DEFINE_CONV_ROW(nb_conv_half_f64, double, NB_VB_F64 / 2)
NB_DEFINE_FGRAD_TILE(nb_fgrad_tile_f32, float, NB_VB_F32)
NB_DEFINE_FGRAD_TILE(nb_fgrad_tile_f64, double, NB_VB_F64)
NB_DEFINE_FGRAD_TILE(nb_fgrad_half_f32, float, NB_VB_F32 / 2)
NB_DEFINE_FGRAD_TILE(nb_fgrad_half_f64, double, NB_VB_F64 / 2)

/* One-lane "vectors": the dot-form kernel as plain scalar C. */
#define NB_S_ZERO() 0
#define NB_S_MLOAD(m, ptr) ((m) ? *(ptr) : 0)
#define NB_S_FMA(a, b, c) ((a) * (b) + (c))
#define NB_S_HSUM(a) (a)
#define NB_S_MASKN(n) ((unsigned)((n) > 0))
NB_DEFINE_DOT_ROW(nb_dot_row_f32, float, float, 1, unsigned, NB_S_MASKN, NB_S_ZERO, NB_S_MLOAD,
                  NB_S_FMA, NB_S_HSUM)
NB_DEFINE_DOT_ROW(nb_dot_row_f64, double, double, 1, unsigned, NB_S_MASKN, NB_S_ZERO, NB_S_MLOAD,
                  NB_S_FMA, NB_S_HSUM)

#endif  /* NB_SIMD */

#ifndef NB_HAVE_HALF16
#define NB_HAVE_HALF16 0
#define nb_conv_half16_f32 nb_conv_half_f32   /* never called: NB_HAVE_HALF16 */
#define nb_conv_half16_f64 nb_conv_half_f64
#endif

#ifndef NB_HAVE_WIDE
#define NB_HAVE_WIDE 0
static inline void nb_conv_wide_f32(const float *x, const float *wblk, float *y,
                                    const float *zeros, const nb_rowgeo *g)
{
    (void)x; (void)wblk; (void)y; (void)zeros; (void)g;   /* never called: NB_HAVE_WIDE */
}
static inline void nb_conv_wide_f64(const double *x, const double *wblk, double *y,
                                    const double *zeros, const nb_rowgeo *g)
{
    (void)x; (void)wblk; (void)y; (void)zeros; (void)g;   /* never called: NB_HAVE_WIDE */
}
#endif

#if !NB_HAVE_WIDE
static inline void nb_fgrad_wide_f32(const float *x, nb_idx xrs, nb_idx xps, const float *dy,
                                     nb_idx dyrs, nb_idx dyps, nb_idx nrows, nb_idx npix,
                                     float *dw, nb_idx ldw, nb_idx nc)
{
    (void)x; (void)xrs; (void)xps; (void)dy; (void)dyrs; (void)dyps;   /* never called: */
    (void)nrows; (void)npix; (void)dw; (void)ldw; (void)nc;            /* NB_HAVE_WIDE */
}
static inline void nb_fgrad_wide_f64(const double *x, nb_idx xrs, nb_idx xps, const double *dy,
                                     nb_idx dyrs, nb_idx dyps, nb_idx nrows, nb_idx npix,
                                     double *dw, nb_idx ldw, nb_idx nc)
{
    (void)x; (void)xrs; (void)xps; (void)dy; (void)dyrs; (void)dyps;   /* never called: */
    (void)nrows; (void)npix; (void)dw; (void)ldw; (void)nc;            /* NB_HAVE_WIDE */
}
#endif

#ifndef NB_HAVE_PACK
#define NB_HAVE_PACK 0
static inline void nb_pack_row_f32(const float *x, const float *wblk, nb_idx wgap, float *y,
                                   nb_idx xgap, nb_idx ygap, const float *zeros,
                                   const nb_rowgeo *g, nb_idx P, nb_idx G)
{
    (void)x; (void)wblk; (void)wgap; (void)y; (void)xgap; (void)ygap; (void)zeros;
    (void)g; (void)P; (void)G;   /* never called: conv.pyx checks NB_HAVE_PACK */
}
static inline void nb_pack_row_f64(const double *x, const double *wblk, nb_idx wgap,
                                   double *y, nb_idx xgap, nb_idx ygap, const double *zeros,
                                   const nb_rowgeo *g, nb_idx P, nb_idx G)
{
    (void)x; (void)wblk; (void)wgap; (void)y; (void)xgap; (void)ygap; (void)zeros;
    (void)g; (void)P; (void)G;   /* never called: conv.pyx checks NB_HAVE_PACK */
}
#endif

#ifndef NB_HAVE_PACK_FGRAD
#if NB_HAVE_PACK
#define NB_HAVE_PACK_FGRAD 1
#else
#define NB_HAVE_PACK_FGRAD 0
static inline void nb_fgrad_pack_f32(const float *x, nb_idx xrs, nb_idx xps, const float *dy,
                                     nb_idx dyrs, nb_idx dyps, nb_idx nrows, nb_idx npix,
                                     float *dw, nb_idx ldw, nb_idx nc, nb_idx no, nb_idx G,
                                     nb_idx xgap, nb_idx ogap)
{
    (void)x; (void)xrs; (void)xps; (void)dy; (void)dyrs; (void)dyps; (void)nrows;
    (void)npix; (void)dw; (void)ldw; (void)nc; (void)no; (void)G; (void)xgap; (void)ogap;
    /* never called: conv.pyx checks NB_HAVE_PACK */
}
#endif
#endif

#ifndef NB_HAVE_C1
#define NB_HAVE_C1 0
static inline void nb_c1_row_f32(const float *x, const float *w, float *y, const nb_rowgeo *g)
{
    (void)x; (void)w; (void)y; (void)g;   /* never called: conv.pyx checks NB_HAVE_C1 */
}
#endif

#endif  /* NABLA_MICROKERNELS_H */
