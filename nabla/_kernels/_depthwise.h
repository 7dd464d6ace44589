/* Depthwise micro-kernels of nabla's convolutions (used by conv.pyx).
 *
 * A depthwise convolution (groups == C_in == C_out) filters every channel on its
 * own.  With x (N, H, W, C), w (Kh, Kw, 1, C) and y (N, Ho, Wo, C):
 *
 *   y[n, i, j, c] = sum_{a < Kh, b < Kw} x[n, i*sh - pt + a*dh, j*sw - pl + b*dw, c] * w[a, b, 0, c]
 *
 * In NHWC the channels of a pixel are contiguous, and in this filter so are the
 * channels of a tap, so the vectors run along the channels: an input pixel and a
 * filter tap are each one vector load per LANES channels, with no broadcast and no
 * packed copy of the filter.  There is no reduction over channels, so each loaded
 * input vector feeds a single multiply-add; the tiles keep many partial sums in
 * registers so that a filter vector is loaded once per tile, not once per pixel.
 *
 * nb_dw_row: one output row, channels [0, nch).  The channels are cut into chunks of
 *   NB_DW_NV vectors, the row into tiles of NB_DW_PX output pixels; a tile keeps its
 *   NB_DW_PX x NB_DW_NV partial sums in registers and walks the filter taps, loading
 *   per tap the NB_DW_NV filter vectors and, for each pixel, the input vectors.
 *   Geometry (nb_dwgeo, element indices, signed):
 *     row tap k < na reads input row  row0 + k*row_step  (rows outside [0, H) are
 *     skipped) with the filter at  w + k*w_row;  column tap l < nb of output pixel q
 *     reads input column  col0 + q*col_pix + l*col_tap  with the filter at
 *     w + k*w_row + l*w_col;  output pixel q < npix goes to  y + q*y_pix.
 *   For each tile the taps whose columns are inside the row for all its pixels (most
 *   of them) are found once, and read x directly; a tap with some pixels outside
 *   reads `zeros` for them, and a tap with all of them outside is skipped: the
 *   padding is never copied.  y is overwritten (zeros when na == 0 or nb == 0).
 *   Rows with column stride 1, 5 or 7 column taps one column apart (either way) and
 *   more than 8 pixels run sliding-window tiles instead (AVX-512, NB_DW_SLIDE): 16
 *   pixels x one channel vector, the row tap's filter vectors held in registers, each
 *   input vector loaded once for the (up to) Kw sums that read it; the 7x7 ConvNeXt
 *   layer 0.77 of the time, its transpose 0.73.  (3 taps: no gain; 3x3 layers of that
 *   size are memory-bound.)
 *   conv2d: row0 = i*sh - pt, row_step = dh, w_row = Kw*C, col0 = -pl, col_pix = sw,
 *   col_tap = dw, w_col = C.  conv2d_transpose (the adjoint in x) runs the same
 *   kernel on dy, one output phase (h % sh, v % sw) at a time (see conv.pyx): dx[h, v]
 *   gathers dy[(h + pt - a*dh) / sh, (v + pl - b*dw) / sw] * w[a, b] over the taps
 *   for which both divisions are exact.
 *
 * nb_dw_fgrad: the filter gradient of one filter row a, channels [0, nch):
 *     dw[b, c] += sum_{k < nrows, j < Wo} x[row0 + k*row_step, col0 + j*col_pix + b*col_tap, c]
 *                                         * dy[k, j, c]                          (b < Kw)
 *   (conv2d_filter_grad: row0 = i0*sh - pt + a*dh, row_step = sh, col0 = -pl,
 *   col_pix = sw, col_tap = dw, for the dy rows i0 .. i0 + nrows - 1 of one image;
 *   dy rows are Wo*C apart, dw taps C apart).  A tile is up to NB_DW_FG_TAPS column
 *   taps x NB_DW_NV channel vectors of sums; per dy pixel it loads the dy vectors once
 *   and multiplies them with one input vector per tap.  The sums run in a fixed order
 *   (rows, then columns), whatever the thread that runs them.
 *
 * Channel chunks (NB_DW_CHANNELS): an unaligned vector load touches two cache lines,
 * and NumPy's large arrays start 16 bytes past a 64-byte line, so when all pixels share
 * one alignment (C*sizeof(T) a multiple of the vector size) the whole chunks start at
 * the first channel whose vectors in x are aligned; the channels before it (the head)
 * and after the last whole chunk (the tail) are "edge" vectors, masked, run together
 * in chunks of up to NB_DW_NV vectors at their own offsets.  (conv.pyx gives y and w
 * the alignment of x, so their vectors are aligned too.)
 *
 * One dialect for every instruction set, as in _microkernels.h: the kernels are
 * macros over its table of vector operations (LANES, SETZERO, FMADD, LOADU, STOREU,
 * MASKN / MLOADU / MSTOREU for the edge vectors), instantiated for AVX-512 and for
 * AVX2 + FMA; without either (NB_SIMD undefined) the same loops are written in plain C
 * for the compiler to vectorise.
 */
#ifndef NABLA_DEPTHWISE_H
#define NABLA_DEPTHWISE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#if defined(__AVX512F__) || (defined(__AVX2__) && defined(__FMA__))
#include <immintrin.h>
#ifndef NB_SIMD
#define NB_SIMD 1
#endif
#endif

typedef struct {
    ptrdiff_t H, W, C;                     /* input image (rows, columns, channels) */
    ptrdiff_t nch;                         /* channels to compute (C is the pixel stride) */
    ptrdiff_t row0, row_step, na, w_row;   /* row taps */
    ptrdiff_t col0, col_pix, col_tap, nb, w_col;   /* column taps */
    ptrdiff_t npix, y_pix;                 /* output pixels */
} nb_dwgeo;

typedef struct {
    ptrdiff_t H, W, C;                     /* input image (rows, columns, channels) */
    ptrdiff_t nch;                         /* channels to compute (C is the pixel stride) */
    ptrdiff_t Wo;                          /* dy columns; dy rows are Wo*C apart */
    ptrdiff_t row0, row_step, nrows;       /* dy row k pairs with x row row0 + k*row_step */
    ptrdiff_t col0, col_pix, col_tap, Kw;  /* x column of dy column j, tap b */
} nb_dwfgeo;

/* Tiles: NB_DW_PX pixels (forward) or up to NB_DW_FG_TAPS taps (filter gradient) x
 * NB_DW_NV channel vectors.  AVX-512: 8 x 3 = 24 accumulators and 3 filter vectors of
 * its 32 registers; AVX2 has 16 registers: 6 x 2 = 12 accumulators and 2 vectors. */
/* Sliding-window tiles (AVX-512 only: 16 sums, up to 7 filter vectors and the input
 * vector take 24 of its 32 registers). */
#if defined(__AVX512F__)
#ifndef NB_DW_SLIDE
#define NB_DW_SLIDE 1
#endif
#else
#define NB_DW_SLIDE 0
#endif
#define NB_DW_SPX 16
#define NB_DW_SLIDE_MAXK 7
#if defined(__AVX512F__) || !defined(NB_SIMD)
#define NB_DW_PX 8
#define NB_DW_NV 3
#define NB_DW_PX_EDGE 6          /* pixels of an edge chunk of NB_DW_NV + 1 vectors */
#define NB_DW_FG_TAPS 7
#else
#define NB_DW_PX 6
#define NB_DW_NV 2
#define NB_DW_PX_EDGE 4
#define NB_DW_FG_TAPS 6
#endif

/* The range [*l0, *l1) of the l < count with lo <= start + l*step <= hi (step != 0,
 * of either sign): which taps of a tile, or which pixels of a row, read inside the
 * image.  Empty (*l0 == *l1) when there are none. */
static inline ptrdiff_t nb_dw_ceil_div(ptrdiff_t a, ptrdiff_t b)       /* b > 0 */
{
    return a >= 0 ? (a + b - 1) / b : -(-a / b);
}
static inline void nb_dw_span(ptrdiff_t start, ptrdiff_t step, ptrdiff_t count, ptrdiff_t lo,
                              ptrdiff_t hi, ptrdiff_t *l0, ptrdiff_t *l1)
{
    ptrdiff_t a, b;       /* a <= l < b */
    if (hi < lo) {
        *l0 = *l1 = 0;
        return;
    }
    if (step > 0) {
        a = nb_dw_ceil_div(lo - start, step);
        b = 1 - nb_dw_ceil_div(start - hi, step);      /* floor((hi - start) / step) + 1 */
    } else {
        a = nb_dw_ceil_div(start - hi, -step);
        b = 1 - nb_dw_ceil_div(lo - start, -step);
    }
    if (a < 0) a = 0;
    if (b > count) b = count;
    *l0 = a;
    *l1 = b > a ? b : a;
}

#ifdef NB_SIMD

/* ------------------------------------------- the vector kernels (AVX-512, AVX2) */

/* A chunk's loops over pixels (taps) t and vectors v are fully unrolled: PX, NV and
 * EDGE are constants at every call, so the accumulator arrays live in registers.
 * Vector v of a pixel p is at p + v*LANES in a whole chunk (o0 = o1 = 0); in an edge
 * chunk vector 0 is at p + o0 and vector v > 0 at p + o1 + v*LANES (the head, then the
 * contiguous tail), masked by mk[v]. */
#define NB_DW_UNROLL _Pragma("GCC unroll 16")
#define NB_DW_AT(p, v) ((p) + ((v) == 0 ? o0 : o1 + (v) * LANES))
#define NB_DW_LD(p, v) (EDGE ? MLOADU(mk[v], NB_DW_AT(p, v)) : LOADU(NB_DW_AT(p, v)))
#define NB_DW_ST(p, v, a) do {                                                      \
        if (EDGE) MSTOREU(NB_DW_AT(p, v), mk[v], (a)); else STOREU(NB_DW_AT(p, v), (a)); \
    } while (0)
/* Pixel t of a tile whose pixels are ps apart: from p for t < 4, else from p4 = p +
 * 4*ps (t < 8), so that the offsets (t % 4)*ps fit x86's base + index*scale and the
 * loop needs few registers for them. */
#define NB_DW_PIXEL(p, p4, ps, t) (((t) < 4 ? (p) : (p4)) + ((t) % 4) * (ps))

/* Channels [0, g->nch): whole chunks of NB_DW_NV vectors from the first channel
 * whose vectors in x are aligned, then the edge vectors (the head before it, one
 * masked vector, and the tail: NB_DW_NV + 1 at most) in one chunk, of NB_DW_PX_EDGE
 * pixels when it has NB_DW_NV + 1 vectors.  CHUNK(x, p, q, zeros, g, PX, NV, EDGE,
 * o0, o1, mk) runs one chunk (see NB_DW_AT). */
#define NB_DW_CHANNELS(T, MASK_, CHUNK, x, p, q, zeros, g) do {                     \
        const ptrdiff_t vb_ = LANES * (ptrdiff_t)sizeof(T), cb_ = NB_DW_NV * LANES; \
        const MASK_ *none_ = NULL;                  /* whole chunks: no masks */    \
        ptrdiff_t head_ = 0, c_, o0_ = 0, o1_ = 0;                                  \
        MASK_ mk_[NB_DW_NV + 1];                                                    \
        int ne_ = 0;                                                                \
        if ((g)->C * (ptrdiff_t)sizeof(T) % vb_ == 0) {                             \
            head_ = (vb_ - (ptrdiff_t)((uintptr_t)(x) % vb_)) % vb_ / (ptrdiff_t)sizeof(T); \
            if (head_ > (g)->nch) head_ = (g)->nch;                                 \
        }                                                                           \
        if (head_ > 0) mk_[ne_++] = MASKN(head_);                                   \
        for (c_ = head_; c_ + cb_ <= (g)->nch; c_ += cb_)                           \
            CHUNK(x + c_, p + c_, q + c_, zeros + c_, g, NB_DW_PX, NB_DW_NV, 0, 0, 0, none_); \
        o0_ = head_ > 0 ? 0 : c_;                   /* the tail is vectors ne_ .. */ \
        o1_ = c_ - ne_ * LANES;                                                     \
        for (; c_ < (g)->nch; c_ += LANES)                                          \
            mk_[ne_++] = MASKN((g)->nch - c_ < LANES ? (g)->nch - c_ : LANES);      \
        if (ne_ == 1) CHUNK(x, p, q, zeros, g, NB_DW_PX, 1, 1, o0_, o1_, mk_);      \
        if (ne_ == 2) CHUNK(x, p, q, zeros, g, NB_DW_PX, 2, 1, o0_, o1_, mk_);      \
        if (NB_DW_NV == 2 && ne_ == 3)                                              \
            CHUNK(x, p, q, zeros, g, NB_DW_PX_EDGE, 3, 1, o0_, o1_, mk_);           \
        if (NB_DW_NV == 3 && ne_ == 3)                                              \
            CHUNK(x, p, q, zeros, g, NB_DW_PX, 3, 1, o0_, o1_, mk_);                \
        if (NB_DW_NV == 3 && ne_ == 4)                                              \
            CHUNK(x, p, q, zeros, g, NB_DW_PX_EDGE, 4, 1, o0_, o1_, mk_);           \
    } while (0)

/* Tap l of a tile whose pixels are not all inside the row: pixel t reads zeros when
 * its column is outside [0, W) or t >= np (past the end of the row). */
#define NB_DW_CLIPPED_TAP(l) do {                                                   \
        V wv[4];                                                                    \
        NB_DW_UNROLL for (int v = 0; v < NV; v++)                                   \
            wv[v] = NB_DW_LD(wk + (l) * g->w_col, v);                               \
        NB_DW_UNROLL for (int t = 0; t < PX; t++) {                           \
            const ptrdiff_t c_ = cs + (l) * g->col_tap + t * g->col_pix;            \
            const T *p = t < np && c_ >= 0 && c_ < W ? xrow + c_ * C : zeros;       \
            NB_DW_UNROLL for (int v = 0; v < NV; v++)                               \
                acc[t][v] = FMADD(NB_DW_LD(p, v), wv[v], acc[t][v]);                \
        }                                                                           \
    } while (0)

#define NB_DEFINE_DW_ROW(NAME, T_, V_, MASK_)                                       \
/* The tile of output pixels q0 .. q0 + np - 1 (np <= PX). */                       \
static inline __attribute__((always_inline)) void NAME##_tile(                      \
    const T_ *x, const T_ *w, T_ *y, const T_ *zeros, const nb_dwgeo *g,            \
    ptrdiff_t q0, ptrdiff_t np, int interior,                                       \
    const int PX, const int NV, const int EDGE, const ptrdiff_t o0, const ptrdiff_t o1, const MASK_ *mk) \
{                                                                                   \
    typedef T_ T;                                                                   \
    typedef V_ V;                                                                   \
    const ptrdiff_t C = g->C, W = g->W, ps = g->col_pix * C, ct = g->col_tap * C;   \
    const ptrdiff_t cs = g->col0 + q0 * g->col_pix;   /* pixel 0, tap 0 */          \
    /* Column taps [l0, l1) reach the row for some pixel of the tile, taps [f0, f1)  \
     * for all of them (none in a short tile); an interior tile has all taps full. */ \
    ptrdiff_t l0 = 0, l1 = g->nb, f0 = 0, f1 = g->nb;                               \
    if (!interior) {                                                                \
        nb_dw_span(cs, g->col_tap, g->nb, -(np - 1) * g->col_pix, W - 1, &l0, &l1); \
        nb_dw_span(cs, g->col_tap, g->nb, 0,                                        \
                   np < PX ? -1 : W - 1 - (PX - 1) * g->col_pix, &f0, &f1);         \
        if (f0 == f1) f0 = f1 = l1;                                                 \
    }                                                                               \
    V acc[NB_DW_PX][4];                                                             \
    NB_DW_UNROLL for (int t = 0; t < PX; t++)                                       \
        NB_DW_UNROLL for (int v = 0; v < NV; v++) acc[t][v] = SETZERO();            \
    for (ptrdiff_t k = 0; k < g->na; k++) {                                         \
        const ptrdiff_t r = g->row0 + k * g->row_step;                              \
        if (r < 0 || r >= g->H) continue;                                           \
        const T *xrow = x + r * W * C, *wk = w + k * g->w_row;                      \
        for (ptrdiff_t l = l0; l < f0; l++) NB_DW_CLIPPED_TAP(l);                   \
        const T *p = xrow + (cs + f0 * g->col_tap) * C, *wl = wk + f0 * g->w_col;   \
        for (ptrdiff_t l = f0; l < f1; l++, p += ct, wl += g->w_col) {              \
            V wv[4];                                                                \
            const T *p4 = p + 4 * ps;                                               \
            NB_DW_UNROLL for (int v = 0; v < NV; v++) wv[v] = NB_DW_LD(wl, v);      \
            NB_DW_UNROLL for (int t = 0; t < PX; t++)                               \
                NB_DW_UNROLL for (int v = 0; v < NV; v++)                           \
                    acc[t][v] = FMADD(NB_DW_LD(NB_DW_PIXEL(p, p4, ps, t), v), wv[v], acc[t][v]); \
        }                                                                           \
        for (ptrdiff_t l = f1; l < l1; l++) NB_DW_CLIPPED_TAP(l);                   \
    }                                                                               \
    NB_DW_UNROLL for (int t = 0; t < PX; t++)                                       \
        if (t < np)                                                                 \
            NB_DW_UNROLL for (int v = 0; v < NV; v++)                               \
                NB_DW_ST(y + (q0 + t) * g->y_pix, v, acc[t][v]);                    \
}                                                                                   \
/* Sliding window (NB_DW_SLIDE; column stride 1, KW column taps DIR = +1 or -1      \
 * columns apart, as in a conv2d or a stride-1 transpose): the tile of NB_DW_SPX    \
 * output pixels q0 .. q0 + np - 1 and channel vector v keeps the row tap's KW      \
 * filter vectors in registers and loads each input vector once; it feeds the sums  \
 * of the KW pixels that read it (pixel t, tap l reads column cs + t + DIR*l), KW    \
 * multiply-adds per load instead of one.  The columns are walked in the direction  \
 * that keeps each sum's taps in the order l = 0, 1, ...; columns outside the row   \
 * read zeros. */                                                                   \
static inline __attribute__((always_inline)) void NAME##_slide(                     \
    const T_ *x, const T_ *w, T_ *y, const T_ *zeros, const nb_dwgeo *g,            \
    ptrdiff_t q0, ptrdiff_t np, ptrdiff_t v, const int KW, const int DIR,           \
    const int EDGE, const ptrdiff_t o0, const ptrdiff_t o1, const MASK_ *mk)        \
{                                                                                   \
    typedef T_ T;                                                                   \
    typedef V_ V;                                                                   \
    const ptrdiff_t C = g->C, W = g->W, cs = g->col0 + q0;                          \
    V acc[NB_DW_SPX];                                                               \
    NB_DW_UNROLL for (int t = 0; t < NB_DW_SPX; t++) acc[t] = SETZERO();            \
    for (ptrdiff_t k = 0; k < g->na; k++) {                                         \
        const ptrdiff_t r = g->row0 + k * g->row_step;                              \
        if (r < 0 || r >= g->H) continue;                                           \
        const T *xrow = x + r * W * C, *wk = w + k * g->w_row;                      \
        V wv[NB_DW_SLIDE_MAXK];                                                     \
        NB_DW_UNROLL for (int l = 0; l < KW; l++) wv[l] = NB_DW_LD(wk + l * g->w_col, v); \
        _Pragma("GCC unroll 32")                                                    \
        for (int j = 0; j < NB_DW_SPX + KW - 1; j++) {                              \
            /* DIR 1: column cs + j, pixels j - l; DIR -1: cs + SPX-1 - j, SPX-1 - j + l */ \
            const ptrdiff_t c_ = DIR > 0 ? cs + j : cs + NB_DW_SPX - 1 - j;         \
            const V xv = NB_DW_LD(c_ >= 0 && c_ < W ? xrow + c_ * C : zeros, v);    \
            NB_DW_UNROLL for (int l = 0; l < KW; l++) {                             \
                const int t = DIR > 0 ? j - l : NB_DW_SPX - 1 - j + l;              \
                if (t >= 0 && t < NB_DW_SPX) acc[t] = FMADD(xv, wv[l], acc[t]);     \
            }                                                                       \
        }                                                                           \
    }                                                                               \
    NB_DW_UNROLL for (int t = 0; t < NB_DW_SPX; t++)                                \
        if (t < np) NB_DW_ST(y + (q0 + t) * g->y_pix, v, acc[t]);                   \
}                                                                                   \
/* One chunk of channels: the row in tiles of PX pixels; a last tile of at most PX/2 \
 * pixels runs as a half tile rather than as a mostly empty whole one.  Rows with    \
 * column stride and dilation 1 and 3, 5 or 7 column taps run sliding tiles instead. */ \
static inline __attribute__((always_inline)) void NAME##_chunk(                     \
    const T_ *x, const T_ *w, T_ *y, const T_ *zeros, const nb_dwgeo *g,            \
    const int PX, const int NV, const int EDGE, const ptrdiff_t o0, const ptrdiff_t o1, const MASK_ *mk) \
{                                                                                   \
    if (NB_DW_SLIDE && g->col_pix == 1 && (g->col_tap == 1 || g->col_tap == -1)     \
            && g->npix > NB_DW_SPX / 2 && (g->nb == 5 || g->nb == 7)) {             \
        for (ptrdiff_t q0 = 0; q0 < g->npix; q0 += NB_DW_SPX) {                     \
            const ptrdiff_t np = g->npix - q0 < NB_DW_SPX ? g->npix - q0 : NB_DW_SPX; \
            for (ptrdiff_t v = 0; v < NV; v++) {                                    \
                if (g->col_tap > 0 && g->nb == 5)                                   \
                    NAME##_slide(x, w, y, zeros, g, q0, np, v, 5, 1, EDGE, o0, o1, mk); \
                else if (g->col_tap > 0)                                            \
                    NAME##_slide(x, w, y, zeros, g, q0, np, v, 7, 1, EDGE, o0, o1, mk); \
                else if (g->nb == 5)                                                \
                    NAME##_slide(x, w, y, zeros, g, q0, np, v, 5, -1, EDGE, o0, o1, mk); \
                else                                                                \
                    NAME##_slide(x, w, y, zeros, g, q0, np, v, 7, -1, EDGE, o0, o1, mk); \
            }                                                                       \
        }                                                                           \
        return;                                                                     \
    }                                                                               \
    /* Tiles starting at a pixel whose tap-0 column cs is in [lo, hi] have every    \
     * tap of every pixel inside the row. */                                        \
    const ptrdiff_t reach = (PX - 1) * g->col_pix;                                  \
    const ptrdiff_t span = (g->nb - 1) * g->col_tap;                                \
    const ptrdiff_t lo = span < 0 ? -span : 0, hi = g->W - 1 - reach - (span > 0 ? span : 0); \
    ptrdiff_t q0 = 0;                                                               \
    for (; q0 + PX <= g->npix; q0 += PX) {                                          \
        const ptrdiff_t cs = g->col0 + q0 * g->col_pix;                             \
        NAME##_tile(x, w, y, zeros, g, q0, PX, cs >= lo && cs <= hi, PX, NV, EDGE, o0, o1, mk); \
    }                                                                               \
    if (g->npix - q0 > PX / 2)                                                      \
        NAME##_tile(x, w, y, zeros, g, q0, g->npix - q0, 0, PX, NV, EDGE, o0, o1, mk); \
    else if (g->npix > q0)                                                          \
        NAME##_tile(x, w, y, zeros, g, q0, g->npix - q0, 0, PX / 2, NV, EDGE, o0, o1, mk); \
}                                                                                   \
static inline void NAME(const T_ *x, const T_ *w, T_ *y, const T_ *zeros,           \
                        const nb_dwgeo *g)                                          \
{                                                                                   \
    NB_DW_CHANNELS(T_, MASK_, NAME##_chunk, x, w, y, zeros, g);                     \
}

/* Taps [0, NT) of a filter-gradient tile at dy column j: from x directly (FULL: all
 * the taps' columns are inside the row) or with a check per tap. */
#define NB_DW_FG_PIXEL(FULL) do {                                                   \
        V d[4];                                                                     \
        NB_DW_UNROLL for (int v = 0; v < NV; v++) d[v] = NB_DW_LD(dyrow + j * C, v); \
        const ptrdiff_t c_ = g->col0 + j * g->col_pix;     /* x column of tap 0 */  \
        if (FULL) {                                                                 \
            const T *p = xrow + c_ * C, *p4 = p + 4 * ct;                           \
            NB_DW_UNROLL for (int b = 0; b < NT; b++)                               \
                NB_DW_UNROLL for (int v = 0; v < NV; v++)                           \
                    acc[b][v] = FMADD(NB_DW_LD(NB_DW_PIXEL(p, p4, ct, b), v), d[v], acc[b][v]); \
        } else {                                                                    \
            NB_DW_UNROLL for (int b = 0; b < NT; b++) {                             \
                const ptrdiff_t cb_ = c_ + b * g->col_tap;                          \
                const T *p = cb_ >= 0 && cb_ < W ? xrow + cb_ * C : zeros;          \
                NB_DW_UNROLL for (int v = 0; v < NV; v++)                           \
                    acc[b][v] = FMADD(NB_DW_LD(p, v), d[v], acc[b][v]);             \
            }                                                                       \
        }                                                                           \
    } while (0)

#define NB_DEFINE_DW_FGRAD(NAME, T_, V_, MASK_)                                     \
static inline __attribute__((always_inline)) void NAME##_tile(                      \
    const T_ *x, const T_ *dy, T_ *dw, const T_ *zeros, const nb_dwfgeo *g,         \
    const int NT, const int NV, const int EDGE, const ptrdiff_t o0, const ptrdiff_t o1, const MASK_ *mk) \
{                                                                                   \
    typedef T_ T;                                                                   \
    typedef V_ V;                                                                   \
    const ptrdiff_t C = g->C, W = g->W, ct = g->col_tap * C;                        \
    /* dy columns j for which some of the NT taps read inside the row: [ju0, ju1);  \
     * all of them: [jf0, jf1) (inside [ju0, ju1], or empty) */                     \
    ptrdiff_t ju0, ju1, jf0, jf1;                                                   \
    nb_dw_span(g->col0, g->col_pix, g->Wo, -(NT - 1) * g->col_tap, W - 1, &ju0, &ju1); \
    nb_dw_span(g->col0, g->col_pix, g->Wo, 0, W - 1 - (NT - 1) * g->col_tap, &jf0, &jf1); \
    if (jf0 == jf1) jf0 = jf1 = ju1;                                                \
    V acc[NB_DW_FG_TAPS][4];                                                        \
    NB_DW_UNROLL for (int b = 0; b < NT; b++)                                       \
        NB_DW_UNROLL for (int v = 0; v < NV; v++) acc[b][v] = NB_DW_LD(dw + b * C, v); \
    for (ptrdiff_t k = 0; k < g->nrows; k++) {                                      \
        const ptrdiff_t r = g->row0 + k * g->row_step;                              \
        if (r < 0 || r >= g->H) continue;                                           \
        const T *xrow = x + r * W * C, *dyrow = dy + k * g->Wo * C;                 \
        for (ptrdiff_t j = ju0; j < jf0; j++) NB_DW_FG_PIXEL(0);                    \
        for (ptrdiff_t j = jf0; j < jf1; j++) NB_DW_FG_PIXEL(1);                    \
        for (ptrdiff_t j = jf1; j < ju1; j++) NB_DW_FG_PIXEL(0);                    \
    }                                                                               \
    NB_DW_UNROLL for (int b = 0; b < NT; b++)                                       \
        NB_DW_UNROLL for (int v = 0; v < NV; v++) NB_DW_ST(dw + b * C, v, acc[b][v]); \
}                                                                                   \
/* One chunk of channel vectors: the Kw column taps in balanced tiles of at most     \
 * NB_DW_FG_TAPS (7 = 4 + 3 with AVX2), each a constant NT in its own loop nest. */  \
static inline __attribute__((always_inline)) void NAME##_chunk(                     \
    const T_ *x, const T_ *dy, T_ *dw, const T_ *zeros, const nb_dwfgeo *g,         \
    const int PX, const int NV, const int EDGE, const ptrdiff_t o0, const ptrdiff_t o1, const MASK_ *mk) \
{                                                                                   \
    (void)PX;                                                                       \
    const ptrdiff_t tiles = (g->Kw + NB_DW_FG_TAPS - 1) / NB_DW_FG_TAPS;            \
    nb_dwfgeo gb = *g;                                                              \
    for (ptrdiff_t i = 0, b0 = 0, b1; i < tiles; i++, b0 = b1) {                    \
        b1 = g->Kw * (i + 1) / tiles;                                               \
        gb.col0 = g->col0 + b0 * g->col_tap;                                        \
        T_ *dwb = dw + b0 * g->C;                                                   \
        switch (b1 - b0) {                                                          \
        case 1: NAME##_tile(x, dy, dwb, zeros, &gb, 1, NV, EDGE, o0, o1, mk); break;   \
        case 2: NAME##_tile(x, dy, dwb, zeros, &gb, 2, NV, EDGE, o0, o1, mk); break;   \
        case 3: NAME##_tile(x, dy, dwb, zeros, &gb, 3, NV, EDGE, o0, o1, mk); break;   \
        case 4: NAME##_tile(x, dy, dwb, zeros, &gb, 4, NV, EDGE, o0, o1, mk); break;   \
        case 5: NAME##_tile(x, dy, dwb, zeros, &gb, 5, NV, EDGE, o0, o1, mk); break;   \
        case 6: NAME##_tile(x, dy, dwb, zeros, &gb, 6, NV, EDGE, o0, o1, mk); break;   \
        default: NAME##_tile(x, dy, dwb, zeros, &gb, NB_DW_FG_TAPS, NV, EDGE, o0, o1, mk); break; \
        }                                                                           \
    }                                                                               \
}                                                                                   \
static inline void NAME(const T_ *x, const T_ *dy, T_ *dw, const T_ *zeros,         \
                        const nb_dwfgeo *g)                                         \
{                                                                                   \
    NB_DW_CHANNELS(T_, MASK_, NAME##_chunk, x, dy, dw, zeros, g);                   \
}

#if defined(__AVX512F__)
#define NB_DW_CB_F32 (NB_DW_NV * 16)    /* channels per whole chunk */
#define NB_DW_CB_F64 (NB_DW_NV * 8)
#define NB_DW_VBYTES 64                 /* bytes per vector */
#include "_vec_f32.h"       /* the vector table for float */
NB_DEFINE_DW_ROW(nb_dw_row_f32, float, __m512, __mmask16)
NB_DEFINE_DW_FGRAD(nb_dw_fgrad_f32, float, __m512, __mmask16)
#include "_vec_undef.h"      /* ends this instantiation's table */

#include "_vec_f64.h"       /* the vector table for double */
NB_DEFINE_DW_ROW(nb_dw_row_f64, double, __m512d, __mmask8)
NB_DEFINE_DW_FGRAD(nb_dw_fgrad_f64, double, __m512d, __mmask8)
#include "_vec_undef.h"

#else  /* AVX2 + FMA: masks are vectors of all-ones lanes (vmaskmov) */
#define NB_DW_CB_F32 (NB_DW_NV * 8)
#define NB_DW_CB_F64 (NB_DW_NV * 4)
#define NB_DW_VBYTES 32
#include "_vec_f32.h"       /* the vector table for float */
NB_DEFINE_DW_ROW(nb_dw_row_f32, float, __m256, __m256i)
NB_DEFINE_DW_FGRAD(nb_dw_fgrad_f32, float, __m256, __m256i)
#include "_vec_undef.h"

#include "_vec_f64.h"       /* the vector table for double */
NB_DEFINE_DW_ROW(nb_dw_row_f64, double, __m256d, __m256i)
NB_DEFINE_DW_FGRAD(nb_dw_fgrad_f64, double, __m256d, __m256i)
#include "_vec_undef.h"
#endif  /* AVX-512 / AVX2 tables */

#else  /* !NB_SIMD */

/* ------------------------------------------------- portable fallback (plain C) */

/* Chunks of NB_DW_CB channels: the compiler vectorises the loops over v. */
#define NB_DW_CB_F32 32
#define NB_DW_CB_F64 16
#define NB_DW_VBYTES 64         /* conv.pyx aligns like this; harmless for plain C */

#define NB_DEFINE_DW_ROW(NAME, T, CB)                                               \
static inline void NAME(const T *x, const T *w, T *y, const T *zeros, const nb_dwgeo *g) \
{                                                                                   \
    const ptrdiff_t C = g->C, W = g->W;                                             \
    (void)zeros;                                                                    \
    for (ptrdiff_t c0 = 0; c0 < g->nch; c0 += CB) {                                 \
        const ptrdiff_t nc = g->nch - c0 < CB ? g->nch - c0 : CB;                   \
        for (ptrdiff_t q0 = 0; q0 < g->npix; q0 += NB_DW_PX) {                      \
            const ptrdiff_t np = g->npix - q0 < NB_DW_PX ? g->npix - q0 : NB_DW_PX; \
            T acc[NB_DW_PX][CB];                                                    \
            memset(acc, 0, sizeof(acc));                                            \
            for (ptrdiff_t k = 0; k < g->na; k++) {                                 \
                const ptrdiff_t r = g->row0 + k * g->row_step;                      \
                if (r < 0 || r >= g->H) continue;                                   \
                for (ptrdiff_t l = 0; l < g->nb; l++) {                             \
                    const T *wl = w + k * g->w_row + l * g->w_col + c0;             \
                    for (ptrdiff_t t = 0; t < np; t++) {                            \
                        const ptrdiff_t col = g->col0 + (q0 + t) * g->col_pix + l * g->col_tap; \
                        if (col < 0 || col >= W) continue;                          \
                        const T *p = x + (r * W + col) * C + c0;                    \
                        for (ptrdiff_t v = 0; v < nc; v++) acc[t][v] += p[v] * wl[v]; \
                    }                                                               \
                }                                                                   \
            }                                                                       \
            for (ptrdiff_t t = 0; t < np; t++)                                      \
                memcpy(y + (q0 + t) * g->y_pix + c0, acc[t], nc * sizeof(T));       \
        }                                                                           \
    }                                                                               \
}

#define NB_DEFINE_DW_FGRAD(NAME, T, CB)                                             \
static inline void NAME(const T *x, const T *dy, T *dw, const T *zeros,             \
                        const nb_dwfgeo *g)                                         \
{                                                                                   \
    const ptrdiff_t C = g->C, W = g->W;                                             \
    (void)zeros;                                                                    \
    for (ptrdiff_t c0 = 0; c0 < g->nch; c0 += CB) {                                 \
        const ptrdiff_t nc = g->nch - c0 < CB ? g->nch - c0 : CB;                   \
        for (ptrdiff_t b = 0; b < g->Kw; b++) {                                     \
            T acc[CB];                                                              \
            memcpy(acc, dw + b * C + c0, nc * sizeof(T));                           \
            for (ptrdiff_t k = 0; k < g->nrows; k++) {                              \
                const ptrdiff_t r = g->row0 + k * g->row_step;                      \
                if (r < 0 || r >= g->H) continue;                                   \
                for (ptrdiff_t j = 0; j < g->Wo; j++) {                             \
                    const ptrdiff_t col = g->col0 + j * g->col_pix + b * g->col_tap; \
                    if (col < 0 || col >= W) continue;                              \
                    const T *p = x + (r * W + col) * C + c0;                        \
                    const T *d = dy + (k * g->Wo + j) * C + c0;                     \
                    for (ptrdiff_t v = 0; v < nc; v++) acc[v] += p[v] * d[v];       \
                }                                                                   \
            }                                                                       \
            memcpy(dw + b * C + c0, acc, nc * sizeof(T));                           \
        }                                                                           \
    }                                                                               \
}

NB_DEFINE_DW_ROW(nb_dw_row_f32, float, NB_DW_CB_F32)
NB_DEFINE_DW_ROW(nb_dw_row_f64, double, NB_DW_CB_F64)
NB_DEFINE_DW_FGRAD(nb_dw_fgrad_f32, float, NB_DW_CB_F32)
NB_DEFINE_DW_FGRAD(nb_dw_fgrad_f64, double, NB_DW_CB_F64)

#endif  /* NB_SIMD */

#endif  /* NABLA_DEPTHWISE_H */
