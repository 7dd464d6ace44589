/* Winograd F(4x4, 3x3) convolution transforms (Lavin & Gray, "Fast Algorithms for
 * Convolutional Neural Networks", CVPR 2016), for nabla's 3x3 stride-1 conv2d.
 *
 * A 4x4 tile of outputs Y of one image needs the 6x6 input patch d whose top-left
 * is at (4*ty - pt, 4*tx - pl).  With the 6x6 transforms of the input, V = B^T d B,
 * and of the filter, U = G g G^T (per input channel c and output channel o):
 *
 *     Y = A^T [ sum_c U[c, o] (.) V[c] ] A        ((.) elementwise over the 36 points)
 *
 * so the 36 points xi = (i, j) are 36 independent matrix products M[xi] (tiles x O)
 * = V[xi] (tiles x C) @ U[xi] (C x O): 36 multiply-adds per tile and channel pair
 * instead of the direct form's 16 * 9 = 144.  conv.pyx runs those products with the
 * register-blocked micro-kernel of _microkernels.h (as 1x1 convolutions over "pixels"
 * that are tiles); this file holds the two data transforms, written once in plain
 * C with the channel loop innermost (contiguous in NHWC), which the compiler
 * vectorises for whichever instruction set it targets.  The filter transform is done
 * in float64 by conv.pyx.
 *
 * Interpolation points 0, 1, -1, 2, -1/2 and infinity.  Lavin & Gray use 0, +-1, +-2,
 * whose transforms have entries up to 8 (A) and 5 (B); swapping -2 for -1/2, as
 * Barabasz, Anderson, Soodhalter & Gregg found ("Error analysis and improving the
 * accuracy of Winograd convolution for deep neural networks", ACM TOMS 2020), cuts
 * the float32 error 2-2.6x at no cost (measured with these kernels' order of
 * operations on the peer benchmark's data; benchmarks/results/2026-11-30-session6.md):
 *   B^T = [1  3/2   -2 -3/2    1 0;  0   -1 -5/2 -1/2  1 0;  0   1 1/2 -5/2 1 0;
 *          0 -1/2   -1  1/2    1 0;  0    2   -1   -2  1 0;  0   1 3/2   -2 -3/2 1]
 *   A^T = [1 1  1 1     1 0;  0 1 -1 2  -1/2 0;  0 1 1 4 1/4 0;  0 1 -1 8 -1/8 1]
 *   G   = [1 0 0; -1/3 -1/3 -1/3; 1/3 -1/3 1/3; 1/15 2/15 4/15; -16/15 8/15 -4/15; 0 0 1]
 * (B^T solves A^T diag(G g) B^T d = the correlation of d with g for every g and d.)
 * In float32 the error is about 1.3e-6 to 6e-6 of max|y| on unit-scale data, from 16
 * to 256 channels, against about 1e-6 for the direct form.
 */
#ifndef NABLA_WINOGRAD_H
#define NABLA_WINOGRAD_H

#include <stddef.h>

typedef ptrdiff_t nb_widx;

#define NB_WINO_CB 64     /* channels transformed at a time (temporaries stay in L1) */

/* 64-byte vectors of GCC's generic vector extension (any alignment), which the
 * compiler lowers to the instruction set it targets.  A transform of exactly one
 * such vector of channels (16 floats, 8 doubles) runs on them with the patch's 36
 * values in registers, rather than through the per-column loops below, whose setup
 * per column cost as much as the arithmetic: the 16-channel ResNet layer 0.82-0.84
 * of the time, the same bits.  The same code in a loop over several vectors (32 or
 * 64 channels) ran 2-18% slower than the loops, so those keep them. */
typedef float nb_wvec_f32 __attribute__((vector_size(64), aligned(4)));
typedef double nb_wvec_f64 __attribute__((vector_size(64), aligned(8)));

/* B^T applied to six values (one column or row of a patch), with the shared terms
 * e = d4 - d2 and f = d1 - d3.  Every coefficient is a multiple of 1/2: exact. */
#define NB_WINO_BT(d0, d1, d2, d3, d4, d5, t0, t1, t2, t3, t4, t5) do {           \
        const __typeof__(d0) e_ = (d4) - (d2), f_ = (d1) - (d3);                    \
        const __typeof__(d0) s_ = e_ - 1.5f * (d3), q_ = f_ + 1.5f * (d2);          \
        t0 = ((d0) - (d2)) + e_ + 1.5f * f_;                                        \
        t1 = s_ - q_;                                                               \
        t2 = s_ + q_;                                                               \
        t3 = e_ - 0.5f * f_;                                                        \
        t4 = e_ + 2 * f_;                                                           \
        t5 = (f_ - 1.5f * e_) + ((d5) - (d3));                                      \
    } while (0)

/* A^T applied to six values (coefficients powers of 2: exact). */
#define NB_WINO_AT(m0, m1, m2, m3, m4, m5, o0, o1, o2, o3) do {                   \
        o0 = (m0) + ((m1) + (m2)) + ((m3) + (m4));                                  \
        o1 = ((m1) - (m2)) + (2 * (m3) - 0.5f * (m4));                              \
        o2 = ((m1) + (m2)) + (4 * (m3) + 0.25f * (m4));                             \
        o3 = ((m1) - (m2)) + (8 * (m3) - 0.125f * (m4)) + (m5);                     \
    } while (0)

/* V[xi * vs + 0 .. C) = (B^T d B)[xi] for the patch of image x (H, W, C) whose
 * cell (i, j) is x's pixel (r0 + i*dh, c0 + j*dw) (dh, dw: the layer's dilation; a
 * dilated layer is an undilated one on each sub-image of pixels dh rows and dw
 * columns apart); cells outside the image read as zero. */
#define NB_DEFINE_WINO_INPUT(NAME, T, VT)                                           \
static inline void NAME(const T *x, nb_widx H, nb_widx W, nb_widx C, nb_widx r0,    \
                        nb_widx c0, nb_widx dh, nb_widx dw, T *V, nb_widx vs,       \
                        const T *zeros)                                             \
{                                                                                   \
    const nb_widx VL = (nb_widx)(sizeof(VT) / sizeof(T));                           \
    const T *d[6][6];                                                               \
    if (r0 >= 0 && r0 + 5 * dh < H && c0 >= 0 && c0 + 5 * dw < W) {                \
        /* the whole patch inside the image (most tiles): no checks */              \
        for (int i = 0; i < 6; i++)                                                 \
            for (int j = 0; j < 6; j++)                                             \
                d[i][j] = x + ((r0 + i * dh) * W + c0 + j * dw) * C;                \
    } else {                                                                        \
        for (int i = 0; i < 6; i++)                                                 \
            for (int j = 0; j < 6; j++) {                                           \
                const nb_widx r = r0 + i * dh, c = c0 + j * dw;                     \
                d[i][j] = (r >= 0 && r < H && c >= 0 && c < W) ? x + (r * W + c) * C : zeros; \
            }                                                                       \
    }                                                                               \
    if (C == VL) {            /* one vector of channels: the patch in registers */  \
        VT tv[6][6];                                                                \
        _Pragma("GCC unroll 6")                                                     \
        for (int j = 0; j < 6; j++)           /* columns: t = B^T d */              \
            NB_WINO_BT(*(const VT *)d[0][j], *(const VT *)d[1][j], *(const VT *)d[2][j], \
                       *(const VT *)d[3][j], *(const VT *)d[4][j], *(const VT *)d[5][j], \
                       tv[0][j], tv[1][j], tv[2][j], tv[3][j], tv[4][j], tv[5][j]); \
        _Pragma("GCC unroll 6")                                                     \
        for (int i = 0; i < 6; i++) {         /* rows: V = t B */                   \
            T *v = V + i * 6 * vs;                                                  \
            NB_WINO_BT(tv[i][0], tv[i][1], tv[i][2], tv[i][3], tv[i][4], tv[i][5],  \
                       *(VT *)v, *(VT *)(v + vs), *(VT *)(v + 2 * vs),              \
                       *(VT *)(v + 3 * vs), *(VT *)(v + 4 * vs), *(VT *)(v + 5 * vs)); \
        }                                                                           \
        return;                                                                     \
    }                                                                               \
    T t[6][6][NB_WINO_CB];                                                          \
    for (nb_widx k0 = 0; k0 < C; k0 += NB_WINO_CB) {                                \
        const nb_widx n = C - k0 < NB_WINO_CB ? C - k0 : NB_WINO_CB;                \
        for (int j = 0; j < 6; j++) {         /* columns: t = B^T d */              \
            const T *a = d[0][j] + k0, *b = d[1][j] + k0, *c = d[2][j] + k0;        \
            const T *e = d[3][j] + k0, *f = d[4][j] + k0, *g = d[5][j] + k0;        \
            _Pragma("GCC ivdep")                                                    \
            for (nb_widx k = 0; k < n; k++)                                         \
                NB_WINO_BT(a[k], b[k], c[k], e[k], f[k], g[k], t[0][j][k],          \
                           t[1][j][k], t[2][j][k], t[3][j][k], t[4][j][k], t[5][j][k]); \
        }                                                                           \
        for (int i = 0; i < 6; i++) {         /* rows: V = t B */                   \
            T *v = V + i * 6 * vs + k0;                                             \
            _Pragma("GCC ivdep")                                                    \
            for (nb_widx k = 0; k < n; k++)                                         \
                NB_WINO_BT(t[i][0][k], t[i][1][k], t[i][2][k], t[i][3][k], t[i][4][k], \
                           t[i][5][k], v[k], v[vs + k], v[2 * vs + k], v[3 * vs + k], \
                           v[4 * vs + k], v[5 * vs + k]);                           \
        }                                                                           \
    }                                                                               \
}

/* y[(r0 + i*dh, c0 + j*dw)][0 .. O) = (A^T M A)[i][j] for i < nr <= 4, j < nc <= 4,
 * from M[xi * ms + 0 .. O); y is an image (., W, O).  Returns 0 if every output
 * written is finite, NaN otherwise (the sum of o * 0: an inf or NaN input spreads
 * over the whole tile in the transformed domain, so the caller then recomputes
 * directly). */
#define NB_DEFINE_WINO_OUTPUT(NAME, T, VT)                                          \
static inline T NAME(const T *M, nb_widx ms, nb_widx O, T *y, nb_widx W,            \
                     nb_widx r0, nb_widx c0, nb_widx dh, nb_widx dw, int nr, int nc) \
{                                                                                   \
    const nb_widx rs = dh * W * O;    /* from one output row of the tile to the next */ \
    const nb_widx VL = (nb_widx)(sizeof(VT) / sizeof(T));                           \
    T t[6][4][NB_WINO_CB];                                                          \
    T poison = 0;                                                                   \
    if (O == VL) {            /* one vector of channels: the tile in registers */   \
        VT tv[6][4], pv = {0};                                                      \
        _Pragma("GCC unroll 6")                                                     \
        for (int i = 0; i < 6; i++) {         /* rows: t = M A */                   \
            const T *m = M + i * 6 * ms;                                            \
            NB_WINO_AT(*(const VT *)m, *(const VT *)(m + ms), *(const VT *)(m + 2 * ms), \
                       *(const VT *)(m + 3 * ms), *(const VT *)(m + 4 * ms),        \
                       *(const VT *)(m + 5 * ms), tv[i][0], tv[i][1], tv[i][2], tv[i][3]); \
        }                                                                           \
        for (int j = 0; j < nc; j++) {        /* columns: y = A^T t */              \
            T *y0 = y + (r0 * W + c0 + j * dw) * O;                                 \
            VT o0, o1, o2, o3;                                                      \
            NB_WINO_AT(tv[0][j], tv[1][j], tv[2][j], tv[3][j], tv[4][j], tv[5][j],  \
                       o0, o1, o2, o3);                                             \
            *(VT *)y0 = o0;                                                         \
            if (nr > 1) *(VT *)(y0 + rs) = o1;                                      \
            if (nr > 2) *(VT *)(y0 + 2 * rs) = o2;                                  \
            if (nr > 3) *(VT *)(y0 + 3 * rs) = o3;                                  \
            pv += (o0 + o1 + o2 + o3) * 0;                                          \
        }                                                                           \
        for (nb_widx k = 0; k < VL; k++) poison += pv[k];                           \
        return poison;                                                              \
    }                                                                               \
    for (nb_widx k0 = 0; k0 < O; k0 += NB_WINO_CB) {                                \
        const nb_widx n = O - k0 < NB_WINO_CB ? O - k0 : NB_WINO_CB;                \
        for (int i = 0; i < 6; i++) {         /* rows: t = M A */                   \
            const T *m = M + i * 6 * ms + k0;                                       \
            _Pragma("GCC ivdep")                                                    \
            for (nb_widx k = 0; k < n; k++)                                         \
                NB_WINO_AT(m[k], m[ms + k], m[2 * ms + k], m[3 * ms + k], m[4 * ms + k], \
                           m[5 * ms + k], t[i][0][k], t[i][1][k], t[i][2][k], t[i][3][k]); \
        }                                                                           \
        for (int j = 0; j < nc; j++) {        /* columns: y = A^T t */              \
            T *y0 = y + (r0 * W + c0 + j * dw) * O + k0;                            \
            T o0, o1, o2, o3;                                                       \
            _Pragma("GCC ivdep")                                                    \
            for (nb_widx k = 0; k < n; k++) {                                       \
                NB_WINO_AT(t[0][j][k], t[1][j][k], t[2][j][k], t[3][j][k], t[4][j][k], \
                           t[5][j][k], o0, o1, o2, o3);                             \
                y0[k] = o0;                                                         \
                if (nr > 1) y0[rs + k] = o1;                                        \
                if (nr > 2) y0[2 * rs + k] = o2;                                    \
                if (nr > 3) y0[3 * rs + k] = o3;                                    \
                poison += (o0 + o1 + o2 + o3) * 0;                                  \
            }                                                                       \
        }                                                                           \
    }                                                                               \
    return poison;                                                                  \
}

NB_DEFINE_WINO_INPUT(nb_wino_input_f32, float, nb_wvec_f32)
NB_DEFINE_WINO_INPUT(nb_wino_input_f64, double, nb_wvec_f64)
NB_DEFINE_WINO_OUTPUT(nb_wino_output_f32, float, nb_wvec_f32)
NB_DEFINE_WINO_OUTPUT(nb_wino_output_f64, double, nb_wvec_f64)

/* The filter transform U = G g G^T of reduction channels c0 .. c0 + nc - 1 (nc <=
 * NB_WINO_FC), for every output o < O, in double, each value rounded once to T,
 * stored in the packed panels of the block micro-kernel: point xi, channel c0 + i,
 * output o at up[xi * xs + (o / vb) * panel + i * vb + o % vb]; lanes past O in
 * the last block are set to zero.  Tap (a, b) of channel c0 + i, output o is
 * w[(3 a + b) * ts + i * cs + o * os]; ts < 0 reads the taps turned by 180 degrees
 * from the last one.  Each block of taps is first copied into a small buffer along
 * whichever of the two channel axes is contiguous in w (conv2d's filter is HWIO; the
 * transpose reads it with the channel axes swapped), then transformed with the
 * outputs contiguous.  Returns 0 if every value is finite, else NaN. */
#define NB_WINO_FB 64     /* most outputs per packed block (the wide float32 block) */
#define NB_WINO_FC 16     /* reduction channels per call */

#define NB_DEFINE_WINO_FILTER(NAME, T)                                              \
static inline T NAME(const T *w, nb_widx ts, nb_widx cs, nb_widx os, nb_widx nc,    \
                     nb_widx O, T *up, nb_widx xs, nb_widx panel, nb_widx vb)       \
{                                                                                   \
    T buf[9][NB_WINO_FC][NB_WINO_FB];                                               \
    double t[18][NB_WINO_FB];                                                       \
    T pz[NB_WINO_FB] = {0}, poison = 0;                                             \
    for (nb_widx ob = 0; ob * vb < O; ob++) {                                       \
        const nb_widx n = O - ob * vb < vb ? O - ob * vb : vb;                      \
        const T *src = w + ob * vb * os;                                            \
        for (int tap = 0; tap < 9; tap++) {                                         \
            if (os == 1)                                                            \
                for (nb_widx i = 0; i < nc; i++)                                    \
                    for (nb_widx k = 0; k < n; k++)                                 \
                        buf[tap][i][k] = src[tap * ts + i * cs + k];                \
            else                                                                    \
                for (nb_widx k = 0; k < n; k++)                                     \
                    for (nb_widx i = 0; i < nc; i++)                                \
                        buf[tap][i][k] = src[tap * ts + i * cs + k * os];           \
        }                                                                           \
        for (nb_widx i = 0; i < nc; i++) {                                          \
            T *dst = up + ob * panel + i * vb;                                      \
            for (int b = 0; b < 3; b++)       /* columns: t = G g */                \
                for (nb_widx k = 0; k < n; k++)                                     \
                    NB_WINO_G(buf[b][i][k], buf[3 + b][i][k], buf[6 + b][i][k], t[b][k], \
                              t[3 + b][k], t[6 + b][k], t[9 + b][k], t[12 + b][k],  \
                              t[15 + b][k]);                                        \
            for (int r = 0; r < 6; r++) {     /* rows: U = t G^T */                 \
                T *d = dst + 6 * r * xs;                                            \
                for (nb_widx k = 0; k < n; k++) {                                   \
                    double u0, u1, u2, u3, u4, u5;                                  \
                    NB_WINO_G(t[3 * r][k], t[3 * r + 1][k], t[3 * r + 2][k], u0, u1, \
                              u2, u3, u4, u5);                                      \
                    d[k] = (T)u0;                                                   \
                    d[xs + k] = (T)u1;                                              \
                    d[2 * xs + k] = (T)u2;                                          \
                    d[3 * xs + k] = (T)u3;                                          \
                    d[4 * xs + k] = (T)u4;                                          \
                    d[5 * xs + k] = (T)u5;                                          \
                    pz[k] += (T)((u0 + u1 + u2 + u3 + u4 + u5) * 0);                \
                }                                                                   \
                for (nb_widx k = n; k < vb; k++)   /* the last block's unused lanes */ \
                    for (int j = 0; j < 6; j++)                                     \
                        d[j * xs + k] = 0;                                          \
            }                                                                       \
        }                                                                           \
    }                                                                               \
    for (nb_widx k = 0; k < NB_WINO_FB; k++)                                        \
        poison += pz[k];                                                            \
    return poison;                                                                  \
}

/* G applied to three values, in double. */
#define NB_WINO_G(g0, g1, g2, u0, u1, u2, u3, u4, u5) do {                         \
        const double a_ = (g0), b_ = (g1), c_ = (g2);                               \
        u0 = a_;                                                                    \
        u1 = (a_ + b_ + c_) * (-1.0 / 3);                                           \
        u2 = (a_ - b_ + c_) * (1.0 / 3);                                            \
        u3 = (a_ + 2 * b_ + 4 * c_) * (1.0 / 15);                                   \
        u4 = (-16 * a_ + 8 * b_ - 4 * c_) * (1.0 / 15);                             \
        u5 = c_;                                                                    \
    } while (0)

NB_DEFINE_WINO_FILTER(nb_wino_filter_f32, float)
NB_DEFINE_WINO_FILTER(nb_wino_filter_f64, double)

/* ---- The filter gradient by Winograd F(3x3, 4x4).
 * dw[a, b] = sum over pixels of x[i + a - pt, j + b - pl] dy[i, j] is, per 4x4 tile of
 * dy and its 6x6 patch of x, a correlation with a 3x3 result: with the same points,
 * dw = sum over tiles A3^T [ (G4 dy G4^T) (.) (B^T x B) ] A3, where B^T is the forward
 * transform's (so nb_wino_input transforms x), and the sum over tiles moves inside the
 * brackets: 36 products Mw[xi] (C x O) = V[xi]^T D[xi], summed over tiles.  G4 (6x4)
 * has rows [1 0 0 0], -[1 1 1 1]/3, [1 -1 1 -1]/3, [1 2 4 8]/15, [-16 8 -4 2]/15,
 * [0 0 0 1]; dy is transformed with the integer rows (exact scaling, fewer roundings)
 * and the factors 1/3 and 1/15 are applied once, in double, with A3^T = [1 1 1 1 1 0;
 * 0 1 -1 2 -1/2 0; 0 1 1 4 1/4 1] at the end. */

/* The integer rows of G4 applied to four values. */
#define NB_WINO_G4(e0, e1, e2, e3, u0, u1, u2, u3, u4, u5) do {                   \
        u0 = (e0);                                                                  \
        u1 = -(((e0) + (e1)) + ((e2) + (e3)));                                      \
        u2 = ((e0) - (e1)) + ((e2) - (e3));                                         \
        u3 = ((e0) + 2 * (e1)) + (4 * (e2) + 8 * (e3));                             \
        u4 = (8 * (e1) - 16 * (e0)) + (2 * (e3) - 4 * (e2));                        \
        u5 = (e3);                                                                  \
    } while (0)

/* D[xi * ds + 0 .. O) = (G4' t G4'^T)[xi] for the 4x4 tile of image dy (Ho, Wo, O)
 * whose cell (i, j) is dy's pixel (r0 + i*dh, c0 + j*dw) (a dilated layer's tiles,
 * as nb_wino_input's); cells outside the image read as zero. */
#define NB_DEFINE_WINO_DY(NAME, T)                                                  \
static inline void NAME(const T *dy, nb_widx Ho, nb_widx Wo, nb_widx O, nb_widx r0, \
                        nb_widx c0, nb_widx dh, nb_widx dw, T *D, nb_widx ds,       \
                        const T *zeros)                                             \
{                                                                                   \
    const T *e[4][4];                                                               \
    for (int i = 0; i < 4; i++)                                                     \
        for (int j = 0; j < 4; j++) {                                               \
            const nb_widx r = r0 + i * dh, c = c0 + j * dw;                         \
            e[i][j] = (r < Ho && c < Wo) ? dy + (r * Wo + c) * O : zeros;           \
        }                                                                           \
    T t[6][4][NB_WINO_CB];                                                          \
    for (nb_widx k0 = 0; k0 < O; k0 += NB_WINO_CB) {                                \
        const nb_widx n = O - k0 < NB_WINO_CB ? O - k0 : NB_WINO_CB;                \
        for (int j = 0; j < 4; j++) {         /* columns */                         \
            const T *a = e[0][j] + k0, *b = e[1][j] + k0;                           \
            const T *c = e[2][j] + k0, *f = e[3][j] + k0;                           \
            _Pragma("GCC ivdep")                                                    \
            for (nb_widx k = 0; k < n; k++)                                         \
                NB_WINO_G4(a[k], b[k], c[k], f[k], t[0][j][k], t[1][j][k],          \
                           t[2][j][k], t[3][j][k], t[4][j][k], t[5][j][k]);         \
        }                                                                           \
        for (int i = 0; i < 6; i++) {         /* rows */                            \
            T *v = D + i * 6 * ds + k0;                                             \
            _Pragma("GCC ivdep")                                                    \
            for (nb_widx k = 0; k < n; k++)                                         \
                NB_WINO_G4(t[i][0][k], t[i][1][k], t[i][2][k], t[i][3][k], v[k],    \
                           v[ds + k], v[2 * ds + k], v[3 * ds + k], v[4 * ds + k],  \
                           v[5 * ds + k]);                                          \
        }                                                                           \
    }                                                                               \
}

/* dw[(3 a + b) * ds + k] = (A3^T (Mw / (s s^T)) A3)[a][b] for k < n, from
 * Mw[xi * ms + k] (s = 1, 3, 3, 15, 15, 1: the scales of G4's integer rows), in
 * double. */
#define NB_DEFINE_WINO_FGRAD_OUTPUT(NAME, T)                                        \
static inline void NAME(const T *Mw, nb_widx ms, nb_widx n, T *dw, nb_widx ds)      \
{                                                                                   \
    double t[3][6][NB_WINO_CB];                                                     \
    for (nb_widx k0 = 0; k0 < n; k0 += NB_WINO_CB) {                                \
        const nb_widx nk = n - k0 < NB_WINO_CB ? n - k0 : NB_WINO_CB;               \
        for (int j = 0; j < 6; j++) {         /* rows: t = A3^T (Mw / s s^T) */     \
            const double sj = j == 0 || j == 5 ? 1.0 : j < 3 ? 1.0 / 3 : 1.0 / 15;  \
            const double s1 = sj * (1.0 / 3), s3 = sj * (1.0 / 15);                 \
            const T *m = Mw + j * ms + k0;                                          \
            _Pragma("GCC ivdep")                                                    \
            for (nb_widx k = 0; k < nk; k++) {                                      \
                const double m0 = m[k] * sj, m1 = m[6 * ms + k] * s1;               \
                const double m2 = m[12 * ms + k] * s1, m3 = m[18 * ms + k] * s3;    \
                const double m4 = m[24 * ms + k] * s3, m5 = m[30 * ms + k] * sj;    \
                t[0][j][k] = m0 + (m1 + m2) + (m3 + m4);                            \
                t[1][j][k] = (m1 - m2) + (2 * m3 - 0.5 * m4);                       \
                t[2][j][k] = (m1 + m2) + (4 * m3 + 0.25 * m4) + m5;                 \
            }                                                                       \
        }                                                                           \
        for (int a = 0; a < 3; a++) {         /* columns: dw = t A3 */              \
            T *d = dw + 3 * a * ds + k0;                                            \
            _Pragma("GCC ivdep")                                                    \
            for (nb_widx k = 0; k < nk; k++) {                                      \
                const double m0 = t[a][0][k], m1 = t[a][1][k], m2 = t[a][2][k];     \
                const double m3 = t[a][3][k], m4 = t[a][4][k], m5 = t[a][5][k];     \
                d[k] = (T)(m0 + (m1 + m2) + (m3 + m4));                             \
                d[ds + k] = (T)((m1 - m2) + (2 * m3 - 0.5 * m4));                   \
                d[2 * ds + k] = (T)((m1 + m2) + (4 * m3 + 0.25 * m4) + m5);         \
            }                                                                       \
        }                                                                           \
    }                                                                               \
}

NB_DEFINE_WINO_DY(nb_wino_dy_f32, float)
NB_DEFINE_WINO_DY(nb_wino_dy_f64, double)
NB_DEFINE_WINO_FGRAD_OUTPUT(nb_wino_fgrad_output_f32, float)
NB_DEFINE_WINO_FGRAD_OUTPUT(nb_wino_fgrad_output_f64, double)

#endif  /* NABLA_WINOGRAD_H */
